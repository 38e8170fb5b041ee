"""A plan version's zones are loaded in bulk into a partition of their own (migration 0004).

What the bulk path must keep from the row-by-row model: serving columns equal to PostGIS's own ``ST_Transform`` and
``ST_Area``, a history that shows each zone's import (who, why) before its edits and restores it exactly, the
database's checks, and a downgrade that gives every row and history entry back.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import sqlalchemy as sa
from shapely.geometry import Polygon
from sqlalchemy.engine import Engine
from test_import_formats import CONTROL_9214, next_plan, zones_9214

from converters import ImportOptions, import_path
from converters.errors import ConverterError
from converters.importer import IMPORTER_CHECKS
from gis_service.db.engine import create_db_engine
from gis_service.db.migrate import downgrade, upgrade
from gis_service.editing import feature_history, restore_feature, update_feature


def _import(engine: Engine, tmp_path: Path, plan: str, user: str = "lan.nguyen") -> int:
    zones_9214().to_file(tmp_path / "zones.gpkg", layer="ChucNangSuDungDat_A", engine="pyogrio")
    report = import_path(tmp_path / "zones.gpkg", engine, ImportOptions(plan=plan, user=user, reason="import test"))
    assert report.plan is not None
    return int(report.plan["id"])


def _first_zone(c: sa.Connection, plan_id: int) -> int:
    return int(c.execute(sa.text("SELECT min(id) FROM planning.zones WHERE plan_id = :p"), {"p": plan_id}).scalar_one())


def _constraints(engine: Engine, part: str, where: str) -> dict[tuple[str, str], bool]:
    """Whether each constraint matching ``where`` (on ``k``, pg_constraint) is validated, by (table, name), on
    planning.zones, zones_default and the plan's partition ``part``."""
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT c.relname, k.conname, k.convalidated FROM pg_constraint k "
                f"JOIN pg_class c ON c.oid = k.conrelid WHERE {where} AND c.relname IN ('zones', 'zones_default', :p)"
            ),
            {"p": part},
        ).all()
    return {(r[0], r[1]): bool(r[2]) for r in rows}


def test_zones_land_in_their_plans_partition_with_exact_serving_columns(engine: Engine, tmp_path: Path) -> None:
    plan_id = _import(engine, tmp_path, next_plan())
    with engine.connect() as c:
        where = c.execute(
            sa.text(
                "SELECT DISTINCT c.relname FROM planning.zones z JOIN pg_class c ON c.oid = z.tableoid "
                "WHERE z.plan_id = :p"
            ),
            {"p": plan_id},
        ).scalars()
        assert list(where) == [f"zones_plan_{plan_id}"]
        # each index of planning.zones once on the plan's table (built before ATTACH, which adopted it), no other
        idx = c.execute(
            sa.text(
                "SELECT count(*), count(h.inhparent), (SELECT count(*) FROM pg_index WHERE indrelid = "
                "'planning.zones'::regclass) FROM pg_index i LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid "
                "WHERE i.indrelid = to_regclass(:t)"
            ),
            {"t": f"planning.zones_plan_{plan_id}"},
        ).one()
        assert (
            idx[0] == idx[1] == idx[2] == 2
        )  # id, geom (0005: land_use_code on zones_default only; 0006: no geom_4326)
        off = c.execute(
            sa.text(
                "SELECT max(ST_HausdorffDistance(geom_4326, ST_Transform(geom, 4326))), "
                "max(ST_HausdorffDistance(geom_3857, ST_Transform(geom, 3857))), "
                "max(abs(geom_area_m2 - ST_Area(geom))), bool_and(ST_SRID(geom_4326) = 4326), count(*) "
                "FROM planning.zones WHERE plan_id = :p"
            ),
            {"p": plan_id},
        ).one()
        # computed by pyproj in the importer, the same 7-parameter shift as the database: equal to well under 1 mm
        assert off[0] < 1e-9 and off[1] < 1e-4 and off[2] < 1e-6 and off[3] and off[4] == 2
        load = c.execute(
            sa.text("SELECT loaded_by, reason, row_count FROM planning.bulk_loads WHERE plan_id = :p"), {"p": plan_id}
        ).one()
        assert tuple(load) == ("lan.nguyen", "import test", 2)
        # the control point reads back in lon/lat from the serving column within 1 cm
        d = c.execute(
            sa.text(
                "SELECT min(ST_Distance(ST_Transform((dp).geom, 9214), ST_SetSRID(ST_MakePoint(:e, :n), 9214))) "
                "FROM (SELECT ST_DumpPoints(geom_4326) dp FROM planning.zones WHERE plan_id = :p) x"
            ),
            {"p": plan_id, "e": CONTROL_9214[0], "n": CONTROL_9214[1]},
        ).scalar_one()
        assert d < 0.01


