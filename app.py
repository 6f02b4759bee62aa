"""Entry point: page config, the shared sidebar, and navigation over the pages."""

import streamlit as st

from components import access, chart_style, charts, navigation, share, shell
from reformkpi.i18n import t

st.set_page_config(page_title="CCHC · KPI", page_icon=":material/account_balance:", layout="wide")

chart_style.probe()
lang = shell.language_picker()
actor = access.sign_in_box(lang)
if actor is None:  # anonymous viewing is switched off in access.toml
    st.info(t("access.required", lang))
    st.stop()
presenting = st.query_params.get(share.PRESENT_PARAM) == "1"
page = st.navigation(navigation.pages(actor, lang), position="hidden" if presenting else "sidebar")
charts.forget_shown()
if presenting:
    share.present(page.run, lang)
else:
    page.run()
    shell.export_menu(page.title, lang)
