"""Exhibits: the core's frame of a chart, as it leaves in a file, with its header block and takeaway."""

import io

import openpyxl
import pandas as pd

from reformkpi import exhibits, exports
from reformkpi.metrics import ranking, views
from reformkpi.periods import Period
from tests.conftest import absorbing, dataset
from tests.core.metrics.test_metrics import dossiers
from tests.core.test_comparability import RUNNING, quarters

ROWS = [("a", "sat", "2019", 77.4), ("b", "sat", "2019", 85.0), ("c", "sat", "2019", 74.0),
        ("a", "sat", "2018", 75.0), ("b", "sat", "2018", 86.0), ("c", "sat", "2018", 70.0)]


def sat_exhibit(lang="vi", frame=None):
    ds = dataset(ROWS)
    frame = ranking.league_table(ds, "sat", Period(2019), "department", lang) if frame is None else frame
    header = exhibits.header(ds, "sat", "Tỉnh P", lang, Period(2019))
    return exhibits.exhibit(frame, ds, "sat", "Hài lòng 2019", header)


def test_a_league_table_leaves_with_names_headers_precision_and_a_computed_takeaway():
    ex = sat_exhibit()
    # By hand: A 77,4 is 2,6 short of 80; C 74 is 1 short of its own 75; B meets 80. C rose most (70 → 74).
    assert ex.takeaway == ("2/3 đơn vị chưa đạt mục tiêu 80,0%; xa mục tiêu nhất: Sở A (−2,6 điểm %); "
                           "cải thiện nhiều nhất: Sở C (+4,0 điểm %)")
    table = ex.table.set_index("Đơn vị")
    assert list(ex.table.columns[:4]) == ["Hạng", "Đơn vị", "Hài lòng (%)", "Thay đổi (điểm %)"]
    assert table.loc["Sở A", "Hài lòng (%)"] == 77.4 and table.loc["Sở A", "Chênh lệch mục tiêu (điểm %)"] == -2.6
    assert table.loc["Sở C", "Mục tiêu (%)"] == 75.0 and table.loc["Sở B", "Xếp loại"] == "Tốt"
    assert "unit_id" not in ex.table and "meets_target" not in ex.table
    lines = dict(ex.header_lines())
    assert lines["Phiên bản dữ liệu"] == "0" and lines["Kỳ"] == "2019"
    assert lines["Nguồn của từng số liệu (văn bản, hệ thống)"] == "test"  # the observations' own source
    assert lines["Mục tiêu (văn bản, giai đoạn)"] == "80,0% (NQ 30c/NQ-CP, 2016–2020)"
    # the core's context: A, B and C report; A, B, C, district D, X and Y were in office in 2019
    assert lines["Độ bao phủ"] == "3/6 đơn vị có số liệu" and lines["Cách tính"].startswith("toàn tỉnh là trung bình")


def test_takeaways_of_a_trend_a_matrix_and_in_english():
    ds = dataset(ROWS)
    header = exhibits.header(ds, "sat", "P", "en")
    trend = views.province_trend(ds, "sat", "department", "vi")  # means: 2018 (75+86+70)/3 = 77, 2019 78,8
    assert exhibits.exhibit(trend, ds, "sat", "", exhibits.header(ds, "sat", "P", "vi")).takeaway == (
        "2019: 78,8% (+1,8 so với 2018)")
    matrix = pd.DataFrame({"name": ["Sở A", "Sở B"], "2019-Q1": [3.0, 9.5], "2019-Q2": [4.0, 1.0]},
                          index=pd.Index(["a", "b"], name="unit_id"))
    late = exhibits.exhibit(matrix, ds, "late_rate", "", header)
    assert late.takeaway == "Weakest: Sở B, Q1 2019: 9.5%"  # lower is better: the highest rate
    assert list(late.table.columns) == ["Unit", "Q1 2019 (%)", "Q2 2019 (%)"]
    below = views.below_target_years(ds, "sat", "department", (2018, 2019), "vi")  # A: 75, 77,4 < 80; C: 70, 74 < 75
    assert exhibits.takeaway(below, ds, "sat", "vi") == "Chưa đạt mục tiêu nhiều năm nhất: Sở A (2/2 năm)"
    english = sat_exhibit("en")
    assert english.takeaway.startswith("2/3 units miss the 80.0% target; furthest from it: Dept A (−2.6")


