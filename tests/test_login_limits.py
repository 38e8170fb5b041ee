"""Login limits over real HTTP: ``planning serve`` in a subprocess on loopback, a real PostGIS.

Failed logins are counted per (name, address) and per address before the password is checked; locks double; a lock
follows a name only from the address that failed; ``X-Forwarded-For`` is believed only from configured proxies; an
administrator lifts locks. Clients take distinct loopback addresses (127.0.0.x) to be distinct peers.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import planning_served
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from gis_service.auth import Role, create_user
from gis_service.cli import cli
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.errors import TooManyRequests, Unauthorized

PASSWORD = "mật khẩu đúng 2026"


class Server(planning_served.PlanningServer):
    """``planning serve`` that logs in from a chosen loopback address."""

    def login(
        self, name: str, password: str, *, peer: str = "127.0.0.1", forwarded_for: str | None = None
    ) -> httpx.Response:
        """``POST /auth/token`` from the loopback address ``peer``."""
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        with httpx.Client(transport=httpx.HTTPTransport(local_address=peer), timeout=60) as client:
            return client.post(f"{self.url}/auth/token", data={"username": name, "password": password}, headers=headers)


@pytest.fixture(scope="module")
def login_db(db_server: Any) -> Iterator[str]:
    url = db_server.create("login")
    upgrade(url)
    yield url
    db_server.drop(url)


@pytest.fixture(scope="module")
def login_engine(login_db: str) -> Iterator[Engine]:
    eng = create_db_engine(login_db, pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def server(login_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service with the default settings: no trusted proxy."""
    s = Server(login_db, tmp_path_factory.mktemp("serve"), {})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def proxied_server(login_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service behind a proxy on 127.0.0.1, with a per-address limit of 6."""
    env = {"GIS_SERVER__TRUSTED_PROXIES": '["127.0.0.1"]', "GIS_AUTH__MAX_FAILURES_PER_ADDRESS": "6"}
    s = Server(login_db, tmp_path_factory.mktemp("proxied"), env)
    yield s
    s.stop()


def _user(engine: Engine, name: str, role: Role = Role.PLANNER) -> None:
    with engine.begin() as c:
        create_user(c, name, role, PASSWORD)


def _checks(engine: Engine, name: str, addr: str) -> int:
    """The password checks let through for (name, address), as the service counts them."""
    with engine.connect() as c:
        n = c.execute(
            sa.text(
                "SELECT checks FROM auth.login_attempts "
                "WHERE scope = 'pair' AND name_key = lower(:n) AND client_addr = :a"
            ),
            {"n": name, "a": addr},
        ).scalar_one_or_none()
    return int(n or 0)


def _token_addr(engine: Engine, name: str) -> list[str]:
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT t.client_addr FROM auth.tokens t JOIN auth.users u ON u.id = t.user_id "
                "WHERE u.name = :n ORDER BY t.id"
            ),
            {"n": name},
        ).all()
    return [r[0] for r in rows]


def test_30_concurrent_wrong_logins_get_at_most_5_password_checks(server: Server, login_engine: Engine) -> None:
    _user(login_engine, "conc.target")
    start = threading.Barrier(30)
    codes: list[int] = []

    def guess(i: int) -> None:
        with httpx.Client(timeout=120) as client:
            start.wait()
            r = client.post(f"{server.url}/auth/token", data={"username": "conc.target", "password": f"đoán {i}"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(codes)) == [400, 429], codes
    assert codes.count(400) <= 5, f"{codes.count(400)} wrong passwords were checked, the limit is 5"
    assert _checks(login_engine, "conc.target", "127.0.0.1") == codes.count(400)
    # the pair stays locked, even for the right password
    r = server.login("conc.target", PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "this user name from this address" in r.json()["description"]


def test_a_user_locked_by_someone_else_logs_in_from_another_address(server: Server, login_engine: Engine) -> None:
    _user(login_engine, "lan.planner")
    codes = [server.login("lan.planner", f"sai {i}", peer="127.0.0.2").status_code for i in range(7)]
    assert codes == [400] * 5 + [429] * 2
    assert server.login("lan.planner", PASSWORD, peer="127.0.0.2").status_code == 429  # locked from there
    mine = server.login("lan.planner", PASSWORD)  # the real planner, from 127.0.0.1
    assert mine.status_code == 200, mine.text
    assert server.login("lan.planner", "sai nữa", peer="127.0.0.2").status_code == 429  # still locked there


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(server: Server, login_engine: Engine) -> None:
    _user(login_engine, "xff.user")
    r = server.login("xff.user", PASSWORD, forwarded_for="203.0.113.9")
    assert r.status_code == 200, r.text
    assert _token_addr(login_engine, "xff.user") == ["127.0.0.1"]
    # a new forged address with each guess does not escape the pair's limit
    codes = [server.login("xff.user", f"sai {i}", forwarded_for=f"203.0.113.{i}").status_code for i in range(1, 8)]
    assert codes == [400] * 5 + [429] * 2
    with login_engine.connect() as c:
        addrs = c.execute(sa.text("SELECT DISTINCT client_addr FROM auth.login_attempts")).scalars().all()
    assert not [a for a in addrs if a.startswith("203.0.113.")]


def test_a_trusted_proxy_names_the_client_and_the_address_limit_holds(
    proxied_server: Server, login_engine: Engine
) -> None:
    _user(login_engine, "proxied.user")
    r = proxied_server.login("proxied.user", PASSWORD, forwarded_for="198.51.100.7")
    assert r.status_code == 200, r.text
    assert _token_addr(login_engine, "proxied.user") == ["198.51.100.7"]
    # one address guessing many names: 6 checks, then the address is locked, whatever the name
    codes = [proxied_server.login(f"no.one{i}", "đoán mò", forwarded_for="198.51.100.8").status_code for i in range(8)]
    assert codes == [400] * 6 + [429] * 2
    r = proxied_server.login("proxied.user", PASSWORD, forwarded_for="198.51.100.8")
    assert r.status_code == 429 and "this address" in r.json()["description"]
    assert proxied_server.login("proxied.user", PASSWORD, forwarded_for="198.51.100.9").status_code == 200
    # successful logins do not use up an address's allowance
    assert all(
        proxied_server.login("proxied.user", PASSWORD, forwarded_for="198.51.100.10").status_code == 200
        for _ in range(8)
    )


def _lock(server: Server, name: str, peer: str) -> None:
    codes = [server.login(name, f"sai {i}", peer=peer).status_code for i in range(5)]
    assert codes == [400] * 5
    assert server.login(name, PASSWORD, peer=peer).status_code == 429


def test_an_administrator_lifts_a_lock(server: Server, login_db: str, login_engine: Engine, auth_headers: Any) -> None:
    _user(login_engine, "unlock.me")
    _lock(server, "unlock.me", "127.0.0.3")
    result = CliRunner().invoke(cli, ["users", "unlock", "unlock.me"], env={"GIS_DATABASE_URL": login_db})
    assert result.exit_code == 0, result.output
    assert "unlock.me" in result.stderr and "1 cleared" in result.stderr
    assert server.login("unlock.me", PASSWORD, peer="127.0.0.3").status_code == 200

    _lock(server, "unlock.me", "127.0.0.3")
    route = f"{server.url}/auth/users/unlock.me/unlock"
    assert httpx.post(route, headers=auth_headers("planner", database_url=login_db)).status_code == 403
    r = httpx.post(route, headers=auth_headers("admin", database_url=login_db))
    assert r.status_code == 200 and r.json() == {"name": "unlock.me", "cleared": 1}
    assert server.login("unlock.me", PASSWORD, peer="127.0.0.3").status_code == 200
    missing = httpx.post(
        f"{server.url}/auth/users/nobody.here/unlock", headers=auth_headers("admin", database_url=login_db)
    )
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"

    nothing = CliRunner().invoke(cli, ["users", "unlock"], env={"GIS_DATABASE_URL": login_db})
    assert nothing.exit_code == 1 and "whose login locks" in nothing.stderr


def test_locks_double_up_to_the_longest_and_are_forgotten(login_engine: Engine) -> None:
    from gis_service.auth import LoginLimits, login

    _user(login_engine, "doubling")
    limits = LoginLimits(per_pair=2, per_address=100, window_s=600, lock_base_s=10, lock_max_s=35)
    addr = f"doubling-{secrets.token_hex(3)}"

    def attempt() -> int:
        """0 after a wrong password, else the Retry-After of the refusal."""
        try:
            login(login_engine, "doubling", "sai", client_addr=addr, ttl_s=60, limits=limits)
        except Unauthorized:
            return 0
        except TooManyRequests as exc:
            return exc.retry_after_s
        raise AssertionError("a wrong password logged in")

    def expire(*, forgotten: bool = False) -> None:
        with login_engine.begin() as c:
            c.execute(
                sa.text(
                    "UPDATE auth.login_attempts SET locked_until = now() - interval '1 s'"
                    + (", forget_at = now() - interval '1 s'" if forgotten else "")
                    + " WHERE scope = 'pair' AND client_addr = :a"
                ),
                {"a": addr},
            )

    assert [attempt(), attempt()] == [0, 0]
    assert 9 <= attempt() <= 10
    expire()
    assert attempt() == 0
    assert 19 <= attempt() <= 20
    expire()
    assert attempt() == 0
    assert 34 <= attempt() <= 35  # 40 s, capped
    expire(forgotten=True)
    assert [attempt(), attempt()] == [0, 0]  # forgotten: a fresh allowance
    assert 9 <= attempt() <= 10


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    from pydantic import ValidationError

    from gis_service.settings import ServerSettings

    assert ServerSettings().trusted_proxies == []
    assert ServerSettings(trusted_proxies=[" 10.0.0.0/24", "::1"]).trusted_proxies == ["10.0.0.0/24", "::1"]
    with pytest.raises(ValidationError, match="not an IP address or network"):
        ServerSettings(trusted_proxies=["proxy.example"])
