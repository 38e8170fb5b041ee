"""Legacy Vietnamese text (TCVN3, VNI) to Unicode, CAD label conventions, and CRS recognition (no database)."""

from __future__ import annotations

import pytest
from pyproj import CRS

from converters.cad import parse_labels
from converters.crs import parse_crs, recognise_crs
from converters.encoding import to_unicode
from converters.errors import MissingCRS
from converters.mapping import FieldMap, builtin_profile


@pytest.mark.parametrize(
    ("stored", "text", "encoding"),
    [
        ("§Êt ë t¹i ®« thÞ", "Đất ở tại đô thị", "tcvn3"),
        ("Thöa ®Êt", "Thửa đất", "tcvn3"),
        ("Ñaát ôû taïi ñoâ thò", "Đất ở tại đô thị", "vni"),
        ("Thöûa ñaát", "Thửa đất", "vni"),
        ("Tr­êng häc", "Trường học", "tcvn3"),
        ("M§XD 60%", "MĐXD 60%", "tcvn3"),
        ("Ä\x90áº¥t á»\x9f", "Đất ở", "utf-8"),  # UTF-8 bytes read as Latin-1
        ("Đất ở tại đô thị", "Đất ở tại đô thị", None),
        ("Ông Ích Khiêm", "Ông Ích Khiêm", None),
        ("Café", "Café", None),
        ("ODT", "ODT", None),
    ],
)
def test_legacy_text_becomes_unicode(stored: str, text: str, encoding: str | None) -> None:
    assert to_unicode(stored) == (text, encoding)


def test_tcvn3_bytes_as_a_dbf_holds_them() -> None:
    """The bytes a .VnTime font typed, read as Latin-1 (GDAL's default for a DBF without code page)."""
    raw = bytes([0xA7, 0xCA, 0x74, 0x20, 0xEB, 0x20, 0x74, 0xB9, 0x69, 0x20, 0xAE, 0xAB, 0x20, 0x74, 0x68, 0xDE])
    assert to_unicode(raw.decode("latin-1")) == ("Đất ở tại đô thị", "tcvn3")


def test_cad_label_conventions() -> None:
    got = parse_labels(["ODT", "ÔQH-12", "MĐXD 60%", "TC 3-5", "HSSDĐ 3,0", "H 18m", "KL 3m", "Khu nhà ở"])
    assert got == {
        "land_use_code": "ODT",
        "zone_code": "ÔQH-12",
        "max_density_pct": 60.0,
        "min_floors": 3,
        "max_floors": 5,
        "max_far": 3.0,
        "max_height_m": 18.0,
        "min_setback_m": 3.0,
        "name": "Khu nhà ở",
    }
    assert parse_labels(["5T"])["max_floors"] == 5


def test_shapefile_truncated_field_names_are_found() -> None:
    fm = FieldMap.resolve(builtin_profile(), "zones", ["kyHieuO", "maSDD", "matDoXayDu", "tangCaoToi", "heSoSDD"])
    assert fm.columns["max_density_pct"] == "matDoXayDu" and fm.columns["max_floors"] == "tangCaoToi"


def test_vn2000_recognised_by_parameters_whatever_the_datum_is_called() -> None:
    for proj in (
        "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m +no_defs",
        "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +datum=WGS84 +units=m +no_defs",
        "+proj=tmerc +lon_0=107 +k=0.9999 +x_0=500000 +ellps=WGS84 +towgs84=-192,-39,-111,0,0,0,0 +units=m",
    ):
        sc = recognise_crs(CRS(proj))
        assert sc.crs.to_epsg() == 9214 and sc.warning and "EPSG:6960" in sc.warning
    assert recognise_crs(CRS("EPSG:9214")).warning is None
    assert recognise_crs(CRS("EPSG:32648")).crs.to_epsg() == 32648  # real UTM on WGS84 is left alone


def test_src_crs_names() -> None:
    assert parse_crs("vn2000:107").to_epsg() == 9214
    assert parse_crs("VN2000:107.25").to_epsg() == 9215
    assert "107.75" in parse_crs("vn2000:107.75").name
    assert parse_crs("4326").to_epsg() == 4326
    with pytest.raises(MissingCRS, match="not a VN-2000 TM-3 central meridian"):
        parse_crs("vn2000:107.1")
    with pytest.raises(MissingCRS, match="unknown coordinate reference system"):
        parse_crs("EPSG:99999999")
