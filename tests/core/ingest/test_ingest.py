"""Uploads: every format, encoding and number style; every validation rule with the file's own
row and column; diff, commit, replace, rollback; and nothing written after a rejection."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import unicodedata
import zipfile

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reformkpi import cli, ingest, versions
from reformkpi.auth import ANONYMOUS, Actor, PermissionDenied
from reformkpi.catalog import Catalog
from reformkpi.ingest import parse, profiles, templates, text

ANALYST, CHI, ADMIN = Actor("a", "analyst"), Actor("chi.nguyen", "analyst"), Actor("quan.tri", "admin")

TODAY = dt.date(2026, 11, 27)
LONG_HEAD = ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"]


TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def cp1258(s: str) -> bytes:
    """As Windows-1258 writes Vietnamese: precomposed vowels (ơ, â) with the tone as a combining mark."""
    out = []
    for ch in s:
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in TONE_MARKS)
        out.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS)) + tones)
    return "".join(out).encode("cp1258")


def csv_bytes(rows, encoding="utf-8", delimiter=",") -> bytes:
    body = "\r\n".join(delimiter.join(str(c) for c in r) for r in rows)
    return cp1258(body) if encoding == "cp1258" else body.encode(encoding)


def xlsx_bytes(rows, percent_cells=(), merges=()) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(list(r))
    for ref in percent_cells:
        ws[ref].number_format = "0.0%"
    for ref in merges:
        ws.merge_cells(ref)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def state(store) -> tuple:
    """The store's version and every file under it: equal before and after means nothing was written."""
    files = sorted((os.path.relpath(os.path.join(d, f), store.uri), os.path.getsize(os.path.join(d, f)))
                   for d, _, fs in os.walk(store.uri) for f in fs)
    return store.version(), tuple(files)


def prep(store, data, name="f.csv", **kw):
    return ingest.prepare(store, data, name, today=TODAY, **kw)


def where(up) -> list[tuple]:
    return [(p.code, p.row, p.column) for p in up.errors]


# --- numbers, periods, names ---

def test_numbers_as_vietnamese_write_them():
    s = pd.Series(["77,4", "77,4%", "1.234", "1.234,5", "77.4", "0.774", "1,234.5", " 1 234 ", "abc", ""])
    values, pct = text.numbers(s)
    assert values.tolist()[:8] == [77.4, 77.4, 1234.0, 1234.5, 77.4, 0.774, 1234.5, 1234.0]
    assert values[8:].isna().all() and pct.tolist()[:2] == [False, True]
    assert text.numbers(pd.Series(["4.876"]), decimal=".")[0][0] == 4.876


@pytest.mark.parametrize("raw, canonical", [
    ("2019", "2019"), (2019.0, "2019"), ("Năm 2019", "2019"), ("2019-Q3", "2019-Q3"), ("Q3/2019", "2019-Q3"),
    ("Quý III/2019", "2019-Q3"), ("quý 3 năm 2019", "2019-Q3"), ("07/2019", "2019-07"), ("Tháng 7/2019", "2019-07"),
    ("2019-13", None), ("Q5/2019", None), ("abc", None)])
def test_periods_as_written(raw, canonical):
    assert text.period(raw) == canonical


# --- formats and encodings ---

ROWS = [LONG_HEAD, ["Sở Tư pháp", "sipas.overall", "2019", "77,4"], ["so-y-te", "sipas.overall", "2019", "81,5%"]]


