"""Settings of the application: the only module of the project that reads the environment.

Every variable has the ``GIS_`` prefix; nested groups use ``__`` (``GIS_LOCAL_DB__PORT=55432``).
Libraries (``converters``, ``tiles``, ``ogc``, ``gis_service.db``) receive values from here as arguments.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = [
    "AuthSettings",
    "BackupSettings",
    "CertificateSettings",
    "LimitSettings",
    "LocalDbSettings",
    "NoticeSettings",
    "ReplicaSettings",
    "ServerSettings",
    "Settings",
    "SmtpSettings",
    "TileSettings",
    "TopologySettings",
    "VectorTileSettings",
    "ViewerSettings",
    "project_root",
]


def project_root() -> Path:
    """The source checkout this package runs from, or the working directory for an installed copy."""
    here = Path(__file__).resolve().parents[1]
    if (here / "pyproject.toml").is_file():
        return here
    return Path.cwd()


class LocalDbSettings(BaseModel):
    """The project's own PostgreSQL cluster, used when no ``GIS_DATABASE_URL`` is given."""

    data_dir: Path = Field(
        default_factory=lambda: project_root() / ".data" / "postgres",
        description="Folder of the cluster: data files, server log and connection details.",
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="TCP port on 127.0.0.1. Unset: 55432 if free, else any free port, kept afterwards.",
    )
    bin_dir: Path | None = Field(
        default=None,
        description="Folder of the PostgreSQL server programs (initdb, pg_ctl). Unset: the newest "
        "/usr/lib/postgresql/<version>/bin.",
    )
    database: str = "planning"
    user: str = "planning"


class ReplicaSettings(BaseModel):
    """How reads are spread over the streaming replicas (``GIS_REPLICAS__*``; the URLs: ``GIS_DATABASE_REPLICAS``)."""

    check_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between two health checks of each replica (reachable, lag)."
    )
    max_lag_s: float = Field(
        default=5.0,
        gt=0,
        description="A replica whose replay is further behind the primary than this, seconds, is taken out of "
        "rotation until it catches up.",
    )
    token_max_age_s: int = Field(
        default=600,
        ge=1,
        description="Lifetime of the read-your-writes cookie given after a write (the primary's WAL position).",
    )


class TopologySettings(BaseModel):
    """Several service processes behind HAProxy, with PgBouncer before PostgreSQL (``planning serve --processes``).

    HAProxy listens where ``planning serve`` would (``GIS_SERVER__HOST``/``PORT``); the rest on 127.0.0.1.
    """

    processes: int = Field(default=2, ge=1, le=32, description="Service processes (uvicorn, one port each).")
    first_port: int = Field(
        default=8101, ge=1024, le=65000, description="Port of the first service process; the next ones follow it."
    )
    pgbouncer_port: int = Field(default=6432, ge=1024, le=65535, description="Port of PgBouncer.")
    pgbouncer_pool_size: int = Field(
        default=20, ge=1, description="Server connections PgBouncer keeps per database (the primary, each replica)."
    )
    run_dir: Path = Field(
        default_factory=lambda: project_root() / ".data" / "run",
        description="Folder of the generated HAProxy and PgBouncer configuration and of the processes' logs.",
    )


class BackupSettings(BaseModel):
    """Continuous archiving and point-in-time recovery of the local cluster with pgBackRest (``GIS_BACKUP__*``)."""

    repo: Path | None = Field(
        default=None,
        description="Folder of the pgBackRest repository (backups and archived WAL). Unset: 'backup' beside the "
        "cluster's data, in GIS_LOCAL_DB__DATA_DIR. Put it on another disk to survive the loss of the data's.",
    )
    retention_full: int = Field(default=2, ge=1, description="Full backups kept (with the WAL they need).")


