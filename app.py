"""Entry point: page config, the shared sidebar, and navigation over the pages."""

import streamlit as st

from components import access, charts, shell
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
    st.Page("pages/unit.py", title=t("nav.unit", lang), icon=":material/apartment:", url_path="don-vi"),
    st.Page("pages/rankings.py", title=t("nav.rankings", lang), icon=":material/leaderboard:", url_path="xep-hang"),
    st.Page("pages/dossiers.py", title=t("nav.dossiers", lang), icon=":material/folder_open:", url_path="ho-so"),
    st.Page("pages/records.py", title=t("nav.records", lang), icon=":material/manage_search:",
            url_path="ho-so-chi-tiet"),
    st.Page("pages/satisfaction.py", title=t("nav.satisfaction", lang), icon=":material/sentiment_satisfied:",
            url_path="hai-long"),
    # Hidden from those who may not use them; opened by URL, the page itself refuses.
    st.Page("pages/upload.py", title=t("nav.upload", lang), icon=":material/upload_file:", url_path="cap-nhat",
            visibility="visible" if actor.can("upload") else "hidden"),
    st.Page("pages/history.py", title=t("nav.history", lang), icon=":material/history:", url_path="lich-su",
            visibility="visible" if actor.can("upload") else "hidden"),
]
page = st.navigation(pages)
charts.forget_shown()
page.run()
shell.export_menu(page.title, lang)
