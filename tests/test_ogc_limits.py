"""Page sizes are capped by the settings (GIS_OGC_MAX_ITEMS): a larger limit is cut down, with a next link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.settings import Settings


def test_limit_above_the_cap_is_cut_to_the_cap(sample_plan: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    settings = Settings(database_url=sample_plan[0], public_url="http://testserver", ogc_dir=tmp_path, ogc_max_items=2)
    with TestClient(create_app(settings)) as client:
        r = client.get("/ogc/collections/parcels/items", params={"f": "json", "limit": 100000})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["numberReturned"] == 2
        assert any(link["rel"] == "next" for link in body["links"])
        doc = client.get("/ogc/openapi", params={"f": "json"}).json()
        limit = next(
            p for p in doc["paths"]["/collections/parcels/items"]["get"]["parameters"] if p.get("name") == "limit"
        )
        assert limit["schema"]["maximum"] == 2


def test_an_unwritable_ogc_dir_falls_back_to_a_temporary_folder(
    sample_plan: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    settings = Settings(database_url=sample_plan[0], public_url="http://testserver", ogc_dir=blocker / "ogc")
    with TestClient(create_app(settings)) as client:
        r = client.get("/ogc/collections/zones/items", params={"f": "json"})
        assert r.status_code == 200 and r.json()["features"]
