"""One canonical period and bounds that mean something (issue 26): digits of any script folded to
ASCII or refused, period 0000 a problem with row and column, the store refusing what no reader can
use whatever the caller, points with a maximum above 0, counts under their catalog ceiling, no
number that is not finite, and every length limit of the commit checked at validation (so a dry
run says what the commit would say); `check` lists the same in an existing store."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from reformkpi import audit, cli, ingest, notes, periods
from reformkpi.auth import Actor
from reformkpi.catalog import Catalog, CatalogError, normalise
from reformkpi.ingest import isolated, text
from reformkpi.store import OBSERVATIONS, CommitInfo, StoreError, conform
from tests.conftest import obs
from tests.core.ingest.test_ingest import LONG_HEAD, csv_bytes, prep, state, where, xlsx_bytes

ANALYST = Actor("a", "analyst")
PAR_HEAD = ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị", "Điểm tối đa"]


@pytest.mark.parametrize("raw", ["٢٠١٩", "２０１９", "۲۰۱۹", "२०१९", "Năm ٢٠١٩", " 2019 "])
def test_digits_of_any_script_are_folded_to_one_key(tmp_store, raw):
    """`٢٠١٩` (Arabic-Indic, as phone keyboards write it) and `２０１９` (full width, copied PDFs) were
    stored beside `2019` as second keys, and every page then failed casting them to a year."""
    first = prep(tmp_store, csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2019", "80"]]))
    ingest.commit(tmp_store, first, ANALYST)
    up = prep(tmp_store, csv_bytes([LONG_HEAD, ["STP", "sipas.overall", raw, "81"]]))
    assert up.valid and list(up.observations["period"]) == ["2019"]
    assert up.diff is not None and up.diff.new.num_rows == 0 and len(up.diff.changed) == 1  # the same key
    ingest.commit(tmp_store, up, ANALYST)
    assert list(tmp_store.read().to_pandas()["period"]) == ["2019"]


def test_unicode_digits_in_values_and_quarters():
    assert text.period("Quý Ⅲ/٢٠١٩") == "2019-Q3" and text.period("٢٠١٩-Q٣") == "2019-Q3"
    assert text.period("０７/２０１９") == "2019-07"
    values, pct = text.numbers(pd.Series(["٧٧,٤", "７７，４％", "77,4"]))
    assert list(values) == [77.4, 77.4, 77.4] and list(pct) == [False, True, False]


def test_malformed_periods_are_problems_with_row_and_column(tmp_store):
    """`0000` ended in a traceback in the worker (year 0 has no dates) and "process stopped
    unexpectedly"; now each is the malformed-period problem at its row and column."""
    rows = [LONG_HEAD, ["STP", "sipas.overall", "0000", "80"], ["STP", "sipas.overall", "9999", "80"],
            ["STP", "sipas.overall", "1899", "80"], ["STP", "sipas.overall", "٠٠٠٠", "80"],
            ["STP", "sipas.overall", "2019-Q٥", "80"], ["STP", "sipas.overall", "𝟸𝟶𝟷𝟿x", "80"],
            ["STP", "sipas.overall", "1900", "80"]]  # its year before, which it is compared with, is no period
    before = state(tmp_store)
    up = prep(tmp_store, csv_bytes(rows))
    assert where(up) == [("period_malformed", r, "Kỳ") for r in range(2, 9)]
    assert up.errors[0].message("vi") == "Dòng 2, cột «Kỳ»: kỳ «0000» không đúng dạng (ví dụ 2019, 2019-Q3, Quý III/2019, 07/2019)."
    assert state(tmp_store) == before
    # In the page's worker too: a typed problem, not a stopped process.
    worker = isolated.run(ingest.prepare, (tmp_store, csv_bytes(rows[:2]), "f.csv"), ingest.parse.Limits())
    assert [(p.code, p.row, p.column) for p in worker.errors] == [("period_malformed", 2, "Kỳ")]


def test_canonical_periods():
    assert [periods.is_canonical(p) for p in ["2019", "2019-Q3", "2019-07", " 2019", "٢٠١٩", "0000", "2019-Q5", None,
                                              "1900", "1901", "1900-Q4"]] == [
        True, True, True, False, False, False, False, False, False, True, False]
    with pytest.raises(periods.PeriodError):
        periods.start("0000")


def test_the_store_refuses_what_no_reader_can_use_whoever_writes(tmp_store):
    """The guard is in Store.commit_observations, not in the upload: a records sync, a demo or a
    script writing the store directly are held to it too."""
    before = tmp_store.version()
    for bad in [("so-y-te", "sipas.overall", "٢٠١٩", 80.0), ("so-y-te", "sipas.overall", "2019 ", 80.0),
                ("so-y-te", "sipas.overall", "0000", 80.0), ("so-y-te", "sipas.overall", "2019", float("inf")),
                ("so-y-te", "par.total", "2019", 60.0, float("inf")), ("so-y-te", "par.total", "2019", float("-inf"), 80.0)]:
        rows = obs([("so-tu-phap", "sipas.overall", "2019", 80.0), (*bad[:2], "2019", *bad[3:])])
        rows.loc[1, "period"] = bad[2]
        with pytest.raises(StoreError, match="1 rows refused"):
            tmp_store.commit_observations(rows, CommitInfo(user="script"))
    assert tmp_store.version() == before


