"""What every page shares: the interface language, the data it shows, and the page header."""

from __future__ import annotations

import streamlit as st

from components import data, url_state
from reformkpi import config, formatting
from reformkpi.i18n import DEFAULT, LANGUAGES, t

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


def language_picker() -> str:
    """The language selector (in the sidebar, kept in the URL as ?lang=en)."""
    return url_state.select(t("app.language"), LANGUAGES, "lang", LANGUAGE_NAMES.get, container=st.sidebar)


def language() -> str:
    return st.session_state.get("url:lang") or DEFAULT


def dataset_picker(lang: str) -> str:
    """The dataset selector (in the sidebar, kept in the URL as ?data=papi): demo province or PAPI."""
    return url_state.select(t("data.dataset", lang), config.DATASETS, "data",
                            lambda d: t(f"data.name.{d}", lang), container=st.sidebar)


def require_data(lang: str) -> data.DataRef:
    """The chosen dataset's live data, or a clear message and a stop if there is no store yet."""
    dataset = dataset_picker(lang)
    uri = config.store_uri(dataset)
    ref = data.current(uri)
    if ref is None:
        st.error(t("data.missing" if dataset == "demo" else f"data.missing_{dataset}", lang, uri=uri))
        st.stop()
    return ref


def header(title: str, ref: data.DataRef, lang: str) -> None:
    """Page title, the data version it shows, and the illustrative-data label where it applies."""
    st.title(title)
    hist = data.history(ref.uri, ref.version)
    row = hist[hist["version"] == ref.version]
    when = formatting.timestamp(row["timestamp"].iloc[0], lang) if not row.empty else ""
    st.caption(t("data.version", lang, version=ref.version, time=when))
    if _is_demo(hist):
        st.info(t("data.demo", lang), icon=":material/science:")


def _is_demo(hist) -> bool:
    return "operation" in hist and (hist["operation"] == "demo").any()