@pytest.mark.parametrize("encoding, delimiter", [
    ("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("cp1258", ";")])
def test_csv_encodings_and_delimiters(tmp_store, encoding, delimiter):
    rows = [[f'"{c}"' if delimiter == "," and "," in str(c) else c for c in r] for r in ROWS]
    up = prep(tmp_store, csv_bytes(rows, encoding, delimiter))
    assert up.valid, where(up)
    assert up.observations[["unit_id", "value"]].values.tolist() == [["so-tu-phap", 77.4], ["so-y-te", 81.5]]


def test_windows_1258_combining_marks_are_normalised(tmp_store):
    # Windows-1258 writes some diacritics as a base letter plus a combining mark.
    data = csv_bytes([LONG_HEAD, ["Sở Tư pháp", "sipas.overall", "2019", "80"]], "cp1258")
    assert "\u0301".encode("cp1258") in data  # the tone of "á" as a separate mark
    up = prep(tmp_store, data)
    assert up.valid and up.observations["unit_id"].tolist() == ["so-tu-phap"]


def test_xlsx_title_rows_two_row_header_totals_and_blank_rows(tmp_store):
    rows = [
        ["BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ TTHC QUÝ II/2024"],
        [],
        ["STT", "Đơn vị", "Kỳ", "Tồn kỳ trước", "Tiếp nhận", None, "Đã giải quyết", None, None, "Thư xin lỗi"],
        [None, None, None, None, "Trực tuyến", "Trực tiếp", "Trước hạn", "Đúng hạn", "Quá hạn", None],
        [1, "Sở Tư pháp", "Quý II/2024", 3, 40, 10, 20, 25, 2, 1],
        [],
        [2, "VPUBND", "Quý II/2024", "1.234", 5, 5, 4, 5, 1, 0],
        ["Tổng cộng", None, None, 1237, 45, 15, 24, 30, 3, 1],
    ]
    data = xlsx_bytes(rows, merges=["E3:F3", "G3:I3", "A3:A4", "B3:B4"])
    up = prep(tmp_store, data, "bao-cao.xlsx")
    assert up.valid, where(up)
    assert up.mapping["Tiếp nhận Trực tuyến"] == "ind:dossier.received_online"
    assert up.mapping["Đã giải quyết Quá hạn"] == "ind:dossier.resolved_late"
    obs = up.observations.set_index(["unit_id", "indicator_id"])
    assert obs.loc[("van-phong-ubnd", "dossier.carried_over"), "value"] == 1234
    assert obs.loc[("so-tu-phap", "dossier.resolved_late"), "row"] == 5
    assert set(obs.index.get_level_values(0)) == {"so-tu-phap", "van-phong-ubnd"}  # no totals row
    assert up.diff.new.num_rows == 14  # 7 indicators × 2 units


def test_xlsx_percent_cells_and_parquet(tmp_store):
    data = xlsx_bytes([LONG_HEAD, ["STP", "sipas.overall", 2019, 0.774]], percent_cells=["D2"])
    up = prep(tmp_store, data, "f.xlsx")
    assert up.valid and up.observations["value"].tolist() == [77.4]
    buf = io.BytesIO()
    pq.write_table(pa.table({"unit_id": ["so-y-te"], "indicator_id": ["sipas.overall"], "period": ["2020"],
                             "value": [85.0]}), buf)
    up = prep(tmp_store, buf.getvalue(), "f.parquet")
    assert up.valid and up.observations["value"].tolist() == [85.0] and up.observations["row"].tolist() == [2]


def test_refused_before_parsing(tmp_store):
    before = state(tmp_store)
    xlsx = xlsx_bytes([LONG_HEAD])
    assert where(prep(tmp_store, xlsx, "macro.xlsm")) == [("macro_file", None, None)]
    assert where(prep(tmp_store, b"x" * 2048, "f.csv", limits=parse.Limits(max_bytes=1024))) == [("too_large", None, None)]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * 5_000_000)
    assert where(prep(tmp_store, bomb.getvalue(), "bomb.xlsx"))[0][0] == "zip_bomb"
    assert where(prep(tmp_store, b"%PDF", "f.pdf")) == [("unsupported_format", None, None)]
    rows = [LONG_HEAD] + [["STP", "sipas.overall", str(2000 + i), "80"] for i in range(5)]
    assert where(prep(tmp_store, csv_bytes(rows), limits=parse.Limits(max_rows=3))) == [("too_many_rows", None, None)]
    assert where(prep(tmp_store, csv_bytes([["a", "b"], ["1", "2"]]))) == [("no_layout", None, None)]
    assert where(prep(tmp_store, b"\r\n\r\n")) == [("no_header", None, None)]
    wb = openpyxl.Workbook()
    wb.active.append(LONG_HEAD)
    wb.create_sheet("Trang 2")
    buf = io.BytesIO()
    wb.save(buf)
    assert where(prep(tmp_store, buf.getvalue(), "f.xlsx", limits=parse.Limits(max_sheets=1))) == [
        ("too_many_sheets", None, None)]
    assert where(prep(tmp_store, csv_bytes(rows), limits=parse.Limits(max_columns=3))) == [
        ("too_many_columns", None, None)]
    assert state(tmp_store) == before


# --- validation: every rule, with the file's row and column ---

def test_every_rule_names_row_column_and_value(tmp_store):
    rows = [
        ["Báo cáo số liệu"],                                                    # 1 title
        ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị", "Điểm tối đa"],                      # 2 header
        ["Sở Tư phap", "sipas.overall", "2019", "80", ""],                       # 3 ok (case, diacritics folded)
        ["Sở Tư pháo", "sipas.overall", "2019", "80", ""],                       # 4 unknown unit
        ["STP", "sipas.nope", "2019", "80", ""],                                 # 5 unknown indicator
        ["STP", "sipas.overall", "2019/Q9", "80", ""],                           # 6 malformed period
        ["STP", "sipas.overall", "2030", "80", ""],                              # 7 future
        ["STP", "sipas.overall", "2019-Q3", "80", ""],                           # 8 wrong frequency
        ["Sở Nông nghiệp và Môi trường", "sipas.overall", "2019", "80", ""],       # 9 not yet in office
        ["STP", "sipas.f1", "2019", "tám mươi", ""],                              # 10 not a number
        ["STP", "dossier.resolved_late", "2019-Q1", "-3", ""],                   # 11 negative count
        ["STP", "dossier.resolved_early", "2019-Q1", "2,5", ""],                 # 12 non-integer count
        ["STP", "sipas.f2", "2019", "104,5", ""],                                # 13 percent > 100
        ["STP", "par.area1", "2019", "12", "11"],                                # 14 points above max
        ["STP", "par.area2", "2019", "5", ""],                                   # 15 points without max
        ["STP", "sipas.overall", "2019", "81", ""],                              # 16 duplicate of row 3
        ["STP", "sipas.f3", "2019", "", ""],                                     # 17 missing value
        ["STP", "dossier.late_rate", "2019-Q1", "5", ""],                        # 18 derived rate
    ]
    before = state(tmp_store)
    up = prep(tmp_store, csv_bytes(rows, delimiter=";"))
    assert where(up) == [
        ("unknown_unit", 4, "Đơn vị"), ("unknown_indicator", 5, "Chỉ số"), ("period_malformed", 6, "Kỳ"),
        ("period_future", 7, "Kỳ"), ("period_frequency", 8, "Kỳ"), ("unit_inactive", 9, "Đơn vị"),
        ("value_not_number", 10, "Giá trị"), ("negative_count", 11, "Giá trị"),
        ("non_integer_count", 12, "Giá trị"), ("percent_range", 13, "Giá trị"),
        ("points_above_max", 14, "Giá trị"), ("points_missing_max", 15, "Giá trị"),
        ("duplicate_key", 16, "Giá trị"), ("value_missing", 17, "Giá trị"), ("derived_indicator", 18, "Chỉ số"),
    ]
    msg = {p.code: p.message("vi") for p in up.errors}
    assert msg["unknown_unit"].startswith("Dòng 4, cột «Đơn vị»: không có đơn vị «Sở Tư pháo»")
    assert "Sở Tư pháp" in msg["unknown_unit"]  # the closest suggestion
    assert "dòng 3" in msg["duplicate_key"] and "01/03/2025" in msg["unit_inactive"]
    assert "11" in msg["points_above_max"] and "2019" in msg["period_frequency"]
    assert up.errors[0].message("en").startswith("Row 4, column “Đơn vị”: unit “Sở Tư pháo” is not in the catalog")
    assert all(p.message("en") and p.message("vi") for p in up.errors)  # every message formats in both
    assert up.diff is None and state(tmp_store) == before


def test_parts_inconsistent_with_totals_in_a_wide_sheet(tmp_store):
    head = ["Đơn vị", "Kỳ", "Giải quyết trước hạn", "Giải quyết đúng hạn", "Giải quyết quá hạn", "Đã giải quyết (tổng)"]
    rows = [head, ["STP", "2024-Q1", 10, 20, 5, 35], ["SYT", "2024-Q1", 10, 20, 5, 30],
            ["SNV", "2024-Q1", "", "", 9, 4]]
    before = state(tmp_store)
    up = prep(tmp_store, csv_bytes(rows))
    assert where(up) == [("parts_total", 3, "Đã giải quyết (tổng)"), ("late_gt_resolved", 4, "Giải quyết quá hạn")]
    assert "35" in up.errors[0].message("vi") and "9" in up.errors[1].message("en") and state(tmp_store) == before


def test_suspicious_jump_is_a_warning_not_an_error(tmp_store):
    prep_ok = prep(tmp_store, csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2019", "80"]]))
    ingest.commit(tmp_store, prep_ok, ANALYST)
    up = prep(tmp_store, csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2020", "45"],
                                    ["STP", "dossier.received_online", "2024-Q1", "100"],
                                    ["STP", "dossier.received_online", "2024-Q2", "900"]]))
    assert up.valid and [(p.code, p.row, p.severity) for p in up.warnings] == [("jump", 2, "warning"), ("jump", 4, "warning")]
    assert "(80)" in up.warnings[0].message("vi") and "(100)" in up.warnings[1].message("en")


# --- diff, commit, replace, rollback ---

def test_diff_commit_replace_and_rollback(tmp_store):
    q = [LONG_HEAD, ["STP", "dossier.resolved_late", "2024-Q1", "5"], ["STP", "dossier.resolved_early", "2024-Q1", "7"],
         ["SYT", "dossier.resolved_late", "2024-Q1", "1"]]
    r1 = ingest.commit(tmp_store, prep(tmp_store, csv_bytes(q), "q1.csv"), CHI)
    assert (r1.rows_new, r1.rows_changed) == (3, 0)
    h = tmp_store.history().iloc[0]
    assert (h["user"], h["file_name"], h["rows_new"]) == ("chi.nguyen", "q1.csv", 3) and len(h["sha256"]) == 64

    fixed = [LONG_HEAD, ["STP", "dossier.resolved_late", "2024-Q1", "6"], ["SYT", "dossier.resolved_late", "2024-Q1", "1"]]
    up = prep(tmp_store, csv_bytes(fixed))
    assert (up.diff.new.num_rows, len(up.diff.changed), up.diff.unchanged, len(up.diff.deleted)) == (0, 1, 1, 0)
    ch = up.diff.changed.iloc[0]
    assert (ch["old_value"], ch["value"], ch["old_upload_id"]) == (5.0, 6.0, r1.upload_id)

    up = prep(tmp_store, csv_bytes(fixed), replace=True)
    assert up.diff.deleted[["unit_id", "indicator_id"]].values.tolist() == [["so-tu-phap", "dossier.resolved_early"]]
    r2 = ingest.commit(tmp_store, up, CHI)
    assert (r2.version, r2.rows_changed, r2.rows_deleted) == (r1.version + 1, 1, 1)
    stored = tmp_store.read().to_pandas()
    assert len(stored) == 2 and tmp_store.history().iloc[0]["operation"] == "replace"
    changes = tmp_store.changes(r2.version)
    assert sorted(changes["change"]) == ["changed", "deleted"]

    with pytest.raises(PermissionDenied):  # an analyst uploads but may not roll back
        versions.rollback(tmp_store, r1.version, CHI, "nhập nhầm")
    v = versions.rollback(tmp_store, r1.version, ADMIN, "nhập nhầm")
    assert len(tmp_store.read().to_pandas()) == 3 and tmp_store.history().iloc[0]["reason"] == "nhập nhầm"
    with pytest.raises(ValueError):
        versions.rollback(tmp_store, r1.version, ADMIN, " ")
    for refused in (None, ANONYMOUS, Actor("khach", "viewer")):
        with pytest.raises(PermissionDenied):
            ingest.commit(tmp_store, prep(tmp_store, csv_bytes(fixed)), refused)
    assert tmp_store.version() == v


# --- profiles and templates ---

def test_saved_profile_maps_unknown_headers(tmp_store, tmp_path):
    rows = [["Cơ quan báo cáo", "Thời điểm", "Hài lòng (%)"], ["STP", "2019", "80"]]
    unmapped = prep(tmp_store, csv_bytes(rows))
    assert where(unmapped) == [("no_layout", None, None)]
    assert list(unmapped.mapping) == rows[0]  # shown to the analyst to map by hand
    mapping = {"Cơ quan báo cáo": "unit", "Thời điểm": "period", "Hài lòng (%)": "ind:sipas.overall"}
    profiles.save(tmp_path, profiles.profile_from_mapping("Mẫu Sở Tư pháp", mapping), ANALYST)
    assert "mau-so-tu-phap" in profiles.names(tmp_path) and "papi" in profiles.names(tmp_path)
    up = prep(tmp_store, csv_bytes(rows), profile=profiles.load(tmp_path, "Mẫu Sở Tư pháp"))
    assert up.valid and up.observations["indicator_id"].tolist() == ["sipas.overall"]


def test_templates_round_trip_and_are_formula_safe(tmp_store):
    cat = Catalog.from_tables(tmp_store.read_catalog())
    assert templates.kinds(cat) == ["long", "dossier", "par", "sipas"]
    assert templates.default_period("dossier", cat, TODAY) == "2026-Q3"
    assert templates.default_period("par", cat, TODAY) == "2025"
    for kind in templates.kinds(cat):
        period = templates.default_period(kind, cat, TODAY)
        f = templates.frame(kind, cat, period)
        assert any("(" in c for c in f.columns)
        wb = openpyxl.load_workbook(io.BytesIO(templates.download(kind, cat, period, "xlsx")))
        assert wb.active.max_row == len(f) + 1
        assert templates.download(kind, cat, period, "csv").startswith(b"\xef\xbb\xbf")
    bad = cat.units.copy()
    bad.loc[bad["unit_id"] == "so-y-te", "name_vi"] = "=HYPERLINK(\"http://x\")"
    evil = Catalog(bad, cat.indicators, cat.targets, cat.grade_bands)
    csv = templates.download("sipas", evil, "2024", "csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv


def test_filled_template_is_accepted(tmp_store):
    cat = Catalog.from_tables(tmp_store.read_catalog())
    f = templates.frame("par", cat, "2024")
    for i, c in enumerate(f.columns[2:]):
        f[c] = "4,5" if i % 2 == 0 else "10"
    f[f.columns[-2]], f[f.columns[-1]] = "40,5", "90"
    up = prep(tmp_store, templates.exports.to_xlsx(f), "par.xlsx")
    assert up.valid, where(up)[:3]
    assert len(up.observations) == 9 * len(f)


# --- command line ---

def test_cli_ingest_dry_run_commit_and_rejection(tmp_store, tmp_path, capsys):
    good, bad = tmp_path / "q.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2019", "80"]]))
    bad.write_bytes(csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2019", "800"], ["XYZ", "sipas.overall", "2019", "1"]]))
    v0 = state(tmp_store)
    assert cli.main(["ingest", str(good), "--store", tmp_store.uri, "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_new"] == 1 and state(tmp_store) == v0
    assert cli.main(["ingest", str(bad), "--store", tmp_store.uri, "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (2, "Giá trị", "percent_range"), (3, "Đơn vị", "unknown_unit")]
    assert state(tmp_store) == v0
    assert cli.main(["ingest", str(good), "--store", tmp_store.uri, "--user", "lan"]) == 0
    assert tmp_store.version() == v0[0] + 1 and tmp_store.history().iloc[0]["user"] == "lan"
    assert cli.main(["--store", tmp_store.uri, "--user", "lan", "rollback", str(v0[0]), "--reason", "thử"]) == 0
    assert tmp_store.read().num_rows == 0


def test_xml_entities_in_an_xlsx_are_refused(tmp_store):
    """defusedxml is active for openpyxl: a workbook declaring entities (billion laughs) is not parsed."""
    good = zipfile.ZipFile(io.BytesIO(xlsx_bytes([LONG_HEAD, ["STP", "sipas.overall", "2019", "80"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in good.infolist():
            data = good.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            z.writestr(info, data)
    before = state(tmp_store)
    up = prep(tmp_store, out.getvalue(), "entities.xlsx")
    assert [p.code for p in up.errors] == ["unreadable"], [p.code for p in up.errors]
    assert state(tmp_store) == before


def test_one_mistake_in_a_wide_sheet_is_one_problem(tmp_store):
    head = ["Đơn vị", "Kỳ", "Giải quyết trước hạn", "Giải quyết đúng hạn", "Giải quyết quá hạn"]
    up = prep(tmp_store, csv_bytes([head, ["Sở Tư pháo", "2024-Q1", 10, 20, 5], ["STP", "2024-Q1", 10, 20, 5]]))
    assert where(up) == [("unknown_unit", 2, "Đơn vị")]  # not once per value column
    assert "Sở Tư pháp" in up.errors[0].message("vi")


def test_a_jump_in_a_wide_sheet_names_the_files_own_header(tmp_store):
    head = ["Đơn vị", "Kỳ", "Giải quyết đúng hạn"]
    ingest.commit(tmp_store, prep(tmp_store, csv_bytes([head, ["STP", "2024-Q1", 100]])), ANALYST)
    up = prep(tmp_store, csv_bytes([head, ["STP", "2024-Q2", 900]]))
    assert up.valid and [(p.code, p.row, p.column) for p in up.warnings] == [("jump", 2, "Giải quyết đúng hạn")]
