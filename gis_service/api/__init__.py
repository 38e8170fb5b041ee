"""The web shell: the FastAPI application (:func:`gis_service.api.app.create_app`) and its routers.

Routes take what they need from :mod:`gis_service.api.deps` and call the core (the rest of :mod:`gis_service`),
which knows nothing of the web. Nothing is imported here, so that ``gis_service.api.deps`` loads alone.
"""
