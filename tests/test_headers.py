"""Safe headers and little exposure, over real HTTP (uvicorn on loopback) against a real PostGIS.

Every answer carries a strict Content-Security-Policy, ``nosniff``, a referrer policy and, behind an https public
URL, HSTS; no header names the stack; redirects never lead to the host a client put in ``Host``; ``/docs`` is
served from the npm package (no CDN) and works under the policy in Chromium; ``/healthz`` tells versions to
administrators only; a job's status shows who started it and its parameters to staff only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from viewer_served import CHROMIUM, CHROMIUM_ARGS, serve_app, watch_csp

from gis_service.api.app import create_app
from gis_service.api.headers import SecurityHeaders, source_of_url
from gis_service.api.models import JobAnswer, PublicJobAnswer
from gis_service.db import create_db_engine
from gis_service.settings import Settings, ViewerSettings

Headers = Any
PUBLIC_URL = "https://quyhoach.example"
# Paths the application redirects (trailing slashes of its mounts and routes).
REDIRECTED = ["/ogc", "/viewer", "/tiles/3d", "/vendor/cesium"]


@pytest.fixture(scope="module")
def plain(database_url: str) -> Iterator[str]:
    """The app on loopback without a public URL (as ``planning serve`` runs it by default)."""
    with serve_app(create_app(Settings(database_url=database_url))) as base:
        yield base


@pytest.fixture(scope="module")
def public(database_url: str) -> Iterator[str]:
    """The app on loopback behind an https public URL (as behind a TLS proxy)."""
    with serve_app(create_app(Settings(database_url=database_url, public_url=PUBLIC_URL + "/"))) as base:
        yield base


def policy(headers: httpx.Headers) -> dict[str, str]:
    """The directives of the answer's Content-Security-Policy, by name."""
    directives = [d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";")]
    return {d[0]: (d[1] if len(d) > 1 else "") for d in directives}


@pytest.mark.parametrize("path", ["/", "/docs", "/api", "/viewer/config.json", "/healthz", "/ogc/collections"])
def test_every_answer_carries_a_strict_policy_nosniff_and_a_referrer_policy(plain: str, path: str) -> None:
    r = httpx.get(plain + path)
    assert r.status_code == 200, r.text
    csp = policy(r.headers)
    assert csp["script-src"].split() == ["'self'", "'wasm-unsafe-eval'", "blob:"]  # no inline script, no eval
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["default-src"] == "'self'" and csp["base-uri"] == "'self'"
    assert "blob:" in csp["worker-src"]  # CesiumJS and MapLibre start their workers from blob: URLs
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in r.headers  # served over http: HSTS would be ignored or wrong