def test_a_charts_text_alternative_says_what_it_shows_how_much_and_the_exports_takeaway():
    # By hand (as above): three units, A and C short of their targets, A furthest, C most improved.
    assert exhibits.description(sat_exhibit()) == (
        "Biểu đồ «Hài lòng 2019», 3 dòng số liệu. 2/3 đơn vị chưa đạt mục tiêu 80,0%; xa mục tiêu nhất: "
        "Sở A (−2,6 điểm %); cải thiện nhiều nhất: Sở C (+4,0 điểm %)")
    english = sat_exhibit("en")
    assert exhibits.description(english).startswith(
        "Chart “Hài lòng 2019”, 3 rows of data. 2/3 units miss the 80.0% target;")
    ds = dataset(ROWS)
    one = exhibits.exhibit(views.province_trend(ds, "sat", "department", "vi").tail(1), ds, None, "Xu hướng",
                           exhibits.header(ds, None, "P", "en"))
    assert exhibits.description(one) == "Chart “Xu hướng”, 1 row of data."  # no indicator: no takeaway


def test_a_tables_rows_are_counted_without_making_it():
    # The page's description counts them before its table is made (chart_alt makes it once opened).
    ds = dataset(ROWS)
    league = ranking.league_table(ds, "sat", Period(2019), "department", "vi")
    matrix = pd.DataFrame({"2019-Q1": [3.0, 9.5]}, index=pd.Index(["a", "b"], name="unit_id"))
    trend = views.province_trend(ds, "sat", "department", "vi")
    nothing_shown = pd.DataFrame({"unit_ids": ["a", "b"], "meets_target": [True, False]})
    for frame in (league, matrix, trend, trend.head(0), nothing_shown):
        assert exhibits.table_rows(frame, ds.catalog) == len(exhibits.table(frame, ds.catalog, "sat", "vi")[0])
    assert exhibits.table_rows(nothing_shown, ds.catalog) == 0 and exhibits.table_rows(league, ds.catalog) == 3
    assert exhibits.describe("Hài lòng 2019", 3, sat_exhibit().takeaway, "vi") == exhibits.description(sat_exhibit())


def test_csv_and_xlsx_carry_the_header_block_number_formats_and_stay_formula_safe():
    frame = ranking.league_table(dataset(ROWS), "sat", Period(2019), "department", "vi")
    frame.loc[frame["unit_id"] == "b", "name"] = "=HYPERLINK(\"http://x\")"
    ex = sat_exhibit(frame=frame)
    text = exports.exhibit_csv(ex).decode("utf-8-sig")
    head, _, body = text.partition("\n\n")
    assert "Phiên bản dữ liệu,0" in head and "Nhận định," in head
    table = pd.read_csv(io.StringIO(body))
    assert table.loc[table["Đơn vị"] == "Sở A", "Hài lòng (%)"].iloc[0] == 77.4
    assert "'=HYPERLINK(\"http://x\")" in table["Đơn vị"].tolist()
    ws = openpyxl.load_workbook(io.BytesIO(exports.exhibit_xlsx(ex))).active
    rows = list(ws.iter_rows(values_only=True))
    assert ("Phiên bản dữ liệu", "0") in [r[:2] for r in rows]
    top = next(i for i, r in enumerate(rows) if r[0] == "Hạng")
    col = rows[top].index("Hài lòng (%)")
    a = next(i for i, r in enumerate(rows) if r[1] == "Sở A") + 1
    assert ws.cell(a, col + 1).value == 77.4 and ws.cell(a, col + 1).number_format == '0.0"%"'
    assert all(ws.cell(r, 2).data_type == "s" for r in range(top + 2, top + 5))
    assert "'=HYPERLINK" in [ws.cell(r, 2).value[:11] for r in range(top + 2, top + 5)]


def test_the_satisfaction_unit_chart_of_2019_leaves_with_the_inspection_figure(demo):
    table = ranking.league_table(demo, "sipas.overall", Period(2019), "department", "vi")
    header = exhibits.header(demo, "sipas.overall", "Tỉnh minh họa", "vi", Period(2019))
    ex = exhibits.exhibit(table, demo, "sipas.overall", "Mức độ hài lòng 2019", header)
    back = pd.read_csv(io.StringIO(exports.exhibit_csv(ex).decode("utf-8-sig").partition("\n\n")[2]))
    row = back[back["Đơn vị"] == "Sở Tài nguyên và Môi trường"].iloc[0]
    assert row["Mức độ hài lòng (%)"] == 77.4 and row["Chênh lệch mục tiêu (điểm %)"] == -2.6
    rows = list(openpyxl.load_workbook(io.BytesIO(exports.exhibit_xlsx(ex))).active.iter_rows(values_only=True))
    assert ("Phiên bản dữ liệu", str(demo.version)) in [r[:2] for r in rows]
    assert any(r[1] == "Sở Tài nguyên và Môi trường" and 77.4 in r for r in rows)


