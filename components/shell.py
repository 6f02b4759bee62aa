"""What every page shares: the interface language, the data it shows, and the page header."""

from __future__ import annotations

import streamlit as st

from components import (access, actions, chart_style, data, exporting, links, navigation, palette, snapshots_view,
                        url_state)
from reformkpi import auth, config, formatting, integrity
from reformkpi.i18n import DEFAULT, LANGUAGES, t, tnm

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


# The page's one component (each more cost every view its own scripts and messages): the document's
# language follows the chosen one (serve.py serves the page in its URL's language; a switch on the
# page or a snapshot's language is set here), so that screen readers pronounce right; and it runs
# the screen probe (chart_style.PROBE_JS).
_PAGE_JS = ("export default function(args) { document.documentElement.lang = args.data.lang; "
            f"return ({chart_style.PROBE_JS})(args); }}")
# Its stylesheet, on the page (not isolated): keyboard focus always shows (a ring in GOOD, 5.2:1 on
# white), and nothing moves for a reader who asked the system for less motion (Streamlit's spinners
# and transitions do not ask). Its line break marks it as inline CSS (a `*` alone reads as a file glob).
_PAGE_CSS = (f":focus-visible{{outline:3px solid {palette.GOOD} !important;outline-offset:2px !important}}\n"
             "@media (prefers-reduced-motion: reduce){*,*::before,*::after{animation-duration:0.01ms !important;"
             "animation-iteration-count:1 !important;transition-duration:0.01ms !important;"
             "scroll-behavior:auto !important}}")
_page = st.components.v2.component("reformkpi.page", js=_PAGE_JS, css=_PAGE_CSS, isolate_styles=False,
                                   html="<span></span>")


_LANG = "shell:lang"  # the language app.py resolved for this run


def language_picker() -> str:
    """The language selector (in the sidebar, kept in the URL as ?lang=en): the one place the run's
    language is resolved, by app.py before the page runs; the page's component is mounted with it
    (the document's language, focus and motion styles, the screen probe)."""
    # The label is the same in both languages ("Ngôn ngữ / Language"): the language is not known yet.
    lang = url_state.select(t("app.language", DEFAULT), LANGUAGES, "lang", LANGUAGE_NAMES.__getitem__, container=st.sidebar)
    st.session_state[_LANG] = lang
    with st.container(height=1, border=False):  # the component draws nothing; keep it out of the layout
        _page(key=chart_style.PROBE_KEY, on_screen_change=chart_style.reported,
              data={"lang": lang, **chart_style.probe_data()})
    return lang


def language() -> str:
    """The language app.py resolved for this run (language_picker): a page reads it once, at its
    top, and passes it down."""
    return st.session_state[_LANG]


def dataset_picker(lang: str) -> str:
    """The dataset selector (in the sidebar, kept in the URL as ?data=papi): demo province or PAPI."""
    return url_state.select(t("data.dataset", lang), config.DATASETS, "data",
                            lambda d: t(f"data.name.{d}", lang), container=st.sidebar)


def require_data(lang: str) -> data.DataRef:
    """The chosen dataset's live data, or a clear message and a stop if there is no store yet or
    the store is damaged (which version, what is wrong, what to do)."""
    dataset = dataset_picker(lang)
    uri = data.uri_of(dataset)
    found = data.faults(uri)
    if found:
        actions.store_problem(integrity.StoreFault(uri, found), lang)
        st.stop()
    pin = snapshots_view.pinned()
    if pin is not None and pin.snap is None:
        snapshots_view.unknown(pin, lang)
        st.stop()
    snap = pin.snap if pin is not None else None
    ref = data.current(uri) if snap is None else data.DataRef(uri, snap.data_version, snap.catalog_versions,
                                                                         notes_until=snap.created_at)
    if ref is None:
        st.error(t("data.missing" if dataset == "demo" else f"data.missing_{dataset}", lang, uri=uri))
        st.stop()
    st.session_state[_SHOWN] = (dataset, ref, snap)
    if unfit := data.dataset(ref).unfit_periods:
        st.warning(tnm("data.unfit_periods", sum(unfit.values()), lang,
                      periods=", ".join(f"«{p}»" for p in unfit)), icon=":material/report:")
    return ref


_SHOWN = "shell:shown"  # what this run shows, for the header and the export menu


def shown_ref() -> data.DataRef | None:
    """The data this run shows (None before a page has asked for it)."""
    shown = st.session_state.get(_SHOWN)
    return shown[1] if shown else None


def header(title: str, ref: data.DataRef, lang: str) -> None:
    """Page title, the data version it shows, the snapshot it is pinned to, the share menu, and the
    illustrative-data label where it applies."""
    snap = st.session_state[_SHOWN][2]
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    left.title(title)
    with right:
        links.share_menu(ref, records(ref), access.current_actor() or auth.ANONYMOUS, lang)
    if snap is not None:
        snapshots_view.banner(snap, lang)
    else:
        snapshots_view.left_notice(navigation.current(), lang)
    hist = data.history(ref)
    row = hist[hist["version"] == ref.version]
    when = formatting.timestamp(row["timestamp"].iloc[0], lang) if not row.empty else ""
    st.caption(t("data.version", lang, version=ref.version, time=when))
    if _is_demo(hist):
        st.info(t("data.demo", lang), icon=":material/science:")


def _is_demo(hist) -> bool:
    return "operation" in hist and (hist["operation"] == "demo").any()


def records(ref: data.DataRef) -> data.RecordsRef | None:
    """The dossier records the view shows: the snapshot's records version, or the latest."""
    snap = st.session_state[_SHOWN][2]
    if snap is None:
        return data.records_current(ref.uri)
    return None if snap.records_version is None else data.RecordsRef(ref.uri, snap.records_version)


def export_menu(page_title: str, lang: str) -> None:
    """After the page has drawn: its charts as slides, PDF, offline HTML, images and data."""
    if _SHOWN not in st.session_state:
        return
    dataset, ref, snap = st.session_state[_SHOWN]
    exporting.export_menu(ref, page_title, t(f"data.name.{dataset}", lang), snap, lang)
