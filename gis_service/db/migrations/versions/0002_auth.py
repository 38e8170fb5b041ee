"""Users, roles, bearer tokens, failed logins (schema ``auth``) and background jobs (``planning.jobs``).

Schema ``auth`` is kept apart from ``planning`` on purpose: ``planning`` is the public contract that QGIS users read
directly, and password hashes and token hashes have no business there. Grant ``auth`` to the service's role only.

Revision ID: 0002_auth
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002_auth"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE SCHEMA auth;
COMMENT ON SCHEMA auth IS
  'Users of the planning service, their hashed passwords and hashed bearer tokens. Not for QGIS users: grant it to '
  'the service role only.';

CREATE TABLE auth.users (
    id serial PRIMARY KEY,
    name text NOT NULL CHECK (name ~ '^[[:alnum:]._@-]{2,64}$'),
    role text NOT NULL DEFAULT 'public' CHECK (role IN ('public', 'planner', 'permit_officer', 'admin')),
    -- scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt, base64>$<key, base64> (see gis_service.auth.hash_password)
    password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
    disabled boolean NOT NULL DEFAULT false,
    full_name text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    disabled_at timestamptz,
    last_login_at timestamptz
);
CREATE UNIQUE INDEX users_name_key ON auth.users (lower(name));
COMMENT ON TABLE auth.users IS 'Users and roles: public (read only), planner, permit_officer, admin';

-- Bearer tokens are random strings handed out once; only their SHA-256 is stored, so a copy of this table
-- lets no one in. Disabling a user revokes its tokens.
CREATE TABLE auth.tokens (
    id bigserial PRIMARY KEY,
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    user_id integer NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    client_addr text
);
CREATE INDEX tokens_user_idx ON auth.tokens (user_id);
CREATE INDEX tokens_expires_idx ON auth.tokens (expires_at);

-- Failed logins, for slowing down password guessing per user name and per client address.
CREATE TABLE auth.login_failures (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    client_addr text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_name_idx ON auth.login_failures (lower(name), failed_at);
CREATE INDEX login_failures_addr_idx ON auth.login_failures (client_addr, failed_at);

-- Background work (e.g. rebuilding the 3D tiles after a plan is published), with a status anyone may read.
CREATE TABLE planning.jobs (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    params jsonb NOT NULL DEFAULT '{}'::jsonb,
    result jsonb,
    message text,
    progress real CHECK (progress BETWEEN 0 AND 1),
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX jobs_status_idx ON planning.jobs (status, id);
COMMENT ON TABLE planning.jobs IS 'Background jobs (kind tiles.rebuild, ...) and their status';
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(UPGRADE_SQL.replace("%", "%%"))


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP TABLE planning.jobs; DROP SCHEMA auth CASCADE;")
