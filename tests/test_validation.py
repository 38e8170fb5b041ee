"""Validation of plan dossiers (``planning validate``, ``POST /validations``): the broken dossiers the sample-data
script makes each give exactly their finding, with the feature and place; the good sample passes; a field of
land-use codes under an unknown name is proposed, and accepted on import."""

from __future__ import annotations

import io
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy.engine import Engine

from converters import ConverterError, ImportOptions, import_path
from converters.crs import HUE_PROVINCE_BOUNDS_9214
from converters.validation import RULES, ValidationReport, validate_path
from converters.validation.html import report_html
from converters.validation.pdf import report_pdf
from gis_service.api.app import create_app
from gis_service.cli import cli
from gis_service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
sys.path.insert(0, str(ROOT / "scripts"))

from sample.broken import Broken, broken_dossiers, good_dossiers  # type: ignore[import-not-found]  # noqa: E402

#: Findings about a layer as a whole: no feature, no place.
LAYER_RULES = {"layer-missing", "field-missing", "crs-wrong"}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Broken], list[Broken]]:
    out = tmp_path_factory.mktemp("broken")
    return broken_dossiers(SAMPLE, out), good_dossiers(SAMPLE, out)


def _key(f: Any) -> tuple[str, str | None, Any]:
    return (f.rule, f.layer, f.feature)


def _validate(case: Broken) -> ValidationReport:
    return validate_path(case.path, ImportOptions(src_crs=case.src_crs))


def test_each_broken_dossier_gives_exactly_its_finding(made: tuple[list[Broken], list[Broken]]) -> None:
    broken, good = made
    baseline: dict[str, Counter[tuple[str, str | None, Any]]] = {}
    for g in good:
        report = _validate(g)
        assert report.passed, report.summary()
        baseline[g.layer] = Counter(_key(f) for f in report.findings)
    counts: Counter[str] = Counter()
    rules_met = set()
    for case in broken:
        report = _validate(case)
        new = Counter(_key(f) for f in report.findings) - baseline.get(case.layer, Counter())
        assert list(new.elements()) == [(case.rule, case.layer, case.feature)], (case.name, report.summary())
        finding = next(f for f in report.findings if _key(f) == (case.rule, case.layer, case.feature))
        if case.rule not in LAYER_RULES:  # a place in VN-2000, in the province unless that is the fault
            assert finding.e is not None and finding.n is not None, case.name
            x0, y0, x1, y1 = HUE_PROVINCE_BOUNDS_9214
            assert (x0 <= finding.e <= x1 and y0 <= finding.n <= y1) == (case.rule != "outside-province")
        assert finding.message_vi and finding.message_en and "{" not in finding.message_en + finding.message_vi
        assert report.passed == (RULES[case.rule].severity == "warning"), case.name
        counts[RULES[case.rule].severity] += 1
        rules_met.add(case.rule)
    print(f"\n{len(broken)} broken dossiers, {len(rules_met)} rules: {dict(counts)}")
    assert len(broken) >= 18


def test_the_good_sample_dossier_passes_and_the_cli_says_so(made: tuple[list[Broken], list[Broken]]) -> None:
    report = validate_path(SAMPLE / "46QPK0000001")
    assert report.passed and report.errors == 0, report.summary()
    assert {f.rule for f in report.findings} <= {"code-legacy"}  # the cadastre's old BHK codes, mapped
    runner = CliRunner()
    ok = runner.invoke(cli, ["validate", str(SAMPLE / "46QPK0000001")])
    assert ok.exit_code == 0, ok.output
    broken = next(c for c in made[0] if c.name == "overlap")
    failed = runner.invoke(cli, ["validate", str(broken.path), "--json"])
    assert failed.exit_code == 1
    assert '"geom-overlap"' in failed.stdout


def test_the_html_report_shows_each_finding_with_its_place_and_thumbnail(
    made: tuple[list[Broken], list[Broken]],
) -> None:
    case = next(c for c in made[0] if c.name == "gap")
    report = _validate(case)
    page = report_html(report)
    gap = next(f for f in report.findings if f.rule == "geom-gap")
    assert f"E {gap.e:,.2f}" in page and "25.00 m²" in page
    assert page.count('src="data:image/png;base64,') == len([f for f in report.findings if f.shape is not None])
    assert "Khe hở giữa các ô quy hoạch" in page and "gap between zones" in page
    pdf = pdfium.PdfDocument(report_pdf(report))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "Khe hở giữa các ô quy hoạch" in text and f"E {gap.e:,.2f}" in text