def test_hsts_only_behind_an_https_public_url(public: str) -> None:
    r = httpx.get(public + "/api")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_base_maps_host_may_serve_tiles_and_only_it() -> None:
    assert source_of_url("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert source_of_url("http://10.0.0.5:8080/tiles/{z}/{x}/{y}.png") == "http://10.0.0.5:8080"
    assert source_of_url("/basemap/{z}/{x}/{y}.png") is None
    settings = Settings(viewer=ViewerSettings(base_map_url="https://tiles.hue.example/{z}/{x}/{y}.png"))
    csp = SecurityHeaders(None, settings).policy  # type: ignore[arg-type]
    assert "img-src 'self' data: blob: https://tiles.hue.example;" in csp
    assert "connect-src 'self' data: blob: https://tiles.hue.example;" in csp


@pytest.mark.parametrize("path", ["/", "/ogc/collections", "/ogc/collections?f=html", "/healthz"])
def test_no_header_names_the_stack(plain: str, path: str) -> None:
    r = httpx.get(plain + path)
    assert r.status_code == 200
    assert "server" not in r.headers, r.headers.get("server")
    assert "x-powered-by" not in r.headers, r.headers.get("x-powered-by")  # pygeoapi's "pygeoapi 0.24"


@pytest.mark.parametrize("path", REDIRECTED)
def test_a_redirect_never_leads_to_the_host_the_client_named(plain: str, public: str, path: str) -> None:
    r = httpx.get(plain + path, headers={"Host": "evil.example"})
    assert r.status_code in (301, 302, 307, 308), r.status_code
    # no public URL configured: the address the request arrived at, absolute (QGIS crashes on a relative one)
    assert r.headers["location"] == plain + path + "/"
    r = httpx.get(public + path + "?f=json", headers={"Host": "evil.example"})
    assert r.status_code in (301, 302, 307, 308), r.status_code
    assert r.headers["location"] == f"{PUBLIC_URL}{path}/?f=json"


def test_a_redirect_under_a_public_url_with_a_path_keeps_it() -> None:
    settings = Settings(public_url="https://portal.example/quyhoach")
    home = SecurityHeaders(None, settings).home  # type: ignore[arg-type]
    assert home("http://evil.example/ogc/") == "https://portal.example/quyhoach/ogc/"
    assert home("http://evil.example/quyhoach/ogc/") == "https://portal.example/quyhoach/ogc/"
    assert home("/ogc/") == "/ogc/"
    plain_home = SecurityHeaders(None, Settings()).home  # type: ignore[arg-type]
    scope = {"scheme": "http", "server": ("::1", 8000)}
    assert plain_home("http://evil.example/ogc/?f=json", scope) == "http://[::1]:8000/ogc/?f=json"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append(str(found[name]))
        if tag == "script" and not found.get("src"):
            self.inline_scripts += 1


def test_docs_is_served_from_the_npm_package_and_names_no_other_host(plain: str) -> None:
    r = httpx.get(plain + "/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", r.text), "the page names another host"
    page = _Assets()
    page.feed(r.text)
    assert page.inline_scripts == 0  # the policy allows none
    assert any(u.endswith("swagger-ui-bundle.js") for u in page.urls)
    for url in [*page.urls, "/vendor/swagger-ui/oauth2-redirect.html", "/vendor/swagger-ui/oauth2-redirect.js"]:
        assert urlsplit(url).netloc == "" and url.startswith("/"), url
        asset = httpx.get(plain + url)
        assert asset.status_code == 200, (url, asset.status_code)
    init = httpx.get(plain + "/docs/init.js").text
    assert "validatorUrl: null" in init and not re.search(r"https?://", init)
    # only the files /docs needs: not the package's sample page nor its source maps
    assert httpx.get(plain + "/vendor/swagger-ui/index.html").status_code == 404
    assert httpx.get(plain + "/vendor/swagger-ui/swagger-ui-bundle.js.map").status_code == 404
    assert httpx.get(plain + "/redoc").status_code == 404  # ReDoc would come from a CDN


def test_docs_works_under_the_policy_in_chromium(plain: str) -> None:
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context()
            violations = watch_csp(context)
            page = context.new_page()
            page.on("request", lambda r: None if r.url.startswith((plain, "data:")) else outside.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(plain + "/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            assert page.locator(".opblock").count() > 20  # the operations of the service are listed
            # try one: the health check from the page itself
            page.locator("#operations-default-healthz_healthz_get").click()
            page.get_by_role("button", name="Try it out").click()
            page.get_by_role("button", name="Execute").click()
            page.wait_for_selector(".live-responses-table tbody .response-col_status", timeout=30_000)
            assert "200" in page.locator(".live-responses-table tbody .response-col_status").first.inner_text()
        finally:
            browser.close()
    assert not violations, f"Content-Security-Policy violations: {violations[:5]}"
    assert not errors, errors
    assert not outside, f"the page tried to reach the network: {json.dumps(outside[:5])}"


def test_healthz_says_ok_without_versions_which_only_admins_see(plain: str, auth_headers: Headers) -> None:
    r = httpx.get(plain + "/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "reachable"}
    assert httpx.get(plain + "/healthz?details=true").status_code == 401
    assert httpx.get(plain + "/healthz?details=true", headers=auth_headers("planner")).status_code == 403
    r = httpx.get(plain + "/healthz?details=true", headers=auth_headers("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["postgis_version"].startswith("3.")
    assert body["schema_revision"] == body["schema_head"] and body["server_version"]


@pytest.fixture(scope="module")
def finished_jobs(database_url: str) -> dict[str, int]:
    """A finished and a failed job, written as the runner writes them (no runner picks up a finished job)."""
    engine = create_db_engine(database_url, pool_size=1)
    try:
        with engine.begin() as c:
            ids = {}
            for status, message in (("succeeded", None), ("failed", "/srv/tiles/zones: permission denied")):
                ids[status] = c.execute(
                    sa.text(
                        "INSERT INTO planning.jobs (kind, status, params, result, message, created_by, started_at, "
                        "finished_at) VALUES ('tiles.rebuild', :s, CAST(:p AS jsonb), CAST(:r AS jsonb), :m, "
                        "'lan.nguyen', now(), now()) RETURNING id"
                    ),
                    {
                        "s": status,
                        "p": json.dumps({"plan": "46QPK0000001", "layers": ["zones"]}),
                        "r": json.dumps({"layers": []}) if status == "succeeded" else None,
                        "m": message,
                    },
                ).scalar_one()
            return ids
    finally:
        engine.dispose()


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_the_public_sees_a_jobs_status_without_names_or_parameters(
    plain: str, finished_jobs: dict[str, int], status: str
) -> None:
    r = httpx.get(f"{plain}/jobs/{finished_jobs[status]}")
    assert r.status_code == 200, r.text
    body = r.json()
    PublicJobAnswer.model_validate(body)
    assert body["status"] == status and body["kind"] == "tiles.rebuild"
    assert body["finished_at"] and body["message"] is None
    text = r.text
    assert "lan.nguyen" not in text and "46QPK0000001" not in text and "/srv/tiles" not in text
    assert r.headers["vary"] == "Authorization"


@pytest.mark.parametrize("role", ["planner", "permit_officer", "admin"])
def test_staff_read_a_job_in_full(plain: str, finished_jobs: dict[str, int], auth_headers: Headers, role: str) -> None:
    r = httpx.get(f"{plain}/jobs/{finished_jobs['failed']}", headers=auth_headers(role))
    assert r.status_code == 200, r.text
    body = r.json()
    JobAnswer.model_validate(body)
    assert body["created_by"] == "lan.nguyen" and body["params"]["plan"] == "46QPK0000001"
    assert body["message"] == "/srv/tiles/zones: permission denied"


def test_a_user_of_the_public_role_sees_the_stripped_job(
    plain: str, finished_jobs: dict[str, int], auth_headers: Headers
) -> None:
    r = httpx.get(f"{plain}/jobs/{finished_jobs['succeeded']}", headers=auth_headers("public"))
    assert r.status_code == 200
    assert set(r.json()) == set(PublicJobAnswer.model_fields)
