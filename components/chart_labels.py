"""Text that chart builders share: an indicator's short name and axis title, the version on hover."""

from __future__ import annotations

import pandas as pd

from reformkpi.i18n import column, t


def short_name(ind: pd.Series, lang: str) -> str:
    return ind[column("short", lang)]


def axis_title(ind: pd.Series, lang: str) -> str:
    """The indicator's short name, with "(%)" for the measures drawn as percentages."""
    return short_name(ind, lang) + (" (%)" if ind["measure"] in ("percent", "points") else "")


def version_line(lang: str, version: int) -> str:
    """The last line of a hover text: the data version the figure was read at."""
    return "<br>" + t("hover.version", lang) + f": {version}"
