"""A database holding the demo's sample plans (``sample_data/``), imported and published as the demo does."""

from __future__ import annotations

from gis_service.cli.sample_plans import load_sample_plans
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.settings import project_root

__all__ = ["fill_with_sample_plans"]


def fill_with_sample_plans(url: str) -> None:
    """Migrate the empty database at ``url`` and load the sample plans into it
    (:func:`gis_service.cli.sample_plans.load_sample_plans`)."""
    upgrade(url)
    eng = create_db_engine(url, pool_size=1)
    try:
        load_sample_plans(eng, project_root() / "sample_data", user="test")
    finally:
        eng.dispose()
