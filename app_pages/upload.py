"""Cập nhật dữ liệu: download a template, upload a file, see every problem or the diff, commit."""

import streamlit as st

from components import access, data, records_upload, shell, upload
from reformkpi.i18n import t
from reformkpi.ingest.parse import FORMATS

lang = shell.language()
actor = access.guard(access.current_actor(), "upload", lang)
ref = shell.require_data(lang)
shell.header(t("upload.title", lang), ref, lang)
upload.last_commit_message()
st.caption(t("upload.intro", lang))
cat = upload.catalog(ref.uri, ref.version)
upload.template_downloads(cat, lang)
records_upload.section(ref.uri, actor, lang)

file = st.file_uploader(t("upload.file", lang), type=[s.lstrip(".") for s in FORMATS],
                        key="upload:file")
profile = upload.profile_picker(ref.uri, lang)
replace = st.checkbox(t("upload.replace", lang), key="upload:replace")
if file is None:
    st.stop()

up = upload.prepare(ref.uri, ref.version, file.getvalue(), file.name, profile.to_json(), replace)
if up.mapping:
    confirmed = upload.confirm_mapping(up, cat, profile, ref.uri, actor, lang)
    if confirmed != profile:
        up = upload.prepare(ref.uri, ref.version, file.getvalue(), file.name, confirmed.to_json(), replace)
upload.problems(up, lang)
if up.valid:
    upload.diff_view(up, cat, data.history(ref.uri, ref.version), lang)
    upload.commit_button(up, ref.uri, actor, lang)
