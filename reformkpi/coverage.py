"""The coverage rule: every aggregate says how many units reported (n) of those expected (N).

N, the units expected to report for a period, is `expected_units`: the units of the level in
office at the period's end (never the province itself). n is the units with a figure for the
period: counted where the figures are combined (`metrics.rollups.aggregate`'s n_units) and by
`context.figure_context`, which carries both beside a figure (`FigureContext.n_units`,
`n_expected`). Explained in docs/rules.md, "Coverage rule".
"""

from __future__ import annotations

from reformkpi.catalog import Catalog


def expected_units(cat: Catalog, period: str, level: str | None) -> list[str]:
    """The units expected to report for a period: those of the level in office at its end."""
    u = cat.active_units(period, level)
    return u.loc[u["level"] != "province", "unit_id"].tolist()