class ServerSettings(BaseModel):
    """Where ``planning serve`` listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    access_log: bool = Field(default=True, description="A line per request on stdout (uvicorn's access log).")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are "
        'believed (JSON list, e.g. ["127.0.0.1", "10.0.0.0/24"]). Empty: none, the peer address is the client\'s.',
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"GIS_SERVER__TRUSTED_PROXIES: {item!r} is not an IP address or network (e.g. 10.0.0.0/24)"
                ) from None
        return [item.strip() for item in value]


class TileSettings(BaseModel):
    """The 3D tiles (``planning tiles build``, served under ``/tiles/3d/``)."""

    out_dir: Path = Field(
        default_factory=lambda: project_root() / ".data" / "tiles",
        description="Folder the tilesets are written to and served from.",
    )
    ground_level_m: float = Field(
        default=0.0,
        description="Ground height above mean sea level (Hòn Dấu 1992) where no DEM is given. The default 0 puts "
        "the models on the WGS84 ellipsoid, the ground of a viewer without terrain.",
    )
    geoid_offset_m: float = Field(
        default=0.0,
        description="Geoid undulation: ellipsoidal (WGS84) height minus sea-level height. No Vietnamese geoid "
        "model ships with PROJ; set it (around Huế, roughly 5-25 m) to sit on ellipsoidal terrain.",
    )
    dem_path: Path | None = Field(
        default=None, description="A DEM GeoTIFF (heights above sea level) to sample ground heights from."
    )
    floor_height_m: float = Field(default=3.3, gt=0, description="Height of a floor where only floors are known.")
    default_zone_height_m: float = Field(
        default=12.0, gt=0, description="Envelope height of a zone whose plan sets neither height nor floors."
    )
    default_building_height_m: float = Field(default=6.0, gt=0)
    parcel_slab_m: float = Field(default=0.3, gt=0, description="Thickness of the parcel slabs.")
    max_features_per_tile: int = Field(default=1000, ge=1)
    max_vertices_per_tile: int = Field(default=60_000, ge=100)


class VectorTileSettings(BaseModel):
    """The published vector tiles (written at publication, served as files: :mod:`gis_service.published_tiles`)."""

    dir: Path = Field(
        default_factory=lambda: project_root() / ".data" / "vector-tiles",
        description="Folder the published vector tiles are written to and served from.",
    )
    max_zoom: int = Field(
        default=16, ge=0, le=22, description="Deepest zoom written at publication; deeper tiles are drawn live."
    )


class ViewerSettings(BaseModel):
    """The web viewer at ``/`` (CesiumJS and MapLibre from the npm packages of ``package.json``)."""

    base_map_url: str | None = Field(
        default=None,
        description="XYZ raster tile URL of a base map ({z}/{x}/{y}), e.g. a local tile server. Unset: no base map in "
        "2D, the Natural Earth imagery packaged with CesiumJS in 3D; nothing is fetched from the internet.",
    )
    base_map_attribution: str = Field(default="", description="Credit shown for the base map.")
    node_modules: Path = Field(
        default_factory=lambda: project_root() / "node_modules",
        description="Folder of the npm packages (cesium, maplibre-gl) installed by the set-up.",
    )


class AuthSettings(BaseModel):
    """Users, bearer tokens, login throttling and CORS (``GIS_AUTH__*``)."""

    token_ttl_minutes: int = Field(default=480, ge=1, description="Lifetime of a bearer token (8 hours: a work day).")
    max_failures_per_user: int = Field(
        default=5,
        ge=1,
        description="Failed logins of one user name from one client address before that pair is locked (the same "
        "name from another address is not).",
    )
    max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed logins from one client address, whatever the names, before it is locked."
    )
    failure_window_s: int = Field(
        default=900,
        ge=1,
        description="Seconds after the last failure or the end of a lock when failures are forgotten.",
    )
    lock_base_s: int = Field(
        default=60, ge=1, description="The first lock after the limit, seconds; each further failure doubles it."
    )
    lock_max_s: int = Field(default=3600, ge=1, description="The longest lock, seconds.")
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Web origins allowed to call the API from a browser (JSON list, e.g. ["https://qh.hue.gov.vn"]); '
        '"*" allows any origin (then without credentials). Empty: same origin only.',
    )


class CertificateSettings(BaseModel):
    """The key and certificate that sign the planning-information certificates (``GIS_CERTIFICATES__*``).

    Unset key and certificate: the self-signed demo key under ``demo_dir`` (``planning demo load`` makes it), and the
    certificates and their verification page say it is one.
    """

    key_file: Path | None = Field(default=None, description="The signing key (PEM or DER; PKCS#8 or traditional).")
    cert_file: Path | None = Field(default=None, description="The signer's X.509 certificate (PEM or DER).")
    chain_files: list[Path] = Field(
        default_factory=list,
        description="Certificates of the issuing authorities, embedded in each signature (JSON list of files).",
    )
    key_passphrase: SecretStr | None = Field(default=None, description="Passphrase of an encrypted key file.")
    demo_dir: Path = Field(
        default_factory=lambda: project_root() / ".data" / "certificates",
        description="Folder of the self-signed demo key, used when no key is configured.",
    )
    serial_prefix: str = Field(
        default="HUE", pattern=r"^[A-Z]{2,8}$", description="First part of the serial numbers (HUE-2026-000123)."
    )

    @model_validator(mode="after")
    def _key_and_cert(self) -> CertificateSettings:
        if (self.key_file is None) != (self.cert_file is None):
            raise ValueError("set both GIS_CERTIFICATES__KEY_FILE and GIS_CERTIFICATES__CERT_FILE, or neither")
        return self


_MB = 1024 * 1024


class LimitSettings(BaseModel):
    """How large a request body may be, per family of routes, and how deeply its JSON may nest (``GIS_LIMITS__*``).

    A body over its family's limit is refused (413) before it is read: from its ``Content-Length``, or while it is
    streamed, as soon as the count passes the limit.
    """

    check_body_bytes: int = Field(
        default=_MB, ge=1024, description="Permit checks: /permits/check, its reports, the recorded checks."
    )
    process_body_bytes: int = Field(default=_MB, ge=1024, description="OGC API process executions (/ogc/processes).")
    filter_body_bytes: int = Field(
        default=_MB, ge=1024, description="CQL2-JSON queries posted to /ogc/collections/{id}/items."
    )
    edit_body_bytes: int = Field(
        default=20 * _MB, ge=1024, description="Feature edits (OGC API - Features Part 4 under /ogc/collections)."
    )
    certificate_body_bytes: int = Field(
        default=8 * _MB, ge=1024, description="A certificate's PDF posted to /certificates/{number}/verify."
    )
    comment_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Comments on a consultation and their moderation (5,000 characters)."
    )
    comments_per_10_min: int = Field(
        default=5, ge=1, description="Comments one client address may post in 10 minutes (429 beyond)."
    )
    comments_per_day: int = Field(default=30, ge=1, description="Comments one client address may post in a day.")
    subscription_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Subscriptions to plan changes (/subscriptions: an e-mail, an area)."
    )
    validation_body_bytes: int = Field(
        default=200 * _MB,
        ge=1024,
        description="A plan dossier uploaded to /validations (GeoPackages, shapefiles, CAD).",
    )
    other_body_bytes: int = Field(default=_MB, ge=1024, description="Every other route (logins, plans, decisions).")
    max_json_depth: int = Field(
        default=64, ge=8, le=500, description="Deepest nesting of arrays and objects in a JSON body."
    )
    anonymous_request_s: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait, seconds, for an anonymous request's body and answer to begin (408 or 503 beyond).",
    )
    max_header_count: int = Field(default=100, ge=10, description="Most header fields of a request.")
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, description="Largest total size of a request's headers.")


class SmtpSettings(BaseModel):
    """The SMTP server that sends the confirmations and notices of subscriptions (``GIS_SMTP__*``).

    Unset ``host``: mail is not configured, and subscribing answers 503 (nothing could confirm it).
    """

    host: str | None = Field(default=None, description="SMTP server name or address. Unset: no mail is sent.")
    port: int = Field(default=25, ge=1, le=65535, description="SMTP port (25, 587 with STARTTLS, 465 with TLS).")
    security: Literal["none", "starttls", "ssl"] = Field(
        default="none", description="none (a local relay), starttls (port 587) or ssl (TLS from the start, port 465)."
    )
    username: str | None = Field(default=None, description="User name of the SMTP login. Unset: no login.")
    password: SecretStr | None = Field(default=None, description="Password of the SMTP login.")
    from_addr: str = Field(
        default="quyhoach@localhost",
        max_length=320,
        description="The sender of the mails, e.g. 'Quy hoạch Huế <quyhoach@hue.gov.vn>'.",
    )
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds to wait for the SMTP server.")
    max_attempts: int = Field(
        default=5, ge=1, description="Tries of a mail before it is left unsent (its last error kept in the outbox)."
    )


class NoticeSettings(BaseModel):
    """Limits of subscriptions to plan changes (``GIS_NOTICES__*``): a flood is refused with 429."""

    max_unconfirmed_per_address: int = Field(
        default=3, ge=1, description="Unconfirmed subscriptions of one e-mail address in 24 hours."
    )
    max_per_client_hour: int = Field(
        default=20, ge=1, description="Subscriptions asked from one client address in an hour."
    )
    max_area_km2: float = Field(default=5.0, gt=0, description="The largest area one may subscribe to, km².")
    max_vertices: int = Field(default=1000, ge=4, description="Most vertices of an area subscribed to.")


class Settings(BaseSettings):
    """All settings of the service.

    ``database_url`` comes from ``GIS_DATABASE_URL`` (any PostGIS, e.g.
    ``postgresql://user:password@host:5432/db``); when unset the local cluster is used.
    """

    model_config = SettingsConfigDict(
        env_prefix="GIS_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    database_url: str | None = None
    database_replicas: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="URLs of streaming replicas of database_url for the anonymous reads (comma-separated, or a JSON "
        "list). Unset with the local database: the replicas of 'planning db up --replicas N' that run.",
    )
    database_session_url: str | None = Field(
        default=None,
        description="A direct URL of the primary, for what needs a session of its own (the job runner's advisory "
        "locks) when database_url goes through a transaction pooler (PgBouncer). Unset: database_url.",
    )
    db_prepared_statements: bool = Field(
        default=True,
        description="Prepare the hot statements. Set false behind PgBouncer's transaction pooling (before 1.21 it "
        "cannot keep a prepared statement from one transaction to the next).",
    )
    replicas: ReplicaSettings = Field(default_factory=ReplicaSettings)
    topology: TopologySettings = Field(default_factory=TopologySettings)
    local_db: LocalDbSettings = Field(default_factory=LocalDbSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    tiles: TileSettings = Field(default_factory=TileSettings)
    vector_tiles: VectorTileSettings = Field(default_factory=VectorTileSettings)
    viewer: ViewerSettings = Field(default_factory=ViewerSettings)
    db_pool_size: int = Field(default=10, ge=1)
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    site_cache_size: int = Field(
        default=2048,
        ge=0,
        description="Parcels whose site (zones, roads) each process keeps for anonymous checks and envelopes; 0: none.",
    )
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry traces, metrics and logs, sent to the providers the process configures "
        "(the opentelemetry-instrument launcher, for one). Off: not even asked for on each request.",
    )
    lookup_cache_size: int = Field(
        default=20_000,
        ge=0,
        description="Parcels whose prepared lookup each process keeps in memory while the data do not change (about "
        "4 kB each); 0: none.",
    )
    lookup_point_index: int = Field(
        default=500_000,
        ge=0,
        description="Parcels each process keeps (their geometries, about 640 B each) to find the parcel at a point "
        "without a query; with more parcels in the database, or 0, the points are found by the database.",
    )
    public_url: str | None = Field(
        default=None,
        description="URL at which users reach the service (links in OGC API answers), e.g. https://quyhoach.hue.gov.vn."
        " Unset: http://<server.host>:<server.port>.",
    )
    ogc_dir: Path = Field(
        default_factory=lambda: project_root() / ".data" / "ogc",
        description="Folder for the generated pygeoapi configuration and OpenAPI document.",
    )
    ogc_max_items: int = Field(default=1000, ge=1, description="Largest page of OGC API - Features items.")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    certificates: CertificateSettings = Field(default_factory=CertificateSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    notices: NoticeSettings = Field(default_factory=NoticeSettings)

    @field_validator("database_replicas", mode="before")
    @classmethod
    def _replica_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError("GIS_DATABASE_REPLICAS: not a JSON list of URLs") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    def base_url(self) -> str:
        """The public URL of the service, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.server.host in ("0.0.0.0", "", "::") else self.server.host
        return f"http://{host}:{self.server.port}"
