"""History page building blocks: the versions, the rows one changed, and rollback with a confirmation."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from components import actions, data, tables, upload
from reformkpi import formatting
from reformkpi import versions as store_versions  # `versions` below draws them
from reformkpi.auth import Actor
from reformkpi.catalog import Catalog
from reformkpi.i18n import t, texts

COLUMNS = ("version", "timestamp", "user", "operation", "file_name", "rows_new", "rows_changed", "rows_deleted", "reason")
DONE_KEY = "history:done"
PENDING_KEY = "history:pending"


def versions(hist: pd.DataFrame, lang: str) -> None:
    """Every version with time, user, file and counts (newest first)."""
    df = hist.reindex(columns=list(COLUMNS)).copy()
    df["timestamp"] = [formatting.timestamp(x, lang) for x in df["timestamp"]]
    known = texts(lang)
    # A records sync names the records' version it counted, as the context lines do.
    synced = [re.fullmatch(r"records v(\d+)", f) if op == "records-sync" and isinstance(f, str) else None
              for op, f in zip(df["operation"], df["file_name"])]
    df["file_name"] = [t("context.source.records", lang, version=m[1]) if m else f
                       for m, f in zip(synced, df["file_name"])]
    df["operation"] = [known.get(f"history.op.{op}", op) for op in df["operation"].fillna("")]
    for col in ("rows_new", "rows_changed", "rows_deleted"):
        df[col] = [formatting.number(n, lang, 0) if pd.notna(n) else "" for n in df[col]]
    labels = {"version": "history.version", "timestamp": "history.time", "user": "history.user",
              "operation": "history.operation", "file_name": "history.file", "rows_new": "history.rows_new",
              "rows_changed": "history.rows_changed", "rows_deleted": "history.rows_deleted",
              "reason": "history.reason"}
    right = {t(labels[c], lang): st.column_config.TextColumn(t(labels[c], lang), alignment="right")
             for c in ("rows_new", "rows_changed", "rows_deleted")}
    right[t(labels["version"], lang)] = st.column_config.NumberColumn(t(labels["version"], lang), format="%d")
    st.dataframe(df.rename(columns={c: t(k, lang) for c, k in labels.items()}).fillna(""), hide_index=True,
                 width="stretch", column_config=right)


@st.cache_data(max_entries=16, show_spinner=False)
def _changes(uri: str, version: int) -> pd.DataFrame:
    return data.store(uri).changes(version)


def changes(ref: data.DataRef, hist: pd.DataFrame, cat: Catalog, lang: str) -> None:
    """The rows a chosen version changed against the one before it."""
    version = st.selectbox(t("history.pick", lang), hist["version"].tolist(), key="history:pick")
    df = _changes(ref.uri, int(version))
    if df.empty:
        st.info(t("history.no_changes", lang))
        return
    out = upload.key_labels(df, cat, lang)
    out[t("col.old_value", lang)] = df["old_value"].to_numpy()
    out[t("col.new_value", lang)] = df["value"].to_numpy()
    out[t("col.change", lang)] = [t(f"history.change.{c}", lang) for c in df["change"]]
    shown, config = tables.numbers(out, [t("col.old_value", lang), t("col.new_value", lang)], lang)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)


def rollback(ref: data.DataRef, hist: pd.DataFrame, actor: Actor, lang: str) -> None:
    """Pick a version and a reason; a confirmation dialog; then a new commit that restores it."""
    if msg := st.session_state.pop(DONE_KEY, None):
        st.success(msg, icon=":material/restore:")
        # Done: the form starts afresh (no old target or reason offered for a second rollback).
        for key in ("history:target", "history:reason"):
            st.session_state.pop(key, None)
    st.subheader(t("history.rollback", lang))
    if not actor.can("rollback"):
        st.caption(t("history.rollback_admin_only", lang))
        return
    current = int(hist["version"].max())
    target = st.selectbox(t("history.rollback", lang), [v for v in hist["version"] if v != current],
                          key="history:target", label_visibility="collapsed")
    reason = st.text_input(t("history.rollback_reason", lang), key="history:reason").strip()
    if st.button(t("history.rollback_button", lang), disabled=target is None, key="history:rollback"):
        if reason:
            st.session_state[PENDING_KEY] = (int(target), reason)
        else:
            st.warning(t("history.need_reason", lang))
    # Kept in the session until confirmed or cancelled, so the dialog survives any rerun.
    if pending := st.session_state.get(PENDING_KEY):
        version, reason = pending
        _confirm(ref, version, reason, actor, lang)


def _cancel() -> None:
    st.session_state.pop(PENDING_KEY, None)


def _confirm(ref: data.DataRef, version: int, reason: str, actor: Actor, lang: str) -> None:
    @st.dialog(t("history.confirm_title", lang), on_dismiss=_cancel)
    def dialog():
        st.write(t("history.confirm_text", lang, version=version))
        st.text(f"{t('history.user', lang)}: {actor.name}\n{t('history.reason', lang)}: {reason}")
        yes, no = st.columns(2)
        if yes.button(t("history.confirm", lang), type="primary", key="history:confirm"):
            with actions.reported(lang):
                new = store_versions.rollback(data.store(ref), version, actor, reason)
                _cancel()
                st.session_state[DONE_KEY] = t("history.rolled_back", lang, version=version, new=new)
                data.forget_latest()
                st.rerun()
        if no.button(t("history.cancel", lang), key="history:cancel"):
            _cancel()
            st.rerun()

    dialog()
