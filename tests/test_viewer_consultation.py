"""Public consultation of a draft in the viewer (headless Chromium, real HTTP, real PostGIS): issue 20's acceptance 1.

A planner opens the draft of the sample plan for consultation; an anonymous citizen sees the banner, finds their
parcel by số tờ and số thửa, reads what the draft changes for it, shows the draft on the map with its changed zones
highlighted, and comments (with markup in the text, which must show as text); the planner answers and marks the
comment accepted; the citizen sees the answer; the draft is published and the planner's report (xlsx) lists the
comment with its outcome. Screenshots: ``test-artifacts/viewer_consultation_*.png``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
import sqlalchemy as sa
from conftest import DatabaseServer
from test_viewer import STRADDLING, Watched, browser, wait_2d
from viewer_served import ARTIFACTS, PLAN_CODE, load_published_sample, serve

from gis_service.as_of import today_in_hue
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.editing import publish_plan, start_draft, update_feature

__all__ = ["browser"]  # the browser fixture of test_viewer, shared

PLANNER = ("lan.consultation", "mat-khau-quy-hoach-3")
#: Markup in a comment: it must reach the page as text, never as elements.
MARKUP = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
COMMENT = f"Tôi đề nghị giữ 3 tầng cho ô KT-20 để giữ cảnh quan Kinh thành. {MARKUP}"
ANSWER = "Đồng ý với góp ý: ô KT-20 giữ tối đa 4 tầng trong bản trình phê duyệt."


@pytest.fixture(scope="module")
def served(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url = db_server.create("consultationviewer")
    try:
        upgrade(url)
        work = tmp_path_factory.mktemp("consultation-viewer")
        load_published_sample(url, work / "tiles")
        from gis_service.auth import create_user

        engine = create_db_engine(url, pool_size=1)
        try:
            with engine.begin() as c:
                create_user(c, PLANNER[0], "planner", PLANNER[1])
                draft = start_draft(c, PLAN_CODE, user=PLANNER[0], reason="điều chỉnh tầng cao")
                kt20 = c.execute(
                    sa.text("SELECT id FROM planning.zones WHERE plan_id = :p AND zone_code = 'KT-20'"),
                    {"p": draft.id},
                ).scalar_one()
                update_feature(c, "zones", kt20, {"max_floors": 6}, user=PLANNER[0], reason="tăng tầng cao KT-20")
        finally:
            engine.dispose()
        with serve(url, work / "tiles") as base:
            yield {"base": base, "url": url, "draft_id": draft.id}
    finally:
        db_server.drop(url)


def sign_in(page: Any) -> None:
    page.click("#sign-in")
    page.fill("#sign-in-user", PLANNER[0])
    page.fill("#sign-in-password", PLANNER[1])
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#consultation-tools")


def open_tools(page: Any) -> None:
    """The planner's consultation panel, drawn afresh (the one open before is closed first)."""
    if page.locator("#panel").is_visible():
        page.click("#panel-close")
    page.click("#consultation-tools")
    page.wait_for_selector("#consult-list li[data-consultation]")


def look_up(page: Any) -> None:
    page.fill("#search-ward", STRADDLING["ward"])
    page.fill("#search-sheet", str(STRADDLING["sheet_no"]))
    page.fill("#search-parcel", str(STRADDLING["parcel_no"]))
    page.click("#search-go")
    page.wait_for_selector("#parcel-changes[data-touched]")


