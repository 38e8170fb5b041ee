"""The data version: one number that moves forward as each change to the tables the rules read commits.

Whatever is derived from those tables (a kept site, a prepared lookup, an answer kept in memory) is tagged with the
version it was read at and is right while the version has not moved. The version is the greatest row of
``planning.data_versions``, where a deferred trigger adds one as each change commits, in commit order (migration
0018), so a reader sees version N exactly when it sees the changes committed with N, on the primary and on each
replica.
Statements read it as ``(SELECT planning.data_version())``, before what it tags (in the same statement or an earlier
one): what is read then is at least that new, so it is never kept under a version newer than itself. At the commit
the database notifies :data:`CHANNEL` with the new version (``p`` before it when parcels changed), or with an empty
payload when prepared lookups were dropped (migrations 0014, 0016).
"""

from __future__ import annotations

__all__ = ["CHANNEL"]

#: The channel the data version's triggers notify.
CHANNEL = "planning_data_version"
