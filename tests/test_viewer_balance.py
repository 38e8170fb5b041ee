"""The land-use balance table and chart of each plan in the viewer (headless Chromium), against the API's figures.
Screenshot: ``test-artifacts/viewer_balance.png``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import DatabaseServer
from test_viewer import Watched, browser, wait_2d
from viewer_served import load_published_sample, serve

from gis_service.db.migrate import upgrade

__all__ = ["browser"]  # the browser fixture of test_viewer, shared


@pytest.fixture(scope="module")
def served(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = db_server.create("balanceviewer")
    try:
        upgrade(url)
        work = tmp_path_factory.mktemp("balance-viewer")
        load_published_sample(url, work / "tiles")
        with serve(url, work / "tiles") as base:
            yield base
    finally:
        db_server.drop(url)


def test_balance_table_and_chart(served: str, browser: Any) -> None:
    plans = httpx.get(served + "/viewer/config.json").json()["plans"]
    code = plans[0]["code"]
    table = httpx.get(f"{served}/plans/{code}/balance").raise_for_status().json()
    rows = [r for r in table["rows"] if r["zones"] > 0]
    w = Watched(browser, served, {"width": 1280, "height": 900})
    page = w.page
    try:
        page.goto(served + "/#lang=en")
        wait_2d(page)
        page.click("#balance-open")
        page.wait_for_selector("#balance-chart rect")
        assert page.locator("#panel-title").inner_text() == "Land-use balance table"
        bars = page.locator("#balance-chart rect")
        assert bars.count() == len(rows)
        # one bar per code, longest first, in the official colour of its code
        for i, r in enumerate(rows):
            bar = bars.nth(i)
            assert bar.get_attribute("data-code") == r["code"]
            assert bar.get_attribute("fill") == r["color"]
        widths = [float(bars.nth(i).get_attribute("width") or 0) for i in range(len(rows))]
        assert widths == sorted(widths, reverse=True)
        first = page.locator(f"#balance-table tr[data-code='{rows[0]['code']}'] td.num").first.inner_text()
        assert first == f"{rows[0]['area_ha']:,.2f}"
        assert page.locator("#balance-table tr.total").count() == 3
        w.shot("balance")
        page.click("#lang-vi")
        page.wait_for_function("() => document.querySelector('#panel-title').textContent.includes('cân bằng')")
        w.check()
    finally:
        w.close()
