"""The planning-information certificate's content and document (issue 19, item 1) on the demo's sample plans.

* a parcel straddling two zones: the PDF's text holds the key facts in Vietnamese and English, page 1 is kept as a
  PNG for people (``test-artifacts/certificate_p1.png``), a preview is marked as one;
* the PDF is deterministic (twice in this process, and once more in a fresh interpreter from the content's JSON);
* the content round-trips through JSON exactly and pins the plan rows it was drawn from;
* the HTML page escapes every value and carries no script;
* :func:`changes_between` names what an edit of the plan changed;
* every parcel of the sample gets a content, and a sample of them a PDF;
* on a date (``as_of``), the content and document give the plan versions in force that day, and say so under the
  title; a date before any plan is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gis_service.as_of import today_in_hue
from gis_service.certificates import (
    CertificateContent,
    Stamp,
    certificate_content,
    changes_between,
    find_parcel,
    render_html,
    render_pdf,
)
from gis_service.certificates.content import AsOfFacts, NoPlanInForce
from gis_service.db import create_db_engine
from gis_service.errors import NotFound, ValidationError

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
VERIFY = "https://quyhoach.hue.example/certificates/PTTQH-2025-000123/verify"
STAMP = Stamp(
    number="PTTQH-2025-000123",
    issued_at=datetime(2025, 3, 5, 7, 30, 15, tzinfo=UTC),
    issued_by="Nguyễn Thị Hương",
    verify_url=VERIFY,
)


@pytest.fixture(scope="module")
def engine(sample_plans_url: str) -> Iterator[Engine]:
    eng = create_db_engine(sample_plans_url, pool_size=1)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as c:
        tx = c.begin()
        try:
            yield c
        finally:
            tx.rollback()


@pytest.fixture(scope="module")
def straddling(engine: Engine) -> CertificateContent:
    """Phú Xuân, tờ 13, thửa 4: the sample's parcel in KT-19 and KT-20 (sample_data/README.md)."""
    with engine.connect() as c:
        return certificate_content(c, find_parcel(c, ward="Phú Xuân", sheet_no=13, parcel_no=4))


