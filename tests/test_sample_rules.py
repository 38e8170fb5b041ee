"""The rules tried where users stand: every parcel of the demo's sample plans (imported and published as the demo does).

* item 2: the envelope is the check's own answer (tests/envelope_sweep.py), counts printed per outcome;
* item 4: a modest house 3.2 m behind the red line of a road whose building line is 3 m in passes ``building_line``
  on every such lot; a back lot on a kiệt is judged by the access rule, never by a frontage of 0.0 m;
* a modest house inside the envelope (its largest footprint, 0.5 m in from every side, two floors) is never refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import shapely
from envelope_sweep import sweep

from gis_service.permits import check
from gis_service.rules import envelope_of, fetch_site, roads_of
from gis_service.rules.drawing import geojson
from gis_service.rules.envelope import Envelope


@pytest.fixture(scope="module")
def pg(sample_plans_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(sample_plans_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def parcel_ids(pg: psycopg.Connection[Any]) -> list[int]:
    return [r[0] for r in pg.execute("SELECT id FROM planning.parcels ORDER BY id").fetchall()]


@pytest.fixture(scope="module")
def envelopes(pg: psycopg.Connection[Any], parcel_ids: list[int]) -> dict[int, Envelope]:
    """Each parcel's envelope, worked out once for the tests below (they read it, none changes it)."""
    return {pid: envelope_of(fetch_site(pg, parcel_id=pid)) for pid in parcel_ids}


def test_the_envelope_is_the_checks_own_answer_on_every_parcel(
    pg: psycopg.Connection[Any], parcel_ids: list[int], envelopes: dict[int, Envelope]
) -> None:
    result = sweep(pg, envelopes)
    print(f"\n{len(parcel_ids)} parcels of the sample:\n{result.report()}")
    if result.review:
        print(f"{len(result.review)} largest proposals need review, where the plan has no data:")
        for line in result.review[:20]:
            print("  " + line)
    assert not result.problems, "\n".join(result.problems[:30])
    largest = sum(v for k, v in result.counts.items() if k.startswith("largest proposal"))
    assert result.counts["largest proposal: compliant"] >= 0.5 * largest, result.counts
    assert result.counts["a floor more: fails exactly floors"] > 0
    assert any(k.startswith("push 0.5 m across the building_line") for k in result.counts)


def _house_behind(road: Any, net: shapely.Geometry, behind: float, depth: float) -> shapely.Geometry | None:
    """A house whose front stands ``behind`` m from the road's red line, ``depth`` m deep, 0.5 m off the lot's sides."""
    band = shapely.difference(
        shapely.buffer(road.red, behind + depth, cap_style="flat"), shapely.buffer(road.red, behind, cap_style="flat")
    )
    house = shapely.intersection(shapely.buffer(net, -0.5, join_style="mitre"), band)
    house = shapely.buffer(shapely.buffer(house, 0.05, join_style="mitre"), -0.05, join_style="mitre")
    parts = [p for p in shapely.get_parts(house) if p.geom_type == "Polygon" and p.area > 10]
    if not parts:
        return None
    poly = max(parts, key=lambda p: p.area)
    return poly if shapely.distance(poly, road.red) >= behind - 0.01 else None


def test_a_modest_house_behind_a_3_m_building_line_passes_it(
    pg: psycopg.Connection[Any], parcel_ids: list[int]
) -> None:
    counts: Counter[str] = Counter()
    failures = []
    for pid in parcel_ids:
        site = fetch_site(pg, parcel_id=pid)
        roads = roads_of(site)
        for road in roads.fronts:
            if road.building_line is None or road.bl_setback_m != 3:
                continue
            house = _house_behind(road, roads.net_lot, 3.2, 8.0)
            if house is None:
                counts["lot too small for the test house"] += 1
                continue
            body = {
                "parcel_id": pid,
                "footprint": geojson(house, 4),
                "crs": "EPSG:9214",
                "use": "ODT",
                "floors": 2,
                "height_m": 7.5,
                "total_floor_area_m2": round(house.area * 2, 2),
            }
            answer, _m = check(pg, body)
            line = [r for r in answer["rules"] if r["id"] == "building_line" and r["road"]["name"] == road.name]
            status = line[0]["status"] if line else "missing"
            counts[f"building_line {status}"] += 1
            if status != "pass":
                failures.append((pid, road.name, line and line[0]["message_en"]))
    print(f"\nhouses 3.2 m behind a red line with a 3 m building line: {dict(counts)}")
    assert counts["building_line pass"] > 0, counts
    assert not failures, failures[:10]


