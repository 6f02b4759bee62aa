"""Templates analysts download and fill: Vietnamese headers with the English id in parentheses.

They are written by reformkpi.exports, whose formula_safe neutralises any cell that a
spreadsheet would run as a formula (unit names come from the catalog, which people edit).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from reformkpi import exports, periods
from reformkpi.catalog import Catalog
DOSSIER_PARTS = ["carried_over", "received_online", "received_in_person", "received_post", "resolved_early",
                 "resolved_on_time", "resolved_late", "pending_not_due", "pending_overdue", "apology_letters"]
# Wide templates: one row per unit for one period, a column per indicator (points also get their maximum).
WIDE = {
    "dossier": [f"dossier.{p}" for p in DOSSIER_PARTS],
    "par": [f"par.area{i}" for i in range(1, 9)] + ["par.total"],
    "sipas": ["sipas.overall"] + [f"sipas.f{i}" for i in range(1, 6)],
    "papi": ["papi.total"] + [f"papi.d{i}" for i in range(1, 9)],
}


def kinds(catalog: Catalog) -> list[str]:
    """The templates a dataset's catalog can fill."""
    ids = set(catalog.indicators["indicator_id"])
    return ["long"] + [k for k, cols in WIDE.items() if set(cols) <= ids]


def default_period(kind: str, catalog: Catalog, today: dt.date) -> str:
    """The period a template is prefilled for: the latest complete quarter or year with units in office
    (for a dataset that has ended, such as PAPI's 63 provinces, the last year they were in office)."""
    ids = WIDE.get(kind, ["sipas.overall"])
    quarterly = catalog.indicators.set_index("indicator_id")["frequency"].get(ids[0]) == "quarter"
    last_q = periods.latest_complete_quarter(today)
    q = periods.Period.parse(last_q)
    period = last_q if quarterly else str(q.year if q.quarter == 4 else q.year - 1)
    units = catalog.active_units(period)
    if units[units["level"] != "province"].empty:
        period = str(max(catalog.units["active_to"].dropna()).year)
    return period


def _head(vi: str, field_id: str) -> str:
    return f"{vi} ({field_id})"


def frame(kind: str, catalog: Catalog, period: str) -> pd.DataFrame:
    """The template's columns, with one example row per active unit for a period."""
    ind = catalog.indicators.set_index("indicator_id")
    units = catalog.active_units(period)
    units = units[units["level"] != "province"]
    unit_h, period_h = _head("Đơn vị", "unit"), _head("Kỳ", "period")
    if kind == "long":
        cols = [unit_h, _head("Chỉ số", "indicator"), period_h, _head("Giá trị", "value"),
                _head("Điểm tối đa", "max_value"), _head("Nguồn", "source"), _head("Ghi chú", "note")]
        first = catalog.indicators[catalog.indicators["rollup"] != "derived"]["indicator_id"].iloc[0]
        return pd.DataFrame([[u, first, period, "", "", "", ""] for u in units["name_vi"]], columns=cols)
    cols = []
    for i in WIDE[kind]:
        cols.append(_head(ind.loc[i, "short_vi"], i))
        if ind.loc[i, "measure"] == "points":
            cols.append(_head(f"{ind.loc[i, 'short_vi']} tối đa", f"max:{i}"))
    rows = [[u, period] + [""] * len(cols) for u in units["name_vi"]]
    return pd.DataFrame(rows, columns=[unit_h, period_h] + cols)


def download(kind: str, catalog: Catalog, period: str, fmt: str) -> bytes:
    """A template as XLSX or CSV (UTF-8 with BOM, so Excel shows the diacritics)."""
    df = frame(kind, catalog, period)
    return exports.to_xlsx(df) if fmt == "xlsx" else exports.to_csv(df)