def test_a_bulk_loaded_zone_shows_its_import_then_its_edits_and_restores_exactly(
    engine: Engine, tmp_path: Path
) -> None:
    plan_id = _import(engine, tmp_path, next_plan())
    with engine.begin() as c:
        zid, original = c.execute(
            sa.text(
                "SELECT id, planning.row_state(to_jsonb(z), z.geom) FROM planning.zones z "
                "WHERE plan_id = :p ORDER BY id LIMIT 1"
            ),
            {"p": plan_id},
        ).one()
        assert (
            c.execute(
                sa.text("SELECT count(*) FROM planning.change_history WHERE table_name = 'zones' AND feature_id = :i"),
                {"i": zid},
            ).scalar_one()
            == 0
        )  # nothing written per zone at import time
        update_feature(c, "zones", zid, {"max_floors": 9}, user="minh.tran", reason="sửa tầng cao")
        update_feature(c, "zones", zid, {"max_floors": 7}, user="minh.tran", reason="sửa lại")
        hist = feature_history(c, "zones", zid)
        assert [(h.operation, h.row_version, h.changed_by, h.reason) for h in hist] == [
            ("insert", 1, "lan.nguyen", "import test"),
            ("update", 2, "minh.tran", "sửa tầng cao"),
            ("update", 3, "minh.tran", "sửa lại"),
        ]
        assert hist[0].after == original  # the insert entry is the row as loaded
        assert hist[1].before == original
        state = restore_feature(c, "zones", zid, version=1, user="minh.tran", reason="về bản nhập")
        for key in ("max_floors", "land_use_code", "geom", "zone_code", "attributes"):
            assert state[key] == original[key]
        # the serving columns follow the restored geometry (trigger), and a later read adds no entry twice
        assert len(feature_history(c, "zones", zid)) == 4


def test_deleting_a_bulk_loaded_zone_keeps_its_import_in_the_history(engine: Engine, tmp_path: Path) -> None:
    plan_id = _import(engine, tmp_path, next_plan())
    with engine.begin() as c:
        zid = _first_zone(c, plan_id)
        c.execute(sa.text("SELECT set_config('planning.user', 'minh.tran', true)"))
        c.execute(sa.text("DELETE FROM planning.zones WHERE id = :i"), {"i": zid})
        ops = c.execute(
            sa.text(
                "SELECT operation, changed_by FROM planning.change_history "
                "WHERE table_name = 'zones' AND feature_id = :i ORDER BY id"
            ),
            {"i": zid},
        ).all()
        assert [tuple(r) for r in ops] == [("insert", "lan.nguyen"), ("delete", "minh.tran")]


def test_edits_of_a_bulk_loaded_zone_keep_the_serving_columns_right(engine: Engine, tmp_path: Path) -> None:
    plan_id = _import(engine, tmp_path, next_plan())
    e, n = CONTROL_9214
    moved = Polygon([(e + 100, n), (e + 140, n), (e + 140, n + 30), (e + 100, n + 30)])
    with engine.begin() as c:
        zid = _first_zone(c, plan_id)
        update_feature(c, "zones", zid, {"geom": moved}, user="minh.tran", reason="dời ô")
        # a direct write to a serving column is overwritten: they always follow geom
        c.execute(sa.text("UPDATE planning.zones SET geom_area_m2 = 1, geom_4326 = NULL WHERE id = :i"), {"i": zid})
        row = c.execute(
            sa.text(
                "SELECT geom_area_m2, ST_HausdorffDistance(geom_4326, ST_Transform(geom, 4326)), "
                "ST_HausdorffDistance(geom_3857, ST_Transform(geom, 3857)) FROM planning.zones WHERE id = :i"
            ),
            {"i": zid},
        ).one()
        assert abs(row[0] - 1200) < 1e-6 and row[1] == 0 and row[2] == 0


