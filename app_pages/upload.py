"""Cập nhật dữ liệu: download a template, upload a file, see every problem or the diff, commit."""

import streamlit as st

from components import access, data, records_upload, shell, upload
from reformkpi.i18n import t
from reformkpi.ingest import profiles
from reformkpi.ingest.parse import FORMATS

lang = shell.language()
actor = access.guard(access.current_actor(), "upload", lang)
ref = shell.require_data(lang)
shell.header(t("upload.title", lang), ref, lang)
upload.last_commit_message()
st.caption(t("upload.intro", lang))
cat = upload.catalog(ref)
upload.template_downloads(cat, lang)
records_upload.section(ref, actor, lang)

file = st.file_uploader(t("upload.file", lang), type=[s.lstrip(".") for s in FORMATS],
                        key="upload:file")
kept = upload.kept(file, actor, ref, lang)  # the file checked before a reload
profile = upload.profile_picker(ref, lang)
replace = st.checkbox(t("upload.replace", lang), key="upload:replace")
if file is not None:
    content, name = file.getvalue(), file.name
elif kept is not None:
    content, name = kept.content, kept.file_name
else:
    st.stop()
profile_name = st.session_state.get("upload:profile") or ""
if kept is not None and (kept.profile_name, kept.replace) == (profile_name, replace) and \
        kept.period == (profile.period or ""):
    profile = profiles.Profile.from_json(kept.profile_json)  # with the mapping edits it was checked with

up = upload.prepare(ref, content, name, profile.to_json(), replace)
if up.mapping:
    confirmed = upload.confirm_mapping(up, cat, profile, ref, actor, lang)
    if confirmed != profile:
        profile = confirmed
        up = upload.prepare(ref, content, name, profile.to_json(), replace)
if up.valid:  # a file with errors is fixed and uploaded again: nothing to keep
    upload.keep(actor, ref, content, name, profile, replace, profile_name)
upload.problems(up, lang)
if up.valid:
    upload.diff_view(up, cat, data.history(ref), lang)
    upload.commit_button(up, ref, actor, lang)
