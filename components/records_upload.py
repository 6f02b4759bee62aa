"""Loading a records export from the upload page: the file, then a progress bar with rows per
second and the time left while it is read, compared and written, then the result or every problem."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from components import actions, data, upload
from reformkpi import config, formatting, integrity
from reformkpi.auth import Actor
from reformkpi.i18n import t, tn, tnm
from reformkpi.ingest.problems import IngestError
from reformkpi.records import load, table


def progress_text(p: table.Progress, lang: str) -> str:
    n = lambda x: formatting.number(x, lang, 0)
    eta = "–" if p.eta is None else (t("records.upload.seconds", lang, n=n(p.eta)) if p.eta < 90
                                     else t("records.upload.minutes", lang, n=n(p.eta / 60)))
    return t("records.upload.progress", lang, stage=t(f"records.upload.stage.{p.stage}", lang), rows=n(p.rows),
             total=n(p.total), speed=n(p.rows_per_s) if p.rows_per_s else "–", eta=eta)


def section(ref: data.DataRef, actor: Actor, lang: str) -> None:
    # Behind a toggle, so that the page has one file input unless the analyst asks for this one.
    if not st.toggle(t("records.upload.title", lang), key="records:open"):
        return
    with st.container(border=True):
        st.caption(t("records.upload.intro", lang))
        file = st.file_uploader(t("records.upload.file", lang), type=["csv", "parquet"], key="records:file")
        if file is None or not st.button(t("records.upload.run", lang), key="records:run"):
            return
        bar = st.progress(0.0, text=t("records.upload.starting", lang))
        shown = [-1.0]

        def show(p: table.Progress) -> None:
            if p.elapsed - shown[0] >= 0.5 or p.fraction >= 1:  # a redraw per row batch would flood the browser
                shown[0] = p.elapsed
                bar.progress(p.fraction, text=progress_text(p, lang))

        tmp_root = Path(config.records_tmp_dir())
        tmp_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="records-upload-", dir=tmp_root) as tmp:
            source = Path(tmp) / ("export" + Path(file.name).suffix.lower())
            source.write_bytes(file.getvalue())
            try:
                # Read, checked and written in a child process under the upload limits and caps.
                done = load.load_capped(data.store(ref), source, actor, file_name=file.name, limits=config.limits(),
                                        progress=show)
            except IngestError as e:
                bar.empty()
                st.error(tnm("upload.errors", len(e.problems), lang, file=file.name), icon=":material/error:")
                upload.problem_table(e.problems, lang)
                return
            except (integrity.StoreFault, integrity.StoreUnwritable) as e:  # the store's fault, not the file's
                bar.empty()
                actions.store_problem(e, lang)
                return
        r = done.records
        data.forget_latest()
        st.success(tn("records.upload.done", r.rows_new, lang, new=formatting.number(r.rows_new, lang, 0),
                     changed=formatting.number(r.rows_changed, lang, 0),
                     unchanged=formatting.number(r.rows_unchanged, lang, 0), version=r.version))
