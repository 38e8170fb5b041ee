"""Import of the sample TT 16/2025 dossier (GeoPackage) into the data model: plan, layers, history, versions."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from converters import ImportOptions, import_path
from gis_service.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DOSSIER = ROOT / "sample_data" / "46QPK0000001"
CODE = "46QPK0000001"
# what the sample holds (sample_data/README.md)
ZONES, RED_LINES, BUILDING_LINES, PARCELS, BACK_LOTS, BUILDINGS = 97, 225, 226, 1362, 520, 1137
BASE_MAP = 7 + 55 + 74 + 15  # water, walls and gates, street and kiệt centre lines, landmarks


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {
            t: c.execute(sa.text(f"SELECT count(*) FROM planning.{t}")).scalar_one()
            for t in ("plans", "zones", "parcels", "buildings", "red_lines", "building_lines", "change_history")
        }


@pytest.fixture(scope="module")
def imported(engine: Engine) -> Iterator[dict[str, object]]:
    before = counts(engine)
    report = import_path(DOSSIER, engine, ImportOptions(plan=CODE, plan_name="Phân khu Kinh thành", user="lan.nguyen"))
    yield {"report": report, "before": before}


def test_dossier_import_creates_plan_and_layers(engine: Engine, imported: dict[str, object]) -> None:
    report = imported["report"]
    before = imported["before"]
    assert isinstance(before, dict)
    after = counts(engine)
    assert after["plans"] == before["plans"] + 1
    assert after["zones"] - before["zones"] == ZONES
    assert after["red_lines"] - before["red_lines"] == RED_LINES
    assert after["building_lines"] - before["building_lines"] == BUILDING_LINES
    assert after["parcels"] - before["parcels"] == PARCELS
    assert after["buildings"] - before["buildings"] == BUILDINGS
    with engine.connect() as c:
        plan = c.execute(
            sa.text(
                "SELECT id, level, scale_denominator, version, status, ST_Area(geom) "
                "FROM planning.plans WHERE code = :c"
            ),
            {"c": CODE},
        ).one()
        assert plan[1:5] == ("zoning", 2000, 1, "draft") and plan[5] > 1e6
        z = c.execute(
            sa.text(
                "SELECT land_use_code, max_density_pct, max_floors, max_height_m, max_far, min_setback_m, "
                "heritage_zone, attributes->>'maHoSoQH', attributes->>'phanLoai', geom_area_m2 "
                "FROM planning.zones WHERE plan_id = :p AND zone_code = 'KT-18'"
            ),
            {"p": plan[0]},
        ).one()
        # the commercial strip along Đinh Tiên Hoàng, in protection zone II of the Kinh thành
        assert z[0] == "TMD" and float(z[1]) == 80 and z[2] == 3 and float(z[3]) == 12.0 and float(z[5]) == 0
        assert z[6].startswith("Khu vực bảo vệ II") and z[7] == CODE and z[8] == "Đất thương mại dịch vụ"
        # the Imperial City: protection zone I, nothing new may be built
        ic = c.execute(
            sa.text(
                "SELECT land_use_code, max_floors, max_height_m, heritage_zone FROM planning.zones "
                "WHERE plan_id = :p AND zone_code = 'KT-25'"
            ),
            {"p": plan[0]},
        ).one()
        assert tuple(ic[:3]) == ("DDT", 0, 0) and ic[3].startswith("Khu vực bảo vệ I -")
        # the fields the rule model reads stay in the zones' attributes: a new area, values left unlimited
        extra: dict[str, int] = dict(
            c.execute(
                sa.text("SELECT attributes->>'khuVucMoi', count(*) FROM planning.zones WHERE plan_id = :p GROUP BY 1"),
                {"p": plan[0]},
            ).all()
        )
        assert extra == {"0": ZONES - 9, "1": 9}  # the nine zones of the new area of Hương Sơ
        unlimited = c.execute(
            sa.text(
                "SELECT zone_code, max_far FROM planning.zones WHERE plan_id = :p "
                "AND attributes->>'khongGioiHan' = 'max_far'"
            ),
            {"p": plan[0]},
        ).all()
        assert sorted(u[0] for u in unlimited) == ["HS-03", "HS-08", "ĐB-02"] and all(u[1] is None for u in unlimited)
        # parcels know the street they are addressed on, back lots their kiệt
        roads = c.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE attributes->>'tenDuong' <> ''), "
                "count(*) FILTER (WHERE attributes->>'tenKiet' <> '') FROM planning.parcels"
            )
        ).one()
        assert tuple(roads) == (PARCELS - BACK_LOTS, BACK_LOTS)
        # the zones were loaded in bulk: one record names the importing user and the reason...
        load = c.execute(
            sa.text("SELECT loaded_by, reason, row_count FROM planning.bulk_loads WHERE plan_id = :p"), {"p": plan[0]}
        ).one()
        assert load[0] == "lan.nguyen" and load[1].startswith("import of 46QPK0000001") and load[2] == ZONES
        # ...and each zone's own insert entry, written when first needed, says the same, one per feature
        c.execute(
            sa.text("SELECT planning.ensure_history(array_agg(id)) FROM planning.zones WHERE plan_id = :p"),
            {"p": plan[0]},
        )
        who = c.execute(
            sa.text(
                "SELECT changed_by, reason, count(*), count(DISTINCT feature_id) FROM planning.change_history "
                "WHERE table_name = 'zones' AND operation = 'insert' "
                "AND feature_id IN (SELECT id FROM planning.zones WHERE plan_id = :p) GROUP BY 1, 2"
            ),
            {"p": plan[0]},
        ).all()
        assert len(who) == 1 and who[0][0] == "lan.nguyen" and who[0][1].startswith("import of 46QPK0000001")
        assert who[0][2] == who[0][3] == ZONES
        # the legacy code BHK became HNK, the source code kept
        old = c.execute(
            sa.text(
                "SELECT count(*) FROM planning.parcels "
                "WHERE attributes->>'source_land_use_code' = 'BHK' AND land_use_code = 'HNK'"
            )
        ).scalar_one()
        assert old == 22
        # every building found the parcel it stands on
        assert c.execute(sa.text("SELECT count(*) FROM planning.buildings WHERE parcel_id IS NULL")).scalar_one() == 0
    assert {"from": "BHK", "to": "HNK", "count": 22} in report.code_mappings  # type: ignore[attr-defined]


def test_straddling_parcels_lie_in_two_zones(engine: Engine, imported: dict[str, object]) -> None:
    rows = list(csv.DictReader((ROOT / "sample_data" / "straddling_parcels.csv").open(encoding="utf-8")))
    assert len(rows) >= 5
    with engine.connect() as c:
        for r in rows:
            shares = c.execute(
                sa.text(
                    "SELECT z.zone_code, ST_Area(ST_Intersection(p.geom, z.geom)) / ST_Area(p.geom) "
                    "FROM planning.parcels p JOIN planning.zones z ON ST_Intersects(p.geom, z.geom) "
                    "JOIN planning.plans pl ON pl.id = z.plan_id "
                    "WHERE pl.code = :c AND p.ward = :w AND p.sheet_no = :s AND p.parcel_no = :n "
                    "AND ST_Area(ST_Intersection(p.geom, z.geom)) > 0.01 ORDER BY 1"
                ),
                {"c": CODE, "w": r["ward"], "s": int(r["sheet_no"]), "n": int(r["parcel_no"])},
            ).all()
            expected = sorted((z.split(":")[0], float(z.split(":")[1])) for z in r["zones"].split(";"))
            assert [s[0] for s in shares] == [e[0] for e in expected]
            for (_, got), (_, want) in zip(shares, expected, strict=True):
                assert abs(got - want) < 0.002


def test_same_files_again_change_nothing_and_new_version_keeps_the_old(
    engine: Engine, imported: dict[str, object]
) -> None:
    before = counts(engine)
    again = import_path(DOSSIER, engine, ImportOptions(plan=CODE, user="lan.nguyen"))
    assert again.skipped and "already holds these very files" in again.skipped
    assert counts(engine) == before
    v2 = import_path(
        DOSSIER, engine, ImportOptions(plan=CODE, user="lan.nguyen", new_version=True, reason="bản sửa đổi")
    )
    assert v2.plan is not None and v2.plan["version"] == 2
    after = counts(engine)
    assert after["zones"] == before["zones"] + ZONES  # the new version has its own zones; version 1 keeps its own
    assert after["parcels"] == before["parcels"]  # parcels are keyed: the same parcels are not duplicated
    assert after["buildings"] == before["buildings"]
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT p.version, p.based_on_id, count(z.id) FROM planning.plans p "
                "JOIN planning.zones z ON z.plan_id = p.id "
                "WHERE p.code = :c GROUP BY 1, 2 ORDER BY 1"
            ),
            {"c": CODE},
        ).all()
    assert [(r[0], r[2]) for r in rows] == [(1, ZONES), (2, ZONES)] and rows[1][1] is not None


def test_cli_dry_run_writes_nothing_and_reports(engine: Engine, settings: object, tmp_path: Path) -> None:
    before = counts(engine)
    report_file = tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        ["import", str(DOSSIER), "--plan", "46QPK0000009", "--dry-run", "--report", str(report_file)],
        obj={"settings": settings},
    )
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert counts(engine) == before
    data = json.loads(report_file.read_text(encoding="utf-8"))
    assert data["dry_run"] is True
    # plan layers are new for this plan code; parcels, buildings and the base map are the ones already in the database
    plan_layers = ZONES + RED_LINES + BUILDING_LINES + 1
    assert sum(layer["written"] for layer in data["layers"] if layer["kind"] != "parcels") >= plan_layers
    assert sum(layer["written"] + layer["unchanged"] for layer in data["layers"]) == (
        plan_layers + PARCELS + BUILDINGS + BASE_MAP
    )


def test_parcels_reimported_alone_update_only_what_changed(
    engine: Engine, imported: dict[str, object], tmp_path: Path
) -> None:
    import geopandas as gpd

    src = DOSSIER / "HoSoGIS" / "HienTrang.gpkg"
    same = import_path(src, engine, ImportOptions(user="lan.nguyen", kind=None))
    parcels = next(lr for lr in same.layers if lr.kind == "parcels")
    assert (parcels.written, parcels.updated, parcels.unchanged) == (0, 0, PARCELS)
    gdf = gpd.read_file(src, layer="ThuaDat_A", engine="pyogrio")
    gdf.loc[0, "maMucDichSDD"] = "TMD"
    gdf.to_file(tmp_path / "HienTrang.gpkg", layer="ThuaDat_A", engine="pyogrio")
    changed = import_path(
        tmp_path / "HienTrang.gpkg", engine, ImportOptions(user="lan.nguyen", reason="chuyển mục đích")
    )
    assert (changed.layers[0].written, changed.layers[0].updated, changed.layers[0].unchanged) == (0, 1, PARCELS - 1)
    with engine.connect() as c:
        last = c.execute(
            sa.text(
                "SELECT h.operation, h.reason, h.before->>'land_use_code', h.after->>'land_use_code' "
                "FROM planning.change_history h WHERE h.table_name = 'parcels' ORDER BY h.id DESC LIMIT 1"
            )
        ).one()
    assert tuple(last) == ("update", "chuyển mục đích", "ODT", "TMD")
