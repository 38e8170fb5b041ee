"""Planning-information certificates (phiếu thông tin quy hoạch) of a parcel: drawn, rendered, signed, kept, verified.

* :mod:`~gis_service.certificates.content`: what a certificate says, as data drawn from the zoning lookup and the
  rule model, with the plan rows it was drawn from (:func:`certificate_content`, :func:`find_parcel`);
* :mod:`~gis_service.certificates.changes`: what differs between two contents, in words (:func:`changes_between`);
* :mod:`~gis_service.certificates.document`: the document itself, as a PDF and an HTML page (:func:`render_pdf`,
  :func:`render_html`), stamped with its number, time of issue, issuer and verify address (:class:`Stamp`);
* :mod:`~gis_service.certificates.signing`: the PAdES signature (pyHanko), made so that a certificate re-renders
  byte for byte, and its check;
* :mod:`~gis_service.certificates.records`: issuing, listing, revoking and re-rendering the certificates kept in
  ``planning.certificates``;
* :mod:`~gis_service.certificates.verify`: whether a number, or a PDF, is a certificate as issued, and whether the
  plan changed since (:mod:`~gis_service.certificates.verify_page` is its public page).
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
