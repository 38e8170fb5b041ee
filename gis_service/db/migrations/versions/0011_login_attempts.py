"""Login attempts counted before the password is checked: ``auth.login_attempts`` replaces ``auth.login_failures``.

Why: the failures used to be inserted after the password check, so concurrent guesses all passed the count before
any was recorded (30 at once for one name: 24 checked with a limit of 5). And the limit was per name, from anywhere:
five wrong passwords from any address locked the real user out too.

Now one row per (user name, client address) pair and one per client address hold a failure count, a lock end and
when they are forgotten. A login first increments both in one statement each (``INSERT ... ON CONFLICT DO UPDATE
... WHERE`` the row is not locked ``RETURNING``), committed before the password is checked; a locked row returns
nothing and the login is refused without a check. A success takes its own count back. ``checks`` counts the
password checks let through for the row, ever.

Revision ID: 0011_login_attempts
Revises: 0010_data_version
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011_login_attempts"
down_revision = "0010_data_version"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
DROP TABLE auth.login_failures;
CREATE TABLE auth.login_attempts (
    scope text NOT NULL CHECK (scope IN ('pair', 'address')),
    name_key text NOT NULL,  -- lower(user name) for a pair, '' for an address
    client_addr text NOT NULL,
    failures integer NOT NULL CHECK (failures >= 0),
    checks bigint NOT NULL DEFAULT 0,
    last_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    forget_at timestamptz NOT NULL,
    PRIMARY KEY (scope, name_key, client_addr)
);
CREATE INDEX login_attempts_forget_idx ON auth.login_attempts (forget_at);
CREATE INDEX login_attempts_name_idx ON auth.login_attempts (name_key) WHERE scope = 'pair';
COMMENT ON TABLE auth.login_attempts IS
  'Logins per (user name, client address) and per client address: failures counted before the password is checked, '
  'exponential lock after the limit, forgotten at forget_at (see gis_service.auth.login)';
"""

DOWNGRADE_SQL = """
DROP TABLE auth.login_attempts;
CREATE TABLE auth.login_failures (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    client_addr text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_name_idx ON auth.login_failures (lower(name), failed_at);
CREATE INDEX login_failures_addr_idx ON auth.login_failures (client_addr, failed_at);
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(UPGRADE_SQL)


def downgrade() -> None:
    op.get_bind().exec_driver_sql(DOWNGRADE_SQL)