@pytest.fixture(scope="module")
def madat_shapefile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Zones in a shapefile whose code field is ``MaDat`` (legacy codes among current ones) and whose floors are in
    ``SoTangCao`` and density in ``TyLeMatDo``: names no profile knows."""
    folder = tmp_path_factory.mktemp("madat")
    codes = ["ODT", "BHK", "LUC", "ODT", "NHK", "DGD", "LUC", "ODT", "TMD", "???"]
    gdf = gpd.GeoDataFrame(
        {
            "MaDat": codes,
            "TenO": [f"O{i}" for i in range(len(codes))],
            "SoTangCao": [3, 5, 2, 4, 1, 3, 2, 6, 9, 2],
            "TyLeMatDo": [60.0, 70.0, 40.0, 80.0, 50.0, 40.0, 60.0, 75.0, 65.0, 60.0],
        },
        geometry=[box(561000 + 30 * i, 1821000, 561025 + 30 * i, 1821025) for i in range(len(codes))],
        crs="EPSG:9214",
    )
    path = folder / "zones.shp"
    gdf.to_file(path, engine="pyogrio")
    return path


def test_a_madat_field_is_proposed_with_its_evidence(madat_shapefile: Path) -> None:
    report = validate_path(madat_shapefile, ImportOptions(kind="zones"))
    proposed = {s["column"]: s for s in report.suggestions}
    assert proposed["land_use_code"]["field"] == "MaDat" and proposed["land_use_code"]["share"] == 0.9
    assert proposed["max_floors"]["field"] == "SoTangCao" and proposed["max_density_pct"]["field"] == "TyLeMatDo"
    assert "'MaDat' looks like land_use_code: 90 % of its 10 values" in proposed["land_use_code"]["sentence"]
    assert any(f.rule == "field-missing" and "MaDat" in f.message_en for f in report.findings)
    accepted = validate_path(madat_shapefile, ImportOptions(kind="zones", accept_suggested_mapping=True))
    rules = Counter(f.rule for f in accepted.findings)
    assert rules == {"field-missing": 6, "code-legacy": 2, "code-unknown": 1}  # the six TT 16/2025 fields: none
    assert [f.feature for f in accepted.findings if f.rule == "code-unknown"] == [9]


def test_the_import_names_the_proposed_field_and_imports_with_it(engine: Engine, madat_shapefile: Path) -> None:
    opts = dict(plan="46QPK0000230", kind="zones", user="t", allow_unknown_codes=True)
    with pytest.raises(ConverterError, match=re.escape("field 'MaDat' looks like land_use_code: 90 % of its 10")):
        import_path(madat_shapefile, engine, ImportOptions(**opts))  # type: ignore[arg-type]
    report = import_path(madat_shapefile, engine, ImportOptions(**opts, accept_suggested_mapping=True))  # type: ignore[arg-type]
    zones = next(lr for lr in report.layers if lr.kind == "zones")
    assert zones.written == 9 and zones.fields["land_use_code"] == "MaDat" and zones.fields["max_floors"] == "SoTangCao"
    assert {(m["from"], m["to"]) for m in report.code_mappings} == {("BHK", "HNK"), ("NHK", "HNK")}


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=database_url))) as c:
        yield c


def _zipped(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, f"{folder.name}/{p.relative_to(folder)}")
    return buf.getvalue()


def test_post_validations_for_planners(
    client: TestClient, auth_headers: Any, made: tuple[list[Broken], list[Broken]]
) -> None:
    case = next(c for c in made[0] if c.name == "duplicate")
    files = {"file": ("dossier.zip", _zipped(case.path), "application/zip")}
    assert client.post("/validations", files=files).status_code == 401
    assert client.post("/validations", files=files, headers=auth_headers("permit_officer")).status_code == 403
    r = client.post("/validations", files=files, headers=auth_headers("planner"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["passed"] and body["counts"] == {"geom-duplicate": 1}
    assert body["findings"][0]["feature"] == case.feature and body["findings"][0]["e"] > 500_000
    page = client.post("/validations?f=html", files=files, headers=auth_headers("planner"))
    assert page.headers["content-type"].startswith("text/html") and "data:image/png;base64," in page.text
    gpkg = case.path / "HoSoGIS" / "QuyHoach.gpkg"
    one = client.post(
        "/validations", files={"file": ("QuyHoach.gpkg", gpkg.read_bytes())}, headers=auth_headers("planner")
    )
    assert one.status_code == 200 and one.json()["counts"] == {"geom-duplicate": 1}


def test_post_validations_refuses_bad_uploads_with_a_4xx(client: TestClient, auth_headers: Any) -> None:
    planner = auth_headers("planner")
    assert client.post("/validations", json={"a": 1}, headers=planner).status_code == 400
    bad = client.post("/validations", files={"file": ("x.gpkg", b"not a geopackage")}, headers=planner)
    assert bad.status_code == 400 and "x.gpkg" in bad.json()["description"]
    assert "validation-" not in bad.json()["description"]  # the server's temporary folder is not named
    scan = client.post("/validations", files={"file": ("x.tif", b"not an image")}, headers=planner)
    assert scan.status_code == 200 and scan.json()["counts"] == {"layer-unreadable": 1}
    assert "validation-" not in scan.text
    odd = client.post("/validations", files={"file": ("notes.txt", b"hello")}, headers=planner)
    assert odd.status_code == 400


def test_a_file_of_no_known_layer_is_refused_as_by_the_import(
    tmp_path: Path, client: TestClient, auth_headers: Any
) -> None:
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[box(561000, 1821000, 561010, 1821010)], crs="EPSG:9214")
    gdf.to_file(tmp_path / "x.gpkg", layer="Foo", engine="pyogrio")
    with pytest.raises(ConverterError, match="no layer with a TT 16/2025 name"):
        validate_path(tmp_path / "x.gpkg")
    r = client.post(
        "/validations", files={"file": ("x.gpkg", (tmp_path / "x.gpkg").read_bytes())}, headers=auth_headers("planner")
    )
    assert r.status_code == 400 and "--kind" in r.json()["description"]
    assert Counter(f.rule for f in validate_path(tmp_path / "x.gpkg", ImportOptions(kind="zones")).findings) == {
        "field-missing": 7  # the six TT 16/2025 fields, and the land-use code (no field proposed for it)
    }


def test_the_rules_table_in_the_docs_is_the_rules_list() -> None:
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([a-z-]+)` \| (error|warning) \|", text, flags=re.MULTILINE))
    assert documented == {r.id: r.severity for r in RULES.values()}


def test_the_balance_table_goes_with_the_report_and_a_declared_one_is_checked(tmp_path: Path) -> None:
    """The zones' land-use balance is a section of the report (JSON and HTML); a declared table (a CSV
    ``BangCanBangSuDungDat`` in the dossier) that agrees passes, one 5 % off for one code is an error with both
    figures."""
    import shutil

    report = validate_path(SAMPLE / "46QPK0000001")
    section = next(s for s in report.sections if s.name == "land_use_balance")
    table = section.to_dict()
    rows = {r["code"]: r["area_ha"] for r in table["rows"]}
    print(f"\nbalance of the sample dossier: {len(rows)} codes, {table['zones_ha']:.2f} ha of zones")
    assert rows and abs(sum(rows.values()) - table["zones_ha"]) < 0.01
    assert "land_use_balance" in report.to_dict() and "Bảng cân bằng" in report_html(report)
    dossier = tmp_path / "46QPK0000001"
    shutil.copytree(SAMPLE / "46QPK0000001", dossier)
    csv = dossier / "BangCanBangSuDungDat.csv"
    csv.write_text("maSDD,dienTich\n" + "".join(f"{c},{ha}\n" for c, ha in rows.items()))
    assert not [f for f in validate_path(dossier).findings if f.rule == "balance-declared"]
    code = max(rows, key=lambda c: rows[c])
    csv.write_text("maSDD,dienTich\n" + "".join(f"{c},{ha * (1.05 if c == code else 1)}\n" for c, ha in rows.items()))
    found = [f for f in validate_path(dossier).findings if f.rule == "balance-declared"]
    assert [(f.code, f.severity) for f in found] == [(code, "error")], found
    assert found[0].details == {"declared": f"{rows[code] * 1.05:.2f}", "computed": f"{rows[code]:.2f}"}
