"""Public consultation of draft plans (lấy ý kiến cộng đồng dân cư).

* :mod:`~gis_service.consultation.periods`: open a draft to the public for a period, close it, which are open now.
"""