def test_serving_copies_of_many_zones_equal_postgis_transform(engine: Engine, tmp_path: Path) -> None:
    """Zones across two of the squares the importer fits its transformation over (converters.crs): every lon/lat
    and Web Mercator point equals PostGIS's ST_Transform of the stored zone to well under a millimetre."""
    import geopandas as gpd
    import numpy as np
    import shapely

    n = 3000
    i = np.arange(n)
    e, north = CONTROL_9214
    centres = np.column_stack([e - 3000 + (i % 60) * 100.0, north - 2000 + (i // 60) * 100.0])
    ang = np.linspace(0, 2 * np.pi, 9)
    rings = centres[:, None, :] + 30 * np.stack([np.cos(ang), np.sin(ang)], axis=1)[None]
    rings[:, -1] = rings[:, 0]
    gdf = gpd.GeoDataFrame(
        {"kyHieuO": [f"ÔQH-{k}" for k in i], "maSDD": np.where(i % 2, "ODT", "TMD")},
        geometry=shapely.polygons(rings),
        crs="EPSG:9214",
    )
    gdf.to_file(tmp_path / "many.gpkg", layer="ChucNangSuDungDat_A", engine="pyogrio")
    report = import_path(tmp_path / "many.gpkg", engine, ImportOptions(plan=next_plan(), user="lan.nguyen"))
    assert report.plan is not None
    with engine.connect() as c:
        off = c.execute(
            sa.text(
                "SELECT count(*), max(ST_HausdorffDistance(geom_4326, ST_Transform(geom, 4326))), "
                "max(ST_HausdorffDistance(geom_3857, ST_Transform(geom, 3857))) FROM planning.zones WHERE plan_id = :p"
            ),
            {"p": report.plan["id"]},
        ).one()
    assert off[0] == n and off[1] < 1e-10 and off[2] < 1e-5  # 1e-10° is about 0.01 mm, 1e-5 m is 0.01 mm


def test_the_importer_checks_validity_and_the_server_still_checks_every_later_write(
    engine: Engine, tmp_path: Path
) -> None:
    """Migration 0005: the server does not check again the shapes the importer checked (its partition's validity
    check is NOT VALID), checks every other write, and finds them valid when asked to check them all."""
    plan_id = _import(engine, tmp_path, next_plan())
    part = f"zones_plan_{plan_id}"
    checked = _constraints(engine, part, "k.conname = 'zones_geom_valid'")
    v = "zones_geom_valid"
    assert checked == {("zones", v): False, ("zones_default", v): True, (part, v): False}
    bowtie = "SRID=9214;MULTIPOLYGON(((561600 1821600,561700 1821700,561700 1821600,561600 1821700,561600 1821600)))"
    with engine.begin() as c:
        zid = _first_zone(c, plan_id)
        with pytest.raises(sa.exc.IntegrityError, match="zones_geom_valid"), c.begin_nested():
            c.execute(
                sa.text("UPDATE planning.zones SET geom = CAST(:g AS geometry) WHERE id = :i"), {"g": bowtie, "i": zid}
            )
        c.execute(sa.text(f"ALTER TABLE planning.{part} VALIDATE CONSTRAINT zones_geom_valid"))  # all valid
        assert c.execute(
            sa.text(
                "SELECT convalidated FROM pg_constraint WHERE conname = 'zones_geom_valid' AND conrelid = :p ::regclass"
            ),
            {"p": f"planning.{part}"},
        ).scalar_one()


def test_a_refused_zone_leaves_no_partition_behind(engine: Engine, tmp_path: Path) -> None:
    gdf = zones_9214()
    gdf.loc[1, "matDoXayDung"] = 140.0  # a density above 100 %
    gdf.to_file(tmp_path / "zones.gpkg", layer="ChucNangSuDungDat_A", engine="pyogrio")
    with engine.connect() as c:
        before = c.execute(sa.text("SELECT count(*) FROM pg_class WHERE relname LIKE 'zones_plan_%'")).scalar_one()
    with pytest.raises(ConverterError):
        import_path(tmp_path / "zones.gpkg", engine, ImportOptions(plan=next_plan(), user="lan.nguyen"))
    with engine.connect() as c:
        after = c.execute(sa.text("SELECT count(*) FROM pg_class WHERE relname LIKE 'zones_plan_%'")).scalar_one()
    assert after == before


def test_downgrade_puts_bulk_loaded_zones_and_their_history_back(empty_database_url: str, tmp_path: Path) -> None:
    url = empty_database_url
    upgrade(url)
    engine = create_db_engine(url, pool_size=1)
    try:
        plan_id = _import(engine, tmp_path, next_plan())
        with engine.connect() as c:
            before = c.execute(
                sa.text("SELECT id, zone_code, ST_AsEWKB(geom) FROM planning.zones WHERE plan_id = :p ORDER BY id"),
                {"p": plan_id},
            ).all()
    finally:
        engine.dispose()
    downgrade(url, "0003_permits")
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as c:
            after = c.execute(
                sa.text("SELECT id, zone_code, ST_AsEWKB(geom) FROM planning.zones WHERE plan_id = :p ORDER BY id"),
                {"p": plan_id},
            ).all()
            inserts = c.execute(
                sa.text(
                    "SELECT count(*) FROM planning.change_history WHERE table_name = 'zones' AND operation = 'insert' "
                    "AND changed_by = 'lan.nguyen'"
                )
            ).scalar_one()
            kind = c.execute(sa.text("SELECT relkind FROM pg_class WHERE oid = 'planning.zones'::regclass")).scalar()
        assert [tuple(r) for r in after] == [tuple(r) for r in before] and inserts == 2 and kind == "r"
    finally:
        engine.dispose()
    upgrade(url)


def test_migration_0008_checks_the_plan_versions_loaded_before_it(empty_database_url: str, tmp_path: Path) -> None:
    """Down to 0007 the value checks are validated everywhere again (each row checked); back up, a plan version
    loaded before 0008 keeps them validated: only the importer's later loads skip them."""
    url = empty_database_url
    upgrade(url)
    engine = create_db_engine(url, pool_size=1)
    try:
        plan_id = _import(engine, tmp_path, next_plan())
    finally:
        engine.dispose()
    name = f"zones_plan_{plan_id}"
    where = "k.conname = 'zones_max_density_pct_check'"
    downgrade(url, "0007_bulk_zone_keys")
    engine = create_db_engine(url, pool_size=1)
    try:
        assert set(_constraints(engine, name, where).values()) == {True}
    finally:
        engine.dispose()
    upgrade(url)
    engine = create_db_engine(url, pool_size=1)
    try:
        assert _constraints(engine, name, where) == {
            ("zones", "zones_max_density_pct_check"): False,
            ("zones_default", "zones_max_density_pct_check"): True,
            (name, "zones_max_density_pct_check"): True,
        }
        (tmp_path / "later").mkdir()
        later = f"zones_plan_{_import(engine, tmp_path / 'later', next_plan())}"
        assert _constraints(engine, later, where)[(later, "zones_max_density_pct_check")] is False
    finally:
        engine.dispose()


def test_readers_are_not_held_up_while_an_import_loads(engine: Engine, tmp_path: Path) -> None:
    """During the load (after each batch's COPY), another session reads and edits planning.zones without waiting."""
    zones_9214().to_file(tmp_path / "zones.gpkg", layer="ChucNangSuDungDat_A", engine="pyogrio")
    seen: list[int] = []
    labels: list[str] = []

    def meanwhile(label: str, done: int, total: int | None) -> None:
        labels.append(label)
        with engine.begin() as other:
            other.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            seen.append(int(other.execute(sa.text("SELECT count(*) FROM planning.zones")).scalar_one()))
            other.execute(sa.text("UPDATE planning.zones SET notes = notes WHERE false"))

    import_path(tmp_path / "zones.gpkg", engine, ImportOptions(plan=next_plan(), user="t"), progress=meanwhile)
    assert seen  # the callback ran while the import's transaction was open
    assert labels[-1] == "zones: indexes, keys and checks"  # the last step is said too, not a bar stuck at 100 %


def test_the_importer_checks_the_keys_and_the_server_still_guards_them(engine: Engine, tmp_path: Path) -> None:
    """Migration 0007: a bulk-loaded partition's foreign keys (plan, land-use code) are NOT VALID (the importer made
    sure of them), still guard every later write on either side, and hold when the server is asked to check."""
    plan_id = _import(engine, tmp_path, next_plan())
    name = f"zones_plan_{plan_id}"
    part = f"planning.{name}"
    assert _constraints(engine, name, "k.contype = 'f'") == {  # none on planning.zones itself
        ("zones_default", "zones_land_use_code_fkey"): True,
        ("zones_default", "zones_plan_id_fkey"): True,
        (name, "zones_land_use_code_fkey"): False,
        (name, "zones_plan_id_fkey"): False,
    }
    with engine.begin() as c:
        zid = _first_zone(c, plan_id)
        with pytest.raises(sa.exc.IntegrityError, match="zones_land_use_code_fkey"), c.begin_nested():
            c.execute(sa.text("UPDATE planning.zones SET land_use_code = 'XYZ' WHERE id = :i"), {"i": zid})
        # a code nothing else refers to (parcels, buildings and other plans' zones of other tests may hold the
        # sample's codes, and their keys would answer first), given to the zone: only the partition's key holds it
        code = c.execute(
            sa.text(
                "SELECT code FROM planning.land_use_codes l WHERE NOT is_group "
                "AND NOT EXISTS (SELECT 1 FROM planning.land_use_codes g WHERE g.group_code = l.code) "
                "AND NOT EXISTS (SELECT 1 FROM planning.legacy_land_use_codes x WHERE x.code = l.code) "
                "AND NOT EXISTS (SELECT 1 FROM planning.parcels p WHERE p.land_use_code = l.code) "
                "AND NOT EXISTS (SELECT 1 FROM planning.buildings b WHERE b.land_use_code = l.code) "
                "AND NOT EXISTS (SELECT 1 FROM planning.zones z WHERE z.land_use_code = l.code) ORDER BY code LIMIT 1"
            )
        ).scalar_one()
        c.execute(sa.text("UPDATE planning.zones SET land_use_code = :c WHERE id = :i"), {"c": code, "i": zid})
        with pytest.raises(sa.exc.IntegrityError, match="zones_land_use_code_fkey"), c.begin_nested():
            c.execute(sa.text("DELETE FROM planning.land_use_codes WHERE code = :c"), {"c": code})
        with pytest.raises(sa.exc.IntegrityError, match="zones_plan_id_fkey"), c.begin_nested():
            c.execute(sa.text("DELETE FROM planning.bulk_loads WHERE plan_id = :p"), {"p": plan_id})  # its other tie
            c.execute(sa.text("DELETE FROM planning.plans WHERE id = :p"), {"p": plan_id})
        for name in ("zones_land_use_code_fkey", "zones_plan_id_fkey"):
            c.execute(sa.text(f"ALTER TABLE {part} VALIDATE CONSTRAINT {name}"))  # every loaded row holds


def test_the_importer_checks_the_values_and_the_server_still_checks_every_later_write(
    engine: Engine, tmp_path: Path
) -> None:
    """Migration 0008: a bulk-loaded partition's value checks are NOT VALID (the importer made them, more strictly),
    zones_default's are validated, every later write is still checked, and the loaded rows hold when asked."""
    plan_id = _import(engine, tmp_path, next_plan())
    name = f"zones_plan_{plan_id}"
    checks = [c for c in IMPORTER_CHECKS if c != "zones_geom_valid"]
    assert len(checks) == 9
    where = "k.conname = ANY(ARRAY[" + ", ".join(f"'{c}'" for c in checks) + "])"
    assert _constraints(engine, name, where) == {
        **{("zones", c): False for c in checks},
        **{("zones_default", c): True for c in checks},
        **{(name, c): False for c in checks},
    }
    refused = {
        "zones_max_density_pct_check": "max_density_pct = 140",
        "zones_max_far_check": "max_far = -1",
        "zones_max_floors_check": "max_floors = -1",
        "zones_floors_order": "min_floors = 9, max_floors = 3",
        "zones_geom_not_empty": "geom = 'SRID=9214;MULTIPOLYGON EMPTY'",
    }
    with engine.begin() as c:
        zid = _first_zone(c, plan_id)
        for check, change in refused.items():
            with pytest.raises(sa.exc.IntegrityError, match=check), c.begin_nested():
                c.execute(sa.text(f"UPDATE planning.zones SET {change} WHERE id = :i"), {"i": zid})
        # an update's row_version is the trigger's (the old one + 1): an insert into the plan's partition sets it
        with pytest.raises(sa.exc.IntegrityError, match="zones_row_version_check"), c.begin_nested():
            c.execute(
                sa.text(
                    "INSERT INTO planning.zones (plan_id, land_use_code, geom, row_version) "
                    "SELECT plan_id, land_use_code, geom, 0 FROM planning.zones WHERE id = :i"
                ),
                {"i": zid},
            )
        for check in checks:
            c.execute(sa.text(f"ALTER TABLE planning.{name} VALIDATE CONSTRAINT {check}"))  # every loaded row holds


def test_zone_ids_come_from_the_sequence_in_blocks(engine: Engine) -> None:
    """Migration 0008: a session takes 1,000 zone ids at once and hands them out in order; another session open at
    the same time takes the next block."""
    nextval = sa.text("SELECT nextval('planning.zones_id_seq')")
    with engine.connect() as a, engine.connect() as b:
        a1, a2 = a.execute(nextval).scalar_one(), a.execute(nextval).scalar_one()
        b1 = b.execute(nextval).scalar_one()
        a3 = a.execute(nextval).scalar_one()
    # a's ids come from its own block, in order, whatever b took meanwhile (with a cache of 1: b1 = a1 + 2, a3 = a1 + 3)
    assert (a2, a3) == (a1 + 1, a1 + 2) and not a1 <= b1 <= a3


def test_the_cli_hashes_the_file_while_loading_and_knows_it_again(
    engine: Engine, settings: object, tmp_path: Path
) -> None:
    """``planning import`` hashes its file beside the start-up (gis_service.file_digest): the same digest as the
    importer's own, so a second import of the same file changes nothing."""
    from click.testing import CliRunner

    from gis_service.cli import cli
    from gis_service.file_digest import Digest, sha256

    path = tmp_path / "zones.gpkg"
    zones_9214().to_file(path, layer="ChucNangSuDungDat_A", engine="pyogrio")
    digest = Digest([path])
    assert digest.of([tmp_path / "." / "zones.gpkg"]) == sha256([path])
    assert digest.of([path, tmp_path / "zones.qmd"]) is None  # other files: computed again by the importer
    link = tmp_path / "plan.gpkg"
    link.symlink_to(path)
    assert Digest([link]).of([link]) == sha256([link]) != sha256([path])  # the name as given, as the importer hashes
    args = ["import", str(path), "--plan", next_plan(), "--user", "t"]
    first = CliRunner().invoke(cli, args, obj={"settings": settings})
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(cli, args, obj={"settings": settings})
    assert again.exit_code == 0 and "already holds these very files" in again.output, again.output
    assert gc.isenabled()  # off during the command only (the process's own state given back)


def test_the_report_says_which_side_the_load_waited_for(engine: Engine, tmp_path: Path) -> None:
    """The report times the COPY statements and the waits for the reading thread, within the layers' time."""
    zones_9214().to_file(tmp_path / "zones.gpkg", layer="ChucNangSuDungDat_A", engine="pyogrio")
    report = import_path(tmp_path / "zones.gpkg", engine, ImportOptions(plan=next_plan(), user="t"))
    t = report.timings
    # the wait is rounded to the millisecond: a fast machine may prepare this small sample's batches in less
    assert t["copy"] > 0 and t["waiting_for_reader"] >= 0
    assert t["copy"] + t["waiting_for_reader"] <= t["layers"]