def test_points_need_a_finite_maximum_above_zero(tmp_store):
    """inf of inf and 0 of 0 were accepted: a department's published 86,07% became 83,13% and its
    rank disappeared."""
    rows = [PAR_HEAD, ["STP", "par.area1", "2019", "inf", "inf"], ["STP", "par.area2", "2019", "0", "0"],
            ["STP", "par.area3", "2019", "5", "-2"], ["STP", "par.area4", "2019", "5", "nan"],
            ["STP", "par.area5", "2019", "1e400", "10"], ["STP", "par.area6", "2019", "5", "6"]]
    up = prep(tmp_store, csv_bytes(rows))
    assert where(up) == [("value_not_number", 2, "Giá trị"), ("max_not_number", 2, "Điểm tối đa"),
                         ("max_not_positive", 3, "Điểm tối đa"), ("max_not_positive", 4, "Điểm tối đa"),
                         ("points_missing_max", 5, "Giá trị"),  # the CSV reader reads "nan" as an empty cell
                         ("value_not_number", 6, "Giá trị")]
    msg = {(p.code, p.row): p for p in up.errors}
    assert msg["max_not_positive", 3].message("vi") == "Dòng 3, cột «Điểm tối đa»: điểm tối đa «0» phải lớn hơn 0."
    assert msg["max_not_positive", 4].message("en") == "Row 4, column “Điểm tối đa”: maximum “-2” must be above 0."
    assert msg["value_not_number", 2].message("en").endswith("“inf” is not a number.")


def test_non_finite_numbers_in_a_parquet_or_xlsx_are_refused(tmp_store, tmp_path):
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table({"unit_id": ["so-tu-phap", "so-y-te"], "indicator_id": ["sipas.overall"] * 2,
                             "period": ["2019", "2019"], "value": [float("inf"), float("nan")]}), buf)
    up = prep(tmp_store, buf.getvalue().to_pybytes(), "f.parquet")
    assert where(up) == [("value_not_number", 2, "value"), ("value_missing", 3, "value")]  # NaN: Parquet's empty
    up = prep(tmp_store, xlsx_bytes([LONG_HEAD, ["STP", "sipas.overall", "2019", "-inf"]]), "f.xlsx")
    assert where(up) == [("value_not_number", 2, "Giá trị")]


def test_counts_above_their_ceiling_are_refused_not_warned(tmp_store):
    """1e20 dossiers passed with a warning and the province's online share read 100%."""
    cat = Catalog.from_tables(tmp_store.read_catalog())
    assert cat.indicator("dossier.received_online")["ceiling"] == 10_000_000
    rows = [LONG_HEAD, ["STP", "dossier.received_online", "2024-Q1", "1e20"],
            ["STP", "dossier.received_in_person", "2024-Q1", "10000001"],
            ["STP", "dossier.received_post", "2024-Q1", "10.000.000"]]  # at the ceiling: accepted
    up = prep(tmp_store, csv_bytes(rows))
    assert where(up) == [("count_above_ceiling", 2, "Giá trị"), ("count_above_ceiling", 3, "Giá trị")]
    assert up.errors[0].message("vi") == ("Dòng 2, cột «Giá trị»: số «1e20» vượt mức trần 10.000.000 của chỉ tiêu cho "
                                          "một đơn vị trong một kỳ (cột ceiling của danh mục): kiểm tra lại số đã nhập.")
    assert "above the indicator's ceiling of 10,000,000 for one unit" in up.errors[0].message("en")


