"""Files an attack used: each once gave a traceback or exhausted memory; now each gives a typed
problem (file row and column where there is one), quickly, and writes nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reformkpi import cli
from reformkpi.config import MB, Limits
from reformkpi.ingest import isolated
from tests import bombs
from tests.core.ingest.test_ingest import LONG_HEAD, csv_bytes, prep, state, where, xlsx_bytes

ROW = ["STP", "sipas.overall", "2019", "80"]


def empty_parquet() -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({c: pa.array([], pa.string()) for c in ("unit_id", "indicator_id", "period", "value")}), buf)
    return buf.getvalue()


@pytest.mark.parametrize("name, data", [
    ("f.csv", csv_bytes([LONG_HEAD])),
    ("f.xlsx", xlsx_bytes([LONG_HEAD])),
    ("f.parquet", empty_parquet()),
])
def test_a_header_without_rows_is_a_problem(tmp_store, name, data):
    assert where(prep(tmp_store, data, name)) == [("no_rows", None, None)]


def test_line_breaks_inside_quoted_cells_name_the_cell(tmp_store):
    for cell in ('"Sở\rTư pháp"', '"Sở\r\nTư pháp"', '"Sở\nTư pháp"'):
        data = ("Đơn vị,Chỉ số,Kỳ,Giá trị\r\nSTP,sipas.overall,2019,80\r\n" + cell + ",sipas.overall,2020,81\r\n").encode()
        assert where(prep(tmp_store, data)) == [("line_break", 3, "Đơn vị")]


def test_huge_fields_are_refused_with_their_row(tmp_store):
    big = "x" * 140_000  # over the csv module's own 131,072 limit: once "field larger than field limit"
    assert where(prep(tmp_store, csv_bytes([[big], LONG_HEAD, ROW]))) == [("field_too_long", 1, "")]
    assert where(prep(tmp_store, csv_bytes([LONG_HEAD, ROW, [big, "sipas.overall", "2020", "1"]]))) == [
        ("field_too_long", 3, "Đơn vị")]
    assert where(prep(tmp_store, csv_bytes([LONG_HEAD, ROW, ["STP", "y" * 40_000, "2020", "1"]]))) == [
        ("field_too_long", 3, "Chỉ số")]
    xlsx = xlsx_bytes([LONG_HEAD, ROW, ["STP", "sipas.overall", "2020", "z" * 2000]])  # Excel stops at 32,767
    assert where(prep(tmp_store, xlsx, "f.xlsx", limits=Limits(max_field_chars=1000))) == [("field_too_long", 3, "D")]


def test_long_file_names_and_bad_bytes(tmp_store):
    assert where(prep(tmp_store, csv_bytes([LONG_HEAD, ROW]), "x" * 300 + ".csv")) == [("name_too_long", None, None)]
    assert where(prep(tmp_store, b"\xff\xfeA", "f.csv")) == [("encoding", None, None)]  # odd-length UTF-16
    assert where(prep(tmp_store, "Đơn vị;Kỳ\n".encode() + b"\x81\x8a", "f.csv")) == [("encoding", None, None)]


def test_parquet_bombs_are_refused_from_the_footer_or_before_expanding(tmp_store):
    """A dictionary of one string repeated on 1.9 million rows (26 KB on disk, 57 GB decoded), and
    long zstd strings, are refused before anything is expanded (timed in benchmarks/bench_hostile.py)."""
    assert where(prep(tmp_store, bombs.parquet_dictionary(1_900_000, 30_000), "d.parquet")) == [
        ("too_large_decoded", None, None)]
    assert where(prep(tmp_store, bombs.parquet_dictionary(1_900_000, 1_000_000), "d.parquet")) == [
        ("field_too_long", 2, "unit_id")]
    small = Limits(max_decoded_bytes=16 * MB)
    assert where(prep(tmp_store, bombs.parquet_long_strings(3, 8 * MB), "z.parquet", limits=small)) == [
        ("too_large_decoded", None, None)]
    nested = io.BytesIO()
    pq.write_table(pa.table({"unit_id": [["a"]], "indicator_id": ["sipas.overall"], "period": ["2019"], "value": [1.0]}), nested)
    assert where(prep(tmp_store, nested.getvalue(), "n.parquet")) == [("unsupported_column", None, "unit_id")]


def test_xlsx_parts_are_bounded_by_absolute_size_not_only_ratio(tmp_store):
    padded = bombs.xlsx_padded(3 * MB, ratio=100)  # the ratio check alone lets it through
    info = zipfile.ZipFile(io.BytesIO(padded)).infolist()
    assert sum(i.file_size for i in info) / sum(i.compress_size for i in info) < Limits().max_zip_ratio
    assert where(prep(tmp_store, padded, "p.xlsx", limits=Limits(max_part_bytes=2 * MB))) == [("zip_bomb", None, None)]


def test_a_declared_sheet_dimension_does_not_pad_rows(tmp_store):
    """`<dimension ref="A1:XFD1048576"/>` once made every row 16,384 cells wide and added a million rows."""
    good = zipfile.ZipFile(io.BytesIO(xlsx_bytes([LONG_HEAD, ROW])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in good.infolist():
            data = good.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:D2"/>', b'<dimension ref="A1:XFD1048576"/>')
                assert b"XFD1048576" in data
            z.writestr(info, data)
    up = prep(tmp_store, out.getvalue(), "f.xlsx", limits=Limits(max_cells=100))  # padded: 16,384 per row
    assert up.valid and up.rows_read == 1


def test_the_page_worker_caps_memory_and_time(tmp_store):
    """The backstop for what a file hides: the child process runs out of its own memory or time and
    the analyst gets a message; the server process never holds the data (valid files through the
    worker: tests/app/test_upload.py)."""
    before = state(tmp_store)
    bomb = bombs.parquet_dictionary(1_900_000, 30_000)
    unchecked = Limits(max_decoded_bytes=1 << 62, worker_memory_mb=600)
    up = isolated.prepare(tmp_store.uri, bomb, "d.parquet", None, limits=unchecked)
    assert where(up) == [("too_much_memory", None, None)]
    assert "600 MB" in up.errors[0].message("en")
    up = isolated.prepare(tmp_store.uri, csv_bytes([LONG_HEAD, ROW]), "f.csv", None, limits=Limits(worker_seconds=0.01))
    assert where(up) == [("too_slow", None, None)]
    assert state(tmp_store) == before


def test_cli_says_what_is_wrong_with_a_header_only_file(tmp_store, tmp_path, capsys):
    f = tmp_path / "tieu-de.xlsx"
    f.write_bytes(xlsx_bytes([LONG_HEAD]))
    assert cli.main(["ingest", str(f), "--store", tmp_store.uri, "--json"]) == 2
    assert [e["code"] for e in json.loads(capsys.readouterr().out)["errors"]] == ["no_rows"]
