"""Entry point: page config, the shared sidebar, and navigation over the pages."""

import streamlit as st

from components import access, shell
from reformkpi.i18n import t

st.set_page_config(page_title="CCHC · KPI", page_icon=":material/account_balance:", layout="wide")

lang = shell.language_picker()
actor = access.sign_in_box(lang)
if actor is None:  # anonymous viewing is switched off in access.toml
    st.info(t("access.required", lang))
    st.stop()
pages = [
    st.Page("pages/overview.py", title=t("nav.overview", lang), icon=":material/dashboard:",
            url_path="tong-quan", default=True),
]
st.navigation(pages).run()
