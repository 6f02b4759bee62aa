"""Upload page building blocks: templates, the file and its checks, the diff, the commit.

Everything a file says is shown through st.dataframe / st.text (escaped), never as HTML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from components import actions, data, tables
from reformkpi import config, formatting, ingest
from reformkpi.auth import Actor
from reformkpi.catalog import Catalog
from reformkpi.context import source_label
from reformkpi.ingest import isolated, profiles, staged, templates
from reformkpi.i18n import column, t, tm, tn, tnm

DONE_KEY = "upload:done"
_HAD_FILE, _RESTORED, _SAVED = "upload:had-file", "upload:restored", "upload:saved"


@st.cache_resource(max_entries=4, show_spinner=False)
def catalog(ref: data.DataRef) -> Catalog:
    return ingest.catalog_of(data.store(ref))


def template_downloads(cat: Catalog, lang: str) -> None:
    """Each template prefilled with the units in office for the latest complete quarter / year."""
    with st.expander(t("upload.templates", lang), icon=":material/download:"):
        for kind in templates.kinds(cat):
            period = templates.default_period(kind, cat, dt.date.today())
            left, mid, right = st.columns([3, 1, 1])
            left.text(t(f"upload.template_{kind}", lang))
            for col, fmt, mime in ((mid, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                                   (right, "csv", "text/csv")):
                col.download_button(fmt.upper(), templates.download(kind, cat, period, fmt),
                                    file_name=f"bieu-mau-{kind}.{fmt}", mime=mime, key=f"tpl-{kind}-{fmt}",
                                    on_click="ignore")


def profile_picker(ref: data.DataRef, lang: str) -> profiles.Profile:
    """A saved import profile (or automatic detection), and the period for files without one."""
    names = [""] + profiles.names(profiles.folder(ref.uri))
    left, right = st.columns(2)
    name = left.selectbox(t("upload.profile", lang), names, key="upload:profile",
                          format_func=lambda n: n or t("upload.profile_auto", lang))
    profile = profiles.load(profiles.folder(ref.uri), name) if name else profiles.Profile()
    period = right.text_input(t("upload.period", lang), key="upload:period").strip()
    return dataclasses.replace(profile, period=period) if period else profile


def prepare(ref: data.DataRef, content: bytes, file_name: str, profile_json: str, replace: bool) -> ingest.Upload:
    """Checked and diffed once per file, profile and data version (reruns reuse it; a note added
    meanwhile does not start the check again), in a child process under a memory and time cap, so
    that no file can slow the other sessions."""
    return _prepared(ref.without_notes(), content, file_name, profile_json, replace)


@st.cache_data(max_entries=8, show_spinner=False)
def _prepared(ref: data.DataRef, content: bytes, file_name: str, profile_json: str, replace: bool) -> ingest.Upload:
    return isolated.prepare(ref.uri, content, file_name, profiles.Profile.from_json(profile_json), replace,
                            limits=config.limits())


def confirm_mapping(up: ingest.Upload, cat: Catalog, profile: profiles.Profile, ref: data.DataRef, actor: Actor,
                    lang: str) -> profiles.Profile:
    """The profile with the analyst's edits to the detected column mapping (unchanged if none)."""
    confirmed = _mapping_editor(up, cat, ref, actor, lang)
    if confirmed == up.mapping:
        return profile
    edits = profiles.profile_from_mapping("", confirmed).columns
    return dataclasses.replace(profile, columns={**profile.columns, **edits})


def _mapping_editor(up: ingest.Upload, cat: Catalog, ref: data.DataRef, actor: Actor, lang: str) -> dict[str, str | None]:
    targets = list(profiles.FIELDS) + [f"ind:{i}" for i in cat.indicators["indicator_id"]] + \
        [f"max:{i}" for i in cat.indicators.loc[cat.indicators["measure"] == "points", "indicator_id"]] + [profiles.IGNORE]
    head, tgt = t("upload.mapping_header", lang), t("upload.mapping_target", lang)
    df = pd.DataFrame({head: list(up.mapping), tgt: [v or profiles.IGNORE for v in up.mapping.values()]})
    with st.expander(t("upload.mapping", lang), expanded=up.layout is None):
        edited = st.data_editor(df, key=f"mapping-{up.sha256}", hide_index=True, disabled=[head],
                                column_config={tgt: st.column_config.SelectboxColumn(tgt, options=targets, required=True)})
        with st.form("save-profile", border=False):
            name = st.text_input(t("upload.profile_name", lang))
            if st.form_submit_button(t("upload.save_profile", lang)) and name.strip():
                mapping = dict(zip(edited[head], edited[tgt]))
                with actions.reported(lang):
                    profiles.save(profiles.folder(ref.uri),
                                  profiles.profile_from_mapping(name, mapping, up.profile.decimal, up.profile.period),
                                  actor)
                    st.success(tm("upload.profile_saved", lang, name=name))
    return {h: (None if v == profiles.IGNORE else v) for h, v in zip(edited[head], edited[tgt])}