def test_rows_of_different_indicators_keep_each_indicators_precision():
    ds = dataset(ROWS)
    frame = pd.DataFrame({"indicator_id": ["sat", "par"], "period": ["2019", "2019"], "value": [77.4, 68.32 / 84 * 100]})
    ex = exhibits.exhibit(frame, ds, "sat", "Sở A", exhibits.header(ds, "sat", "P", "vi"))
    assert ex.table["Giá trị (%)"].tolist() == [77.4, 81.33]  # SIPAS to one decimal, PAR INDEX points to two
    report = exports.Report("", "", "", pd.Timestamp("2026-11-27", tz="UTC"), (), (ex,), lang="vi")
    assert "<td class=n>77,4%</td>" in exports.html_report(report) and "<td class=n>81,33%</td>" in exports.html_report(report)
    ws = openpyxl.load_workbook(io.BytesIO(exports.exhibit_xlsx(ex))).active
    formats = {c.value: c.number_format for r in ws.iter_rows() for c in r if isinstance(c.value, float)}
    assert formats == {77.4: '0.0"%"', 81.33: '0.00"%"'}


def test_exports_round_as_the_page_does_half_up_at_the_shown_decimals():
    """A tie leaves as the page prints it (1/80 = 1,25% → 1,3; PAPI 42.77045 → 42,7705, not the binary
    42,7704), and rank spreads at the page's two decimals."""
    ds = dataset(ROWS)
    frame = pd.DataFrame({"unit_id": ["a", "b"], "value": [1.25, 1.35], "rank_sd": [0.125, 1.0]})
    ex = exhibits.exhibit(frame, ds, "sat", "t", exhibits.header(ds, "sat", "P", "vi"))
    assert ex.table["Hài lòng (%)"].tolist() == [1.3, 1.4] and ex.table["Độ lệch chuẩn của hạng"].tolist() == [0.13, 1.0]
    html = exports.html_report(exports.Report("", "", "", pd.Timestamp("2026-11-27", tz="UTC"), (), (ex,), lang="vi"))
    assert "<td class=n>1,3%</td>" in html and "<td class=n>0,13</td>" in html and "<td class=n>1,00</td>" in html


def test_a_units_takeaway_reads_its_own_figures_and_compares_them_only_where_the_core_allows():
    # z took over x and y on 1/3/2025: its 2025 (85) is not set against x's 70 or y's 80 of 2024.
    ds = dataset([("x", "sat", "2024", 70), ("y", "sat", "2024", 80), ("z", "sat", "2025", 85),
                  ("b", "sat", "2024", 80), ("b", "sat", "2025", 81)])
    merged = views.unit_history(ds, "z", ("sat",))
    assert sorted(merged["kind"]) == ["own", "predecessor", "predecessor"]
    assert exhibits.takeaway(merged, ds, "sat", "vi") == "2025: 85,0%"
    assert exhibits.takeaway(views.unit_history(ds, "b", ("sat",)), ds, "sat", "vi") == "2025: 81,0% (+1,0 so với 2024)"
    # a took in y: its own 2025 (85, for a and y) against its own 2024 (70, a alone) is a change of scope.
    ds = absorbing([("a", "sat", "2024", 70), ("y", "sat", "2024", 90), ("a", "sat", "2025", 85)])
    assert exhibits.takeaway(views.unit_history(ds, "a", ("sat",)), ds, "sat", "vi") == "2025: 85,0%"
    # A partial year: a's 2020 is Q1–Q3 (3 late of 30 = 10,0%), 2019 the whole year (16/40 = 40%): no "−30,0".
    ds = dataset(RUNNING)
    history = views.unit_history(ds, "a", ("late_rate",))
    assert exhibits.takeaway(history, ds, "late_rate", "vi") == "Quý I–III/2020: 10,0%"
    assert exhibits.takeaway(history, ds, "late_rate", "en") == "Q1–Q3 2020: 10.0%"


def test_a_units_dossier_flow_takeaway_skips_its_predecessors_quarters_and_a_change_of_scope():
    # 2024-Q4: x 1 late of 10, y 3 of 10 (combined 4/20 = 20%, own False); z: 2025-Q1 1 of 10, Q2 2 of 10.
    ds = dataset(dossiers("x", "2024-Q4", 0, 9, 1) + dossiers("y", "2024-Q4", 0, 7, 3)
                 + dossiers("z", "2025-Q1", 0, 9, 1) + dossiers("z", "2025-Q2", 0, 8, 2))
    flow = views.unit_flow(ds, "z")
    assert flow["own"].tolist() == [False, True, True] and flow["late_rate"].tolist() == [20.0, 10.0, 20.0]
    assert exhibits.takeaway(flow, ds, "late_rate", "vi", "z") == "Quý II/2025: 20,0% (+10,0 so với Quý I/2025)"
    assert exhibits.takeaway(flow[flow["period"] <= "2025-Q1"], ds, "late_rate", "vi", "z") == "Quý I/2025: 10,0%"
    # a took in y during 2025-Q1: a's Q1 (1 of 10) is not compared with its Q4 alone (3 of 10).
    ds = absorbing(dossiers("a", "2024-Q4", 0, 7, 3) + dossiers("a", "2025-Q1", 0, 9, 1))
    assert exhibits.takeaway(views.unit_flow(ds, "a"), ds, "late_rate", "vi", "a") == "Quý I/2025: 10,0%"


