"""Audit a store against the catalog's rules: the same rules an upload must pass, applied to
every stored row (`python -m reformkpi check`).

A store can drift from its rules without any upload being wrong: a catalog edit ends a unit's
term or turns a stored indicator into a computed one, or an older writer stored what today's
rules refuse. The audit lists each such row; a clean store lists none.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from reformkpi import formatting, periods
from reformkpi.catalog import Catalog
from reformkpi.i18n import t
from reformkpi.ingest import validate

COLUMNS = ["rule", "unit_id", "indicator_id", "period", "value", "message"]


def _fmt_date(d) -> str:
    return d.strftime("%d/%m/%Y") if pd.notna(d) else "…"


def violations(obs: pd.DataFrame, cat: Catalog, lang: str, today: dt.date | None = None) -> pd.DataFrame:
    """Every stored row that breaks a rule of the catalog: rule, unit_id, indicator_id, period, value, message.

    Rules: the unit and indicator exist, the indicator is stored (not computed), the period has the
    indicator's frequency and has ended, the unit is in office at the period's end, values are in
    range for their measure (counts whole, not negative and under the indicator's ceiling,
    percentages 0–100, points within a maximum above 0), totals equal their parts and late dossiers
    do not exceed the resolved ones. A period not in its canonical text (`٢٠١٩`, ` 2019`) and a
    value or maximum that is not finite (written by an older writer) are listed as malformed.
    """
    today = today or dt.date.today()
    value, max_value = obs["value"].astype(float).to_numpy(), obs["max_value"].astype(float).to_numpy()
    df = pd.DataFrame({
        "row": np.arange(1, len(obs) + 1),
        "unit_raw": obs["unit_id"].to_numpy(), "indicator_raw": obs["indicator_id"].to_numpy(),
        "period_raw": obs["period"].to_numpy(),
        "unit_id": obs["unit_id"].where(obs["unit_id"].isin(cat.units["unit_id"])).to_numpy(),
        "indicator_id": obs["indicator_id"].where(obs["indicator_id"].isin(cat.indicators["indicator_id"])).to_numpy(),
        "period": obs["period"].where([periods.is_canonical(p) for p in obs["period"]]).to_numpy(),
        "value": np.where(np.isfinite(value), value, np.nan), "max_value": np.where(np.isfinite(max_value), max_value, np.nan),
        "value_raw": value, "max_raw": max_value,
    })
    df = validate.attributes(df, cat, today)
    fc = validate.failures(df, cat)
    # An upload may carry a total for checking against its parts; the store keeps only the parts.
    stored_total = df.index[(df["rollup"] == "derived") & (df["denominator"] == "")]
    fc = pd.concat([fc, pd.DataFrame({"check": "derived_indicator", "index": stored_total})], ignore_index=True)
    fc = fc.drop_duplicates().sort_values(["index", "check"], ignore_index=True)
    _, _, detail = validate._parts_checks(df, cat)
    rows = []
    for code, i in zip(fc["check"], fc["index"]):
        r = df.loc[i]
        value = {"unknown_unit": r["unit_raw"], "unit_inactive": r["unit_raw"], "unknown_indicator": r["indicator_raw"],
                 "derived_indicator": r["indicator_raw"], "period_frequency": r["period_raw"],
                 "period_future": r["period_raw"], "period_malformed": r["period_raw"],
                 "max_not_number": f"{r['max_raw']:g}", "max_not_positive": f"{r['max_raw']:g}"}.get(code, f"{r['value_raw']:g}")
        fields = {"suggestions": "–", "example": validate.EXAMPLE.get(r["frequency"], ""), "first_row": "",
                  "max": formatting.figure(r["max_value"], lang), "ceiling": formatting.number(r["ceiling"], lang, 0),
                  **detail.get(i, {})}
        if code == "unit_inactive":
            u = cat.unit(r["unit_id"])
            fields.update(active_from=_fmt_date(u["active_from"]), active_to=_fmt_date(u["active_to"]))
        fields.setdefault("parts", "")
        fields.setdefault("resolved", "")
        rows.append((code, r["unit_raw"], r["indicator_raw"], r["period_raw"], r["value_raw"],
                     t(f"ingest.problem.{code}", lang, value=value, **fields)))
    return pd.DataFrame(rows, columns=COLUMNS)


def new_violations(obs: pd.DataFrame, current: Catalog, proposed: Catalog, lang: str,
                   today: dt.date | None = None) -> pd.DataFrame:
    """The rows a proposed catalog would make break a rule that they keep under the current one."""
    before = violations(obs, current, lang, today)
    after = violations(obs, proposed, lang, today)
    key = ["rule", "unit_id", "indicator_id", "period"]
    old = pd.MultiIndex.from_frame(before[key])
    return after[~pd.MultiIndex.from_frame(after[key]).isin(old)].reset_index(drop=True)
