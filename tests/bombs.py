"""Small files that decompress or decode to far more than they weigh: what a hostile analyst uploads.

Sizes are parameters so that tests build scaled-down bombs (with scaled-down limits) in
milliseconds, and the benchmark builds the full-size ones.
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HEAD = ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"]


def parquet_dictionary(rows: int, chars: int) -> bytes:
    """One long string repeated on every row: a dictionary of one entry and run-length indices."""
    unit = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * chars]))
    table = pa.table({"unit_id": unit, "indicator_id": pa.array(["sipas.overall"] * rows).dictionary_encode(),
                      "period": pa.array(["2019"] * rows).dictionary_encode(), "value": np.zeros(rows)})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def parquet_long_strings(n: int, chars: int) -> bytes:
    """A few very long strings, zstd-compressed to almost nothing."""
    table = pa.table({"unit_id": ["y" * chars] * n, "indicator_id": ["sipas.overall"] * n,
                      "period": ["2019"] * n, "value": np.zeros(n)})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=False, compression_level=3)
    return buf.getvalue()


def xlsx_padded(sheet_bytes: int, ratio: float = 100.0) -> bytes:
    """A sheet of `sheet_bytes` of repetitive XML, padded with a stored part of random bytes so that
    the whole file's compression ratio stays under `ratio`."""
    row = '<row><c t="inlineStr"><is><t>Sở Nội vụ</t></is></c></row>'
    rows = max(1, sheet_bytes // len(row.encode()))
    head = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main"><sheetData>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            chunk = (row * 10_000).encode()
            for _ in range(rows // 10_000):
                sheet.write(chunk)
            sheet.write((row * (rows % 10_000)).encode() + b"</sheetData></worksheet>")
        packed = sum(i.compress_size for i in z.infolist())
        total = sum(i.file_size for i in z.infolist())
        pad = max(0, int(total / ratio) - packed)
        z.writestr(zipfile.ZipInfo("docProps/padding.bin"), os.urandom(pad), zipfile.ZIP_STORED)
    return buf.getvalue()


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '</Types>')
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>')


RECORD_COLUMNS = ["dossier_id", "unit_id", "procedure_code", "procedure_name", "channel",
                  "received_at", "due_at", "resolved_at", "status"]


def records_parquet(rows: int, chars: int, dictionary: bool = True) -> bytes:
    """A records export whose procedure name is one string of `chars` characters on every row:
    with `dictionary`, a dictionary of one entry (a 30,000-character name on 1.9M rows is 57 GB
    decoded in a file of some 30 KB); without, zstd-compressed plain strings."""
    def same(text):
        return (pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array([text]))
                if dictionary else pa.array([text] * rows))
    table = pa.table({
        "dossier_id": pa.array(np.arange(rows).astype(str)), "unit_id": same("so-tu-phap"),
        "procedure_code": same("P1"), "procedure_name": same("x" * chars), "channel": same("online"),
        "received_at": same("2025-04-01 08:00:00"), "due_at": same("2025-04-10"), "resolved_at": same(""),
        "status": same("in_progress")})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=dictionary)
    return buf.getvalue()
