"""Reading an uploaded file into a table of cells, each with the file's own row number.

CSV in the encodings Vietnamese offices produce (UTF-8 with or without BOM, UTF-16 as Excel's
"Unicode text", Windows-1258) with comma, semicolon or tab; XLSX with title rows above the
header, two-row headers from merged cells, blank rows and a totals row; Parquet. Size limits
are checked before anything is parsed: an XLSX is opened only after its zip directory shows no
decompression bomb (each part's and the whole's declared size, and the ratio), a Parquet file is
read only after its footer shows sizes within the budget. Every reader then reads in bounded
batches, counting rows, cells and each cell's length, and stops at the first limit with a
`Problem`. openpyxl parses XML through defusedxml (checked at import).

One module for the three readers (over 300 lines): they share the budget, the cell checks and
the row numbering, and a limit changed in one must change in all.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
import openpyxl
import openpyxl.xml
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl.utils import get_column_letter

from reformkpi.config import MB, Limits
from reformkpi.ingest.problems import IngestError, Problem
from reformkpi.ingest.text import nfc

if not openpyxl.xml.DEFUSEDXML:  # XML entity attacks: refuse to run without defusedxml
    raise ImportError("defusedxml must be installed for openpyxl to parse uploads safely")

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
HEADER_SEARCH_ROWS = 40
TOTAL_LABELS = {"tổng cộng", "tổng", "cộng", "tổng số", "total", "grand total", "tong cong"}


CSV_BATCH_BYTES = 1 << 22


@dataclass
class RawTable:
    """Cells under the header (labels as written, two header rows joined), with file row numbers."""

    frame: pd.DataFrame
    rows: np.ndarray
    file_name: str
    sheet: str = ""
    header_rows: tuple[int, ...] = ()


Scorer = Callable[[list[str]], int]


def read(data: bytes, file_name: str, score: Scorer, limits: Limits = Limits()) -> RawTable:
    """The table in the file; `score` says how many header labels it recognises (to find the header)."""
    if len(data) > limits.max_bytes:
        raise IngestError([Problem("too_large", fields={"size": len(data) // MB, "limit": limits.max_bytes // MB})])
    if len(file_name) > limits.max_name_chars:
        raise IngestError([Problem("name_too_long", value=file_name[:40] + "…",
                                   fields={"n": len(file_name), "limit": limits.max_name_chars})])
    suffix = PurePath(file_name).suffix.lower()
    if suffix == ".xlsm":
        raise IngestError([Problem("macro_file", value=file_name)])
    kind = FORMATS.get(suffix)
    if kind is None:
        raise IngestError([Problem("unsupported_format", value=suffix or file_name)])
    table = {"csv": _csv, "xlsx": _xlsx, "parquet": _parquet}[kind](data, file_name, score, limits)
    return _clean(table, limits)


def _too_long(row: int | None, column: str, limits: Limits) -> IngestError:
    return IngestError([Problem("field_too_long", row=row, column=column, fields={"limit": limits.max_field_chars})])


def _too_many_cells(limits: Limits) -> IngestError:
    return IngestError([Problem("too_many_cells", fields={"limit": limits.max_cells})])


def _labels(row) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else " ".join(nfc(v).split()) for v in row]


def _combine(top: list[str], sub: list[str]) -> list[str]:
    """Two header rows from merged cells: a group label spans the sub-labels to its right."""
    out, group = [], ""
    for a, b in zip(top, sub):
        group = a or (group if b else "")
        out.append(f"{group} {b}".strip() if b else a)
    return out


def find_header(grid: list[list], score: Scorer) -> tuple[int, int, list[str]]:
    """(index of the header's first row, 1 or 2 header rows, labels) that `score` recognises best."""
    best: tuple = (0, 0, 1, [])
    for i, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        one = _labels(row)
        options = [(score(one), 1, one)]
        if i + 1 < len(grid):
            nxt = _labels(grid[i + 1])
            nxt += [""] * (len(one) - len(nxt))
            two = _combine(one + [""] * (len(nxt) - len(one)), nxt)
            options.append((score(two), 2, two))
        s, n, labels = max(options, key=lambda o: (o[0], -o[1]))
        if s > best[0]:
            best = (s, i, n, labels)
    if best[0] < 2:
        raise IngestError([Problem("no_header")])
    return best[1], best[2], best[3]


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, label in enumerate(labels):
        label = label or f"#{i + 1}"
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


# --- CSV ---

def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): a BOM decides; else UTF-8 if it decodes; else Windows-1258."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8"), "utf-8-sig"
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16"), "utf-16"
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return data.decode("cp1258"), "cp1258"
    except UnicodeDecodeError as e:  # a byte no encoding above can read: say where it is
        raise IngestError([Problem("encoding", fields={"offset": e.start})]) from e


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits most lines into the same number of fields (tab, then ;, then ,)."""
    lines = [ln for ln in lines if ln.strip()]
    best, best_score = ",", -1
    for d in ("\t", ";", ","):
        counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        width = max(set(counts), key=counts.count) if counts else 1
        consistent = counts.count(width)
        score = consistent * 1000 + width if width > 1 else 0
        if score > best_score:
            best, best_score = d, score
    return best


def _head(text: str) -> tuple[list[list[str]], str, list[int]]:
    """The first lines as cells, the delimiter, and the lines too long to split here."""
    head = [ln.rstrip("\r") for ln in text.split("\n", HEADER_SEARCH_ROWS + 2)[:HEADER_SEARCH_ROWS + 1]]
    # A line the csv module would refuse with its own words is blank for finding the header; below
    # the header, the full read names its cell, and above it, it stops the read here.
    overlong = [i for i, line in enumerate(head) if len(line) > csv.field_size_limit()]
    for i in overlong:
        head[i] = ""
    try:
        delimiter = sniff_delimiter(head)
        grid = list(csv.reader(head, delimiter=delimiter))
    except csv.Error as e:
        raise IngestError([Problem("unreadable", value=str(e)[:200])]) from e
    return grid, delimiter, overlong


def check_field_lengths(batch: pa.RecordBatch, first_row: int, limits: Limits) -> None:
    """A text cell over the length limit stops the read at that cell."""
    for name, col in zip(batch.schema.names, batch.columns):
        if col.null_count == len(col) or not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        too_long = pc.greater(pc.utf8_length(col), limits.max_field_chars)
        if pc.any(too_long).as_py():
            raise _too_long(first_row + pc.index(too_long, True).as_py(), name, limits)


def _check_text_batch(batch: pa.RecordBatch, first_row: int, limits: Limits) -> None:
    """A cell over the length limit, or holding a line break (the file's row numbers would no longer
    be its lines), stops the read at that cell."""
    check_field_lengths(batch, first_row, limits)
    for name, col in zip(batch.schema.names, batch.columns):
        if col.null_count == len(col):
            continue
        broken = pc.match_substring_regex(col, "[\r\n]")
        if pc.any(broken).as_py():
            raise IngestError([Problem("line_break", row=first_row + pc.index(broken, True).as_py(), column=name)])


def _csv(data: bytes, file_name: str, score: Scorer, limits: Limits) -> RawTable:
    text, encoding = decode(data)
    text = nfc(text)  # Windows-1258 and some exports write diacritics as combining marks
    grid, delimiter, overlong = _head(text)
    start, n, labels = find_header(grid, score)
    if overlong and overlong[0] < start + n:
        raise _too_long(overlong[0] + 1, "", limits)
    for i, row in enumerate(grid[:start + n]):
        for j, cell in enumerate(row):
            if len(cell) > limits.max_field_chars:
                raise _too_long(i + 1, f"#{j + 1}", limits)
    labels = _unique(labels)
    if len(labels) > limits.max_columns:
        raise IngestError([Problem("too_many_columns", fields={"n": len(labels), "limit": limits.max_columns})])
    skip = start + n
    if not "".join(text.split("\n", skip)[skip:]).strip():
        raise IngestError([Problem("no_rows")])
    bad: list[int] = []

    def invalid(row):
        bad.append(row.number)
        return "skip"

    batches, rows = [], 0
    try:
        reader = pacsv.open_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(skip_rows=skip, column_names=labels, block_size=CSV_BATCH_BYTES,
                                           use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False,
                                             invalid_row_handler=invalid, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in labels},
                                                 strings_can_be_null=True, quoted_strings_can_be_null=False))
        for batch in reader:
            _check_text_batch(batch, skip + 1 + rows + len(bad), limits)
            rows += batch.num_rows
            if rows > limits.max_rows:
                raise IngestError([Problem("too_many_rows", fields={"limit": limits.max_rows})])
            if rows * len(labels) > limits.max_cells:
                raise _too_many_cells(limits)
            if len(bad) > limits.max_rows:
                break
            batches.append(batch)
    except pa.ArrowInvalid as e:
        raise IngestError([Problem("unreadable", value=str(e)[:200])]) from e
    if bad:
        raise IngestError([Problem("row_width", row=r, fields={"n": len(labels)}) for r in bad[:50]])
    schema = pa.schema([(c, pa.string()) for c in labels])
    frame = pa.Table.from_batches(batches, schema).to_pandas()
    return RawTable(frame, np.arange(skip + 1, skip + 1 + len(frame)), file_name, "",
                    tuple(range(start + 1, start + n + 1)))


# --- XLSX ---

def _check_zip(data: bytes, limits: Limits) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError) as e:  # e.g. a "multi-disk" archive
        raise IngestError([Problem("unreadable", value="XLSX")]) from e
    infos = zf.infolist()
    if any(i.filename.lower().endswith("vbaproject.bin") for i in infos):
        raise IngestError([Problem("macro_file", value="vbaProject.bin")])
    # zipfile stops every part at its declared size, so the directory's sizes bound what is read.
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    largest = max((i.file_size for i in infos), default=0)
    if total > limits.max_unzipped_bytes or largest > limits.max_part_bytes or total / packed > limits.max_zip_ratio:
        raise IngestError([Problem("zip_bomb", fields={"size": total // MB, "ratio": round(total / packed)})])


def _cell(c):
    v = c.value
    if v is None:
        return None
    # A cell shown as 77,4% holds 0.774: the analyst means the number on the screen.
    if isinstance(v, (int, float)) and not isinstance(v, bool) and "%" in (c.number_format or ""):
        return round(v * 100, 10)
    return v


def _xlsx_row(row, number: int, limits: Limits) -> list:
    if len(row) > limits.max_columns and any(c.value is not None for c in row[limits.max_columns:]):
        raise IngestError([Problem("too_many_columns", row=number, fields={"n": len(row), "limit": limits.max_columns})])
    values = [_cell(c) for c in row[:limits.max_columns]]
    for j, v in enumerate(values):
        if isinstance(v, str) and len(v) > limits.max_field_chars:
            raise _too_long(number, get_column_letter(j + 1), limits)
    return values


def _xlsx(data: bytes, file_name: str, score: Scorer, limits: Limits) -> RawTable:
    _check_zip(data, limits)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except MemoryError:
        raise
    except Exception as e:  # openpyxl raises many kinds for a broken file
        raise IngestError([Problem("unreadable", value=type(e).__name__)]) from e
    try:
        if len(wb.sheetnames) > limits.max_sheets:
            raise IngestError([Problem("too_many_sheets", fields={"n": len(wb.sheetnames), "limit": limits.max_sheets})])
        found, cells = [], 0
        for ws in wb.worksheets:
            ws.reset_dimensions()  # a declared A1:XFD1048576 would pad every row to 16,384 cells
            grid: list[list] = []
            for row in ws.iter_rows(min_row=1):  # rows come contiguous from 1, blank ones included
                grid.append(_xlsx_row(row, len(grid) + 1, limits))
                cells += len(row)
                if len(grid) > limits.max_rows + HEADER_SEARCH_ROWS:
                    raise IngestError([Problem("too_many_rows", fields={"limit": limits.max_rows})])
                if cells > limits.max_cells:
                    raise _too_many_cells(limits)
            try:
                start, n, labels = find_header(grid, score)
            except IngestError:
                continue
            found.append((score(labels), ws.title, grid, start, n, labels))
    except (IngestError, MemoryError):
        raise
    except Exception as e:  # sheets are parsed lazily: a hostile or broken sheet fails here
        raise IngestError([Problem("unreadable", value=type(e).__name__)]) from e
    finally:
        wb.close()
    if not found:
        raise IngestError([Problem("no_header")])
    _, title, grid, start, n, labels = max(found, key=lambda f: f[0])
    labels = _unique(labels)
    body = grid[start + n:]
    width = len(labels)
    frame = pd.DataFrame([(r + [None] * width)[:width] for r in body], columns=labels, dtype=object)
    rows = np.arange(start + n + 1, start + n + 1 + len(body))
    return RawTable(frame, rows, file_name, title, tuple(range(start + 1, start + n + 1)))


# --- Parquet ---

PARQUET_BATCH_ROWS = 65_536


def flat(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return any(check(t) for check in (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer,
                                      pa.types.is_floating, pa.types.is_boolean, pa.types.is_date,
                                      pa.types.is_timestamp, pa.types.is_decimal, pa.types.is_null))


def decoded_bytes(col: pa.Array, limits: Limits, name: str, first_row: int) -> int:
    """What a column of a batch takes once its dictionary is expanded (text only: numbers are fixed
    width); a cell over the length limit stops here, before anything is expanded."""
    if not pa.types.is_dictionary(col.type):
        return col.nbytes
    if not (pa.types.is_string(col.type.value_type) or pa.types.is_large_string(col.type.value_type)):
        return col.indices.nbytes + col.dictionary.nbytes
    lengths = pc.take(pc.utf8_length(col.dictionary), col.indices)
    too_long = pc.greater(lengths, limits.max_field_chars)
    if pc.any(too_long).as_py():
        raise _too_long(first_row + pc.index(too_long, True).as_py(), name, limits)
    return (pc.sum(lengths).as_py() or 0) + 8 * len(col)


def parquet_footer(source, limits: Limits) -> tuple[pq.FileMetaData, pa.Schema]:
    """What a Parquet file's footer declares (rows, columns, cells, flat types, uncompressed
    sizes), refused past the limits before any data is read; `source` is a path or a file object."""
    try:
        meta = pq.ParquetFile(source).metadata
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError, ValueError) as e:  # ValueError: names that are not UTF-8
        raise IngestError([Problem("unreadable", value="Parquet")]) from e
    if meta.num_rows > limits.max_rows:
        raise IngestError([Problem("too_many_rows", fields={"limit": limits.max_rows})])
    if meta.num_columns > limits.max_columns:
        raise IngestError([Problem("too_many_columns", fields={"n": meta.num_columns, "limit": limits.max_columns})])
    if meta.num_rows * meta.num_columns > limits.max_cells:
        raise _too_many_cells(limits)
    for f in schema:
        if not flat(f.type):
            raise IngestError([Problem("unsupported_column", column=str(f.name)[:100], value=str(f.type)[:100])])
    declared = sum(meta.row_group(i).column(j).total_uncompressed_size
                   for i in range(meta.num_row_groups) for j in range(meta.num_columns))
    if declared > limits.max_decoded_bytes:
        raise IngestError([Problem("too_large_decoded", fields={"size": declared // MB,
                                                                "limit": limits.max_decoded_bytes // MB})])
    return meta, schema


def _parquet(data: bytes, file_name: str, score: Scorer, limits: Limits) -> RawTable:
    """Footer first, then batches read with text as dictionaries, so a repeated long string is
    measured before it is expanded."""
    meta, schema = parquet_footer(io.BytesIO(data), limits)
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    batches, rows, decoded = [], 0, 0
    try:
        pf = pq.ParquetFile(io.BytesIO(data), read_dictionary=text)
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, use_threads=False):
            decoded += sum(decoded_bytes(c, limits, n, 2 + rows) for n, c in zip(batch.schema.names, batch.columns))
            if decoded > limits.max_decoded_bytes:
                raise IngestError([Problem("too_large_decoded", fields={"size": decoded // MB,
                                                                        "limit": limits.max_decoded_bytes // MB})])
            rows += batch.num_rows
            batches.append(pa.RecordBatch.from_arrays(
                [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns],
                names=batch.schema.names))
        table = pa.Table.from_batches(batches) if batches else schema.empty_table()
        table.validate(full=True)  # text that is not UTF-8 fails here, not later in a string operation
        frame = table.to_pandas()
    except MemoryError:
        raise
    except (pa.ArrowException, OSError) as e:  # a footer that lies about its pages fails here
        raise IngestError([Problem("unreadable", value="Parquet")]) from e
    frame.columns = _unique(_labels(frame.columns))
    if any(len(c) > limits.max_field_chars for c in frame.columns):
        raise _too_long(1, "", limits)
    if score(list(frame.columns)) < 2:
        raise IngestError([Problem("no_header")])
    # Row 1 is the header, as if the table were opened in a spreadsheet.
    return RawTable(frame, np.arange(2, 2 + len(frame)), file_name, "", (1,))


def _clean(t: RawTable, limits: Limits) -> RawTable:
    """Drop blank rows and a totals row; enforce the row and column limits."""
    f = t.frame
    if f.shape[1] > limits.max_columns:
        raise IngestError([Problem("too_many_columns", fields={"n": f.shape[1], "limit": limits.max_columns})])
    if len(f) > limits.max_rows:
        raise IngestError([Problem("too_many_rows", fields={"limit": limits.max_rows})])
    keep = np.zeros(len(f), dtype=bool)
    total = np.zeros(len(f), dtype=bool)
    for i, col in enumerate(f.columns):
        s = f[col]
        if pd.api.types.is_numeric_dtype(s):
            keep |= s.notna().to_numpy()
            continue
        text = s.astype("string").str.strip()
        keep |= (text.fillna("") != "").to_numpy()
        if i < 3:
            total |= text.str.lower().isin(TOTAL_LABELS).fillna(False).to_numpy(dtype=bool)
    keep &= ~total
    if not keep.any():  # a header and nothing under it
        raise IngestError([Problem("no_rows")])
    if keep.all():
        return t
    return RawTable(f[keep].reset_index(drop=True), t.rows[keep], t.file_name, t.sheet, t.header_rows)
