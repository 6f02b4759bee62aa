"""Selectboxes whose value lives in the URL under a short, language-independent key.

Streamlit's own `bind="query-params"` writes the *formatted label* into the URL, so a link
made in Vietnamese would not open in English (and labels are long). Here the URL holds the
option's id (`?level=district&ind=dossier.late_rate`), the value survives page switches in the
session, and opening the same URL in a new browser shows the same view.

Which value wins: a value in the URL that this session did not write itself (a link that was
opened, a click-through to another page) beats the session's memory; a URL without the key
(st.navigation clears the query on a page switch) leaves the session's value in place and
writes it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st

_CHOSEN = "url:"



def select(label: str, options: Sequence[str], key: str, format_func: Callable[[str], str] = str,
           default: str | None = None, container=None, resolve: Callable[[str], str] | None = None) -> str:
    """A selectbox bound to the query parameter `key`; returns the chosen option id. `resolve` maps a
    value asked for (by the URL or another page) to the option that stands for it here; the default
    stays the page's own, so that the URL keeps what a reload must show again."""
    options = list(options)
    default = default if default in options else options[0]
    chosen_key, widget_key, written_key = _CHOSEN + key, f"url-widget:{key}", f"url-written:{key}"
    in_url = st.query_params.get(key)
    if in_url is not None and in_url != st.session_state.get(written_key):
        st.session_state[chosen_key] = in_url
    elif chosen_key not in st.session_state:
        st.session_state[chosen_key] = default
    if resolve is not None:
        st.session_state[chosen_key] = resolve(st.session_state[chosen_key])
    if st.session_state[chosen_key] not in options:
        st.session_state[chosen_key] = default
    # The widget shows the chosen value even when it was chosen elsewhere (another page, a link).
    st.session_state[widget_key] = st.session_state[chosen_key]

    def remember():
        st.session_state[chosen_key] = st.session_state[widget_key]

    value = (container or st).selectbox(label, options, format_func=format_func, key=widget_key, on_change=remember)
    st.session_state[chosen_key] = value
    if value == default:
        st.query_params.pop(key, None)
        st.session_state[written_key] = None
    else:
        st.query_params[key] = value
        st.session_state[written_key] = value
    return value


def current() -> dict[str, str]:
    """Every value chosen in this session, defaults included: a link or a snapshot made from it
    shows the same view even after new data changes what the defaults are."""
    return {k[len(_CHOSEN):]: v for k, v in st.session_state.items()
            if isinstance(k, str) and k.startswith(_CHOSEN) and v is not None}


def chosen(key: str) -> str | None:
    """The value chosen for `key` in this session (by its filter, a link or a snapshot), or None."""
    return st.session_state.get(_CHOSEN + key)


def choose(values: Mapping[str, str]) -> None:
    """Take `values` as this session's choices, as if each filter had been set to them (a snapshot
    opened): the filters show them on their next run, unless the URL names another value."""
    for key, value in values.items():
        st.session_state[_CHOSEN + key] = value
