"""Text that chart builders share: an indicator's short name and axis title, the version on hover."""

from __future__ import annotations

import pandas as pd

from reformkpi.i18n import column, t


def short_name(ind: pd.Series, lang: str) -> str:
    return ind[column("short", lang)]


def axis_title(ind: pd.Series, lang: str) -> str:
    """The indicator's short name, with "(%)" for the measures drawn as percentages."""
    return short_name(ind, lang) + (" (%)" if ind["measure"] in ("percent", "points") else "")


# Meets or misses the target, said by a mark as well as by the colour (never the colour alone, WCAG 1.4.1).
MEETS, MISSES = "✓", "✗"
SYMBOLS = {True: "circle", False: "x"}  # a point's shape says it on charts of points


def marked(text: str, meets) -> str:
    """`text` after ✓ when it meets the target, ✗ when it misses it; as it is without a target."""
    return text if meets is None or pd.isna(meets) else f"{MEETS if meets else MISSES} {text}"


def version_line(lang: str, version: int) -> str:
    """The last line of a hover text: the data version the figure was read at."""
    return "<br>" + t("hover.version", lang) + f": {version}"
