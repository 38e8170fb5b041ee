"""Planning-information certificates (phiếu thông tin quy hoạch) of a parcel.

* :mod:`~gis_service.certificates.content`: what a certificate says, as data drawn from the zoning lookup and the
  rule model, with the plan rows it was drawn from (:func:`certificate_content`, :func:`find_parcel`);
* :mod:`~gis_service.certificates.changes`: what differs between two contents, in words (:func:`changes_between`);
* :mod:`~gis_service.certificates.document`: the document itself, as a PDF and an HTML page (:func:`render_pdf`,
  :func:`render_html`), stamped with its number, time of issue, issuer and verify address (:class:`Stamp`).
"""

from gis_service.certificates.changes import changes_between
from gis_service.certificates.content import CertificateContent, certificate_content, find_parcel
from gis_service.certificates.document import Stamp, render_html, render_pdf

__all__ = [
    "CertificateContent",
    "Stamp",
    "certificate_content",
    "changes_between",
    "find_parcel",
    "render_html",
    "render_pdf",
]
