"""How Vietnamese write names, numbers and periods, turned into canonical values.

Everything here is vectorised or works on unique values: a long file has a million rows but
few distinct units, indicators and periods.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from reformkpi import periods

ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def nfc(text) -> str:
    return unicodedata.normalize("NFC", str(text))


def ascii_digits(text: str) -> str:
    """NFKC (full-width `２０１９` → `2019`, `Ⅲ` → `III`), then every other Unicode decimal digit as
    its ASCII digit (Arabic-Indic `٢٠١٩` → `2019`), as phone keyboards and copied PDFs write them."""
    s = unicodedata.normalize("NFKC", text)
    if s.isascii():
        return s
    return "".join(str(d) if (d := unicodedata.decimal(c, None)) is not None else c for c in s)


def fold(text) -> str:
    """A key to match names by: NFC, no diacritics (đ → d), lower case, words separated by one space."""
    s = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    s = "".join(c for c in s if unicodedata.category(c) != "Mn").lower()
    return " ".join(re.sub(r"[^0-9a-z%.]+", " ", s).replace(".", " ").split())


def per_unique(s: pd.Series, fn, dtype=object, missing=None) -> pd.Series:
    """fn applied to the distinct values of s only (a million rows hold few distinct units or
    periods, and few distinct counts), then spread back; empty cells get `missing`."""
    codes, uniques = pd.factorize(s)
    mapped = np.asarray(fn(pd.Series(uniques, dtype=object)), dtype=dtype)
    return pd.Series(np.append(mapped, np.array([missing], dtype=dtype))[codes], index=s.index)


def blank(s: pd.Series) -> pd.Series:
    """True where a cell holds nothing (missing, or only spaces)."""
    return s.isna() | (s.astype("string").str.strip() == "")


# Vietnamese style: a dot groups thousands (1.234.567), a comma is the decimal mark (77,4).
_VI_THOUSANDS = r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$"
_VI_DECIMAL = r"^[+-]?\d+,\d+$"
# English style with both marks (1,234.5): only then is a comma a thousands separator.
_EN_THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"


def numbers(s: pd.Series, decimal: str = "auto") -> tuple[pd.Series, pd.Series]:
    """(values as float, had a % sign) from cells as written: 77,4 · 77,4% · 1.234 · 1.234,5 · 77.4.

    decimal="auto" reads the Vietnamese style first (1.234 is one thousand two hundred and
    thirty-four); decimal="." reads the dot as the decimal mark (files exported in English).
    Digits of any script are read as ASCII ones (`ascii_digits`); a value that is not finite
    (inf, nan, 1e400) is no number: NaN, so the rules refuse it where a value is given.
    """
    if pd.api.types.is_numeric_dtype(s):
        values = s.astype("float64")
        return values.where(np.isfinite(values)), pd.Series(False, index=s.index)
    parsed = {}

    def parse(uniq: pd.Series) -> pd.Series:
        values, pct = _numbers(uniq, decimal)
        parsed["pct"] = pct.to_numpy()
        return values

    values = per_unique(s, parse, dtype="float64", missing=np.nan)
    pct = per_unique(s, lambda _: parsed["pct"], dtype=bool, missing=False)
    return values, pct


def _numbers(s: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    text = s.map(lambda v: ascii_digits(v) if isinstance(v, str) else
                 (None if v is None else repr(v) if isinstance(v, float) else str(v)))
    text = text.astype("string").str.replace(r"[\s\u00a0]", "", regex=True)
    pct = text.str.endswith("%").fillna(False).astype(bool)
    text = text.str.rstrip("%")
    if decimal == "auto":
        has_comma = text.str.contains(",", regex=False).fillna(False)
        has_dot = text.str.contains(".", regex=False).fillna(False)
        vi_th = has_dot & text.str.match(_VI_THOUSANDS).fillna(False)
        en_th = has_comma & has_dot & ~vi_th & text.str.match(_EN_THOUSANDS).fillna(False)
        vi_dec = has_comma & ~has_dot & text.str.match(_VI_DECIMAL).fillna(False)
        text = text.mask(vi_th, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
        text = text.mask(en_th, text.str.replace(",", "", regex=False))
        text = text.mask(vi_dec, text.str.replace(",", ".", regex=False))
    values = pd.to_numeric(text.astype(object), errors="coerce").astype("float64")
    return values.where(np.isfinite(values)), pct


# ASCII patterns: digits of other scripts are folded first (`ascii_digits`), never matched as such.
_PERIOD_FORMS = [
    (re.compile(r"^(?:nam\s*)?(\d{4})$", re.ASCII), lambda m: m[1]),
    (re.compile(r"^(\d{4})\s*[-/ ]?\s*q([1-4])$", re.ASCII), lambda m: f"{m[1]}-Q{m[2]}"),  # 2019-Q3
    (re.compile(r"^(?:q|quy)\s*([1-4]|i{1,3}|iv)\s*(?:[/-]|nam)?\s*(\d{4})$", re.ASCII),  # Q3/2019, Quý III/2019
     lambda m: f"{m[2]}-Q{ROMAN.get(m[1], m[1])}"),
    (re.compile(r"^(\d{4})\s*[-/]\s*(\d{1,2})$", re.ASCII), lambda m: f"{m[1]}-{int(m[2]):02d}"),  # 2019-07
    (re.compile(r"^(?:thang\s*)?(\d{1,2})\s*(?:[/-]|nam)\s*(\d{4})$", re.ASCII),  # 07/2019, Tháng 7/2019
     lambda m: f"{m[2]}-{int(m[1]):02d}"),
]


def period(raw) -> str | None:
    """Canonical period text ('2019', '2019-Q3', '2019-07') from how it is written, or None."""
    if raw is None or (isinstance(raw, float) and not np.isfinite(raw)):
        return None
    if isinstance(raw, (int, float, np.integer, np.floating)) and float(raw).is_integer():
        raw = int(raw)
    s = unicodedata.normalize("NFD", ascii_digits(str(raw)).replace("đ", "d").replace("Đ", "D"))
    s = " ".join("".join(c for c in s if unicodedata.category(c) != "Mn").lower().split())
    for rx, canonical in _PERIOD_FORMS:
        if m := rx.match(s):
            text = canonical(m)
            return text if periods.is_canonical(text) else None
    return None


def periods_of(s: pd.Series) -> pd.Series:
    """Canonical periods of a column (None where malformed), computed once per distinct value."""
    return per_unique(s, lambda u: [period(x) for x in u])
