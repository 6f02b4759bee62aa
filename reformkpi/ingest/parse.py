"""Reading an uploaded file into a table of cells, each with the file's own row number.

CSV in the encodings Vietnamese offices produce (UTF-8 with or without BOM, UTF-16 as Excel's
"Unicode text", Windows-1258) with comma, semicolon or tab; XLSX with title rows above the
header, two-row headers from merged cells, blank rows and a totals row; Parquet. Size limits
are checked before anything is parsed, and an XLSX is opened only after its zip directory shows
no decompression bomb. openpyxl parses XML through defusedxml (checked at import).
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
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reformkpi import config
from reformkpi.ingest.problems import IngestError, Problem
from reformkpi.ingest.text import nfc

if not openpyxl.xml.DEFUSEDXML:  # XML entity attacks: refuse to run without defusedxml
    raise ImportError("defusedxml must be installed for openpyxl to parse uploads safely")

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
HEADER_SEARCH_ROWS = 40
TOTAL_LABELS = {"tổng cộng", "tổng", "cộng", "tổng số", "total", "grand total", "tong cong"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = config.UPLOAD_MAX_MB * 1024 * 1024
    max_rows: int = 2_000_000
    max_columns: int = 200
    max_sheets: int = 30
    max_unzipped_bytes: int = 1024 * 1024 * 1024
    max_zip_ratio: float = 150.0


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
        raise IngestError([Problem("too_large", fields={"size": len(data) // 1024 // 1024,
                                                        "limit": limits.max_bytes // 1024 // 1024})])
    suffix = PurePath(file_name).suffix.lower()
    if suffix == ".xlsm":
        raise IngestError([Problem("macro_file", value=file_name)])
    kind = FORMATS.get(suffix)
    if kind is None:
        raise IngestError([Problem("unsupported_format", value=suffix or file_name)])
    table = {"csv": _csv, "xlsx": _xlsx, "parquet": _parquet}[kind](data, file_name, score, limits)
    return _clean(table, limits)


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
    best = (0, 0, 1, [])
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
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1258"), "cp1258"


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


def _csv(data: bytes, file_name: str, score: Scorer, limits: Limits) -> RawTable:
    text, encoding = decode(data)
    text = nfc(text)  # Windows-1258 and some exports write diacritics as combining marks
    head = text.split("\n", HEADER_SEARCH_ROWS + 2)[:HEADER_SEARCH_ROWS + 1]
    head = [ln.rstrip("\r") for ln in head]
    delimiter = sniff_delimiter(head)
    grid = list(csv.reader(head, delimiter=delimiter))
    start, n, labels = find_header(grid, score)
    labels = _unique(labels)
    skip = start + n

    def load(threads: bool) -> tuple[pa.Table, list]:
        bad: list = []

        def invalid(row):
            bad.append(row.number)
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(skip_rows=skip, column_names=labels, block_size=1 << 24,
                                           use_threads=threads),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False,
                                             invalid_row_handler=invalid, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in labels},
                                                 strings_can_be_null=True, quoted_strings_can_be_null=False))
        return table, bad

    try:
        table, bad = load(threads=True)
        if bad:  # only a single-threaded read knows the line numbers of bad rows
            table, bad = load(threads=False)
    except pa.ArrowInvalid as e:
        raise IngestError([Problem("unreadable", value=str(e)[:200])]) from e
    if bad:
        raise IngestError([Problem("row_width", row=r, fields={"n": len(labels)}) for r in bad[:50]])
    frame = table.to_pandas()
    return RawTable(frame, np.arange(skip + 1, skip + 1 + len(frame)), file_name, "",
                    tuple(range(start + 1, start + n + 1)))


# --- XLSX ---

def _check_zip(data: bytes, limits: Limits) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise IngestError([Problem("unreadable", value="XLSX")]) from e
    infos = zf.infolist()
    if any(i.filename.lower().endswith("vbaproject.bin") for i in infos):
        raise IngestError([Problem("macro_file", value="vbaProject.bin")])
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > limits.max_unzipped_bytes or total / packed > limits.max_zip_ratio:
        raise IngestError([Problem("zip_bomb", fields={"size": total // 1024 // 1024,
                                                       "ratio": round(total / packed)})])


def _cell(c):
    v = c.value
    if v is None:
        return None
    # A cell shown as 77,4% holds 0.774: the analyst means the number on the screen.
    if isinstance(v, (int, float)) and not isinstance(v, bool) and "%" in (c.number_format or ""):
        return round(v * 100, 10)
    return v


def _xlsx(data: bytes, file_name: str, score: Scorer, limits: Limits) -> RawTable:
    _check_zip(data, limits)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a broken file
        raise IngestError([Problem("unreadable", value=type(e).__name__)]) from e
    try:
        if len(wb.sheetnames) > limits.max_sheets:
            raise IngestError([Problem("too_many_sheets", fields={"n": len(wb.sheetnames), "limit": limits.max_sheets})])
        found = []
        for ws in wb.worksheets:
            grid = []
            for row in ws.iter_rows(min_row=1):  # rows come contiguous from 1, blank ones included
                grid.append([_cell(c) for c in row])
                if len(grid) > limits.max_rows + HEADER_SEARCH_ROWS:
                    raise IngestError([Problem("too_many_rows", fields={"limit": limits.max_rows})])
            try:
                start, n, labels = find_header(grid, score)
            except IngestError:
                continue
            found.append((score(labels), ws.title, grid, start, n, labels))
    except IngestError:
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

def _parquet(data: bytes, file_name: str, score: Scorer, limits: Limits) -> RawTable:
    try:
        pf = pq.ParquetFile(io.BytesIO(data))
    except pa.ArrowException as e:
        raise IngestError([Problem("unreadable", value="Parquet")]) from e
    if pf.metadata.num_rows > limits.max_rows:
        raise IngestError([Problem("too_many_rows", fields={"limit": limits.max_rows})])
    if pf.metadata.num_columns > limits.max_columns:
        raise IngestError([Problem("too_many_columns", fields={"n": pf.metadata.num_columns, "limit": limits.max_columns})])
    frame = pf.read().to_pandas()
    frame.columns = _unique(_labels(frame.columns))
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
    if keep.all():
        return t
    return RawTable(f[keep].reset_index(drop=True), t.rows[keep], t.file_name, t.sheet, t.header_rows)
