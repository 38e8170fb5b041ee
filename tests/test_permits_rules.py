"""Permit rules at their boundaries, on a real PostGIS (tests/permits_sample.py): each rule on both sides."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from permits_sample import box_geojson, load_permit_plan

from gis_service.permits import check
from gis_service.rules.tables import qcvn_tables


@pytest.fixture(scope="module")
def permit_db(db_server: Any) -> Iterator[tuple[str, dict[str, int]]]:
    from gis_service.db.migrate import upgrade

    url = db_server.create("permits")
    upgrade(url)
    ids = load_permit_plan(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def pg(permit_db: tuple[str, dict[str, int]]) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(permit_db[0], autocommit=True) as c:
        yield c


def run(pg: psycopg.Connection[Any], lot: tuple[float, ...], fp: tuple[float, ...], **kw: Any) -> dict[str, Any]:
    data = {"lot": box_geojson(*lot), "footprint": box_geojson(*fp), "crs": "EPSG:9214", "use": "ODT", **kw}
    result, _m = check(pg, data)
    return result


def rule(result: dict[str, Any], rid: str, zone: str | None = None) -> dict[str, Any]:
    hits = [
        r for r in result["rules"] if r["id"] == rid and (zone is None or r.get("zone", {}).get("zone_code") == zone)
    ]
    assert len(hits) == 1, (rid, zone, result["rules"])
    return hits[0]


# (case, lot box, footprint box, proposal, rule, expected status, expected value, expected limit)
LOT100 = (-100, 100, -90, 110)  # 10 x 10 m in zone A, far from the road
LOT150 = (-100, 200, -90, 215)
CASES: list[tuple[str, tuple[float, ...], tuple[float, ...], dict[str, Any], str, str, Any, Any]] = [
    ("density 89.9% of 100 m²", LOT100, (-100, 100, -90, 108.99), {}, "density", "pass", 89.9, 90),
    ("density 90.1% of 100 m²", LOT100, (-100, 100, -90, 109.01), {}, "density", "fail", 90.1, 90),
    ("density 150 m² lot: 80% by interpolation", LOT150, (-100, 200, -90, 211.99), {}, "density", "pass", 79.93, 80),
    ("density 150 m² lot over 80%", LOT150, (-100, 200, -90, 212.02), {}, "density", "fail", 80.13, 80),
    (
        "density 1000 m² lot: exactly 40%",
        (-300, 100, -250, 120),
        (-300, 100, -280, 120),
        {},
        "density",
        "pass",
        40.0,
        40,
    ),
    (
        "density 1000 m² lot: 40.1%",
        (-300, 100, -250, 120),
        (-300, 100, -279.95, 120),
        {"use": "detached_house"},
        "density",
        "fail",
        40.1,
        40,
    ),
    (
        "apartment 10,000 m², 16 m: 65%",
        (-900, 500, -800, 600),
        (-900, 500, -835.1, 600),
        {"use": "apartment", "height_m": 16},
        "density",
        "pass",
        64.9,
        65,
    ),
    (
        "apartment 10,000 m², 16 m over 65%",
        (-900, 500, -800, 600),
        (-900, 500, -834.9, 600),
        {"use": "apartment", "height_m": 16},
        "density",
        "fail",
        65.1,
        65,
    ),
    (
        "commercial in zone B: plan 60% below Table 2.10",
        (100, 100, 140, 150),
        (100, 100, 139.9, 130),
        {"use": "commercial", "height_m": 12},
        "density",
        "pass",
        59.85,
        60,
    ),
    (
        "commercial in zone B over 60%",
        (100, 100, 140, 150),
        (100, 100, 140, 130.1),
        {"use": "commercial", "height_m": 12},
        "density",
        "fail",
        60.2,
        60,
    ),
    ("5 floors in a 5-floor zone", LOT100, (-99, 101, -91, 109), {"floors": 5}, "floors", "pass", 5, 5),
    ("6 floors in a 5-floor zone", LOT100, (-99, 101, -91, 109), {"floors": 6}, "floors", "fail", 6, 5),
    ("0 floors below the zone's minimum of 1", LOT100, (-99, 101, -91, 109), {"floors": 0}, "floors", "fail", 0, 5),
    ("height 18 m in an 18 m zone", LOT100, (-99, 101, -91, 109), {"height_m": 18}, "height", "pass", 18, 18),
    ("height 18.01 m in an 18 m zone", LOT100, (-99, 101, -91, 109), {"height_m": 18.01}, "height", "fail", 18.01, 18),
    ("FAR 4.0", LOT100, (-99, 101, -91, 109), {"total_floor_area_m2": 400}, "far", "pass", 4.0, 4),
    ("FAR 4.01", LOT100, (-99, 101, -91, 109), {"total_floor_area_m2": 401}, "far", "fail", 4.01, 4),
    (
        "setback 3.0 m from a road without building line, where the zone asks 3 m",
        (-50, 980, -40, 1000),
        (-50, 985, -40, 997),
        {},
        "red_line_setback",
        "pass",
        3.0,
        3,
    ),
    (
        "setback 2.9 m where the zone asks 3 m",
        (-50, 980, -40, 1000),
        (-50, 985, -40, 997.1),
        {},
        "red_line_setback",
        "fail",
        2.9,
        3,
    ),
    (
        "Table 2.7: 12 m road, 18.9 m tall: 0 m",
        (100, 980, 110, 1000),
        (100, 985, 110, 999.5),
        {"height_m": 18.9},
        "red_line_setback",
        "pass",
        0.5,
        0,
    ),
    (
        "Table 2.7: 12 m road, 19 m tall: 3 m",
        (100, 980, 110, 1000),
        (100, 985, 110, 997.1),
        {"height_m": 19},
        "red_line_setback",
        "fail",
        2.9,
        3,
    ),
    (
        "Table 2.7: 20 m road (given), 22 m tall: 6 m",
        (100, 980, 110, 1000),
        (100, 985, 110, 994),
        {"height_m": 22, "road_width_m": 20},
        "red_line_setback",
        "pass",
        6.0,
        6,
    ),
    (
        "Table 2.7: 20 m road (given), 22 m tall, 5.99 m",
        (100, 980, 110, 1000),
        (100, 985, 110, 994.01),
        {"height_m": 22, "road_width_m": 20},
        "red_line_setback",
        "fail",
        5.99,
        6,
    ),
    (
        "the building line governs: 3.2 m behind the red line of a road with a 3 m building line",
        (-50, 0, -40, 20),
        (-50, 3.2, -40, 15),
        {"height_m": 7},
        "building_line",
        "pass",
        0.2,
        0,
    ),
    (
        "Table 2.7 asks more than the 3 m building line of a 22 m building: 4 m",
        (100, 0, 110, 30),
        (100, 4, 110, 25),
        {"height_m": 22},
        "red_line_setback",
        "pass",
        4.0,
        4,
    ),
    (
        "Table 2.7 asks more than the 3 m building line of a 22 m building: 3.5 m fails",
        (100, 0, 110, 30),
        (100, 3.5, 110, 25),
        {"height_m": 22},
        "red_line_setback",
        "fail",
        3.5,
        4,
    ),
    (
        "Table 2.7 gives 0 m, but the footprint stands in the road",
        (100, -5, 110, 20),
        (100, -1.5, 110, 15),
        {"height_m": 10},
        "red_line_setback",
        "fail",
        -1.5,
        0,
    ),
    (
        "footprint grazing zone B by 5 cm: only zone A's use counts",
        (-20, 100, 0.05, 120),
        (-19, 101, 0.05, 119),
        {},
        "land_use",
        "pass",
        "ODT",
        "ODT",
    ),
    (
        "footprint 2 m into zone B: zone B's use counts too",
        (-20, 100, 2, 120),
        (-19, 101, 2, 119),
        {"use": "ODT"},
        "land_use/B",
        "fail",
        "ODT",
        "TMD",
    ),
    ("behind the building line", (-50, 0, -40, 20), (-50, 3, -40, 15), {}, "building_line", "pass", 0.0, 0),
    ("5 cm over the building line", (-50, 0, -40, 20), (-50, 2.95, -40, 15), {}, "building_line", "fail", -0.05, 0),
    ("inside the lot", LOT100, (-100, 100, -90, 105), {}, "inside_lot", "pass", 0.0, 0),
    ("10 cm outside the lot", LOT100, (-100, 100, -89.9, 105), {}, "inside_lot", "fail", 0.5, 0),
    ("frontage 4 m on a 12 m road", (-60, 0, -56, 12), (-60, 3, -56, 10), {}, "frontage", "pass", 4.0, 4),
    ("frontage 3.9 m on a 12 m road", (-60, 0, -56.1, 12), (-60, 3, -56.1, 10), {}, "frontage", "fail", 3.9, 4),
    (
        "frontage 5 m on a 19 m road",
        (-60, 0, -55, 12),
        (-60, 3, -55, 10),
        {"road_width_m": 19},
        "frontage",
        "pass",
        5.0,
        5,
    ),
    (
        "frontage 4.9 m on a 19 m road",
        (-60, 0, -55.1, 12),
        (-60, 3, -55.1, 10),
        {"road_width_m": 19},
        "frontage",
        "fail",
        4.9,
        5,
    ),
    ("lot 36 m² on a 12 m road", (-70, 0, -66, 9), (-70, 3, -66, 8), {}, "lot_area", "pass", 36.0, 36),
    ("lot 35.9 m² on a 12 m road", (-70, 0, -66, 8.975), (-70, 3, -66, 8), {}, "lot_area", "fail", 35.9, 36),
    (
        "housing use in a housing zone",
        LOT100,
        (-99, 101, -91, 109),
        {"use": "detached_house"},
        "land_use",
        "pass",
        "ODT ONT",
        "ODT",
    ),
    (
        "commercial use in a housing zone",
        LOT100,
        (-99, 101, -91, 109),
        {"use": "TMD"},
        "land_use",
        "fail",
        "TMD",
        "ODT",
    ),
    (
        "lot size not checked for an apartment",
        LOT100,
        (-99, 101, -91, 109),
        {"use": "apartment", "height_m": 10},
        "lot_area",
        "not_applicable",
        None,
        None,
    ),
    (
        "zone without a floor limit",
        (-1100, 100, -1090, 110),
        (-1099, 101, -1091, 109),
        {"floors": 3},
        "floors",
        "needs_review",
        3,
        None,
    ),
    ("proposal without a height", LOT100, (-99, 101, -91, 109), {}, "height", "needs_review", None, 18),
    (
        "zone without density, under QCVN",
        (-1100, 100, -1090, 110),
        (-1099, 101, -1091, 109),
        {},
        "density",
        "needs_review",
        64.0,
        90,
    ),
    (
        "lot size not checked in an established neighbourhood (zone C is not a new area)",
        (-1100, 0, -1097, 10),
        (-1100, 3, -1097, 9),
        {},
        "frontage",
        "not_applicable",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("lot", "fp", "extra", "rid", "status", "value", "limit"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_rule_boundaries(
    pg: psycopg.Connection[Any],
    lot: tuple[float, ...],
    fp: tuple[float, ...],
    extra: dict[str, Any],
    rid: str,
    status: str,
    value: Any,
    limit: Any,
) -> None:
    result = run(pg, lot, fp, **extra)
    rid, _, zone = rid.partition("/")
    r = rule(result, rid, zone or None)
    assert r["status"] == status, r
    if isinstance(value, float):
        assert r["value"] == pytest.approx(value, abs=0.0051), r
    else:
        assert r["value"] == value, r
    assert r["limit"] == limit, r
    assert r["source"] and r["message_vi"] and r["message_en"]
    if status == "fail":
        assert result["verdict"] == "not_compliant" and rid in result["failed"]


def test_table_values_come_from_data() -> None:
    t = qcvn_tables()
    assert t.detached_density(100) == 90 and t.detached_density(150) == 80 and t.detached_density(50) == 100
    assert t.red_line_setback(road_width_m=18.99, height_m=27.9) == 4
    assert t.apartment_density(3000, 60) == 75 and t.commercial_density(35000, 50) == 40
    assert t.lot_size(19) == (5, 45) and t.lot_size(18.9) == (4, 36)


def test_a_grazed_zone_is_reported_not_checked(pg: psycopg.Connection[Any]) -> None:
    result = run(pg, (-20, 100, 0.05, 120), (-19, 101, 0.05, 119), use="TMD")
    assert [z["zone_code"] for z in result["footprint"]["grazed_zones"]] == ["B"]
    assert result["footprint"]["grazed_zones"][0]["area_m2"] == pytest.approx(0.9, abs=0.01)
    assert [r["zone"]["zone_code"] for r in result["rules"] if r["id"] == "land_use"] == ["A"]
