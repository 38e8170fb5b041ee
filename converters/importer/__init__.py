"""The import: read → CRS to EPSG:9214 → map attributes → repair → write, all in one transaction.

A re-import of a plan makes a new version (``based_on_id`` the previous one, which stays as it was); importing the
very same files again (same SHA-256) changes nothing and says so, unless ``new_version`` is asked for. Parcels are
keyed by ward, sheet and parcel number and buildings by their source id: a re-import updates what changed (recorded
in the history) and adds what is new.

The stages, module by module (``docs/import-pipeline.md`` draws them): :mod:`~converters.importer.pipeline` drives
the import; :mod:`~converters.importer.plan` makes the plan version; :mod:`~converters.importer.layer` imports one
layer, whose batches :mod:`~converters.importer.reading` reads and :mod:`~converters.importer.prepare` makes ready
for COPY (with :mod:`~converters.importer.values` and :mod:`~converters.importer.attributes`) while
:mod:`~converters.importer.writes` copies the previous one; :mod:`~converters.importer.bulk_zones` loads and
attaches a plan version's zones; :mod:`~converters.importer.quality` checks them. The model's column facts are in
:mod:`~converters.importer.columns`.
"""

from converters.importer.bulk_zones import IMPORTER_CHECKS as IMPORTER_CHECKS
from converters.importer.columns import BULK_DEFAULTS as BULK_DEFAULTS
from converters.importer.columns import COLUMNS as COLUMNS
from converters.importer.columns import LEVEL_OF as LEVEL_OF
from converters.importer.columns import ORDER as ORDER
from converters.importer.columns import PLAN_KINDS as PLAN_KINDS
from converters.importer.columns import POLYGONAL_KINDS as POLYGONAL_KINDS
from converters.importer.columns import RANGES as RANGES
from converters.importer.columns import REQUIRED as REQUIRED
from converters.importer.columns import SCALE_OF as SCALE_OF
from converters.importer.options import ImportOptions
from converters.importer.options import ProgressFn as ProgressFn
from converters.importer.pipeline import import_path

__all__ = ["ImportOptions", "import_path"]
