"""Database access: URLs and engines, the project's own local cluster, migrations."""

from __future__ import annotations

from gis_service.db.engine import check_database, create_db_engine, safe_url
from gis_service.db.local_cluster import ClusterStatus, LocalCluster
from gis_service.db.local_replicas import replicas_of
from gis_service.settings import Settings

__all__ = [
    "ClusterStatus",
    "LocalCluster",
    "check_database",
    "create_db_engine",
    "local_cluster",
    "resolve_database_url",
    "resolve_replica_urls",
    "safe_url",
]


def local_cluster(settings: Settings) -> LocalCluster:
    """The project's own cluster as configured by ``settings.local_db``."""
    s = settings.local_db
    return LocalCluster(s.data_dir, port=s.port, bin_dir=s.bin_dir, database=s.database, user=s.user)


def resolve_database_url(settings: Settings) -> str:
    """``GIS_DATABASE_URL`` when set, else the URL of the local cluster (which must have been created)."""
    if settings.database_url:
        return settings.database_url
    return local_cluster(settings).url()


def resolve_replica_urls(settings: Settings) -> list[str]:
    """``GIS_DATABASE_REPLICAS`` when set; else, with the local database, the URLs of its replicas that run."""
    if settings.database_replicas or settings.database_url:
        return list(settings.database_replicas)
    urls = []
    for replica in replicas_of(local_cluster(settings)):
        status = replica.status()
        if status.running and status.url:
            urls.append(status.url)
    return urls
