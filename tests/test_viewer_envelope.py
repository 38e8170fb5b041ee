"""What may be built on a parcel, in the viewer (headless Chromium): the panel's figures, the 2D drawing, the 3D solid.

The sample dossier is imported and published as ``./run.sh demo`` does; the parcel is the first one whose envelope
the API calls ``buildable`` (with a road in front; one a red line cuts, when the sample lists such lots in
``lots_cut_by_red_lines.csv``), so the test follows the sample data as it changes.
Screenshots: ``test-artifacts/viewer_envelope_*.png``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from conftest import DatabaseServer
from test_viewer import Watched, browser, wait_2d
from viewer_served import ROOT, load_published_sample, serve

from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade

__all__ = ["browser"]  # the browser fixture of test_viewer, shared

LAYERS_2D = ["envelope-road-fill", "envelope-buildable-line", "envelope-footprint-fill"]


# The sample's lots cut by a red line first: their envelopes have road land to draw.
CUT_LOTS = ROOT / "sample_data" / "lots_cut_by_red_lines.csv"


def candidates(conn: sa.Connection) -> list[int]:
    """The parcels' ids, those the sample says a red line cuts first."""
    cut: list[tuple[str, int, int]] = []
    if CUT_LOTS.exists():
        with CUT_LOTS.open(encoding="utf-8") as f:
            cut = [(r["ward"], int(r["sheet_no"]), int(r["parcel_no"])) for r in csv.DictReader(f)]
    rows = conn.execute(sa.text("SELECT id, ward, sheet_no, parcel_no FROM planning.parcels ORDER BY id")).all()
    first = {key: n for n, key in enumerate(cut)}
    return [r[0] for r in sorted(rows, key=lambda r: (first.get((r[1], r[2], r[3]), len(first)), r[0]))]


