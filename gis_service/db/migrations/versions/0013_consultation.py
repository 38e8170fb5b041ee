"""Public consultation of drafts, comments, subscriptions to changes and the mail they send.

Why: a draft plan is put to the public for comment (lấy ý kiến cộng đồng dân cư) for a period; citizens comment on
it, planners answer and record each comment's outcome, and anyone may ask to be told when a plan touching their
parcel changes.

- ``planning.consultations``: a draft version open to the public from ``starts_on`` to ``ends_on`` (dates in Huế,
  both days included), with its explanation; a planner may close it early. One open consultation per version.
- ``planning.comments``: on the draft as a whole, a zone, a point or a parcel. The author's contact and address key
  are private; planners hide abuse (with the reason), answer, and record the outcome.
- ``planning.subscriptions``: an e-mail address and a parcel or an area, confirmed by a link; ``token`` is the
  secret of its confirm and unsubscribe links.
- ``planning.outbox``: every mail to send, written in the transaction of what caused it and sent after commit; a
  notice is unique per subscription, event and plan version, so a retried publication never mails twice.

Revision ID: 0013_consultation
Revises: 0012_certificates
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0013_consultation"
down_revision = "0012_certificates"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE TABLE planning.consultations (
    id bigserial PRIMARY KEY,
    plan_id integer NOT NULL REFERENCES planning.plans (id) ON DELETE CASCADE,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    explanation text NOT NULL CHECK (btrim(explanation) <> '' AND length(explanation) <= 20000),
    opened_by text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    closed_by text,
    CONSTRAINT consultations_period CHECK (ends_on >= starts_on)
);
CREATE UNIQUE INDEX consultations_one_open ON planning.consultations (plan_id) WHERE closed_at IS NULL;
COMMENT ON TABLE planning.consultations IS
  'Drafts put to public consultation (lấy ý kiến): the version, the period (dates in Huế, both included), why';

CREATE TABLE planning.comments (
    id bigserial PRIMARY KEY,
    consultation_id bigint NOT NULL REFERENCES planning.consultations (id) ON DELETE CASCADE,
    target text NOT NULL CHECK (target IN ('plan', 'zone', 'point', 'parcel')),
    zone_id bigint,
    parcel_id bigint,
    geom geometry(Point, 9214),
    author_name text NOT NULL CHECK (btrim(author_name) <> '' AND length(author_name) <= 200),
    contact text NOT NULL CHECK (length(contact) <= 320),
    body text NOT NULL CHECK (btrim(body) <> '' AND length(body) <= 5000),
    client_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    hidden_at timestamptz,
    hidden_by text,
    hidden_reason text,
    answer text CHECK (length(answer) <= 20000),
    answered_by text,
    answered_at timestamptz,
    outcome text NOT NULL DEFAULT 'pending'
        CHECK (outcome IN ('pending', 'accepted', 'changed', 'not_accepted')),
    outcome_version integer,
    outcome_reason text CHECK (length(outcome_reason) <= 20000),
    outcome_by text,
    outcome_at timestamptz,
    CONSTRAINT comments_target_whole CHECK (
        (target = 'plan' AND zone_id IS NULL AND parcel_id IS NULL AND geom IS NULL)
        OR (target = 'zone' AND zone_id IS NOT NULL)
        OR (target = 'point' AND geom IS NOT NULL)
        OR (target = 'parcel' AND parcel_id IS NOT NULL)),
    CONSTRAINT comments_hidden_whole CHECK (
        (hidden_at IS NULL AND hidden_by IS NULL AND hidden_reason IS NULL)
        OR (hidden_at IS NOT NULL AND btrim(hidden_by) <> '' AND btrim(hidden_reason) <> '')),
    CONSTRAINT comments_changed_names_version CHECK (outcome <> 'changed' OR outcome_version IS NOT NULL)
);
CREATE INDEX comments_consultation_idx ON planning.comments (consultation_id, id);
CREATE INDEX comments_client_idx ON planning.comments (client_key, created_at);
COMMENT ON TABLE planning.comments IS
  'Comments on a draft under consultation; contact and client_key are private; hidden ones keep their reason';

CREATE TABLE planning.subscriptions (
    id bigserial PRIMARY KEY,
    email text NOT NULL CHECK (length(email) <= 320 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    parcel_id bigint,
    geom geometry(MultiPolygon, 9214) NOT NULL,
    lang text NOT NULL DEFAULT 'vi' CHECK (lang IN ('vi', 'en')),
    token text NOT NULL UNIQUE CHECK (length(token) >= 32),
    client_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    unsubscribed_at timestamptz
);
CREATE INDEX subscriptions_geom_idx ON planning.subscriptions USING gist (geom)
    WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL;
CREATE INDEX subscriptions_email_idx ON planning.subscriptions (lower(email), created_at);
CREATE INDEX subscriptions_client_idx ON planning.subscriptions (client_key, created_at);
COMMENT ON TABLE planning.subscriptions IS
  'Who asked to be told of plan changes on a parcel or an area; never shown; token: the confirm/unsubscribe secret';

CREATE TABLE planning.outbox (
    id bigserial PRIMARY KEY,
    to_addr text NOT NULL,
    subject text NOT NULL,
    body_text text NOT NULL,
    body_html text,
    subscription_id bigint REFERENCES planning.subscriptions (id) ON DELETE CASCADE,
    event text NOT NULL CHECK (event IN ('confirm', 'consultation', 'published')),
    plan_id integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE UNIQUE INDEX outbox_one_notice ON planning.outbox (subscription_id, event, plan_id)
    WHERE event <> 'confirm';
CREATE INDEX outbox_unsent_idx ON planning.outbox (id) WHERE sent_at IS NULL;
COMMENT ON TABLE planning.outbox IS
  'Mail to send (confirmations, notices), written with what caused it and sent after commit; one notice per '
  'subscription, event and plan version';
"""

DOWNGRADE_SQL = """
DROP TABLE planning.outbox;
DROP TABLE planning.subscriptions;
DROP TABLE planning.comments;
DROP TABLE planning.consultations;
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(UPGRADE_SQL.replace("%", "%%"))


def downgrade() -> None:
    op.get_bind().exec_driver_sql(DOWNGRADE_SQL)