def test_figures_in_a_problem_are_written_in_the_messages_language(tmp_store):
    """The fraction check's figures were built as f"{x:.1f}" with a comma: "83,7" in English, and
    0,7745 as "77,4" (binary rounding to one decimal) where the percentage is 77,45."""
    tmp_store.commit_observations(obs([("so-tu-phap", "sipas.overall", "2018", 82.1),
                                       ("so-y-te", "sipas.overall", "2018", 85.3)]),
                                  CommitInfo(user="test", operation="upload"))
    up = prep(tmp_store, csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2019", "0.7745"]]))
    assert [p.code for p in up.errors] == ["percent_fraction"]
    en, vi = up.errors[0].message("en"), up.errors[0].message("vi")
    assert "around 83.7%" in en and "(0.7745 → 77.45)" in en  # median of 82,1 and 85,3
    assert "quanh 83,7%" in vi and "(0.7745 → 77,45)" in vi


def test_the_ceiling_is_read_from_the_catalog_with_a_default_for_counts(tmp_store):
    tables = tmp_store.read_catalog()
    ind = tables["indicators"].copy()
    ind.loc[ind["indicator_id"] == "dossier.received_online", "ceiling"] = 500
    cat = Catalog.from_tables({**tables, "indicators": ind})
    assert cat.indicator("dossier.received_online")["ceiling"] == 500
    older = Catalog.from_tables({**tables, "indicators": ind.drop(columns="ceiling")})  # a store from before
    assert older.indicator("dossier.received_online")["ceiling"] == 10_000_000
    assert pd.isna(older.indicator("sipas.overall")["ceiling"])
    ind["ceiling"] = ind["ceiling"].astype(object)
    for bad in ("nhiều", "0", "-5", "inf"):
        ind.loc[ind["indicator_id"] == "dossier.received_online", "ceiling"] = bad
        with pytest.raises(CatalogError, match="dossier.received_online ceiling"):
            normalise({**tables, "indicators": ind.astype({"ceiling": str})})


def test_a_long_note_is_refused_at_validation_as_the_commit_would(tmp_store, tmp_path, capsys):
    """A note of 2,001–32,000 characters passed validation and --dry-run ("Tệp hợp lệ") and failed
    at the commit with a traceback."""
    head = [*LONG_HEAD, "Ghi chú"]
    rows = [head, ["STP", "sipas.overall", "2019", "80", "x" * notes.MAX_NOTE],
            ["SYT", "sipas.overall", "2019", "80", "y" * (notes.MAX_NOTE + 1)],
            ["SNV", "sipas.overall", "2019", "80", "z" * 32_000]]
    up = prep(tmp_store, csv_bytes(rows))
    assert where(up) == [("note_too_long", 3, "Ghi chú"), ("note_too_long", 4, "Ghi chú")]
    assert "2001" in up.errors[0].message("vi") and "2000" in up.errors[0].message("en")
    path = tmp_path / "ghi-chu.csv"
    path.write_bytes(csv_bytes(rows))
    before = state(tmp_store)
    assert cli.main(["ingest", str(path), "--store", tmp_store.uri, "--dry-run"]) == 2
    assert "Dòng 3, cột «Ghi chú»" in capsys.readouterr().err
    assert cli.main(["ingest", str(path), "--store", tmp_store.uri, "--user", "a"]) == 2
    assert state(tmp_store) == before
    ok = prep(tmp_store, csv_bytes(rows[:2]))
    assert ok.valid and ingest.commit(tmp_store, ok, ANALYST).committed
    assert notes.read(tmp_store)["note"].str.len().tolist() == [notes.MAX_NOTE]


def _write_past_the_checks(store, rows: pd.DataFrame) -> None:
    """As an older writer left them: straight into the Delta table, past Store.commit_observations."""
    write_deltalake(store.path(OBSERVATIONS), conform(rows), mode="append")


def test_check_lists_non_canonical_keys_non_finite_values_bad_maxima_and_counts_over_the_ceiling(tmp_store, capsys):
    rows = obs([("so-tu-phap", "sipas.overall", "2019", 80.0),
                ("so-y-te", "sipas.overall", "2019", 80.0),
                ("so-noi-vu", "sipas.overall", "2019", float("inf")),
                ("so-tu-phap", "par.total", "2019", 0.0, 0.0),
                ("so-y-te", "par.total", "2019", float("inf"), float("inf")),
                ("so-tu-phap", "dossier.received_online", "2024-Q1", 1e20)])
    rows.loc[1, "period"] = "٢٠١٩"
    _write_past_the_checks(tmp_store, rows)
    found = audit.violations(tmp_store.read().to_pandas(), Catalog.from_tables(tmp_store.read_catalog()), "vi")
    assert set(zip(found["rule"], found["unit_id"], found["indicator_id"], found["period"])) == {
        ("period_malformed", "so-y-te", "sipas.overall", "٢٠١٩"),
        ("value_not_number", "so-noi-vu", "sipas.overall", "2019"),
        ("max_not_positive", "so-tu-phap", "par.total", "2019"),
        ("value_not_number", "so-y-te", "par.total", "2019"),
        ("max_not_number", "so-y-te", "par.total", "2019"),
        ("count_above_ceiling", "so-tu-phap", "dossier.received_online", "2024-Q1"),
    }
    msg = dict(zip(found["rule"] + found["unit_id"], found["message"]))
    assert msg["period_malformedso-y-te"] == "kỳ «٢٠١٩» không đúng dạng (ví dụ 2019, 2019-Q3, Quý III/2019, 07/2019)."
    assert msg["value_not_numberso-noi-vu"] == "«inf» không phải là số."
    assert "10.000.000" in msg["count_above_ceilingso-tu-phap"]
    english = audit.violations(tmp_store.read().to_pandas(), Catalog.from_tables(tmp_store.read_catalog()), lang="en")
    assert "ceiling of 10,000,000 for" in english.loc[english["rule"] == "count_above_ceiling", "message"].iloc[0]
    assert cli.main(["--store", tmp_store.uri, "check", "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "6 rows break a rule" in out and "٢٠١٩" in out

