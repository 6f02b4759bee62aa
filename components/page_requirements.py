"""What a page requires of its dataset: the indicators it draws. A page that needs particular
indicators stops with a clear message on a dataset without them (e.g. PAPI). Not the coverage
rule (n of N units reporting): that is reformkpi/coverage.py."""

from __future__ import annotations

import streamlit as st

from reformkpi.catalog import Catalog
from reformkpi.i18n import t


def require(catalog: Catalog, indicator_ids: tuple[str, ...], lang: str) -> None:
    missing = [i for i in indicator_ids if i not in set(catalog.indicators["indicator_id"])]
    if missing:
        st.info(t("coverage.missing", lang, indicators=", ".join(missing)), icon=":material/info:")
        st.stop()
