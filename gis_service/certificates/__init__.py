"""Planning-information certificates (chứng chỉ thông tin quy hoạch): issued, signed, kept and verified.

``signing`` signs a certificate's PDF (PAdES, with pyHanko) so that it re-renders byte for byte, and checks a
signature; ``records`` issues, lists, revokes and re-renders the certificates kept in ``planning.certificates``;
``verify`` answers whether a number, or a PDF, is a certificate as issued, and whether the plan changed since.
"""

from __future__ import annotations
