"""Pages that need particular indicators stop with a clear message on a dataset without them (e.g. PAPI)."""

from __future__ import annotations

import streamlit as st

from reformkpi.catalog import Catalog
from reformkpi.i18n import t


def require(catalog: Catalog, indicator_ids: tuple[str, ...], lang: str) -> None:
    missing = [i for i in indicator_ids if i not in set(catalog.indicators["indicator_id"])]
    if missing:
        st.info(t("coverage.missing", lang, indicators=", ".join(missing)), icon=":material/info:")
        st.stop()
