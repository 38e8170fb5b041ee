"""Issued planning-information certificates: ``planning.certificates``.

Why: a certificate must be provable later, by anyone holding the PDF: which parcel, which plan rows, who issued it
and when, and whether it was revoked. The record keeps what the document was made from (the content as issued, as
JSON text: ``json`` keeps the text exactly, so a re-render gives the same bytes, where ``jsonb`` would reorder keys)
and the SHA-256 of the signed PDF; the PDF itself is not kept, because it can be made again byte for byte.

Numbers come from one sequence (``HUE-2026-000123``: the year of issue and the serial), never reused. A record is
never deleted and never changed, except once: its revocation (when, who, why). A trigger refuses anything else.

Revision ID: 0012_certificates
Revises: 0011_login_attempts
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012_certificates"
down_revision = "0011_login_attempts"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE SEQUENCE planning.certificate_serial;
CREATE TABLE planning.certificates (
    number text PRIMARY KEY CHECK (number ~ '^[A-Z]{2,8}-[0-9]{4}-[0-9]{6,}$'),
    serial bigint NOT NULL UNIQUE,
    parcel_id bigint NOT NULL,  -- no foreign key: the record outlives a split or deleted parcel
    content json NOT NULL,
    content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    lang text NOT NULL CHECK (lang IN ('vi', 'en')),
    issued_at timestamptz NOT NULL CHECK (issued_at = date_trunc('second', issued_at)),
    issued_by text NOT NULL CHECK (btrim(issued_by) <> ''),
    issuer_name text NOT NULL CHECK (btrim(issuer_name) <> ''),
    verify_url text NOT NULL,
    pdf_sha256 text NOT NULL CHECK (pdf_sha256 ~ '^[0-9a-f]{64}$'),
    pdf_bytes integer NOT NULL CHECK (pdf_bytes > 0),
    signer_fingerprint text NOT NULL CHECK (signer_fingerprint ~ '^[0-9a-f]{64}$'),
    signer_subject text NOT NULL,
    signer_demo boolean NOT NULL,
    revoked_at timestamptz,
    revoked_by text,
    revoked_reason text,
    CONSTRAINT certificates_revocation_whole CHECK (
        (revoked_at IS NULL AND revoked_by IS NULL AND revoked_reason IS NULL)
        OR (revoked_at IS NOT NULL AND btrim(revoked_by) <> '' AND btrim(revoked_reason) <> ''))
);
CREATE INDEX certificates_parcel_idx ON planning.certificates (parcel_id, issued_at);
CREATE INDEX certificates_issued_idx ON planning.certificates (issued_at);
COMMENT ON TABLE planning.certificates IS
  'Issued planning-information certificates: the content as issued (exact JSON text), who and when, the signed '
  'PDF''s SHA-256 and signer; never deleted or changed but for one revocation (gis_service.certificates.records)';

CREATE FUNCTION planning.tg_certificate_revoke_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'certificate % cannot be deleted: revoke it', OLD.number;
    END IF;
    IF OLD.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'certificate % is revoked already', OLD.number;
    END IF;
    IF (to_jsonb(NEW) - ARRAY['revoked_at', 'revoked_by', 'revoked_reason'])
        <> (to_jsonb(OLD) - ARRAY['revoked_at', 'revoked_by', 'revoked_reason']) THEN
        RAISE EXCEPTION 'certificate %: only its revocation may be recorded', OLD.number;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER certificates_revoke_only BEFORE UPDATE OR DELETE ON planning.certificates
    FOR EACH ROW EXECUTE FUNCTION planning.tg_certificate_revoke_only();
"""

DOWNGRADE_SQL = """
DROP TABLE planning.certificates;
DROP FUNCTION planning.tg_certificate_revoke_only();
DROP SEQUENCE planning.certificate_serial;
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(UPGRADE_SQL.replace("%", "%%"))


def downgrade() -> None:
    op.get_bind().exec_driver_sql(DOWNGRADE_SQL)
