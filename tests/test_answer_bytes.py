"""The prepared lookup's answer written by hand, and its query read by hand, equal what the library functions give.

:func:`gis_service.lookup_prepared.compose_answer` writes the answer's head without ``json.dumps``, and the fast
path splits a plain query string without ``parse_qsl`` (both for speed); these sweeps hold them to the originals.
"""

from __future__ import annotations

import json
import random
from urllib.parse import parse_qsl

from gis_service.api.fast_path import _query_pairs
from gis_service.lookup import LookupQuery
from gis_service.lookup_prepared import compose_answer

TAIL = b'"parcel": {"id": 7}}'


def _by_json_dumps(query: LookupQuery, location: dict[str, float] | None) -> bytes:
    """The head as json.dumps writes it, the query's members in jsonb's order (by length, then bytes)."""
    given = {k: v for k, v in query.__dict__.items() if v is not None}
    echo = {k: given[k] for k in sorted(given, key=lambda k: (len(k.encode()), k.encode()))}
    head = json.dumps({"query": echo, "location": location}, ensure_ascii=False)
    return head[:-1].encode() + b", " + TAIL


def test_the_answer_written_by_hand_equals_json_dumps() -> None:
    rng = random.Random(21)
    floats = [0.0, -0.0, 1e-7, 1e16, 1.5e300, 107.5, 16.4, 123456789.123456789]
    wards = ["Phú Hội", 'say "hi"', "back\\slash", "tab\there", "Thuận Hóa \u2028", "46QPK"]
    queries = 0
    for _ in range(5000):
        kind = rng.randrange(4)
        number = rng.choice(floats) if rng.random() < 0.1 else rng.uniform(-1e6, 1e6) * 10 ** rng.randrange(-9, 4)
        if kind == 0:
            query = LookupQuery(lon=number, lat=rng.uniform(8, 24))
        elif kind == 1:
            query = LookupQuery(e=rng.uniform(0, 1e6), n=number)
        elif kind == 2:
            ward = rng.choice(wards) if rng.random() < 0.5 else None
            query = LookupQuery(sheet_no=rng.randrange(1, 2**31), parcel_no=rng.randrange(1, 999), ward=ward)
        else:
            query = LookupQuery(parcel_id=rng.randrange(1, 2**63))
        location = None
        if kind < 2:
            location = {"lon": rng.uniform(102, 110), "lat": number, "e": rng.uniform(0, 1e6), "n": 1820000.5}
        assert compose_answer(query, location, TAIL) == _by_json_dumps(query, location), (query, location)
        json.loads(compose_answer(query, location, TAIL))
        queries += 1
    print(f"\n{queries} answers' heads written by hand equal json.dumps' bytes")


def test_the_query_split_by_hand_equals_parse_qsl() -> None:
    texts = [
        "lon=107.5&lat=16.4",
        "lon=107.5&&lat=16.4&",
        "lon&lat=",
        "=1&x==2",
        "ward=Ph%C3%BA+H%E1%BB%99i&sheet_no=1",
        "a=1;b=2",
        "lat=16.4&lat=16.5",
        "",
        "&",
        "lon=1e3&lat=-0.0&envelope=true",
    ]
    for text in texts:
        assert _query_pairs(text) == parse_qsl(text, keep_blank_values=True), text
