"""Entry point: page config, the shared sidebar, and navigation over the pages."""

import streamlit as st

from components import shell
from reformkpi.i18n import t

st.set_page_config(page_title="CCHC · KPI", page_icon=":material/account_balance:", layout="wide")

lang = shell.language_picker()
pages = [
    st.Page("pages/overview.py", title=t("nav.overview", lang), icon=":material/dashboard:",
            url_path="tong-quan", default=True),
]
st.navigation(pages).run()