def problems(up: ingest.Upload, lang: str) -> None:
    if up.errors:
        st.error(tnm("upload.errors", len(up.errors) + up.hidden_errors, lang, file=up.file_name),
                 icon=":material/error:")
        problem_table(up.errors, lang)
        if up.hidden_errors:
            st.text(tn("ingest.more_problems", up.hidden_errors, lang))
    if up.warnings:
        st.warning(tn("upload.warnings", len(up.warnings) + up.hidden_warnings, lang), icon=":material/warning:")
        problem_table(up.warnings, lang)


def problem_table(items, lang: str) -> None:
    """Problems (ingest.problems.Problem) as a table: row, column, value, translated message."""
    # The message (with its "did you mean" suggestions) takes the room; the row number stays narrow.
    widths = {t("col.row", lang): st.column_config.NumberColumn(width="small", format="%d"),
              t("col.message", lang): st.column_config.TextColumn(width="large")}
    st.dataframe(pd.DataFrame([{t("col.row", lang): p.row, t("col.column", lang): p.column,
                                t("col.value", lang): p.value, t("col.message", lang): p.message(lang)}
                               for p in items]), hide_index=True, width="stretch", column_config=widths)


def key_labels(df: pd.DataFrame, cat: Catalog, lang: str) -> pd.DataFrame:
    """Unit and indicator names and the period label of observation keys, for display."""
    names = dict(zip(cat.units["unit_id"], cat.units[column("name", lang)]))
    inds = dict(zip(cat.indicators["indicator_id"], cat.indicators[column("short", lang)]))
    return pd.DataFrame({t("col.unit", lang): df["unit_id"].map(names).fillna(df["unit_id"]).to_numpy(),
                         t("col.indicator", lang): df["indicator_id"].map(inds).fillna(df["indicator_id"]).to_numpy(),
                         t("col.period", lang): [formatting.period_label(p, lang) for p in df["period"]]})


def diff_view(up: ingest.Upload, cat: Catalog, hist: pd.DataFrame, lang: str) -> None:
    """New, changed (old → new, with the version it came from), unchanged, and rows to delete."""
    d, obs = up.diff, up.observations
    assert d is not None and obs is not None, "a valid upload has its rows and their diff"
    st.success(tnm("upload.valid", len(obs), lang, file=up.file_name), icon=":material/check_circle:")
    st.subheader(t("upload.diff", lang, version=d.base_version))
    cols = st.columns(4)
    for col, key, n in zip(cols, ("new", "changed", "unchanged", "deleted"),
                           (d.new.num_rows, len(d.changed), d.unchanged, len(d.deleted))):
        col.metric(t(f"upload.{key}", lang), formatting.number(n, lang, 0))
    version_of = hist.dropna(subset=["upload_id"]).sort_values("version").drop_duplicates("upload_id") \
        .set_index("upload_id")["version"] if "upload_id" in hist else pd.Series(dtype="Int64")

    def frame(df: pd.DataFrame, old: bool = False) -> pd.DataFrame:
        out = key_labels(df, cat, lang)
        if old:
            out[t("col.old_value", lang)] = df["old_value"].to_numpy()
        out[t("col.new_value" if old else "col.value", lang)] = df["value"].to_numpy()
        if old and "old_upload_id" in df:
            out[t("col.from_version", lang)] = df["old_upload_id"].map(version_of).to_numpy()
        if old:
            out[t("col.stored_source", lang)] = [source_label(x, lang) for x in df["old_source"]]
        return out

    values = [t(k, lang) for k in ("col.old_value", "col.new_value", "col.value")]

    def show(df: pd.DataFrame) -> None:
        shown, config = tables.numbers(df, [c for c in values if c in df], lang)
        st.dataframe(shown, hide_index=True, width="stretch", column_config=config)

    found = up.overwrites
    if found is not None and len(found):
        st.warning(tn("upload.overwrites", len(found), lang, **ingest.origin_counts(found)), icon=":material/sync_problem:")
        st.markdown("**" + t("upload.overwrites_rows", lang) + "**")
        flagged = frame(found.head(2000), old=True)
        flagged[t("col.origin", lang)] = [t("upload.origin." + o, lang) for o in found["origin"].head(2000)]
        show(flagged)
    if len(d.changed):
        st.markdown("**" + t("upload.changed_rows", lang) + "**")
        show(frame(d.changed.head(2000), old=True))
    if d.new.num_rows:
        st.markdown("**" + t("upload.new_rows", lang) + "**")
        show(frame(d.new.slice(0, 2000).to_pandas()))
    if len(d.deleted):
        st.markdown("**" + t("upload.deleted_rows", lang) + "**")
        show(frame(d.deleted.head(2000)))
    if not (d.new.num_rows or len(d.changed) or len(d.deleted)):
        st.info(t("upload.nothing", lang))


