"""Subscriptions to plan changes and their notices, read from a real SMTP server (aiosmtpd) as a subscriber would.

A subscription confirmed by the link of the mail that arrived gets exactly one notice when a draft touching it is
opened for consultation and one when it is published; none for a version that does not touch it; an unconfirmed
one and an ended one get nothing. Floods and oversized requests are refused.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from fastapi.testclient import TestClient
from ogc_sample import DRAFT_CODE, PLAN_CODE, PUBLISH_CODE, load_sample
from planning_served import PlanningServer
from sqlalchemy.engine import Engine

from gis_service.api.app import create_app
from gis_service.as_of import today_in_hue
from gis_service.cli import cli
from gis_service.cli.mail import MailFolder
from gis_service.consultation.periods import open_consultation
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.notices import send_pending, write_notices
from gis_service.notices.compose import PlanRef, notice_mail
from gis_service.notices.outbox import build_message
from gis_service.notices.subscriptions import client_key
from gis_service.settings import Settings, SmtpSettings, TileSettings

PUBLIC = "http://testserver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def notice_db(db_server: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    url = db_server.create("notices")
    upgrade(url)
    ids = load_sample(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def db(notice_db: tuple[str, dict[str, Any]]) -> Iterator[Engine]:
    eng = create_db_engine(notice_db[0], pool_size=1)
    yield eng
    eng.dispose()


class Smtp:
    """A real SMTP server on a free port of 127.0.0.1, keeping what it receives in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = MailFolder(folder)
        self.port = free_port()
        self.controller = Controller(self.folder, hostname="127.0.0.1", port=self.port)

    def messages(self) -> list[EmailMessage]:
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(p.read_bytes()) for p in self.folder.messages()]

    def to(self, addr: str) -> list[EmailMessage]:
        return [m for m in self.messages() if m["To"] == addr]


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smtp]:
    server = Smtp(tmp_path_factory.mktemp("mail"))
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture(scope="module")
def client(
    notice_db: tuple[str, dict[str, Any]], smtp: Smtp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = Settings(
        database_url=notice_db[0],
        public_url=PUBLIC,
        tiles=TileSettings(out_dir=tmp_path_factory.mktemp("tiles")),
        smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, from_addr="Quy hoạch Huế <quyhoach@hue.example>"),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def from_client(client: TestClient, host: str) -> TestClient:
    """Requests to the same running app from another client address."""
    return TestClient(client.app, client=(host, 40000))


def port_answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(what: str, check: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"still waiting after {timeout_s} s for {what}"
        time.sleep(0.1)


def outbox_settled(db: Engine) -> bool:
    """Every notice written, every mail of the outbox sent (or its subscription ended), and no such job waiting."""
    with db.connect() as c:
        unsent = c.execute(
            sa.text(
                "SELECT count(*) FROM planning.outbox o LEFT JOIN planning.subscriptions s ON s.id = o.subscription_id "
                "WHERE o.sent_at IS NULL AND (o.event = 'confirm' OR s.unsubscribed_at IS NULL)"
            )
        ).scalar_one()
        waiting = c.execute(
            sa.text(
                "SELECT count(*) FROM planning.jobs WHERE kind IN ('mail.send', 'notices.write') "
                "AND status IN ('queued', 'running')"
            )
        ).scalar_one()
    return unsent == 0 and waiting == 0


def settle(client: TestClient, db: Engine) -> None:
    client.app.state.jobs.wake()  # type: ignore[attr-defined]
    wait_until("the outbox to be sent", lambda: outbox_settled(db))


def link(msg: EmailMessage, path: str) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(re.escape(PUBLIC + path) + r"\?token=[A-Za-z0-9_%-]+", body.get_content())
    assert found, f"no {path} link in {msg['Subject']!r}"
    return found.group(0)


def subscribe(client: TestClient, email: str, **target: Any) -> Any:
    return client.post("/subscriptions", json={"email": email, **target})


def subscribe_confirmed(client: TestClient, smtp: Smtp, email: str, **target: Any) -> None:
    assert subscribe(client, email, **target).status_code == 202
    mail = wait_until(f"the confirmation to {email}", lambda: smtp.to(email))[-1]
    assert "Xác nhận" in mail["Subject"] and "Confirm" in mail["Subject"]
    page = client.get(link(mail, "/subscriptions/confirm"))
    assert page.status_code == 200 and "Đã xác nhận" in page.text, page.text


def events_of(smtp: Smtp, addr: str) -> list[str]:
    """What each mail to ``addr`` was: confirm, consultation or published."""
    kinds = []
    for m in smtp.to(addr):
        subject = m["Subject"]
        kinds.append("confirm" if "Xác nhận" in subject else "consultation" if "Lấy ý kiến" in subject else "published")
    return kinds


def area_around(db: Engine, parcel_id: int, metres: float) -> dict[str, Any]:
    with db.connect() as c:
        text = c.execute(
            sa.text(
                "SELECT ST_AsGeoJSON(ST_Transform(ST_Buffer(geom, :m, 'join=mitre'), 4326), 9) "
                "FROM planning.parcels WHERE id = :id"
            ),
            {"id": parcel_id, "m": metres},
        ).scalar_one()
    return cast(dict[str, Any], json.loads(text))


def test_a_confirmed_subscription_gets_one_notice_per_touching_event(
    client: TestClient, smtp: Smtp, db: Engine, notice_db: tuple[str, dict[str, Any]], auth_headers: Any
) -> None:
    ids = notice_db[1]
    planner = {**auth_headers("planner", database_url=notice_db[0]), "X-Change-Reason": "test"}
    touched, area, elsewhere, unconfirmed, ended = (
        "lan@example.vn",
        "area@example.vn",
        "far@example.vn",
        "silent@example.vn",
        "ended@example.vn",
    )
    subscribe_confirmed(client, smtp, touched, parcel_id=ids["p1"])  # in zones Z1 and Z2
    subscribe_confirmed(client, smtp, area, area=area_around(db, ids["p2"], 10), lang="en")  # around P2, in Z1
    subscribe_confirmed(client, smtp, elsewhere, parcel_id=ids["p3"])  # in Z2 only
    subscribe_confirmed(client, smtp, ended, parcel_id=ids["p2"])
    assert subscribe(client, unconfirmed, parcel_id=ids["p1"]).status_code == 202
    wait_until("the unconfirmed one's confirmation", lambda: smtp.to(unconfirmed))
    # one that ends before anything happens: its one link, from the confirmation mail's List-Unsubscribe header
    header = smtp.to(ended)[-1]["List-Unsubscribe"]
    assert smtp.to(ended)[-1]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page = client.post(header.strip("<>"), content=b"List-Unsubscribe=One-Click")
    assert page.status_code == 200 and "Đã hủy đăng ký" in page.text

    # a draft that raises the floors of zone Z1, opened for consultation
    draft = client.post(f"/plans/{PLAN_CODE}/drafts", headers=planner)
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["id"]
    with db.begin() as c:
        changed = c.execute(
            sa.text("UPDATE planning.zones SET max_floors = 5 WHERE plan_id = :p AND zone_code = 'Z1'"), {"p": draft_id}
        ).rowcount
        assert changed == 1
        today = today_in_hue()
        open_consultation(
            c, PLAN_CODE, starts_on=today, ends_on=today + timedelta(days=30), explanation="Nâng tầng ô Z1", user="t"
        )
    settle(client, db)
    notice = smtp.to(touched)[-1]
    assert events_of(smtp, touched) == ["confirm", "consultation"]
    assert "Phân khu Kinh thành Huế" in notice["Subject"] or PLAN_CODE in notice["Subject"]
    text = notice.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "- Ô Z1: tầng cao tối đa từ 3 lên 5 tầng." in text  # the diff's words
    assert "listed in the Vietnamese part" in text
    assert "parcel 35, sheet 12, Thuận Thành" in text
    assert "phiên bản 2" in text and f"{today:%d/%m/%Y}" in text and f"{PUBLIC}/#lang=vi&parcel={ids['p1']}" in text
    assert text.index("Dự thảo") < text.index("The draft")  # Vietnamese first
    html = notice.get_body(preferencelist=("html",))
    assert html is not None and "<li>Ô Z1: tầng cao tối đa từ 3 lên 5 tầng.</li>" in html.get_content()
    assert notice["List-Unsubscribe"] == f"<{link(notice, '/subscriptions/unsubscribe')}>"
    english = smtp.to(area)[-1].get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert english.index("The draft") < english.index("Dự thảo")  # the subscriber asked for English
    assert (
        "What changes:\n- 1 zone changes: Z1 (max floors 3 floors → 5 floors)." in english
        and "phần tiếng Anh" in english
    ), english
    assert events_of(smtp, area) == ["confirm", "consultation"]
    assert events_of(smtp, elsewhere) == ["confirm"]
    assert events_of(smtp, unconfirmed) == ["confirm"]
    assert events_of(smtp, ended) == ["confirm"]

    # the area's subscriber ends it by the link of the notice; then the draft is published
    page = client.get(link(smtp.to(area)[-1], "/subscriptions/unsubscribe"))
    assert page.status_code == 200 and "Unsubscribed" in page.text
    published = client.post(
        f"/plans/{PLAN_CODE}/publish",
        json={"decision_no": "99/QĐ-UBND", "decision_date": "2025-01-10"},
        headers=planner,
    )
    assert published.status_code == 200, published.text
    settle(client, db)
    assert events_of(smtp, touched) == ["confirm", "consultation", "published"]
    assert events_of(smtp, area) == ["confirm", "consultation"]
    # another plan whose new version touches none of them
    other = client.post(f"/plans/{PUBLISH_CODE}/publish", json={}, headers=planner)
    assert other.status_code == 200, other.text
    settle(client, db)
    counts = {addr: events_of(smtp, addr) for addr in (touched, area, elsewhere, unconfirmed, ended)}
    print("mails received per subscriber:", counts)
    assert counts == {
        touched: ["confirm", "consultation", "published"],
        area: ["confirm", "consultation"],
        elsewhere: ["confirm"],
        unconfirmed: ["confirm"],
        ended: ["confirm"],
    }
    with db.connect() as c:
        notices = c.execute(sa.text("SELECT count(*) FROM planning.outbox WHERE event <> 'confirm'")).scalar_one()
    assert notices == 3  # no notice written for the unconfirmed, the ended or the untouched
    # a publication retried writes nothing more (the outbox's unique index)
    with db.connect() as c, c.begin() as tx:
        v1, v2 = c.execute(
            sa.text("SELECT id FROM planning.plans WHERE code = :c ORDER BY version"), {"c": PLAN_CODE}
        ).scalars()
        assert write_notices(c, {"event": "published", "from": v1, "to": v2}) == 0
        tx.rollback()


def test_a_flood_to_one_address_is_refused_without_telling_whose_it_is(
    client: TestClient, smtp: Smtp, db: Engine, notice_db: tuple[str, dict[str, Any]]
) -> None:
    parcel = notice_db[1]["p2"]
    flooder = from_client(client, "198.51.100.7")
    answers = [subscribe(flooder, "victim@example.vn", parcel_id=parcel) for _ in range(5)]
    statuses = [a.status_code for a in answers]
    print("a flood of 5 to one address:", statuses)
    assert statuses == [202, 202, 202, 429, 429]
    refused = answers[3].json()
    assert "Too many" in refused["description"] and "victim" not in json.dumps(refused)
    assert int(answers[3].headers["Retry-After"]) > 0
    # the same words for an address never seen as for one subscribed three times already
    fresh = subscribe(from_client(client, "198.51.100.8"), "nobody-yet@example.vn", parcel_id=parcel)
    assert fresh.status_code == 202 and fresh.json() == answers[0].json() == answers[2].json()
    settle(client, db)
    assert len(smtp.to("victim@example.vn")) == 3  # the address's owner gets three mails, not five


def test_a_flood_from_one_client_is_refused(
    client: TestClient, smtp: Smtp, db: Engine, notice_db: tuple[str, dict[str, Any]]
) -> None:
    flooder = from_client(client, "203.0.113.9")
    statuses = [subscribe(flooder, f"many{i}@example.vn", parcel_id=notice_db[1]["p3"]).status_code for i in range(22)]
    print("a flood of 22 addresses from one client:", {s: statuses.count(s) for s in set(statuses)})
    assert statuses == [202] * 20 + [429] * 2
    # another client is not held back by it
    other = subscribe(from_client(client, "203.0.113.10"), "other@example.vn", parcel_id=notice_db[1]["p3"])
    assert other.status_code == 202
    refused = subscribe(flooder, "many99@example.vn", parcel_id=notice_db[1]["p3"])
    address_flood = subscribe(from_client(client, "198.51.100.7"), "victim@example.vn", parcel_id=notice_db[1]["p2"])
    assert refused.json() == address_flood.json()  # one wording: nothing tells which limit, or whose address
    settle(client, db)


def test_oversized_and_malformed_subscriptions_are_refused_in_plain_words(
    client: TestClient, db: Engine, notice_db: tuple[str, dict[str, Any]]
) -> None:
    ids = notice_db[1]
    box = area_around(db, ids["p1"], 5)
    ring = box["coordinates"][0]
    lon, lat = ring[0]
    many = [[lon + 1e-5 * i / 1200, lat + 1e-6 * (i % 2)] for i in range(1200)] + [[lon, lat + 1e-4], [lon, lat]]
    big = 0.02  # degrees: about 2 km a side, some 4.5 km²
    cases: dict[str, tuple[dict[str, Any], int, str]] = {
        "a long address": ({"email": "a" * 300 + "@example.vn" + "x" * 20, "parcel_id": ids["p1"]}, 422, "email"),
        "a header in the address": ({"email": "a@example.vn\r\nBcc: b@example.vn", "parcel_id": 1}, 400, "email"),
        "two addresses": ({"email": "a@example.vn, b@example.vn", "parcel_id": ids["p1"]}, 400, "email"),
        "no place": ({"email": "a@example.vn"}, 400, "parcel_id or area"),
        "two places": ({"email": "a@example.vn", "parcel_id": ids["p1"], "area": box}, 400, "parcel_id or area"),
        "an unknown parcel": ({"email": "a@example.vn", "parcel_id": 987654}, 404, "parcel"),
        "a point": ({"email": "a@example.vn", "area": {"type": "Point", "coordinates": [lon, lat]}}, 400, "Polygon"),
        "too many vertices": (
            {"email": "a@example.vn", "area": {"type": "Polygon", "coordinates": [many]}},
            400,
            "1000",
        ),
        "outside Huế": (
            {
                "email": "a@example.vn",
                "area": {"type": "Polygon", "coordinates": [[[105.8, 21], [105.81, 21], [105.8, 21.01], [105.8, 21]]]},
            },
            400,
            "outside",
        ),
        "lat, lon": (
            {"email": "a@example.vn", "area": {"type": "Polygon", "coordinates": [[[y, x] for x, y in ring]]}},
            400,
            "outside",
        ),
        "too large": (
            {
                "email": "a@example.vn",
                "area": {
                    "type": "Polygon",
                    "coordinates": [
                        [[lon, lat], [lon + 3 * big, lat], [lon + 3 * big, lat + big], [lon, lat + big], [lon, lat]]
                    ],
                },
            },
            400,
            "km²",
        ),
        "a bow tie": (
            {
                "email": "a@example.vn",
                "area": {
                    "type": "Polygon",
                    "coordinates": [
                        [[lon, lat], [lon + 1e-3, lat + 1e-3], [lon + 1e-3, lat], [lon, lat + 1e-3], [lon, lat]]
                    ],
                },
            },
            400,
            "not valid",
        ),
        "another language": ({"email": "a@example.vn", "parcel_id": ids["p1"], "lang": "fr"}, 422, "lang"),
        "an unknown field": ({"email": "a@example.vn", "parcel_id": ids["p1"], "name": "x"}, 422, "name"),
    }
    asker = from_client(client, "192.0.2.44")
    for name, (body, status, words) in cases.items():
        r = asker.post("/subscriptions", json=body)
        assert r.status_code == status, (name, r.status_code, r.text)
        assert words in r.json()["description"], (name, r.text)
    # a body far over the limit of subscriptions (64 kB) is refused from its length, before it is read
    started = time.monotonic()
    r = asker.post(
        "/subscriptions", content=b'{"email": "' + b"a" * 200_000 + b'"}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and "a subscription" in r.json()["description"]
    assert time.monotonic() - started < 1.0
    print(f"{len(cases) + 1} malformed or oversized subscriptions refused, none written")
    with db.connect() as c:
        written = c.execute(
            sa.text("SELECT count(*) FROM planning.subscriptions WHERE client_key = :k"),
            {"k": client_key("192.0.2.44")},
        ).scalar_one()
    assert written == 0


def test_links_with_unknown_tokens_answer_a_page_in_plain_words(client: TestClient) -> None:
    for method, path in (("GET", "confirm"), ("GET", "unsubscribe"), ("POST", "unsubscribe")):
        r = client.request(method, f"/subscriptions/{path}", params={"token": "<script>alert(1)</script>" + "x" * 40})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "Liên kết không đúng" in r.text and "Unknown link" in r.text and "<script>" not in r.text
    assert client.get("/subscriptions/confirm").status_code == 422  # no token at all


def test_without_mail_configured_subscribing_answers_503(notice_db: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    settings = Settings(database_url=notice_db[0], tiles=TileSettings(out_dir=tmp_path))
    assert settings.smtp.host is None
    with TestClient(create_app(settings)) as c:
        r = c.post("/subscriptions", json={"email": "a@example.vn", "parcel_id": notice_db[1]["p1"]})
    assert r.status_code == 503 and "not set up to send mail" in r.json()["description"]


def test_a_mail_that_cannot_be_sent_is_tried_again_with_its_error_kept(db: Engine, smtp: Smtp) -> None:
    with db.begin() as c:
        mail_id = c.execute(
            sa.text(
                "INSERT INTO planning.outbox (to_addr, subject, body_text, event) "
                "VALUES ('retry@example.vn', 'Thử lại / Retry', 'Xem {public_url}/', 'confirm') RETURNING id"
            )
        ).scalar_one()
    down = SmtpSettings(host="127.0.0.1", port=free_port(), timeout_s=2)  # nothing listens there
    assert send_pending(db, down, PUBLIC, pauses_s=(0.1,)) == {"sent": 0, "failed": 1}
    with db.connect() as c:
        row = c.execute(
            sa.text("SELECT attempts, last_error, sent_at FROM planning.outbox WHERE id = :id"), {"id": mail_id}
        ).one()
    assert row.attempts == 2 and "Connection refused" in row.last_error and row.sent_at is None
    up = SmtpSettings(host="127.0.0.1", port=smtp.port)
    assert send_pending(db, up.model_copy(update={"max_attempts": 2}), PUBLIC)["sent"] == 0  # tried enough
    assert send_pending(db, up, PUBLIC)["sent"] == 1
    mail = smtp.to("retry@example.vn")
    assert len(mail) == 1 and f"Xem {PUBLIC}/" in mail[0].get_content()
    assert "List-Unsubscribe" not in mail[0]  # a mail of no subscription has nothing to end


def test_over_http_parallel_floods_stop_at_the_limit_and_the_links_work(
    db_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``planning serve`` as users run it: eight requests at once for one address, then the mails' links."""
    url = db_server.create("notices_http")
    upgrade(url)
    ids = load_sample(url)
    server_smtp = Smtp(tmp_path_factory.mktemp("mail_http"))
    server_smtp.controller.start()
    mail = {"GIS_SMTP__HOST": "127.0.0.1", "GIS_SMTP__PORT": str(server_smtp.port)}
    try:
        with PlanningServer(url, tmp_path_factory.mktemp("served"), extra_env=mail) as server:

            def ask(_: int) -> int:
                body = {"email": "Minh@Example.vn", "parcel_id": ids["p1"]}
                return httpx.post(f"{server.url}/subscriptions", json=body, timeout=30).status_code

            with ThreadPoolExecutor(8) as pool:
                statuses = sorted(pool.map(ask, range(8)))
            print("eight subscriptions at once to one address:", statuses)
            assert statuses == [202] * 3 + [429] * 5  # counted under a lock: no race lets a fourth through
            mails = wait_until(
                "three confirmations",
                lambda: len(server_smtp.to("Minh@Example.vn")) == 3 and server_smtp.to("Minh@Example.vn"),
            )
            assert all("{public_url}" not in m.as_string() for m in mails)
            plain = mails[0].get_body(("plain",))
            assert plain is not None
            confirm_url = re.search(r"http://\S+/subscriptions/confirm\?token=\S+", plain.get_content())
            assert confirm_url and confirm_url.group(0).startswith(server.url)
            page = httpx.get(confirm_url.group(0), timeout=30)
            assert page.status_code == 200 and "Đã xác nhận" in page.text
            one_click = mails[0]["List-Unsubscribe"].strip("<>")
            page = httpx.post(
                one_click,
                content=b"List-Unsubscribe=One-Click",
                timeout=30,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert page.status_code == 200 and "Unsubscribed" in page.text
            assert "Subscription ended" in httpx.get(confirm_url.group(0), timeout=30).text  # not confirmed again
    finally:
        server_smtp.controller.stop()
        db_server.drop(url)


def test_the_first_version_of_a_plan_tells_every_subscription_it_covers(
    client: TestClient, smtp: Smtp, db: Engine, notice_db: tuple[str, dict[str, Any]], auth_headers: Any
) -> None:
    """A plan never approved before: everything in it is new (the diff has no 'before' to word)."""
    planner = {**auth_headers("planner", database_url=notice_db[0]), "X-Change-Reason": "test"}
    subscribe_confirmed(client, smtp, "first@example.vn", parcel_id=notice_db[1]["p3"])
    r = client.post(
        f"/plans/{DRAFT_CODE}/publish",
        json={"decision_no": "5/QĐ-UBND", "decision_date": "2025-02-01"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    settle(client, db)
    assert events_of(smtp, "first@example.vn") == ["confirm", "published"]
    text = smtp.to("first@example.vn")[-1].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "phiên bản đầu tiên" in text and "first version of this plan" in text and DRAFT_CODE in text


def test_a_mail_escapes_what_it_is_told_and_keeps_its_headers_whole() -> None:
    plan = PlanRef("46QPK0000001", 2, 'Khu <script>alert("x")</script>\r\nBcc: all@example.vn')
    mail = notice_mail(
        event="published",
        plan=plan,
        summaries={"vi": ["Ô <b>Z1</b> đổi"], "en": ["Zone <b>Z1</b> changes"]},
        token="t" * 43,
        lang="vi",
        parcel_id=None,
        lonlat=(107.58, 16.47),
    )
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html and "<b>" not in mail.html
    msg = build_message(
        from_addr="Quy hoạch Huế <quyhoach@hue.example>",
        to_addr="a@example.vn",
        subject=mail.subject + "\r\nBcc: all@example.vn",
        text=mail.text,
        html=mail.html,
        token="t" * 43,
        base_url=PUBLIC,
    )
    headers = msg.as_bytes().split(b"\r\n\r\n", 1)[0] + b"\r\n"
    assert b"\nBcc:" not in headers and msg["To"] == "a@example.vn" and msg.get_all("Bcc") is None
    # as a mail program reads it: the plain URL in angle brackets, not RFC 2047 encoded words
    assert f"\nList-Unsubscribe: <{PUBLIC}/subscriptions/unsubscribe?token={'t' * 43}>\r\n".encode() in headers
    assert f"{PUBLIC}/#lang=en&lon=107.580000&lat=16.470000&z=16" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_planning_mail_serve_keeps_what_it_receives_and_mail_send_flushes_the_outbox(
    db: Engine, notice_db: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The demo's SMTP server as a process, fed by ``planning mail send`` from the outbox."""
    port = free_port()
    folder = tmp_path / "mail"
    planning = str(Path(sys.executable).with_name("planning"))
    server = subprocess.Popen(
        [planning, "mail", "serve", "--port", str(port), "--dir", str(folder)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until("the SMTP server", lambda: server.poll() is None and port_answers(port), 30)
        with db.begin() as c:
            c.execute(
                sa.text(
                    "INSERT INTO planning.outbox (to_addr, subject, body_text, event) "
                    "VALUES ('cli@example.vn', 'Gửi từ dòng lệnh / Sent from the command line', 'x', 'confirm')"
                )
            )
        settings = Settings(database_url=notice_db[0], smtp=SmtpSettings(host="127.0.0.1", port=port))
        result = CliRunner().invoke(cli, ["mail", "send"], obj={"settings": settings})
        assert result.exit_code == 0, result.output
        assert "1 mail(s) sent, 0 failed" in result.output
        files = wait_until("the message file", lambda: sorted(folder.glob("*.eml")))
        assert len(files) == 1 and b"cli@example.vn" in files[0].read_bytes()
        unset = CliRunner().invoke(cli, ["mail", "send"], obj={"settings": Settings(database_url=notice_db[0])})
        assert unset.exit_code == 1 and "GIS_SMTP__HOST" in unset.output
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl+C
        assert server.wait(timeout=30) in (0, 1), server.stderr.read() if server.stderr else ""


def test_sweep_every_sample_parcel_is_told_exactly_when_its_plan_changes_for_it(sample_plans_url: str) -> None:
    """The demo's zoning plan, its 2019 version superseded by today's: every parcel subscribed, the publication's
    notices against what the diff says of each parcel on its own."""
    from gis_service import changes

    eng = create_db_engine(sample_plans_url, pool_size=1)
    try:
        with eng.connect() as c, c.begin() as tx:  # rolled back: the sample database is shared
            old, new = c.execute(
                sa.text(
                    "SELECT max(id) FILTER (WHERE status = 'superseded'), max(id) FILTER (WHERE status = 'approved') "
                    "FROM planning.plans WHERE code = '46QPK0000001'"
                )
            ).one()
            assert old is not None and new is not None
            c.execute(
                sa.text(
                    "INSERT INTO planning.subscriptions (email, parcel_id, geom, token, client_key, confirmed_at) "
                    "SELECT 'p' || id || '@example.vn', id, geom, md5(id::text) || md5('sweep' || id), 'sweep', now() "
                    "FROM planning.parcels"
                )
            )
            parcels = c.execute(sa.text("SELECT id FROM planning.parcels ORDER BY id")).scalars().all()
            started = time.monotonic()
            written = write_notices(c, {"event": "published", "from": old, "to": new})
            took = time.monotonic() - started
            notified = set(
                c.execute(
                    sa.text(
                        "SELECT s.parcel_id FROM planning.outbox o JOIN planning.subscriptions s "
                        "ON s.id = o.subscription_id WHERE o.event = 'published' AND o.plan_id = :p"
                    ),
                    {"p": new},
                ).scalars()
            )
            touched = {p for p in parcels if changes.parcel_changes(c, p, old, new, "vi").touched}
            print(
                f"{len(parcels)} parcels subscribed: {written} notices written in {took:.1f} s, "
                f"{len(touched)} parcels touched by the new version on their own"
            )
            assert written == len(notified)
            assert notified == touched, (sorted(notified - touched)[:10], sorted(touched - notified)[:10])
            assert 0 < len(touched) < len(parcels)
            started = time.monotonic()
            assert write_notices(c, {"event": "published", "from": old, "to": new}) == 0  # retried: no one twice
            print(f"the same publication again: nothing written, in {time.monotonic() - started:.2f} s")
            tx.rollback()
    finally:
        eng.dispose()
