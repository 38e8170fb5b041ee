"""Public consultation of draft plans (lấy ý kiến cộng đồng dân cư).

* :mod:`~gis_service.consultation.periods`: open a draft to the public for a period, close it, which are open now.
* :mod:`~gis_service.consultation.comments`: comment on a draft (anyone, within limits), moderate, answer, outcome.
* :mod:`~gis_service.consultation.report` and :mod:`~gis_service.consultation.report_pdf`: the consultation report
  of a plan for its dossier, as a spreadsheet and a PDF.
"""