def pick_buildable(base: str, ids: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The lookup answer and envelope of a parcel the API calls buildable, with a road in front: the first with road
    land (at least 1 m²) among the first 300 candidates, else the first."""
    first = None
    with httpx.Client(base_url=base, timeout=30) as http:
        for pid in ids[:300]:
            answer = http.get(f"/lookup/parcels/{pid}").raise_for_status().json()
            env = answer.get("envelope")
            if not env or env["status"] != "buildable" or not env["fronts"]:
                continue
            full = http.get(env["href"]).raise_for_status().json()
            if not (full["solid"]["features"] and full["geometry"]["max_footprint"] and full["max_proposal"]):
                continue
            if env["road_area_m2"] >= 1 and full["geometry"]["road_part"]:
                return answer, full
            first = first or (answer, full)
    assert first, "no buildable parcel with a road in front in the sample"
    return first


@pytest.fixture(scope="module")
def served(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url = db_server.create("envelopeviewer")
    try:
        upgrade(url)
        work = tmp_path_factory.mktemp("envelope-viewer")
        load_published_sample(url, work / "tiles")
        engine = create_db_engine(url, pool_size=1)
        try:
            with engine.connect() as c:
                ids = candidates(c)
        finally:
            engine.dispose()
        with serve(url, work / "tiles") as base:
            answer, envelope = pick_buildable(base, ids)
            config = httpx.get(base + "/viewer/config.json").json()
            yield {"base": base, "answer": answer, "envelope": envelope, "ground": config["ground_height_m"]}
    finally:
        db_server.drop(url)


def number(value: float, language: str, digits: int = 2) -> str:
    """A number as the viewer writes it (Intl.NumberFormat: the exact value, halves away from zero, at most `digits`
    decimals): comma decimals and dot thousands in Vietnamese, the reverse in English."""
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{exact:,.{digits}f}"
    if digits:
        text = text.rstrip("0").rstrip(".")
    return text.translate(str.maketrans(",.", ".,")) if language == "vi" else text


def figure(page: Any, key: str) -> str:
    return str(page.locator(f"#envelope [data-figure='{key}'] dd.figure").inner_text())


def bound(page: Any, key: str) -> str:
    return str(page.locator(f"#envelope [data-figure='{key}'] dd.bound").inner_text())


def rendered(page: Any) -> set[str]:
    return set(
        page.evaluate(
            "(layers) => window.viewerApp.map2d.map.queryRenderedFeatures({layers}).map((f) => f.layer.id)", LAYERS_2D
        )
    )


def test_search_shows_what_may_be_built_and_draws_it_in_2d(served: dict[str, Any], browser: Any) -> None:
    parcel = served["answer"]["parcel"]
    env = served["answer"]["envelope"]
    cap = env["capacity"]
    w = Watched(browser, served["base"], {"width": 1200, "height": 820})
    page = w.page
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    try:
        page.goto(served["base"] + "/#lang=vi")
        wait_2d(page)
        page.fill("#search-ward", parcel["ward"])
        page.fill("#search-sheet", str(parcel["sheet_no"]))
        page.fill("#search-parcel", str(parcel["parcel_no"]))
        page.click("#search-go")
        page.wait_for_selector("#envelope")
        section = page.locator("#envelope")
        assert section.locator("h3").inner_text() == "Được phép xây dựng"
        assert section.get_attribute("data-status") == "buildable"
        assert "Được xây dựng" in page.locator("#envelope-status").inner_text()
        # the figures the API gave, written the Vietnamese way, each with what bounds it
        assert figure(page, "footprint_m2") == f"{number(cap['footprint_m2']['value'], 'vi')} m²"
        assert figure(page, "floors") == f"{number(cap['floors']['value'], 'vi', 0)} tầng"
        assert figure(page, "height_m") == f"{number(cap['height_m']['value'], 'vi')} m"
        assert figure(page, "floor_area_m2") == f"{number(cap['floor_area_m2']['value'], 'vi')} m²"
        assert figure(page, "min_ground_elev_m") == f"{number(cap['min_ground_elev_m']['value'], 'vi')} m"
        assert figure(page, "buildable_area_m2") == f"{number(env['buildable_area_m2'], 'vi')} m²"
        assert f"mật độ tối đa {number(cap['footprint_m2']['limit'], 'vi')} %" in bound(page, "footprint_m2")
        assert cap["footprint_m2"]["source"] in bound(page, "footprint_m2")
        sources = " ".join(bound(page, k) for k in ("footprint_m2", "floors"))
        assert cap["floors"]["source"] in sources  # the floors' source, in full the first time it is given
        for front in env["fronts"]:
            assert front["road_name"] in section.locator(".env-fronts").inner_text()
        assert page.locator("#envelope [data-access]").get_attribute("data-access") == env["access"]["kind"]

        # 2D: the buildable area and the largest footprint drawn over the parcel (road land too, when there is some)
        page.wait_for_function(f"() => window.viewerApp.envelopeShown === {parcel['id']}")
        page.wait_for_function(
            "() => window.viewerApp.map2d.map.areTilesLoaded() && window.viewerApp.map2d.map.loaded()",
        )
        page.wait_for_timeout(300)
        drawn = rendered(page)
        assert {"envelope-buildable-line", "envelope-footprint-fill"} <= drawn, drawn
        if served["envelope"]["geometry"]["road_part"] and env["road_area_m2"] >= 1:
            assert "envelope-road-fill" in drawn
            road = f"trong đó {number(env['road_area_m2'], 'vi')} m² là đất dành cho đường"
            assert road in section.inner_text()  # its area, and the hatch in the legend
            assert section.locator(".env-legend .env-road").count() == 1
        assert not [m for m in warnings if "could not be loaded" in m], warnings  # the hatch's image is in place
        # the envelope lies over the zones and under the names
        order = page.evaluate("window.viewerApp.map2d.map.getStyle().layers.map((l) => l.id)")
        assert order.index("zones-fill") < order.index("envelope-footprint-fill") < order.index("base-street-names")
        w.shot("envelope_2d_vi")

        # closing the panel removes it
        page.keyboard.press("Escape")
        page.wait_for_function("() => window.viewerApp.envelopeShown === null")
        page.wait_for_timeout(300)
        assert rendered(page) == set()
        w.check()
    finally:
        w.close()


ENTITIES_3D = """() => {
  const m = window.viewerApp.map3d, C = m.Cesium, now = C.JulianDate.now();
  const value = (p) => (p && p.getValue ? p.getValue(now) : p);
  return m.envelope.entities.values.map((e) => ({
    part: value(e.properties.envelope), zone: value(e.properties.zone_code) ?? null,
    base: e.polygon ? value(e.polygon.height) : null,
    top: e.polygon && e.polygon.extrudedHeight ? value(e.polygon.extrudedHeight) : null,
    alpha: e.polygon && e.polygon.material && e.polygon.material.color ? value(e.polygon.material.color).alpha : null,
  }));
}"""


def test_3d_shows_the_solid_to_its_heights_and_keeps_it_across_views(served: dict[str, Any], browser: Any) -> None:
    parcel = served["answer"]["parcel"]
    ground = served["ground"]
    solid = served["envelope"]["solid"]["features"]
    height = served["envelope"]["capacity"]["height_m"]["value"]
    w = Watched(browser, served["base"], {"width": 1200, "height": 800})
    page = w.page
    try:
        page.goto(served["base"] + f"/#v=2d&lang=vi&parcel={parcel['id']}")  # a permalink
        wait_2d(page)
        page.wait_for_function(f"() => window.viewerApp.envelopeShown === {parcel['id']}")
        page.get_by_role("button", name="3D", exact=True).click()
        page.wait_for_function(
            "() => window.viewerApp.ready.tileset3d || window.viewerApp.errors.length",
            timeout=120_000,
        )
        assert page.evaluate("window.viewerApp.errors") == []
        page.wait_for_function(
            "() => window.viewerApp.map3d.envelope && window.viewerApp.map3d.envelope.entities.values.length > 0"
        )
        parts = page.evaluate(ENTITIES_3D)
        # each part of the solid from the ground the 3D tiles stand on to its zone's top, translucent
        got = sorted((p["zone"], round(p["base"], 2), round(p["top"], 2)) for p in parts if p["part"] == "solid")
        want = sorted(
            (f["properties"]["zone_code"], round(ground, 2), round(ground + f["properties"]["top_m"], 2)) for f in solid
        )
        assert got == want
        assert all(0 < p["alpha"] < 0.5 for p in parts if p["part"] == "solid")
        blocks = [p for p in parts if p["part"] == "footprint"]
        assert blocks and all(p["top"] == pytest.approx(ground + height, abs=0.1) for p in blocks)
        assert any(p["part"] == "lot" for p in parts)

        # "View in 3D" frames it: the block's middle is on the screen
        page.click("#envelope-3d")
        page.wait_for_timeout(1800)  # the flight lasts 1.2 s
        page.wait_for_function(
            "() => window.viewerApp.map3d.tileset.tilesLoaded && window.viewerApp.map3d.viewer.dataSourceDisplay.ready",
            timeout=60_000,
        )
        on_screen = page.evaluate(
            """([lon, lat, h]) => { const m = window.viewerApp.map3d, v = m.viewer; v.scene.render();
              const at = Cesium.Cartesian3.fromDegrees(lon, lat, h);
              const p = Cesium.SceneTransforms.worldToWindowCoordinates(v.scene, at);
              const c = v.scene.canvas;
              return !!p && p.x > 0 && p.y > 0 && p.x < c.clientWidth && p.y < c.clientHeight; }""",
            [parcel["centroid"]["lon"], parcel["centroid"]["lat"], ground + height / 2],
        )
        assert on_screen
        page.wait_for_timeout(500)
        w.shot("envelope_3d")

        # 2D and back: still drawn in both
        page.get_by_role("button", name="2D", exact=True).click()
        page.wait_for_function("() => window.viewerApp.map2d.map.loaded()")
        page.wait_for_timeout(300)
        assert "envelope-footprint-fill" in rendered(page)
        page.get_by_role("button", name="3D", exact=True).click()
        assert len(page.evaluate(ENTITIES_3D)) == len(parts)
        # closing the panel removes it from the globe
        page.click("#panel-close")
        page.wait_for_function("() => window.viewerApp.map3d.envelope.entities.values.length === 0")
        w.check()
    finally:
        w.close()


def test_english_panel_marks_figures_without_plan_data_and_checks_the_largest_building(
    served: dict[str, Any], browser: Any
) -> None:
    parcel = served["answer"]["parcel"]
    cap = served["answer"]["envelope"]["capacity"]
    w = Watched(browser, served["base"], {"width": 1100, "height": 1000})
    page = w.page
    try:
        page.goto(served["base"] + f"/#lang=en&parcel={parcel['id']}")
        wait_2d(page)
        page.wait_for_selector("#envelope")
        section = page.locator("#envelope")
        assert section.locator("h3").inner_text() == "What may be built here"
        text = section.inner_text()
        assert "Building is allowed" in text and "Largest footprint" in text and "Max floors" in text
        assert figure(page, "floors") == f"{number(cap['floors']['value'], 'en', 0)} floors"
        assert figure(page, "footprint_m2") == f"{number(cap['footprint_m2']['value'], 'en')} m²"
        section.scroll_into_view_if_needed()
        page.wait_for_function(f"() => window.viewerApp.envelopeShown === {parcel['id']}")
        page.wait_for_function(
            "() => window.viewerApp.map2d.map.areTilesLoaded() && window.viewerApp.map2d.map.loaded()",
        )
        w.shot("envelope_panel_en")

        # a figure the plan has no value for, one it leaves open and one read from a scanned map are marked as such
        page.evaluate(
            """() => { const a = structuredClone(window.viewerApp.answer), c = a.envelope.capacity;
              Object.assign(c.height_m, {value: null, limit: null, basis: "no_data"});
              Object.assign(c.floor_area_m2, {value: null, limit: null, basis: "no_limit"});
              Object.assign(c.floors, {basis: "scanned_draft", confidence: 0.82});
              a.plan_data = "scanned_draft";
              window.viewerApp.renderAnswer(a); }"""
        )
        assert page.locator("#envelope [data-figure='height_m']").get_attribute("data-basis") == "no_data"
        assert "the plan has no data" in bound(page, "height_m") and figure(page, "height_m") == "—"
        assert figure(page, "floor_area_m2") == "no limit"
        assert "from a scanned map, confidence 82 %" in bound(page, "floors")
        assert "read from a scanned map" in section.inner_text()
        page.evaluate("(a) => window.viewerApp.renderAnswer(a)", served["answer"])

        # the largest building the envelope allows, checked as a permit: compliant, or left to an officer
        page.click("#envelope-check")
        page.wait_for_selector("#permit-verdict")
        page.wait_for_function("() => window.viewerApp.permits.state.drawn")
        verdict = page.locator("#permit-verdict").inner_text()
        assert "Compliant" in verdict or "Needs review" in verdict, verdict
        assert page.locator("#permit-rules tr.fail").count() == 0
        assert page.evaluate("window.viewerApp.permits.state.request") == served["envelope"]["max_proposal"]
        w.check()
    finally:
        w.close()
