"""``planning users add|list|disable`` against the real database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from gis_service.auth import authenticate, issue_token, user_for_token
from gis_service.cli import cli
from gis_service.errors import Unauthorized


def run(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, env={"GIS_DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


def test_users_add_list_disable(database_url: str, engine: Engine) -> None:
    code, _out, err = run(database_url, "users", "add", "mai.vo", "--role", "planner", stdin="mật khẩu dài\n")
    assert code == 0, err
    assert "mai.vo added with role planner" in err and "mật khẩu" not in err
    with engine.begin() as c:
        user = authenticate(c, "mai.vo", "mật khẩu dài")
        token = issue_token(c, user, ttl_s=60).access_token
    code, out, _err = run(database_url, "users", "list")
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith("mai.vo"))
    assert line.split() == ["mai.vo", "planner", "active"]
    assert "scrypt" not in out

    code, _out, err = run(database_url, "users", "add", "MAI.VO", "--role", "admin", stdin="another password\n")
    assert code == 1 and "exists already" in err and "Traceback" not in err
    code, _out, err = run(database_url, "users", "add", "ngan", "--role", "planner", stdin="short\n")
    assert code == 1 and "too short" in err

    code, _out, err = run(database_url, "users", "disable", "mai.vo")
    assert code == 0 and "disabled" in err
    with engine.connect() as c, pytest.raises(Unauthorized, match="revoked"):
        user_for_token(c, token)
    code, out, _err = run(database_url, "users", "list")
    assert next(ln for ln in out.splitlines() if ln.startswith("mai.vo")).split()[-1] == "disabled"
    code, _out, err = run(database_url, "users", "disable", "nobody.here")
    assert code == 1 and "no user named" in err
