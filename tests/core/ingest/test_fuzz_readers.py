"""Fuzzing the readers: whatever the bytes, reading ends in a table or in typed problems, never in
another exception, and within a memory budget (the data limit of this process is lowered while
the examples run, so a reader that allocates beyond it fails the test with MemoryError)."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import resource
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reformkpi import config
from reformkpi.catalog import Catalog, load_dir
from reformkpi.config import MB, Limits
from reformkpi.ingest import parse, profiles, templates
from reformkpi.ingest.problems import IngestError

BUDGET_MB = 512
LIMITS = Limits(max_bytes=MB)
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)

_catalog = Catalog.from_tables(load_dir(config.CATALOG_DIR))
SCORE = profiles.Matcher(_catalog).score


def _template(kind: str, fmt: str) -> bytes:
    return templates.download(kind, _catalog, templates.default_period(kind, _catalog, dt.date(2026, 11, 27)), fmt)


def _parquet() -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"unit_id": ["so-y-te", "so-tu-phap"], "indicator_id": ["sipas.overall"] * 2,
                             "period": ["2019", "2020"], "value": [77.4, 80.0]}), buf)
    return buf.getvalue()


SEEDS = {".xlsx": [_template(k, "xlsx") for k in templates.kinds(_catalog)],
         ".csv": [_template(k, "csv") for k in templates.kinds(_catalog)],
         ".parquet": [_parquet()]}


@contextmanager
def memory_budget(mb: int):
    """Lower this process's data limit to what it uses now plus `mb` for the duration."""
    status = open("/proc/self/status").read()
    used = int(re.search(r"VmData:\s+(\d+) kB", status)[1]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (used + mb * MB, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def outcome(data: bytes, suffix: str) -> str:
    try:
        with memory_budget(BUDGET_MB):
            parse.read(data, "f" + suffix, SCORE, LIMITS)
    except IngestError as e:
        assert e.problems and all(p.message("vi") and p.message("en") for p in e.problems)
        return "problem"
    return "table"


@st.composite
def mutated(draw, suffix: str):
    data = bytearray(draw(st.sampled_from(SEEDS[suffix])))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif data:
            del data[at:at + draw(st.integers(1, 512))]
    return bytes(data)


CELL = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30) | st.sampled_from(
    ["Sở Y tế", "sipas.overall", "2019", "Quý III/2019", "77,4%", "1.234,5", "", "\r", "\n", "\r\n", '"', "x" * 2000,
     "y" * 40_000, "z" * 140_000])


@st.composite
def csv_text(draw) -> bytes:
    head = draw(st.sampled_from([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"], ["Đơn vị (unit)", "Kỳ (period)", "SIPAS"], []]))
    delim = draw(st.sampled_from([",", ";", "\t"]))
    rows = [head] + draw(st.lists(st.lists(CELL, max_size=6), max_size=12))
    quote = draw(st.booleans())
    text = "\r\n".join(delim.join(f'"{c}"' if quote else c for c in r) for r in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258", "mixed"]))
    if encoding == "mixed":  # a file pasted together from two exports
        half = len(text) // 2
        return text[:half].encode("utf-8") + text[half:].encode("cp1258", errors="replace")
    return text.encode(encoding, errors="replace")


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(data, suffix):
    outcome(data, suffix)


@FUZZ
@given(data=mutated(".xlsx"))
def test_mutated_xlsx_templates(data):
    outcome(data, ".xlsx")


@FUZZ
@given(data=st.sampled_from([".csv", ".parquet"]).flatmap(lambda s: st.tuples(mutated(s), st.just(s))))
def test_mutated_csv_templates_and_parquet(data):
    outcome(*data)


@FUZZ
@given(data=csv_text())
def test_generated_csv_with_line_breaks_quotes_and_encodings(data):
    outcome(data, ".csv")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_the_seeds_themselves_read(suffix):
    assert {outcome(s, suffix) for s in SEEDS[suffix]} == {"table"}


def test_a_parquet_column_name_that_is_not_utf8_is_a_problem():
    # Found by the fuzzer: one flipped byte in the footer's schema makes a name undecodable.
    seed = SEEDS[".parquet"][0]
    assert b"\x18\x05value" in seed
    assert outcome(seed.replace(b"\x18\x05value", b"\x18\x05\xf6alue", 1), ".parquet") == "problem"


# --- periods and values past the reader (issue 26): digits of any script, numbers that are not
# finite, years out of range. Whatever the cells, `prepare` ends in a valid upload or typed
# problems; a valid upload holds only canonical periods (those a naive reading of the ASCII
# digits gives) and finite values within their bounds, which the store then takes.

DIGITS = {"ascii": "0", "arabic-indic": "\u0660", "persian": "\u06f0", "devanagari": "\u0966",
          "full-width": "\uff10", "math-bold": "\U0001d7ce"}
KINDS = {  # indicator, the period forms of its frequency
    "sipas.overall": ["{y}", "Năm {y}", " {y} "],
    "dossier.received_online": ["{y}-Q{q}", "Quý {q}/{y}", "Q{q}-{y}", "{y}/Q{q}"],
    "par.total": ["{y}"],
}
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["inf", "-inf", "Infinity", "1e400", "-1e400", "1e20", "0", "nan", "NaN"]),
                    st.integers(0, 10**8).map(str))


def _script(text: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(c)) if c.isdigit() else c for c in text)


@st.composite
def long_rows(draw):
    rows = []
    for unit in draw(st.lists(st.sampled_from(["STP", "SYT", "SNV", "STC"]), min_size=1, max_size=4, unique=True)):
        indicator = draw(st.sampled_from(sorted(KINDS)))
        y = draw(st.integers(0, 9999) | st.sampled_from([1899, 1900, 1901, 2099, 2100]))  # the bounds, often
        q = draw(st.integers(1, 4))
        ascii_period = draw(st.sampled_from(KINDS[indicator])).format(y=f"{y:04d}", q=q)
        period = _script(ascii_period, DIGITS[draw(st.sampled_from(sorted(DIGITS)))])
        value, maximum = draw(NUMBERS), draw(NUMBERS) if indicator == "par.total" else ""
        rows.append({"unit": unit, "indicator": indicator, "year": y, "quarter": q, "period": period, "number": value,
                     "value": _script(value, DIGITS[draw(st.sampled_from(["ascii", "arabic-indic", "full-width"]))]),
                     "max": maximum})
    return rows


def _expected_period(r: dict) -> str | None:
    """The naive reading: the ASCII year (and quarter), a period only from 1901 to 2099 (each with a year before it)."""
    if not 1901 <= r["year"] <= 2099:
        return None
    return f"{r['year']}-Q{r['quarter']}" if r["indicator"] == "dossier.received_online" else str(r["year"])


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    from reformkpi.store import CommitInfo, Store
    store = Store(tmp_path_factory.mktemp("fuzz") / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="fuzz", operation="init"))
    return store


@pytest.mark.slow
@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=long_rows())
def test_unicode_digits_non_finite_numbers_and_far_years_end_in_canonical_rows_or_problems(fuzz_store, rows):
    from reformkpi import ingest, periods
    from reformkpi.ingest import validate
    from reformkpi.store import conform, refuse_unfit
    head = ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị", "Điểm tối đa"]
    body = [[r["unit"], r["indicator"], r["period"], r["value"], r["max"]] for r in rows]
    data = "\r\n".join(";".join(c for c in line) for line in [head, *body]).encode("utf-8")
    up = ingest.prepare(fuzz_store, data, "f.csv", today=dt.date(2026, 11, 27), catalog=_catalog)
    assert all(p.message("vi") and p.message("en") and p.row for p in up.errors)
    errors = {(p.code, p.row) for p in up.errors}
    for row, r in enumerate(rows, start=2):
        # Refused exactly when the naive reading of the ASCII digits is no period or no finite number.
        assert (("period_malformed", row) in errors) == (_expected_period(r) is None)
        finite = math.isfinite(float(r["number"]))
        assert (("value_not_number", row) in errors or ("value_missing", row) in errors) == (not finite)
    if not up.valid:
        return
    got = up.observations.sort_values("row")
    assert list(got["period"]) == [_expected_period(r) for r in rows]
    assert got["period"].map(periods.is_canonical).all()
    assert got["value"].map(math.isfinite).all()
    counts = got["indicator_id"] == "dossier.received_online"
    assert (got.loc[counts, "value"] <= _catalog.indicator("dossier.received_online")["ceiling"]).all()
    points = got["indicator_id"] == "par.total"
    assert (got.loc[points, "max_value"] > 0).all() and got.loc[points, "max_value"].map(math.isfinite).all()
    refuse_unfit(conform(got.drop(columns=[*validate.WHERE, "note"])))  # what the commit checks
