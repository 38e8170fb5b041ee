"""The planning-information certificate from the viewer's lookup panel (headless Chromium, real HTTP, real PostGIS).

A citizen looks up the sample's straddling parcel on the plan's decision date and gets the preview PDF, in the panel's
language and for that date; a permit officer issues a numbered one and gets its number, PDF and verify page.
Screenshots: ``test-artifacts/viewer_certificate_*.png``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
from conftest import DatabaseServer
from test_viewer import STRADDLING, Watched, browser, wait_2d
from viewer_served import ARTIFACTS, load_published_sample, serve

from gis_service.certificates.signing import ensure_demo_key
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.settings import CertificateSettings

__all__ = ["browser"]  # the browser fixture of test_viewer, shared

DECISION_DAY = "2025-06-30"  # the sample plan's decision (viewer_served.load_published_sample)


@pytest.fixture(scope="module")
def served(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url = db_server.create("certificateviewer")
    try:
        upgrade(url)
        work = tmp_path_factory.mktemp("certificate-viewer")
        ensure_demo_key(work / "keys")
        load_published_sample(url, work / "tiles")
        from gis_service.auth import create_user

        engine = create_db_engine(url, pool_size=1)
        try:
            with engine.begin() as c:
                create_user(c, "officer.certificate", "permit_officer", "mat-khau-can-bo-2")
        finally:
            engine.dispose()
        with serve(url, work / "tiles", certificates=CertificateSettings(demo_dir=work / "keys")) as base:
            yield {"base": base}
    finally:
        db_server.drop(url)


def pdf_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return " ".join(" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc)))
    finally:
        doc.close()


def look_up(page: Any) -> None:
    page.fill("#search-ward", STRADDLING["ward"])
    page.fill("#search-sheet", str(STRADDLING["sheet_no"]))
    page.fill("#search-parcel", str(STRADDLING["parcel_no"]))
    page.click("#search-go")
    page.wait_for_selector("#certificate-preview")


def test_a_citizen_gets_the_preview_pdf_for_the_viewers_date_and_language(served: dict[str, Any], browser: Any) -> None:
    w = Watched(browser, served["base"], {"width": 1200, "height": 860})
    page = w.page
    held: list[Any] = []
    try:
        page.goto(served["base"] + "/#lang=vi")
        wait_2d(page)
        look_up(page)
        # the plan on its decision day: the certificate is asked for that date
        page.fill("#as-of", DECISION_DAY)
        page.wait_for_selector("#as-of-note")
        page.wait_for_selector("#certificate-preview")
        assert page.locator("#certificate-preview").inner_text() == "Phiếu thông tin quy hoạch (PDF)"
        assert page.locator("#certificate-issue").count() == 0  # issuing is for permit officers
        assert "30 tháng 6, 2025" in page.locator("#certificate .muted").inner_text()

        # held on the way, so the busy state can be seen while the service renders
        page.route("**/certificates", lambda route: held.append(route))
        with (
            page.expect_response(lambda r: r.url.endswith("/certificates")) as answer,
            page.expect_download() as download,
        ):
            page.click("#certificate-preview")
            page.wait_for_selector("#certificate[aria-busy='true'] .certificate-result.busy")
            assert page.locator("#certificate-preview").is_disabled()
            assert "Đang tạo phiếu" in page.locator("#certificate .certificate-result").inner_text()
            for _ in range(200):  # each call lets Playwright hand the request to the handler
                if held:
                    break
                page.wait_for_timeout(25)
            assert held, "the certificate was not asked for"
            held[0].continue_()
        sent = json.loads(answer.value.request.post_data or "{}")
        assert sent == {"parcel_id": sent["parcel_id"], "lang": "vi", "format": "pdf", "as_of": DECISION_DAY}
        response = answer.value
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["x-certificate-preview"] == "true"
        pdf = Path(download.value.path()).read_bytes()  # the answer's bytes, saved from the blob: URL
        assert pdf.startswith(b"%PDF-")
        assert download.value.suggested_filename == "phieu-thong-tin-quy-hoach-to-13-thua-4-xem-truoc.pdf"
        text = pdf_text(pdf)
        assert "PHIẾU THÔNG TIN QUY HOẠCH" in text and "BẢN XEM TRƯỚC" in text
        assert "Thông tin quy hoạch tại ngày 30" in text  # the viewer's date, printed under the title
        page.wait_for_selector("#certificate:not([aria-busy]) #certificate-open")
        assert not page.locator("#certificate-preview").is_disabled()
        assert page.get_attribute("#certificate-open", "href").startswith("blob:")
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#panel").screenshot(path=str(ARTIFACTS / "viewer_certificate_preview_vi.png"))

        # in English, the HTML variant opens in a tab of its own
        page.unroute("**/certificates")
        page.get_by_role("button", name="EN").click()
        page.wait_for_selector("#certificate-preview >> text=Planning certificate (PDF)")
        with (
            page.expect_response(lambda r: r.url.endswith("/certificates")) as answer,
            page.context.expect_page() as tab,
        ):
            page.click("#certificate-preview-html")
        assert json.loads(answer.value.request.post_data or "{}")["lang"] == "en"
        assert answer.value.headers["content-type"].startswith("text/html")
        tab.value.wait_for_load_state()
        assert tab.value.url.startswith("blob:")
        assert "PLANNING INFORMATION CERTIFICATE" in tab.value.locator("body").inner_text().upper()
        tab.value.close()

        w.check()
    finally:
        w.close()


def test_a_permit_officer_issues_a_numbered_certificate_from_the_panel(served: dict[str, Any], browser: Any) -> None:
    w = Watched(browser, served["base"], {"width": 1200, "height": 860})
    page = w.page
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    try:
        page.goto(served["base"] + "/#lang=vi")
        wait_2d(page)
        page.get_by_role("button", name="Đăng nhập").click()
        page.fill("#sign-in-user", "officer.certificate")
        page.fill("#sign-in-password", "mat-khau-can-bo-2")
        page.locator("#sign-in-form button[type=submit]").click()
        page.wait_for_selector("#sign-out")
        look_up(page)
        assert page.locator("#certificate-issue").inner_text() == "Cấp phiếu có số"
        with (
            page.expect_response(lambda r: r.url.endswith("/certificates")) as answer,
            page.expect_download() as download,
        ):
            page.click("#certificate-issue")
        assert dialogs and "tờ 13, thửa 4" in dialogs[0]
        response = answer.value
        assert response.status == 201 and response.headers["content-type"] == "application/pdf"
        assert json.loads(response.request.post_data or "{}")["issue"] is True
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-")
        number = response.headers["x-certificate-number"]
        assert re.fullmatch(r"HUE-\d{4}-\d{6}", number)
        page.wait_for_selector("#certificate-number")
        assert page.locator("#certificate-number").inner_text() == number
        assert "Đã cấp phiếu số" in page.locator("#certificate-issued").inner_text()
        assert download.value.suggested_filename == f"{number}.pdf"
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#panel").screenshot(path=str(ARTIFACTS / "viewer_certificate_issued_vi.png"))

        # the links lead to the certificate as issued and to its verification
        pdf_link = served["base"] + page.get_attribute("#certificate-pdf-link", "href")
        verify_link = served["base"] + page.get_attribute("#certificate-verify-link", "href")
        assert httpx.get(pdf_link, timeout=30).content == pdf
        verdict = httpx.get(verify_link, params={"f": "json"}, timeout=30).json()
        assert verdict["status"] == "valid" and verdict["number"] == number

        # signed out, the panel no longer offers to issue
        page.click("#sign-out")
        page.wait_for_selector("#sign-in")
        assert page.locator("#certificate-issue").count() == 0
        w.check()
    finally:
        w.close()