def test_most_improved_follows_the_indicators_direction():
    # Late rates: a 10% (1 of 10 each quarter) → 40%, b 30% → 20%. b improved (−10,0); a's +30,0 is a worsening.
    ds = dataset(quarters("a", 2019, [(0, 9, 1)] * 4) + quarters("a", 2020, [(0, 6, 4)] * 4)
                 + quarters("b", 2019, [(0, 7, 3)] * 4) + quarters("b", 2020, [(0, 8, 2)] * 4))
    table = ranking.league_table(ds, "late_rate", Period(2020), "department", "en")
    assert table.set_index("unit_id")["change"].to_dict() == {"a": 30.0, "b": -10.0}
    assert exhibits.takeaway(table, ds, "late_rate", "en") == (
        "2/2 units miss the 5.0% target; furthest from it: Dept A (−35.0 percentage points); "
        "most improved: Dept B (−10.0 percentage points)")
    worse = dataset(quarters("a", 2019, [(0, 9, 1)] * 4) + quarters("a", 2020, [(0, 6, 4)] * 4))
    only_a = ranking.league_table(worse, "late_rate", Period(2020), "department", "en")
    assert "most improved" not in exhibits.takeaway(only_a, worse, "late_rate", "en")  # nobody improved


def test_a_league_table_leaves_with_new_units_and_the_scope_line_the_page_shows():
    """2025: a took in y (a's scope changed), x became z (new in office), b kept its scope. Ranks 2024:
    y 90, b 80, a 70, x 60; 2025: a 85, b 81, z 75."""
    ds = absorbing([("a", "sat", "2024", 70), ("b", "sat", "2024", 80), ("y", "sat", "2024", 90),
                    ("x", "sat", "2024", 60), ("a", "sat", "2025", 85), ("b", "sat", "2025", 81),
                    ("z", "sat", "2025", 75)])
    table = ranking.league_table(ds, "sat", Period(2025), "department", "vi")
    assert table.set_index("unit_id")[["scope_changed", "is_new"]].to_dict("index") == {
        "a": {"scope_changed": True, "is_new": False}, "b": {"scope_changed": False, "is_new": False},
        "z": {"scope_changed": True, "is_new": True}}
    scope = "Không so sánh thay đổi của Sở A: phạm vi đơn vị thay đổi do hợp nhất"
    assert ranking.scope_note(table, "vi") == scope  # z is new, not a change of scope: its rank change says so
    ex = exhibits.exhibit(table, ds, "sat", "t", exhibits.header(ds, "sat", "P", "vi", Period(2025)))
    shown = ex.table.set_index("Đơn vị")["Thay đổi hạng"]
    assert pd.isna(shown["Sở A"]) and shown["Sở B"] == 0 and shown["Sở Z"] == "mới"
    assert dict(ex.header_lines())["Thay đổi"] == "so với 2024; " + scope
    body = exports.exhibit_csv(ex).decode("utf-8-sig")
    assert scope in body and ",mới," in body
    html = exports.html_report(exports.Report("", "", "", pd.Timestamp("2026-11-27", tz="UTC"), (), (ex,), lang="vi"))
    assert ">mới<" in html and ">0<" in html
    english = exhibits.exhibit(ranking.league_table(ds, "sat", Period(2025), "department", "en"), ds, "sat", "t",
                               exhibits.Header("P", 0, lang="en"))
    assert english.table["Rank change"].iloc[-1] == "new"  # z, ranked last
    assert dict(english.header_lines())["Changes"].startswith("No change shown for Dept A: ")
    # A unit's export: its own comparison (a: scope changed), not the period's.
    assert dict(exhibits.header(ds, "sat", "P", "vi", Period(2025), unit_id="a").lines())["Thay đổi"] == (
        "Không so sánh với 2024: phạm vi của đơn vị đã thay đổi (có đơn vị hợp nhất vào)")
    assert dict(exhibits.header(ds, "sat", "P", "vi", Period(2025), unit_id="b").lines())["Thay đổi"] == "so với 2024"