def pdf_text(pdf: bytes) -> str:
    """The text of every page, lines joined by single spaces (a value may wrap in its table cell)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return " ".join(" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc)))
    finally:
        doc.close()


def page_png(pdf: bytes, path: Path, dpi: int = 150) -> float:
    """Page 1 as a PNG at ``path``; the share of the page that is ink."""
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=dpi / 72).to_pil()
    finally:
        doc.close()
    path.parent.mkdir(exist_ok=True)
    image.save(path)
    grey = image.convert("L").histogram()
    return sum(grey[:200]) / (image.width * image.height)


def test_the_content_of_a_parcel_straddling_two_zones(straddling: CertificateContent) -> None:
    c = straddling
    assert (c.parcel.ward, c.parcel.sheet_no, c.parcel.parcel_no) == ("Phú Xuân", 13, 4)
    assert c.parcel.measured_area_m2 == pytest.approx(748.85, abs=0.01)
    assert [(z.zone_code, z.land_use.code) for z in c.zones] == [("KT-20", "ODT"), ("KT-19", "ODT")]
    assert sum(z.share_pct for z in c.zones) == pytest.approx(100, abs=0.02)
    floors = {z.zone_code: next(r for r in z.rules if r.name == "max_floors") for z in c.zones}
    assert (floors["KT-20"].value, floors["KT-20"].basis) == (3, "plan")
    assert "DEMO-01/QĐ-UBND" in floors["KT-19"].source and "ô KT-19" in floors["KT-19"].source
    assert [(p.code, p.version, p.decision_no) for p in c.plans] == [("46QPK0000001", 2, "DEMO-01/QĐ-UBND")]
    assert c.envelope is not None and c.envelope.status == "buildable"
    assert any(r.road_name == "23 Tháng 8" and r.distance_m == 0 for r in c.red_lines)
    assert c.missing == []
    # the map: a stated scale, the parcel with its surroundings, both zones, the red line of 23 Tháng 8
    assert c.map.scale_denominator == 1000
    assert {"KT-19", "KT-20"} <= {z.label for z in c.map.zones}
    assert c.map.parcels and c.map.red_lines and c.map.building_lines
    assert "ODT" in {lu.code for lu in c.map.legend}
    # the pins: the plan version, both zones, the parcel, each with its row version
    pinned = {(p.table, p.id) for p in c.pins}
    assert {("plans", c.plans[0].id), ("parcels", c.parcel.id)} <= pinned
    assert {("zones", z.id) for z in c.zones} <= pinned
    assert {("red_lines", r.id) for r in c.red_lines} <= pinned


def test_the_content_round_trips_through_json(straddling: CertificateContent) -> None:
    text = straddling.model_dump_json()
    again = CertificateContent.model_validate_json(text)
    assert again == straddling
    assert again.model_dump_json() == text
    assert CertificateContent.model_validate(json.loads(text)) == straddling


def test_the_pdf_of_a_parcel_straddling_two_zones(straddling: CertificateContent) -> None:
    pdf = render_pdf(straddling, STAMP)
    assert pdf[:5] == b"%PDF-"
    text = pdf_text(pdf)
    for fact in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "PHIẾU THÔNG TIN QUY HOẠCH",
        "Huế, ngày 05 tháng 03 năm 2025",
        "Phú Xuân",
        "209 23 Tháng 8, phường Phú Xuân, thành phố Huế",
        "748,85 m²",
        "Tỷ lệ 1:1.000",
        "Chỉ giới đường đỏ",
        "Chỉ giới xây dựng",
        "KT-20 (56,47 %)",
        "KT-19 (43,53 %)",
        "Đất ở tại đô thị",
        "Tầng cao tối đa",
        "DEMO-01/QĐ-UBND",
        "15/06/2024",
        "Diện tích xây dựng tối đa",
        "Nội dung chưa xác định được",
        "PTTQH-2025-000123",
        "14:30:15 ngày 05/03/2025",  # 07:30 UTC is 14:30 in Việt Nam
        "Nguyễn Thị Hương",
        "Dữ liệu quy hoạch: 46QPK0000001 v2 (DEMO-01/QĐ-UBND)",
    ):
        assert fact in text, fact
    assert "BẢN XEM TRƯỚC" not in text
    assert VERIFY in text.replace(" ", "")
    ink = page_png(pdf, ARTIFACTS / "certificate_p1.png")  # for people: what the test saw
    assert 0.02 < ink < 0.5, ink
    doc = pdfium.PdfDocument(pdf)
    try:
        assert doc.get_metadata_dict()["CreationDate"].startswith("D:20250305143015+07")
    finally:
        doc.close()


def test_the_pdf_in_english_and_as_a_preview(straddling: CertificateContent) -> None:
    preview = Stamp(None, datetime(2025, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=7))), None, None, "en")
    text = pdf_text(render_pdf(straddling, preview))
    for fact in (
        "PLANNING INFORMATION CERTIFICATE",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Zones the parcel lies in",
        "KT-20 (56.47 %)",
        "Scale 1:1,000",
        "Urban residential land",
        "Huế, 5 March 2025",
        "BẢN XEM TRƯỚC / PREVIEW",
        "không có giá trị pháp lý",
    ):
        assert fact in text, fact
    with pytest.raises(ValidationError, match="time zone"):
        render_pdf(straddling, Stamp("1", datetime(2025, 3, 5), None, None))
    with pytest.raises(ValidationError, match="lang"):
        render_html(straddling, Stamp("1", STAMP.issued_at, None, None, "fr"))


def test_the_pdf_is_the_same_bytes_on_every_rendering(straddling: CertificateContent, tmp_path: Path) -> None:
    first = render_pdf(straddling, STAMP)
    assert render_pdf(straddling, STAMP) == first
    assert render_pdf(straddling, Stamp(**{**STAMP.__dict__, "number": "PTTQH-2025-000124"})) != first
    # again in a fresh interpreter, from the content as it would be stored
    (tmp_path / "content.json").write_text(straddling.model_dump_json(), encoding="utf-8")
    script = (
        "import sys; from datetime import datetime\n"
        "from gis_service.certificates import CertificateContent, Stamp, render_pdf\n"
        "c = CertificateContent.model_validate_json(open(sys.argv[1], encoding='utf-8').read())\n"
        f"s = Stamp({STAMP.number!r}, datetime.fromisoformat({STAMP.issued_at.isoformat()!r}), "
        f"{STAMP.issued_by!r}, {STAMP.verify_url!r})\n"
        "sys.stdout.buffer.write(render_pdf(c, s))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "content.json")], capture_output=True, check=True, cwd=ROOT
    )
    assert out.stdout == first


def test_the_html_page_escapes_every_value_and_has_no_script(straddling: CertificateContent) -> None:
    page = render_html(straddling, STAMP)
    assert page.startswith("<!doctype html>") and "<svg" in page and "KT-20 (56,47 %)" in page
    assert "PHIẾU THÔNG TIN QUY HOẠCH" in page and "DEMO-01/QĐ-UBND" in page and f'href="{VERIFY}"' in page
    evil = "<script>alert(1)</script>"
    parcel = straddling.parcel.model_copy(update={"address": evil, "ward": '"><img src=x onerror=alert(1)>'})
    content = straddling.model_copy(update={"parcel": parcel})
    stamp = Stamp(evil, STAMP.issued_at, evil, "javascript:alert(1)")
    page = render_html(content, stamp)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page
    preview = render_html(straddling, Stamp(None, STAMP.issued_at, None, None))
    assert "BẢN XEM TRƯỚC / PREVIEW" in preview and "không có giá trị pháp lý" in preview


def test_find_parcel(conn: Connection) -> None:
    assert find_parcel(conn, ward="Phú Xuân", sheet_no=13, parcel_no=4) > 0
    ward_code = conn.execute(sa.text("SELECT ward_code FROM planning.parcels WHERE ward = 'Phú Xuân' LIMIT 1")).scalar()
    assert find_parcel(conn, ward=ward_code, sheet_no=13, parcel_no=4) == find_parcel(
        conn, ward="Phú Xuân", sheet_no=13, parcel_no=4
    )
    with pytest.raises(ValidationError, match="several wards"):
        find_parcel(conn, ward=None, sheet_no=1, parcel_no=1)
    with pytest.raises(NotFound, match="tờ 13, thửa 99999"):
        find_parcel(conn, ward="Phú Xuân", sheet_no=13, parcel_no=99999)
    with pytest.raises(ValidationError, match="sheet_no"):
        find_parcel(conn, ward=None, sheet_no=0, parcel_no=4)
    with pytest.raises(NotFound, match="no parcel with id"):
        certificate_content(conn, 10**9)


def test_changes_between_names_what_an_edit_changed(conn: Connection, straddling: CertificateContent) -> None:
    pid = straddling.parcel.id
    assert certificate_content(conn, pid) == straddling
    assert changes_between(straddling, straddling) == []
    kt20 = next(z.id for z in straddling.zones if z.zone_code == "KT-20")
    front = next(r.id for r in straddling.red_lines if r.distance_m == 0)
    zone_sql = sa.text("UPDATE planning.zones SET max_floors = :f, land_use_code = :u WHERE id = :id")
    conn.execute(zone_sql, {"f": 4, "u": "TMD", "id": kt20})
    conn.execute(sa.text("UPDATE planning.red_lines SET red_line_width_m = 30 WHERE id = :id"), {"id": front})
    now = certificate_content(conn, pid)
    vi, en = changes_between(straddling, now, "vi"), changes_between(straddling, now, "en")
    print("\n".join(en))
    assert "Ô KT-20: chức năng sử dụng đất ODT → TMD." in vi
    assert "Ô KT-20: tầng cao tối đa 3 tầng → 4 tầng." in vi
    assert "Zone KT-20: max floors 3 floors → 4 floors." in en
    assert "Red line of 23 Tháng 8: width 26 m, from the parcel 0 m → width 30 m, from the parcel 0 m." in en
    assert not any("KT-19" in line for line in en)
    # an edit that changes nothing the certificate says is still told, from the pins
    conn.execute(zone_sql, {"f": 3, "u": "ODT", "id": kt20})
    conn.execute(sa.text("UPDATE planning.red_lines SET red_line_width_m = 26 WHERE id = :id"), {"id": front})
    back = certificate_content(conn, pid)
    assert back != straddling
    (line,) = changes_between(straddling, back, "en")
    assert f"zones {kt20}: v" in line and f"red_lines {front}: v" in line


def test_every_parcel_of_the_sample_gets_a_certificate(engine: Engine) -> None:
    counts: Counter[str] = Counter()
    rendered = 0
    started = time.perf_counter()
    with engine.connect() as c:
        ids = [r[0] for r in c.execute(sa.text("SELECT id FROM planning.parcels ORDER BY id"))]
        sample = set(ids[:: max(1, len(ids) // 50)])
        for pid in ids:
            content = certificate_content(c, pid)
            counts["parcels"] += 1
            counts["straddling two or more zones"] += len(content.zones) >= 2
            counts["with missing data"] += bool(content.missing)
            counts[f"map at 1:{content.map.scale_denominator}"] += 1
            for item in content.missing:
                counts[f"missing: {item.topic}"] += 1
            assert content.pins and content.map.zones is not None
            if pid in sample:
                pdf = render_pdf(content, STAMP)
                text = pdf_text(pdf)
                assert f"Thửa đất số: {content.parcel.parcel_no}" in text, pid
                for z in content.zones:
                    assert z.label in text, (pid, z.label)
                rendered += 1
    seconds = time.perf_counter() - started
    print(f"\ncertificates of the sample ({seconds:.1f} s, {rendered} rendered as PDF):")
    for key, n in sorted(counts.items()):
        print(f"  {key}: {n}")
    assert counts["parcels"] > 1000 and rendered >= 40
    assert counts["straddling two or more zones"] >= 268  # the sample's list of straddling parcels
    assert counts["with missing data"] > 0


#: The day before and the day of the sample's 2024 version's decision (DEMO-01), and a day before any plan.
BEFORE, AFTER, NO_PLAN = date(2024, 6, 14), date(2024, 6, 15), date(2019, 12, 19)


def _floors(c: CertificateContent) -> dict[str, int | float | str | None]:
    return {z.label: next(r.value for r in z.rules if r.name == "max_floors") for z in c.zones}


def test_the_certificate_on_a_date_gives_the_plan_in_force_that_day(
    engine: Engine, straddling: CertificateContent
) -> None:
    pid = straddling.parcel.id
    with engine.connect() as c:
        before = certificate_content(c, pid, as_of=BEFORE)
        after = certificate_content(c, pid, as_of=AFTER)
        today = certificate_content(c, pid, as_of=today_in_hue())
        farm = find_parcel(c, ward="Hương Sơ", sheet_no=30, parcel_no=46)
        farm_before = certificate_content(c, farm, as_of=BEFORE)
        farm_after = certificate_content(c, farm, as_of=AFTER)
    # KT-20 allowed 4 floors in the 2019 version (DEMO-00), 3 from the decision of 15/06/2024 (DEMO-01)
    assert _floors(before) == {"KT-20": 4, "KT-19": 3} and _floors(after) == {"KT-20": 3, "KT-19": 2}
    assert [(p.code, p.version, p.decision_no) for p in before.plans] == [("46QPK0000001", 1, "DEMO-00/QĐ-UBND")]
    assert [(p.code, p.version, p.decision_no) for p in after.plans] == [("46QPK0000001", 2, "DEMO-01/QĐ-UBND")]
    assert all("DEMO-00/QĐ-UBND" in r.source for z in before.zones for r in z.rules)
    assert before.as_of == AsOfFacts(date="2024-06-14", requested="2024-06-14")
    # the envelope, the lines, the map extract and the pins are the 2019 version's too
    assert before.envelope != after.envelope
    assert before.red_lines and {r.plan_id for r in before.red_lines} == {before.plans[0].id}
    v2_rows = {z.id for z in after.map.zones} - {z.id for z in before.map.zones}
    assert {z.id for z in before.zones} <= {z.id for z in before.map.zones} and not v2_rows & {
        z.id for z in before.map.zones
    }
    assert ("plans", before.plans[0].id) in {(p.table, p.id) for p in before.pins}
    assert not {(p.table, p.id) for p in before.pins if p.table != "parcels"} & {(p.table, p.id) for p in after.pins}
    # HS-01 was farmland before the 2024 version; the parcel (the cadastre as it is now) is the same
    assert [(z.zone_code, z.land_use.code) for z in farm_before.zones] == [("HS-01", "HNK")]
    assert "HNK" in {lu.code for lu in farm_before.map.legend}
    assert {z.land_use.code for z in farm_after.zones} == {"ODT"} and farm_after.parcel == farm_before.parcel
    # today through the dated path is the default certificate, but for the date it records
    assert today.model_copy(update={"as_of": None}) == straddling
    # the default keeps the JSON (and so the hash) it had before dates: no as_of key at all
    assert '"as_of"' not in straddling.model_dump_json() and "as_of" not in straddling.model_dump()
    text = before.model_dump_json()
    assert CertificateContent.model_validate_json(text) == before
    assert CertificateContent.model_validate_json(text).model_dump_json() == text


def test_a_date_before_any_plan_is_refused_not_certified_as_no_zoning(conn: Connection) -> None:
    pid = find_parcel(conn, ward="Phú Xuân", sheet_no=13, parcel_no=4)
    with pytest.raises(NoPlanInForce, match="no plan was in force on 2019-12-19") as caught:
        certificate_content(conn, pid, as_of=NO_PLAN)
    assert caught.value.status_code == 404 and "2019-12-20" in caught.value.message  # the first decision
    with pytest.raises(NotFound, match="no parcel with id"):
        certificate_content(conn, 10**9, as_of=AFTER)
    later = certificate_content(conn, pid, as_of=today_in_hue() + timedelta(days=400))
    assert later.as_of is not None and later.as_of.date == today_in_hue().isoformat() != later.as_of.requested


def test_the_document_on_a_date_says_so_under_its_title(engine: Engine, straddling: CertificateContent) -> None:
    with engine.connect() as c:
        before = certificate_content(c, straddling.parcel.id, as_of=BEFORE)
    vi, en = pdf_text(render_pdf(before, STAMP)), pdf_text(render_pdf(before, replace(STAMP, lang="en")))
    line_vi = "Thông tin quy hoạch tại ngày 14/06/2024 / Planning information as of 14 June 2024"
    line_en = "Planning information as of 14 June 2024 / Thông tin quy hoạch tại ngày 14/06/2024"
    assert line_vi in vi and line_en in en
    assert vi.index("PHIẾU THÔNG TIN QUY HOẠCH") < vi.index(line_vi) < vi.index("1. Thông tin thửa đất")
    assert "DEMO-00/QĐ-UBND" in vi and "DEMO-01/QĐ-UBND" not in vi
    assert "Dữ liệu quy hoạch: 46QPK0000001 v1 (DEMO-00/QĐ-UBND)" in vi
    assert "Thông tin quy hoạch tại ngày" not in pdf_text(render_pdf(straddling, STAMP))
    page = render_html(before, STAMP)
    assert "Thông tin quy hoạch tại ngày 14/06/2024 / Planning information as of 14 June 2024" in page
    assert "Planning information as of" not in render_html(straddling, STAMP)
    # rendered again from the stored JSON: the same bytes
    again = CertificateContent.model_validate_json(before.model_dump_json())
    assert render_pdf(again, STAMP) == render_pdf(before, STAMP)