def test_back_lots_on_a_kiet_are_judged_by_access(pg: psycopg.Connection[Any], envelopes: dict[int, Envelope]) -> None:
    counts: Counter[str] = Counter()
    for pid, env in envelopes.items():
        if env.roads.fronts or not env.site.alleys or env.footprint.is_empty:
            continue
        fp = shapely.buffer(env.footprint, -0.5, join_style="mitre")
        if fp.is_empty or fp.area < 10:
            continue
        body = {
            "parcel_id": pid,
            "footprint": geojson(fp, 4),
            "crs": "EPSG:9214",
            "use": "ODT",
            "floors": 2,
            "height_m": 7.5,
            "total_floor_area_m2": round(fp.area * 2, 2),
        }
        answer, _m = check(pg, body)
        by_id = {r["id"]: r for r in answer["rules"]}
        counts[f"access {by_id['access']['status']}"] += 1
        assert by_id["access"]["status"] == "pass" and "alley" in by_id["access"]["message_en"], by_id["access"]
        frontage = by_id.get("frontage")
        assert frontage is None or frontage["status"] == "not_applicable", frontage
        counts[f"frontage {frontage['status'] if frontage else 'not asked'}"] += 1
    print(f"\nback lots on a kiệt: {dict(counts)}")
    assert counts["access pass"] > 0, "the sample has no back lot on a kiệt"


def test_a_modest_house_inside_the_envelope_is_never_refused(
    pg: psycopg.Connection[Any], envelopes: dict[int, Envelope]
) -> None:
    verdicts: Counter[str] = Counter()
    refused = []
    for pid, env in envelopes.items():
        if env.footprint.is_empty:
            verdicts["nothing may be built"] += 1
            continue
        house = shapely.buffer(env.footprint, -0.5, join_style="mitre")
        if house.is_empty or house.area < 10:
            verdicts["lot too small for the test house"] += 1
            continue
        least = env.capacity["min_floors"].value if "min_floors" in env.capacity else 1
        floors = max(int(least or 1), min(2, int(env.capacity["floors"].value or 2)))
        area = house.area * floors * 0.9
        cap = env.capacity["floor_area_m2"].value
        body = {
            "parcel_id": pid,
            "footprint": geojson(house, 4),
            "crs": "EPSG:9214",
            "use": env.use,
            "floors": floors,
            "height_m": min(3.5 * floors, env.capacity["height_m"].value or 99.0),
            "total_floor_area_m2": round(min(area, (cap or area) * 0.9), 2),
        }
        if "min_ground_elev_m" in env.capacity:
            body["ground_floor_elev_m"] = env.capacity["min_ground_elev_m"].value
        answer, _m = check(pg, body)
        verdicts[answer["verdict"]] += 1
        if answer["verdict"] == "not_compliant":
            refused.append((pid, [(r["id"], r["message_en"]) for r in answer["rules"] if r["status"] == "fail"]))
    print(f"\nmodest houses inside the envelope: {dict(verdicts)}")
    assert not refused, refused[:10]


def test_the_documented_example_is_a_compliant_house(pg: psycopg.Connection[Any]) -> None:
    """The request the API documents show (OpenAPI and the permit-check process) is a house the sample allows."""
    from gis_service.permits.model import EXAMPLE

    answer, _m = check(pg, EXAMPLE)
    assert answer["verdict"] == "compliant", [
        (r["id"], r["message_en"]) for r in answer["rules"] if r["status"] == "fail"
    ]
    assert answer["parcel"]["ward"] == "Phú Xuân" and answer["parcel"]["sheet_no"] == 13


def test_every_envelope_of_the_sample_has_its_documented_shape(
    parcel_ids: list[int], envelopes: dict[int, Envelope]
) -> None:
    from gis_service.rules.answers import EnvelopeAnswer
    from gis_service.rules.envelope_answer import envelope_answer

    statuses: Counter[str] = Counter()
    for env in envelopes.values():
        answer = EnvelopeAnswer.model_validate(envelope_answer(env))
        statuses[answer.status] += 1
    print(f"\nenvelopes of the sample: {dict(statuses)}")
    assert sum(statuses.values()) == len(parcel_ids)


def test_every_lookup_of_the_sample_has_its_documented_shape(
    pg: psycopg.Connection[Any], parcel_ids: list[int]
) -> None:
    from gis_service.lookup import LookupQuery, lookup
    from gis_service.lookup_answer import LookupAnswer

    plan_data: Counter[str] = Counter()
    zones: Counter[int] = Counter()
    for pid in parcel_ids:
        answer = LookupAnswer.model_validate(lookup(pg, LookupQuery(parcel_id=pid)))
        plan_data[answer.plan_data] += 1
        zones[len(answer.zones)] += 1
        assert answer.parcel is not None and answer.parcel.id == pid and answer.envelope is not None
    by_zones = dict(sorted(zones.items()))
    print(f"\nlookups of the sample: plan data {dict(plan_data)}, parcels by number of zones {by_zones}")
    assert sum(plan_data.values()) == len(parcel_ids) and plan_data["plan"] > 0