def _kept_in() -> Path:
    return staged.folder(config.settings().state)


def _owner(actor: Actor, ref: data.DataRef) -> str:
    """Whose kept file: the analyst's, checked against this store (another dataset has its own)."""
    return f"{actor.name}\n{ref.uri}"


def kept(file, actor: Actor, ref: data.DataRef, lang: str) -> staged.Staged | None:
    """The file checked before a reload, when the uploader is empty: the analyst's own, kept on
    the server (reformkpi.ingest.staged). Called before the profile and replace widgets: on the
    first run of a session their choices are restored. Removing the file from the uploader
    discards it; so does the button beside the notice."""
    if file is not None:
        st.session_state[_HAD_FILE] = True
        return None
    if st.session_state.pop(_HAD_FILE, False):  # the analyst took the file out of the uploader
        staged.discard(_kept_in(), _owner(actor, ref))
        return None
    found = staged.load(_kept_in(), _owner(actor, ref))
    if found is None:
        return None
    assert found.staged_at is not None, "a kept file says when it was kept"
    if not st.session_state.get(_RESTORED):
        st.session_state[_RESTORED] = True
        st.session_state["upload:period"], st.session_state["upload:replace"] = found.period, found.replace
        st.session_state["upload:profile"] = found.profile_name
    st.info(t("upload.kept", lang, file=formatting.markdown_text(found.file_name),
              time=formatting.timestamp(found.staged_at, lang)), icon=":material/inventory_2:")
    st.button(t("upload.discard", lang), key="upload-discard", icon=":material/delete:",
              on_click=staged.discard, args=(_kept_in(), _owner(actor, ref)))
    return found


def keep(actor: Actor, ref: data.DataRef, content: bytes, file_name: str, profile: profiles.Profile, replace: bool,
         profile_name: str) -> None:
    """Keep the checked file with the choices it was checked with, until committed or discarded
    (written when any of them changes, not on every rerun)."""
    item = staged.Staged(file_name, content, profile.to_json(), replace, profile_name,
                         st.session_state.get("upload:period", ""))
    signature = (item.sha256, item.file_name, item.profile_json, replace, profile_name, item.period)
    if st.session_state.get(_SAVED) != signature:
        staged.save(_kept_in(), _owner(actor, ref), item)
        st.session_state[_SAVED] = signature


def commit_button(up: ingest.Upload, ref: data.DataRef, actor: Actor, lang: str) -> None:
    """Write, with progress; the next run shows the new version and says what was written."""
    d = up.diff
    assert d is not None, "the button is offered for a valid upload, which has its diff"
    if not (d.new.num_rows or len(d.changed) or len(d.deleted)):
        return
    found = up.overwrites
    confirmed = False
    if found is not None and len(found):
        # One box per file and version: a new file, or the store moving on, asks again.
        confirmed = st.checkbox(tn("upload.overwrites_confirm", len(found), lang, **ingest.origin_counts(found)),
                                key=f"upload:replace-synced:{up.sha256}:{d.base_version}")
    if st.button(t("upload.commit", lang), type="primary", key="upload-commit",
                 disabled=found is not None and len(found) > 0 and not confirmed):
        bar = st.progress(0.1, text=t("upload.committing", lang))
        with actions.reported(lang):
            result = ingest.commit(data.store(ref), up, actor, replace_synced=confirmed)
            # Written: nothing left to keep (the file still in the uploader is not kept again, keep()).
            staged.discard(_kept_in(), _owner(actor, ref))
            bar.progress(1.0, text=t("upload.committing", lang))
            st.session_state[DONE_KEY] = t("upload.committed", lang, version=result.version, new=result.rows_new,
                                           changed=result.rows_changed, deleted=result.rows_deleted)
            data.forget_latest()
            st.rerun()
        bar.empty()


def last_commit_message() -> None:
    if msg := st.session_state.pop(DONE_KEY, None):
        st.success(msg, icon=":material/task_alt:")
