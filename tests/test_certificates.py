"""Planning-information certificates: issued and signed over real HTTP, validated by independent tools (pyHanko's
command line, poppler's pdfsig), verified by number and by file, revoked, re-rendered byte for byte, and told the
plan changed after a republication that changes the parcel's zone."""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from permits_sample import CODE, load_permit_plan
from viewer_served import serve_app

from gis_service.api.app import create_app
from gis_service.certificates.signing import (
    configured_key,
    ensure_demo_key,
    load_signing_key,
    sign_pdf,
    validate_pdf,
)
from gis_service.cli import cli
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.errors import ConfigError
from gis_service.settings import CertificateSettings, Settings

Headers = Callable[..., dict[str, str]]
PYHANKO = Path(sys.executable).with_name("pyhanko")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys")
    ensure_demo_key(directory)
    return directory


def _settings(url: str, keys: Path) -> Settings:
    return Settings(database_url=url, certificates=CertificateSettings(demo_dir=keys))


@pytest.fixture(scope="module")
def cert_db(db_server: Any) -> Iterator[tuple[str, dict[str, int]]]:
    url = db_server.create("certs")
    upgrade(url)
    ids = load_permit_plan(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def http(cert_db: tuple[str, dict[str, int]], keys: Path) -> Iterator[httpx.Client]:
    with serve_app(create_app(_settings(cert_db[0], keys))) as base, httpx.Client(base_url=base, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def officer(cert_db: tuple[str, dict[str, int]], auth_headers: Headers) -> dict[str, str]:
    return auth_headers("permit_officer", database_url=cert_db[0])


def issue(http: httpx.Client, officer: dict[str, str], parcel_id: int, **extra: Any) -> tuple[str, bytes]:
    r = http.post("/certificates", json={"parcel_id": parcel_id, "issue": True, **extra}, headers=officer)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/pdf"
    number = r.headers["x-certificate-number"]
    assert re.fullmatch(r"HUE-\d{4}-\d{6}", number) and r.headers["location"] == f"/certificates/{number}"
    return number, r.content


def verdict(http: httpx.Client, number: str, pdf: bytes | None = None) -> dict[str, Any]:
    if pdf is None:
        r = http.get(f"/certificates/{number}/verify", params={"f": "json"})
    else:
        r = http.post(f"/certificates/{number}/verify", content=pdf, headers={"Content-Type": "application/pdf"})
    assert r.status_code in (200, 404), r.text
    body: dict[str, Any] = r.json()
    return body


def run_cli(url: str, keys: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj={"settings": _settings(url, keys)}, catch_exceptions=False)


def flipped(pdf: bytes, at: int) -> bytes:
    out = bytearray(pdf)
    out[at] = ord("1") if out[at] != ord("1") else ord("2")  # stays a plausible character where it lands
    return bytes(out)


def test_issued_certificate_validates_with_pyhanko_and_pdfsig(
    http: httpx.Client, officer: dict[str, str], cert_db: tuple[str, dict[str, int]], keys: Path, tmp_path: Path
) -> None:
    url, ids = cert_db
    number, pdf = issue(http, officer, ids["parcel"])
    path = tmp_path / f"{number}.pdf"
    path.write_bytes(pdf)
    cert = keys / "demo-signing-cert.pem"
    out = subprocess.run(
        [str(PYHANKO), "sign", "validate", "--trust", str(cert), "--trust-replace", "--no-revocation-check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(rf"Certificate-{number}:[0-9a-f]{{64}}:INTACT:TRUSTED,UNTOUCHED", out.stdout), out.stdout
    pdfsig = shutil.which("pdfsig")
    if pdfsig is None:
        pytest.fail("pdfsig is missing: ./run.sh setup installs it (Debian poppler-utils)")
    sig = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, timeout=60, check=False).stdout
    assert "Signature Validation: Signature is Valid." in sig and "Total document signed" in sig, sig
    assert "ETSI.CAdES.detached" in sig and f"Certificate-{number}" in sig  # PAdES
    # the record: its hash is the file's, and the file is made again byte for byte, by the API and the CLI
    with create_db_engine(url, pool_size=1).connect() as c:
        stored = c.execute(
            sa.text("SELECT pdf_sha256, signer_demo FROM planning.certificates WHERE number = :n"), {"n": number}
        ).one()
    assert stored == (hashlib.sha256(pdf).hexdigest(), True)
    again = http.get(f"/certificates/{number}")
    assert again.status_code == 200 and again.content == pdf and again.headers["x-same-as-issued"] == "true"
    result = run_cli(url, keys, "certificates", "pdf", number, "--out", str(tmp_path / "again.pdf"))
    assert result.exit_code == 0 and "the same bytes as issued" in result.output
    assert (tmp_path / "again.pdf").read_bytes() == pdf
    html = http.get(f"/certificates/{number}", params={"f": "html"})
    assert html.status_code == 200 and number in html.text and "<script" not in html.text
    # the verification page: valid, and plain that the demo key signed it
    page = http.get(f"/certificates/{number}/verify")
    assert page.status_code == 200 and "HỢP LỆ" in page.text and "Self-signed demo key" in page.text
    assert "<script" not in page.text and page.headers["cache-control"] == "no-store"


def test_the_demo_makes_its_key_once_and_says_so(tmp_path: Path) -> None:
    from gis_service.cli.sample_plans import demo_signing_key

    first = demo_signing_key(tmp_path / "keys")
    assert first.startswith("made a self-signed demo key") and "GIS_CERTIFICATES__KEY_FILE" in first
    key_pem = (tmp_path / "keys" / "demo-signing-key.pem").read_bytes()
    assert (tmp_path / "keys" / "demo-signing-key.pem").stat().st_mode & 0o077 == 0  # the key is the owner's only
    assert demo_signing_key(tmp_path / "keys").startswith("certificates are signed with the self-signed demo key")
    assert (tmp_path / "keys" / "demo-signing-key.pem").read_bytes() == key_pem
    settings = CertificateSettings(demo_dir=tmp_path / "none")
    with pytest.raises(ConfigError, match="planning demo load"):
        configured_key(settings)


def test_one_byte_changed_makes_verify_and_the_cli_say_altered(
    http: httpx.Client, officer: dict[str, str], cert_db: tuple[str, dict[str, int]], keys: Path, tmp_path: Path
) -> None:
    url, ids = cert_db
    number, pdf = issue(http, officer, ids["parcel"], lang="en")
    same = verdict(http, number, pdf)
    assert same["status"] == "valid" and same["file"]["matches_record"] and same["file"]["signature_valid"]
    assert same["demo_key"] is True and same["plan"]["changed"] is False
    path = tmp_path / "held.pdf"
    path.write_bytes(pdf)
    result = run_cli(url, keys, "certificates", "verify", str(path))
    assert result.exit_code == 0 and f"{number}: VALID" in result.output, result.output
    contents = pdf.index(b"/Contents <") + len(b"/Contents <")
    # the page text, the signature's own bytes, the zeros reserved after it, the trailer
    for at in (len(pdf) // 3, contents + 40, pdf.index(b"0000>", contents), len(pdf) - 20):
        bad = flipped(pdf, at)
        answer = verdict(http, number, bad)
        assert answer["status"] == "altered", (at, answer)
        assert answer["file"]["matches_record"] is False and "altered" in answer["message_en"]
        path.write_bytes(bad)
        result = run_cli(url, keys, "certificates", "verify", str(path))
        assert result.exit_code == 2 and "ALTERED" in result.output, (at, result.output)
    # the public form sends the file as multipart and gets the page
    r = http.post(
        f"/certificates/{number}/verify",
        params={"f": "html"},
        files={"file": ("held.pdf", flipped(pdf, len(pdf) // 2), "application/pdf")},
    )
    assert r.status_code == 200 and "ĐÃ BỊ THAY ĐỔI" in r.text and "ALTERED" in r.text
    # the signature alone also fails where pyHanko reads it: the page text changed
    key = load_signing_key(key_file=keys / "demo-signing-key.pem", cert_file=keys / "demo-signing-cert.pem")
    assert not validate_pdf(flipped(pdf, len(pdf) // 3), fingerprints={key.fingerprint}).valid


def test_revoked_certificate_says_so_with_date_and_reason(
    http: httpx.Client,
    officer: dict[str, str],
    cert_db: tuple[str, dict[str, int]],
    keys: Path,
    tmp_path: Path,
    auth_headers: Headers,
) -> None:
    url, ids = cert_db
    number, pdf = issue(http, officer, ids["parcel"])
    reason = {"reason": "Cấp nhầm thửa đất"}
    assert http.post(f"/certificates/{number}/revoke", json=reason).status_code == 401
    planner = auth_headers("planner", database_url=url)
    assert http.post(f"/certificates/{number}/revoke", json=reason, headers=planner).status_code == 403
    assert http.post(f"/certificates/{number}/revoke", json={"reason": ""}, headers=officer).status_code == 400
    r = http.post(f"/certificates/{number}/revoke", json=reason, headers=officer)
    assert r.status_code == 200 and r.json()["revoked"]["reason"] == "Cấp nhầm thửa đất"
    again = http.post(f"/certificates/{number}/revoke", json=reason, headers=officer)
    assert again.status_code == 409 and again.json()["code"] == "Conflict"
    answer = verdict(http, number, pdf)
    assert answer["status"] == "revoked" and "Cấp nhầm thửa đất" in answer["message_vi"]
    assert re.search(r"revoked on \d{4}-\d{2}-\d{2}", answer["message_en"])
    page = http.get(f"/certificates/{number}/verify")
    assert page.status_code == 200 and "ĐÃ THU HỒI" in page.text and "Cấp nhầm thửa đất" in page.text
    path = tmp_path / "revoked.pdf"
    path.write_bytes(pdf)
    result = run_cli(url, keys, "certificates", "verify", str(path))
    assert result.exit_code == 3 and "REVOKED" in result.output
    listed = run_cli(url, keys, "certificates", "list", "--parcel", str(ids["parcel"]))
    assert re.search(rf"{number} .* revoked \d{{4}}-", listed.output), listed.output


def test_unknown_number_gets_a_clear_404(
    http: httpx.Client, cert_db: tuple[str, dict[str, int]], keys: Path, tmp_path: Path
) -> None:
    page = http.get("/certificates/HUE-2099-999999/verify")
    assert page.status_code == 404 and "KHÔNG TỒN TẠI" in page.text and "HUE-2099-999999" in page.text
    answer = http.get("/certificates/HUE-2099-999999/verify", params={"f": "json"})
    assert answer.status_code == 404 and answer.json()["status"] == "unknown"
    assert "was ever issued" in answer.json()["message_en"]
    r = http.get("/certificates/not-a-number")
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    text = {"Content-Type": "text/plain"}
    r = http.post("/certificates/HUE-2099-999999/verify", content=b"%PDF-1.7 junk", headers=text)
    assert r.status_code == 400 and "application/pdf" in r.json()["description"]
    r = http.post("/certificates/HUE-2099-999999/verify", content=b"", headers={"Content-Type": "application/pdf"})
    assert r.status_code == 400
    path = tmp_path / "nothing.pdf"
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    result = run_cli(cert_db[0], keys, "certificates", "verify", str(path))
    assert result.exit_code == 4 and "names no certificate number" in result.output
    path.write_bytes(b"%PDF-1.4 HUE-2099-999999\n%%EOF\n")
    result = run_cli(cert_db[0], keys, "certificates", "verify", str(path))
    assert result.exit_code == 4 and "UNKNOWN" in result.output


def test_preview_for_anyone_issuing_for_officers_only(
    http: httpx.Client, cert_db: tuple[str, dict[str, int]], auth_headers: Headers
) -> None:
    url, ids = cert_db
    r = http.post("/certificates", json={"ward": "Phú Xuân", "sheet_no": 5, "parcel_no": 7})
    assert r.status_code == 200 and r.headers["x-certificate-preview"] == "true"
    assert r.content.startswith(b"%PDF") and b"/ByteRange" not in r.content  # not signed
    html = http.post("/certificates", json={"parcel_id": ids["parcel"], "format": "html", "lang": "en"})
    assert html.status_code == 200 and "PREVIEW" in html.text and "<script" not in html.text
    assert "script-src 'self'" in html.headers["content-security-policy"]
    body = {"parcel_id": ids["parcel"], "issue": True}
    assert http.post("/certificates", json=body).status_code == 401
    for role in ("public", "planner"):
        assert http.post("/certificates", json=body, headers=auth_headers(role, database_url=url)).status_code == 403
    admin = auth_headers("admin", database_url=url)
    r = http.post("/certificates", json={**body, "format": "html"}, headers=admin)
    assert r.status_code == 201 and r.headers["x-certificate-number"] in r.text
    # bad input: a 4xx naming the problem, never a 500
    for bad, status in (
        ({"parcel_id": ids["parcel"], "sheet_no": 5, "parcel_no": 7}, 400),
        ({"sheet_no": 5}, 400),
        ({"parcel_id": 0}, 400),
        ({"parcel_id": ids["parcel"], "format": "docx"}, 400),
        ({"parcel_id": 987654}, 404),
        ({"ward": "Không có", "sheet_no": 5, "parcel_no": 7}, 404),
    ):
        r = http.post("/certificates", json=bad)
        assert r.status_code == status, (bad, r.text)
        assert r.json()["code"] and r.json()["description"]
    listing = http.get("/certificates", headers=admin)
    assert listing.status_code == 200 and listing.json()["certificates"][0]["parcel_id"] == ids["parcel"]
    assert http.get("/certificates").status_code == 401


def test_verify_takes_pdfs_of_megabytes_and_refuses_more_than_8(
    http: httpx.Client, officer: dict[str, str], cert_db: tuple[str, dict[str, int]]
) -> None:
    number, pdf = issue(http, officer, cert_db[1]["parcel"])
    padded = pdf + b"\n%" + b"0" * (2 * 1024 * 1024)  # over the 1 MB of other routes: its own family's limit
    answer = verdict(http, number, padded)
    assert answer["status"] == "altered" and answer["file"]["matches_record"] is False and answer["file"]["problem"]
    host, port = str(http.base_url).removeprefix("http://").rstrip("/").split(":")
    head = (
        f"POST /certificates/{number}/verify HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/pdf\r\n"
        f"Content-Length: {9 * 1024 * 1024}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head + pdf)
        refusal = b""
        while chunk := s.recv(65536):  # the server closes the connection after its answer
            refusal += chunk
    assert refusal.startswith(b"HTTP/1.1 413") and b"certificate to verify" in refusal, refusal[:300]


def test_records_are_kept_as_issued(
    http: httpx.Client, officer: dict[str, str], cert_db: tuple[str, dict[str, int]]
) -> None:
    url, ids = cert_db
    number, pdf = issue(http, officer, ids["parcel"])
    engine = create_db_engine(url, pool_size=1)
    try:
        for statement in (
            "UPDATE planning.certificates SET parcel_id = parcel_id + 1 WHERE number = :n",
            "UPDATE planning.certificates SET content = '{}' WHERE number = :n",
            "DELETE FROM planning.certificates WHERE number = :n",
        ):
            with pytest.raises(sa.exc.DBAPIError, match=r"only its revocation|cannot be deleted"), engine.begin() as c:
                c.execute(sa.text(statement), {"n": number})
        # changed all the same, by someone owning the table: the record no longer matches its hash
        with engine.begin() as c:
            c.execute(sa.text("ALTER TABLE planning.certificates DISABLE TRIGGER certificates_revoke_only"))
            c.execute(
                sa.text("UPDATE planning.certificates SET content = (content::text || ' ')::json WHERE number = :n"),
                {"n": number},
            )
            c.execute(sa.text("ALTER TABLE planning.certificates ENABLE TRIGGER certificates_revoke_only"))
        answer = verdict(http, number, pdf)
        assert answer["status"] == "altered" and answer["content_intact"] is False
        assert "kept record" in answer["message_en"] and answer["file"]["matches_record"] is True
    finally:
        engine.dispose()


def _republish_with_zone_a_commercial(url: str, ids: dict[str, int]) -> None:
    """Publish version 2 of the plan, where zone A (half of the parcel) becomes commercial land (TMD)."""
    from gis_service.editing import insert_feature, publish_plan

    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            v2 = insert_feature(
                conn,
                "plans",
                {
                    "code": CODE,
                    "name": "Chi tiết khu Lê Duẩn (điều chỉnh)",
                    "level": "detailed",
                    "version": 2,
                    "based_on_id": ids["plan"],
                    "decision_no": "91/QĐ-UBND",
                    "decision_date": "2026-02-10",
                },
                user="lan.nguyen",
                reason="điều chỉnh quy hoạch",
            )
            for key in ("A", "B", "C"):
                row = conn.execute(
                    sa.text(
                        "SELECT zone_code, land_use_code, max_density_pct, max_floors, max_height_m, max_far, "
                        "min_setback_m, ST_AsEWKT(geom), min_floors, attributes FROM planning.zones WHERE id = :id"
                    ),
                    {"id": ids[key]},
                ).one()
                insert_feature(
                    conn,
                    "zones",
                    {
                        "plan_id": v2["id"],
                        "zone_code": row[0],
                        "land_use_code": "TMD" if key == "A" else row[1],
                        "max_density_pct": row[2],
                        "max_floors": row[3],
                        "max_height_m": row[4],
                        "max_far": row[5],
                        "min_setback_m": row[6],
                        "geom": row[7],
                        "min_floors": row[8],
                        "attributes": row[9],
                    },
                    user="lan.nguyen",
                    reason="điều chỉnh quy hoạch",
                )
            for table in ("red_lines", "building_lines"):
                conn.execute(sa.text(f"UPDATE planning.{table} SET plan_id = :v2"), {"v2": v2["id"]})
            publish_plan(conn, CODE, user="lan.nguyen", reason="QĐ 91/QĐ-UBND")
    finally:
        engine.dispose()


def test_plan_change_since_issue_is_listed_and_the_certificate_still_rerenders(
    db_server: Any, keys: Path, auth_headers: Headers
) -> None:
    url = db_server.create("certplan")
    try:
        upgrade(url)
        ids = load_permit_plan(url)
        officer = auth_headers("permit_officer", database_url=url)
        with serve_app(create_app(_settings(url, keys))) as base, httpx.Client(base_url=base, timeout=60) as http:
            number, pdf = issue(http, officer, ids["parcel"])
            assert verdict(http, number)["plan"] == {"changed": False, "changes": []}
            _republish_with_zone_a_commercial(url, ids)
            answer = verdict(http, number)
            assert answer["status"] == "valid" and answer["reproduced"] is True
            assert answer["plan"]["changed"] is True and answer["plan"]["changes"], answer
            told = " ".join(answer["plan"]["changes"])
            assert "Ô A: chức năng sử dụng đất ODT → TMD" in told and "v2 (91/QĐ-UBND)" in told, told
            page = http.get(f"/certificates/{number}/verify")
            assert "đã thay đổi kể từ ngày cấp" in page.text and "has changed since" in page.text
            assert http.get(f"/certificates/{number}").content == pdf  # re-rendered from the record, unchanged
            # on either side of the new version's decision (10/02/2026): each version's zone A
            dated, dated_pdf = issue(http, officer, ids["parcel"], as_of="2026-02-09")
            later, _ = issue(http, officer, ids["parcel"], as_of="2026-02-10")
            assert verdict(http, later)["plan"] == {"changed": False, "changes": []}
            answer = verdict(http, dated)
            assert answer["as_of"] == "2026-02-09" and answer["plan"]["changed"] is True  # against today's plan
            assert "Ô A: chức năng sử dụng đất ODT → TMD" in " ".join(answer["plan"]["changes"])
            assert "as of 9 February 2026" in answer["message_en"] and "ngày 09/02/2026" in answer["message_vi"]
            assert "differs from the plan as of that date" in answer["message_en"]
            told_page = http.get(f"/certificates/{dated}/verify").text
            assert "Planning information as of" in told_page and "differs from the plan as of 9 February" in told_page
            again = http.get(f"/certificates/{dated}")
            assert again.content == dated_pdf and again.headers["x-same-as-issued"] == "true"
    finally:
        db_server.drop(url)


def test_a_certificate_of_the_plan_on_a_date(
    http: httpx.Client, officer: dict[str, str], cert_db: tuple[str, dict[str, int]], keys: Path, tmp_path: Path
) -> None:
    url, ids = cert_db
    number, pdf = issue(http, officer, ids["parcel"], as_of="2025-03-01")  # the plan's decision date
    again = http.get(f"/certificates/{number}")
    assert again.content == pdf and again.headers["x-same-as-issued"] == "true"
    answer = verdict(http, number)
    assert answer["status"] == "valid" and answer["as_of"] == "2025-03-01" and answer["reproduced"] is True
    assert answer["plan"] == {"changed": False, "changes": []}
    assert "It gives the planning information as of 1 March 2025." in answer["message_en"]
    plain, _ = issue(http, officer, ids["parcel"])
    assert verdict(http, plain)["as_of"] is None
    html = http.post("/certificates", json={"parcel_id": ids["parcel"], "format": "html", "as_of": "2025-03-01"})
    assert html.status_code == 200
    assert "Thông tin quy hoạch tại ngày 01/03/2025 / Planning information as of 1 March 2025" in html.text
    # before the plan's decision: no certificate (nor preview), and no number taken
    listed = len(http.get("/certificates", headers=officer).json()["certificates"])
    for extra in ({"issue": True}, {}):
        r = http.post(
            "/certificates", json={"parcel_id": ids["parcel"], "as_of": "2025-02-28", **extra}, headers=officer
        )
        assert r.status_code == 404 and r.json()["code"] == "NoPlanInForce", r.text
        assert "no plan was in force on 2025-02-28" in r.json()["description"]
    assert len(http.get("/certificates", headers=officer).json()["certificates"]) == listed
    for bad in ("2025-13-01", "01/03/2025", "20250301", 20250301, "", "2025-03-01T00:00"):
        r = http.post("/certificates", json={"parcel_id": ids["parcel"], "as_of": bad})
        assert r.status_code == 400 and "as_of" in r.json()["description"], (bad, r.text)
    # the command line
    out = tmp_path / "dated.pdf"
    args = ["certificates", "issue", "--parcel", str(ids["parcel"]), "--out", str(out), "--user", "lan.nguyen"]
    result = run_cli(url, keys, *args, "--as-of", "2025-03-01")
    assert result.exit_code == 0 and "the plan as of 2025-03-01" in result.stderr, result.output
    assert verdict(http, result.stdout.strip())["as_of"] == "2025-03-01"
    refused = run_cli(url, keys, *args, "--as-of", "2025-02-28")
    assert refused.exit_code == 1 and "no plan was in force on 2025-02-28" in refused.output
    malformed = run_cli(url, keys, *args, "--as-of", "1/3/2025")
    assert malformed.exit_code == 1 and "--as-of must be a date" in malformed.output


def test_keys_must_sign_reproducibly_and_match_their_certificate(keys: Path, tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from reportlab.pdfgen import canvas

    with pytest.raises(ValueError, match="set both"):
        CertificateSettings(key_file=keys / "demo-signing-key.pem")
    other = tmp_path / "other"
    ensure_demo_key(other)
    with pytest.raises(ConfigError, match="does not belong"):
        load_signing_key(key_file=other / "demo-signing-key.pem", cert_file=keys / "demo-signing-cert.pem")
    # an operator's EC key signs deterministically too (RFC 6979)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Sở Xây dựng Huế (test)")])
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "ec.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption("mật khẩu".encode()),
        )
    )
    (tmp_path / "ec.crt").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    with pytest.raises(ConfigError, match="KEY_PASSPHRASE"):
        load_signing_key(key_file=tmp_path / "ec.key", cert_file=tmp_path / "ec.crt")
    signing = load_signing_key(key_file=tmp_path / "ec.key", cert_file=tmp_path / "ec.crt", passphrase="mật khẩu")
    assert not signing.demo
    buf = tmp_path / "doc.pdf"
    c = canvas.Canvas(str(buf), invariant=1)
    c.drawString(100, 700, "HUE-2026-000042")
    c.save()
    at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    first = sign_pdf(buf.read_bytes(), signing, number="HUE-2026-000042", at=at)
    assert first == sign_pdf(buf.read_bytes(), signing, number="HUE-2026-000042", at=at)
    check = validate_pdf(first, fingerprints={signing.fingerprint})
    assert check.valid and check.number == "HUE-2026-000042" and check.signing_time == at


def test_the_command_line_issues_lists_and_revokes(
    cert_db: tuple[str, dict[str, int]], keys: Path, tmp_path: Path
) -> None:
    url, ids = cert_db
    out = tmp_path / "issued.pdf"
    args = ["certificates", "issue", "--ward", "Phú Xuân", "--sheet", "5", "--parcel-no", "7", "--lang", "en"]
    result = run_cli(url, keys, *args, "--out", str(out), "--user", "lan.nguyen")
    assert result.exit_code == 0, result.output
    number = result.stdout.strip()
    assert re.fullmatch(r"HUE-\d{4}-\d{6}", number) and "self-signed demo key" in result.stderr
    pdf = out.read_bytes()
    assert validate_pdf(pdf, fingerprints={load_key(keys).fingerprint}).number == number
    assert run_cli(url, keys, "certificates", "issue", "--parcel", "987654").exit_code == 1  # unknown: one line
    assert run_cli(url, keys, "certificates", "issue").exit_code == 2  # no parcel: a usage error
    listed = run_cli(url, keys, "certificates", "list", "--parcel", str(ids["parcel"]))
    assert re.search(rf"{number} +{ids['parcel']} .* en +lan.nguyen +valid", listed.stdout), listed.stdout
    result = run_cli(url, keys, "certificates", "revoke", number, "--reason", "thử", "--user", "lan.nguyen")
    assert result.exit_code == 0 and f"revoked {number}" in result.stderr
    again = run_cli(url, keys, "certificates", "revoke", number, "--reason", "x")
    assert again.exit_code == 1 and "revoked already" in again.output
    verified = run_cli(url, keys, "certificates", "verify", str(out), "--json")
    assert verified.exit_code == 3 and '"status": "revoked"' in verified.stdout


def load_key(keys: Path) -> Any:
    return load_signing_key(key_file=keys / "demo-signing-key.pem", cert_file=keys / "demo-signing-cert.pem")
