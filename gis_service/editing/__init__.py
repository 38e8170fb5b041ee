"""Changes of the plan layers, each kept in the history with who, when and why.

* :mod:`~gis_service.editing.history`: the way in for every change (user and reason named), history, restore;
* :mod:`~gis_service.editing.features`: edits as OGC API - Features Part 4 sees them (GeoJSON, ETags, drafts only);
* :mod:`~gis_service.editing.plans`: plan versions, publishing a draft;
* :mod:`~gis_service.editing.publishing`: a new draft, the approval decision, publishing with the tile rebuild.

What other packages use is re-exported here (``from gis_service.editing import change_context``).
"""

from gis_service.editing.history import (
    LAYERS,
    HistoryEntry,
    change_context,
    delete_feature,
    editable_columns,
    feature_history,
    feature_state,
    insert_feature,
    restore_feature,
    update_feature,
)
from gis_service.editing.plans import PlanVersion, list_plans, publish_plan
from gis_service.editing.publishing import publish_with_decision, start_draft

__all__ = [
    "LAYERS",
    "HistoryEntry",
    "PlanVersion",
    "change_context",
    "delete_feature",
    "editable_columns",
    "feature_history",
    "feature_state",
    "insert_feature",
    "list_plans",
    "publish_plan",
    "publish_with_decision",
    "restore_feature",
    "start_draft",
    "update_feature",
]
