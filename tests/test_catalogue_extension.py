"""A new zone attribute takes one migration and one catalogue entry, and then shows everywhere it should.

The walk-through of ``docs/data-model.md``, run: the migration adds ``max_basement_floors`` to a fresh database;
``catalogue_extension.py`` adds the catalogue entry in a process of its own (before anything reads the catalogue),
imports a dossier holding ``soTangHamToiDa``, publishes it and reads the attribute back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gis_service.db.migrate import upgrade

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def extended(db_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url = db_server.create("extension")
    try:
        upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:  # the migration
            conn.execute("ALTER TABLE planning.zones ADD COLUMN max_basement_floors integer")
            conn.execute(
                "ALTER TABLE planning.zones ADD CONSTRAINT zones_max_basement_floors_check "
                "CHECK (max_basement_floors >= 0) NOT VALID"
            )
        work = tmp_path_factory.mktemp("extension")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run(
            [sys.executable, str(HERE / "catalogue_extension.py"), url, str(work)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        yield json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        db_server.drop(url)


def test_the_import_maps_and_checks_it(extended: dict[str, Any]) -> None:
    assert extended["profile"] == ["soTangHamToiDa", "max_basement_floors"]
    assert "max_basement_floors" in extended["out_of_range"] and "99" in extended["out_of_range"]


def test_the_ogc_api_serves_filters_and_describes_it(extended: dict[str, Any]) -> None:
    assert extended["ogc_items"] == [2]
    assert extended["queryable"]["type"] == "integer"
    assert extended["filtered"] == 1


def test_the_lookup_answers_it_with_its_basis(extended: dict[str, Any]) -> None:
    assert extended["lookup_rule"] == 2 and extended["lookup_basis"] == "plan"
    assert extended["openapi"] is not None


def test_the_vector_and_3d_tiles_carry_it(extended: dict[str, Any]) -> None:
    assert extended["vector_tile"] == [2]
    assert extended["tiles_3d"]["name"] == "Số tầng hầm tối đa / Max basement floors"


def test_the_viewer_lists_it_among_the_rules(extended: dict[str, Any]) -> None:
    assert extended["legend"] == [
        {
            "name": "max_basement_floors",
            "type": "integer",
            "unit": "",
            "label": {"vi": "Số tầng hầm tối đa", "en": "Max basement floors"},
        }
    ]