def shot(page: Any, name: str, selector: str | None = None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = page.locator(selector) if selector else page
    target.screenshot(path=str(ARTIFACTS / f"viewer_consultation_{name}.png"))


def test_a_citizen_comments_on_the_draft_and_the_report_lists_the_outcome(served: dict[str, Any], browser: Any) -> None:
    base = served["base"]
    planner = Watched(browser, base, {"width": 1280, "height": 900})
    citizen = Watched(browser, base, {"width": 1280, "height": 900})
    try:
        # the planner opens the draft for consultation
        p = planner.page
        p.goto(base + "/#lang=vi")
        wait_2d(p)
        sign_in(p)
        p.click("#consultation-tools")
        p.wait_for_selector("#consult-open-form")
        assert PLAN_CODE in p.locator("#consult-draft").inner_text()
        p.fill("#consult-explanation", "Điều chỉnh tầng cao ô KT-20 (từ 3 lên 6 tầng).")
        with p.expect_response(lambda r: r.url.endswith(f"/plans/{PLAN_CODE}/consultations")) as opened:
            p.click("#consult-open")
        assert opened.value.status == 201 or opened.value.status == 200, opened.value.text()
        p.wait_for_selector("#consultation-banner:not([hidden]) #consultation-toggle")
        p.wait_for_selector("#consult-list li[data-consultation]")

        # an anonymous citizen: the banner, the parcel, what the draft changes for it
        c = citizen.page
        c.goto(base + "/#lang=vi")
        wait_2d(c)
        c.wait_for_selector("#consultation-banner:not([hidden])")
        banner = c.locator("#consultation-banner").inner_text()
        assert "Đang lấy ý kiến dự thảo" in banner and "Dự thảo đang lấy ý kiến — chưa có hiệu lực" in banner, banner
        look_up(c)
        assert c.get_attribute("#parcel-changes", "data-touched") == "true"
        sentences = c.locator("#parcel-changes li").all_inner_texts()
        assert sentences and any("tầng" in s for s in sentences), sentences
        print("what the draft changes for the parcel:", sentences)

        # the draft on the map: its tiles (view=consultation) and its changed parts from the diff
        with (
            c.expect_response(lambda r: "view=consultation" in r.url and "/ogc/tiles/" in r.url) as tile,
            c.expect_response(lambda r: f"/plans/{PLAN_CODE}/diff" in r.url and "f=geojson" in r.url) as diff,
        ):
            c.click("#consultation-toggle")
        assert tile.value.status == 200 and diff.value.status == 200
        c.wait_for_selector("#maps[data-draft='shown'][data-changed-parts]")
        changed = int(c.get_attribute("#maps", "data-changed-parts") or 0)
        assert changed > 0, "the diff highlighted no changed part"
        assert c.get_attribute("#consultation-toggle", "aria-pressed") == "true"
        c.wait_for_function(
            "() => window.viewerApp.map2d.map.querySourceFeatures('draft', {sourceLayer: 'zones'}).length > 0"
        )
        drafted = c.evaluate(
            "() => [...new Set(window.viewerApp.map2d.map.querySourceFeatures('draft', {sourceLayer: 'zones'})"
            ".map((f) => f.properties.plan_status))]"
        )
        assert drafted == ["draft"], drafted
        shot(c, "draft_map")

        # the comment, on this parcel
        c.fill("#comment-name", "Nguyễn Văn An")
        c.fill("#comment-contact", "an.nguyen@example.vn")
        c.fill("#comment-body", COMMENT)
        assert c.input_value("#comment-target") == "parcel"
        # the draft's zones at the parcel may be commented on too (their ids are the draft's)
        c.wait_for_selector("#comment-target option[data-zone-code='KT-20']", state="attached")
        with c.expect_response(lambda r: r.request.method == "POST" and "/comments" in r.url) as sent:
            c.click("#comment-send")
        assert sent.value.status in (200, 201), sent.value.text()
        c.wait_for_selector("#comment-result.ok")
        c.wait_for_selector("#parcel-comments li.comment")
        assert MARKUP in c.locator("#parcel-comments .comment-body").first.inner_text()  # shown as text
        assert c.locator("#panel img[src=x], #panel script").count() == 0
        assert c.evaluate("() => window.pwned") is None
        assert "an.nguyen@example.vn" not in c.locator("#panel").inner_text()  # the contact stays private
        shot(c, "comment_sent", "#panel")

        # the planner answers and marks it accepted
        open_tools(p)
        p.locator("#consult-list li[data-consultation] .consult-comments").first.click()
        form = p.locator("form.moderation").first
        form.wait_for()
        assert MARKUP in p.locator(".comments.staff .comment-body").first.inner_text()
        form.locator("textarea[name=answer]").fill(ANSWER)
        form.locator("select[name=outcome]").select_option("accepted")
        with p.expect_response(lambda r: r.request.method == "PATCH" and "/comments/" in r.url) as patched:
            form.locator("button[type=submit]").click()
        assert patched.value.status == 200, patched.value.text()
        p.wait_for_selector(".comments.staff .outcome-accepted")
        shot(p, "moderation", "#panel")

        # the citizen sees the answer, in plain words
        look_up(c)
        c.wait_for_selector("#parcel-comments .outcome-accepted")
        assert ANSWER in c.locator("#parcel-comments .comment-answer").first.inner_text()
        assert c.locator("#parcel-comments .outcome-accepted").first.inner_text() == "Đã tiếp thu"
        c.get_by_role("button", name="EN").click()
        c.wait_for_selector("#parcel-comments .outcome-accepted >> text=Accepted")
        assert "Draft under consultation — not in force" in c.locator("#consultation-banner").inner_text()
        shot(c, "answered_en")

        # a past date hides the draft (a proposal for today's plan); showing it again comes back to today
        assert c.get_attribute("#maps", "data-draft") == "shown"
        c.evaluate("() => window.viewerApp.setAsOf('2020-01-01')")
        c.wait_for_function("() => !document.querySelector('#maps').dataset.draft")
        assert c.get_attribute("#consultation-toggle", "aria-pressed") == "false"
        c.click("#consultation-toggle")
        c.wait_for_selector("#maps[data-draft='shown']")
        assert c.evaluate("() => window.viewerApp.asOf") is None

        # the draft is published; the report of the consultation lists the comment with its outcome
        engine = create_db_engine(served["url"], pool_size=1)
        try:
            with engine.begin() as conn:  # the decision, then the publication (no 3D tile rebuild queued)
                decision = {"decision_no": "77/QĐ-UBND", "decision_date": today_in_hue()}
                update_feature(conn, "plans", served["draft_id"], decision, user=PLANNER[0], reason="quyết định")
                publish_plan(conn, PLAN_CODE, user=PLANNER[0], reason="phê duyệt sau lấy ý kiến")
        finally:
            engine.dispose()
        open_tools(p)
        with (
            p.expect_response(lambda r: "consultation-report" in r.url) as report,
            p.expect_download() as download,
        ):
            p.locator("#consult-list li[data-consultation] .consult-report").first.click()
        assert report.value.status == 200, report.value.text()
        book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
        rows = [[str(v) for v in row if v] for ws in book.worksheets for row in ws.iter_rows(values_only=True)]
        row = next((r for r in rows if any(COMMENT in v for v in r)), None)
        assert row is not None, rows[:20]  # the comment, as written (markup included, as text)
        assert any(ANSWER in v for v in row), row
        outcome = [v for v in row if v.lower().startswith(("tiếp thu", "accepted"))]
        assert outcome, row
        print(f"report: {len(rows)} rows; the comment's outcome: {outcome[0]}")

        # published: no consultation runs, the banner is gone for a new visitor
        c.goto(base + "/#lang=vi")
        c.reload()
        wait_2d(c)
        c.wait_for_function("() => window.viewerApp.ready.consultation")
        assert c.locator("#consultation-banner").is_hidden()

        planner.check()
        citizen.check()
    finally:
        planner.close()
        citizen.close()
