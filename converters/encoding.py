"""Legacy Vietnamese 8-bit text: TCVN3 (ABC) and VNI, detected per value and converted to Unicode.

CAD drawings, DGN files, MapInfo tables and old shapefiles typed with the .VnTime (TCVN3) or VNI-Times fonts store
Vietnamese as 8-bit bytes that read as Latin-1 gibberish: "Đất ở tại đô thị" is ``§Êt ë t¹i ®« thÞ`` in TCVN3 and
``Ñaát ôû taïi ñoâ thò`` in VNI. GDAL and ezdxf hand such bytes over as Latin-1 (or cp1252) characters; we decide
for each value which reading gives valid Vietnamese syllables and convert it.

>>> to_unicode("§Êt ë t¹i ®« thÞ")
('Đất ở tại đô thị', 'tcvn3')
>>> to_unicode("Thöa ®Êt")
('Thửa đất', 'tcvn3')
>>> to_unicode("Ñaát ôû taïi ñoâ thò")
('Đất ở tại đô thị', 'vni')
>>> to_unicode("Đất ở tại đô thị")
('Đất ở tại đô thị', None)
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["from_tcvn3", "from_vni", "looks_vietnamese", "to_unicode"]

# TCVN3 (TCVN 5712:1993, VN3): one byte per letter; upper-case toned letters use the lower-case codes in the
# .VnTimeH fonts, so they come back lower case.
_TCVN3_LOWER = "¸µ¶·¹¨¾»¼½Æ©ÊÇÈÉËÐÌÎÏÑªÕÒÓÔÖÝ×ØÜÞãßáâä«èåæçé¬íêëìîóïñòô­øõö÷ùýúûüþ®"
_UNI_LOWER = "áàảãạăắằẳẵặâấầẩẫậéèẻẽẹêếềểễệíìỉĩịóòỏõọôốồổỗộơớờởỡợúùủũụưứừửữựýỳỷỹỵđ"
_TCVN3_UPPER = "¡¢£¤¥¦§"
_UNI_UPPER = "ĂÂÊÔƠƯĐ"
_TCVN3 = {ord(a): b for a, b in zip(_TCVN3_LOWER + _TCVN3_UPPER, _UNI_LOWER + _UNI_UPPER, strict=True)}

# VNI: a base letter followed by a mark byte (lower case marks after lower-case letters, upper after upper).
_VNI_SINGLE = {"ñ": "đ", "Ñ": "Đ", "ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư", "í": "í", "Í": "Í", "ì": "ì", "Ì": "Ì",
               "æ": "ỉ", "Æ": "Ỉ", "ó": "ĩ", "Ó": "Ĩ", "ò": "ị", "Ò": "Ị", "î": "ỵ", "Î": "Ỵ"}  # fmt: skip
# mark byte → (combining marks); circumflex/breve combined with a tone in one byte.
_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE = "\u0302", "\u0306"
_VNI_MARKS = {
    "ù": _ACUTE, "ø": _GRAVE, "û": _HOOK, "õ": _TILDE, "ï": _DOT,
    "â": _CIRC, "á": _CIRC + _ACUTE, "à": _CIRC + _GRAVE, "å": _CIRC + _HOOK, "ã": _CIRC + _TILDE, "ä": _CIRC + _DOT,
    "ê": _BREVE, "é": _BREVE + _ACUTE, "è": _BREVE + _GRAVE, "ú": _BREVE + _HOOK, "ü": _BREVE + _TILDE,
    "ë": _BREVE + _DOT,
}  # fmt: skip
_VNI_MARKS.update({k.upper(): v for k, v in list(_VNI_MARKS.items())})

_VIET_LETTERS = set(_UNI_LOWER + _UNI_LOWER.upper() + "ĐđƯưƠơĂăÂâÊêÔô") | set("abcdefghijklmnopqrstuvwxyz".upper())
_VIET_LETTERS |= set("abcdefghijklmnopqrstuvwxyz")
_VIET_ONLY = set("ăắằẳẵặđơớờởỡợưứừửữựạảấầẩẫậẹẻẽếềểễệỉịọỏốồổỗộủụỳỵỷỹ")
_TONES = {_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT}


def from_tcvn3(text: str) -> str:
    """TCVN3 (as Latin-1 characters) to Unicode (NFC)."""
    return text.translate(_TCVN3)


def from_vni(text: str) -> str:
    """VNI (as Latin-1 characters) to Unicode (NFC)."""

    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        b = {"ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư"}.get(ch, ch)
        if nxt in _VNI_MARKS and ch in "aeiouyAEIOUYôöÔÖ":
            mark = _VNI_MARKS[nxt]
            if not (b in "ơƠưƯ" and mark.startswith((_CIRC, _BREVE))):
                out.append(unicodedata.normalize("NFC", b + mark))
                i += 2
                continue
        out.append(_VNI_SINGLE.get(ch, ch))
        i += 1
    return unicodedata.normalize("NFC", "".join(out))


def _syllable_ok(word: str) -> bool:
    """A plausible Vietnamese syllable: Vietnamese letters only, at most one tone mark."""
    letters = [c for c in word if c.isalpha()]
    if not letters or any(c not in _VIET_LETTERS for c in letters):
        return False
    if any(not c.isascii() and not c.isalpha() for c in word):
        return False  # a symbol inside a word (§, ®, «) is a legacy byte, not text
    tones = sum(1 for c in unicodedata.normalize("NFD", word) if c in _TONES)
    return tones <= 1


def looks_vietnamese(text: str) -> float:
    """Share of the words of ``text`` that are plausible Vietnamese syllables (words without letters ignored)."""
    words = [w for w in re.split(r"[\s,.;:()/\\\-_%0-9]+", text) if any(c.isalpha() for c in w)]
    if not words:
        return 0.0
    return sum(_syllable_ok(w) for w in words) / len(words)


def to_unicode(text: str) -> tuple[str, str | None]:
    """Convert a legacy-encoded value; returns the text and the encoding found (``None``: already Unicode).

    A value is left alone when it is pure ASCII or holds letters that only Unicode Vietnamese has.
    UTF-8 bytes that were read as Latin-1 (``Ä\\x90áº¥t``) are repaired too (encoding ``utf-8``).
    """
    if text.isascii() or any(c in _VIET_ONLY or c.lower() in _VIET_ONLY for c in text):
        return text, None
    if all(ord(c) < 256 for c in text):
        try:
            fixed = text.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if fixed != text:
                # UTF-8 read as Latin-1; what it spells may itself be TCVN3 or VNI typed in a legacy font
                inner, enc = to_unicode(fixed)
                return inner, f"utf-8+{enc}" if enc else "utf-8"
    best, best_score, found = text, looks_vietnamese(text), None
    for name, conv in (("tcvn3", from_tcvn3), ("vni", from_vni)):
        candidate = conv(text)
        if candidate == text:
            continue
        score = looks_vietnamese(candidate)
        if score > best_score:
            best, best_score, found = candidate, score, name
    return best, found
