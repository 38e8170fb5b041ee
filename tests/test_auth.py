"""Users, passwords, bearer tokens and roles, on the real database and through the real app."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine

from gis_service.api.app import create_app
from gis_service.auth import (
    Role,
    User,
    authenticate,
    create_user,
    disable_user,
    hash_password,
    issue_token,
    user_for_token,
    verify_password,
)
from gis_service.errors import Unauthorized, ValidationError
from gis_service.settings import AuthSettings, Settings

Headers = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=database_url))) as c:
        yield c


def _new_user(engine: Engine, name: str, role: Role = Role.PLANNER, password: str = "mật khẩu 2026") -> User:
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM auth.users WHERE lower(name) = lower(:n)"), {"n": name})
        return create_user(c, name, role, password)


def test_password_hash_is_salted_scrypt_and_verifies() -> None:
    a, b = hash_password("bí mật dài"), hash_password("bí mật dài")
    assert a != b and a.startswith("scrypt$ln=14,r=8,p=5$")
    assert verify_password("bí mật dài", a) and verify_password("bí mật dài", b)
    assert not verify_password("bí mật dai", a)
    assert not verify_password("bí mật dài", "not a hash")


def test_create_and_authenticate(conn: Connection) -> None:
    user = create_user(conn, "lan.nguyen", "planner", "mật khẩu 2026")
    assert user.role is Role.PLANNER and not user.disabled
    assert authenticate(conn, "Lan.Nguyen", "mật khẩu 2026") == user  # names ignore case
    stored = conn.execute(sa.text("SELECT password_hash FROM auth.users WHERE id = :i"), {"i": user.id}).scalar_one()
    assert "mật khẩu" not in stored
    with pytest.raises(Unauthorized, match="wrong user name or password"):
        authenticate(conn, "lan.nguyen", "mật khẩu 2025")
    with pytest.raises(Unauthorized, match="wrong user name or password"):
        authenticate(conn, "nobody", "mật khẩu 2026")
    with pytest.raises(ValidationError, match="exists already"):
        create_user(conn, "LAN.NGUYEN", "planner", "another password")
    with pytest.raises(ValidationError, match="unknown role"):
        create_user(conn, "minh", "mayor", "long enough")
    with pytest.raises(ValidationError, match="too short"):
        create_user(conn, "minh", "planner", "short")
    with pytest.raises(ValidationError, match="not allowed"):
        create_user(conn, "a b; drop", "planner", "long enough")
    disable_user(conn, "lan.nguyen")
    with pytest.raises(Unauthorized):
        authenticate(conn, "lan.nguyen", "mật khẩu 2026")


def test_tokens_are_stored_hashed_expire_and_are_revoked_on_disable(conn: Connection) -> None:
    user = create_user(conn, "hoa.tran", "permit_officer", "mật khẩu 2026")
    issued = issue_token(conn, user, ttl_s=60)
    assert issued.access_token.startswith("hue_") and len(issued.access_token) > 40
    digests = conn.execute(sa.text("SELECT token_sha256 FROM auth.tokens WHERE user_id = :u"), {"u": user.id}).all()
    assert len(digests) == 1 and issued.access_token.encode() not in bytes(digests[0][0])
    assert user_for_token(conn, issued.access_token) == user
    conn.execute(
        sa.text("UPDATE auth.tokens SET expires_at = now() - interval '1 s' WHERE user_id = :u"), {"u": user.id}
    )
    with pytest.raises(Unauthorized, match="expired"):
        user_for_token(conn, issued.access_token)
    fresh = issue_token(conn, user, ttl_s=60)
    disable_user(conn, "hoa.tran")
    with pytest.raises(Unauthorized, match="revoked"):
        user_for_token(conn, fresh.access_token)
    with pytest.raises(Unauthorized, match="not valid"):
        user_for_token(conn, "hue_made-up")


def test_token_endpoint_password_flow(client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    _new_user(engine, "thu.le", Role.PLANNER, "mật khẩu đúng")
    caplog.set_level(logging.DEBUG)
    r = client.post("/auth/token", data={"username": "thu.le", "password": "mật khẩu đúng", "grant_type": "password"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 480 * 60
    assert r.headers["cache-control"] == "no-store"
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json() == {
        "id": me.json()["id"],
        "name": "thu.le",
        "role": "planner",
        "disabled": False,
    }
    wrong = client.post("/auth/token", data={"username": "thu.le", "password": "sai"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # nothing secret in an answer or a log line
    with engine.connect() as c:
        stored = c.execute(sa.text("SELECT password_hash FROM auth.users WHERE name = 'thu.le'")).scalar_one()
    logs = caplog.text
    for secret in ("mật khẩu đúng", stored, stored.split("$")[-1]):
        assert secret not in logs and secret not in r.text and secret not in me.text and secret not in wrong.text
    # log out: the token is dead
    out = client.post("/auth/revoke", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert out.status_code == 204
    again = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert again.status_code == 401 and again.headers["www-authenticate"].startswith("Bearer")


def test_bad_tokens_are_401_with_a_bearer_challenge(client: TestClient) -> None:
    for header in ("Bearer hue_nonsense", "Basic dXNlcjpwYXNz", "Bearer "):
        r = client.get("/auth/me", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.headers["www-authenticate"].startswith('Bearer realm="planning"')
        assert r.json()["code"] == "Unauthorized"
    r = client.get("/auth/me")
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="planning"'


@pytest.mark.parametrize(
    ("role", "status"), [("public", 403), ("planner", 403), ("permit_officer", 403), ("admin", 200)]
)
def test_admin_routes_need_the_admin_role(client: TestClient, auth_headers: Headers, role: str, status: int) -> None:
    r = client.get("/auth/users", headers=auth_headers(role))
    assert r.status_code == status, r.text
    if status == 200:
        assert {"name": "test-admin", "role": "admin"}.items() <= next(
            u for u in r.json() if u["name"] == "test-admin"
        ).items()
        assert "password" not in r.text and "scrypt" not in r.text
    assert client.get("/auth/users").status_code == 401


def test_admin_adds_and_disables_a_user_whose_token_then_fails(client: TestClient, auth_headers: Headers) -> None:
    admin = auth_headers("admin")
    r = client.post(
        "/auth/users", headers=admin, json={"name": "duc.pham", "role": "planner", "password": "đủ dài 123"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "planner" and "password" not in r.json()
    dup = client.post("/auth/users", headers=admin, json={"name": "Duc.Pham", "role": "planner", "password": "x" * 9})
    assert dup.status_code == 400 and "exists already" in dup.json()["description"]
    token = client.post("/auth/token", data={"username": "duc.pham", "password": "đủ dài 123"}).json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert client.get("/auth/me", headers=mine).status_code == 200
    assert client.post("/auth/users/duc.pham/disable", headers=mine).status_code == 403  # a planner may not
    assert client.post("/auth/users/duc.pham/disable", headers=admin).json()["disabled"] is True
    r = client.get("/auth/me", headers=mine)
    assert r.status_code == 401 and "revoked" in r.json()["description"]
    relogin = client.post("/auth/token", data={"username": "duc.pham", "password": "đủ dài 123"})
    assert relogin.status_code == 400


def test_failed_logins_are_slowed_per_user_and_per_address(database_url: str, engine: Engine) -> None:
    _new_user(engine, "brute.target", Role.PLANNER, "mật khẩu thật")
    with engine.begin() as conn:  # failures of other tests (same test client address) do not count here
        conn.execute(sa.text("DELETE FROM auth.login_attempts"))
    settings = Settings(
        database_url=database_url, auth=AuthSettings(max_failures_per_user=3, max_failures_per_address=6)
    )
    with TestClient(create_app(settings)) as c:
        for i in range(3):
            r = c.post("/auth/token", data={"username": "brute.target", "password": f"đoán {i}"})
            assert r.status_code == 400
        r = c.post("/auth/token", data={"username": "brute.target", "password": "mật khẩu thật"})
        assert r.status_code == 429, r.text  # even the right password waits
        assert 1 <= int(r.headers["retry-after"]) <= 900
        # the same address guessing other names is slowed too, after its own limit
        codes = [
            c.post("/auth/token", data={"username": f"other{i}", "password": "đoán mò"}).status_code for i in range(4)
        ]
        assert codes[:3] == [400, 400, 400] and codes[3] == 429
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM auth.login_attempts"))
    with TestClient(create_app(settings)) as c:
        r = c.post("/auth/token", data={"username": "brute.target", "password": "mật khẩu thật"})
        assert r.status_code == 200


def test_cors_is_configurable(database_url: str) -> None:
    settings = Settings(database_url=database_url, auth=AuthSettings(cors_origins=["https://qh.hue.gov.vn"]))
    with TestClient(create_app(settings)) as c:
        pre = c.options(
            "/auth/token",
            headers={"Origin": "https://qh.hue.gov.vn", "Access-Control-Request-Method": "POST"},
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://qh.hue.gov.vn"
        other = c.options(
            "/auth/token", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in other.headers
