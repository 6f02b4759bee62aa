"""Entry point: page config, the shared sidebar, and navigation over the pages."""

import streamlit as st

from components import access, charts, data, links, navigation, presentation, shell, snapshots_view
from reformkpi.i18n import t

data.freeze_imports()
st.set_page_config(page_title="CCHC · KPI", page_icon=":material/account_balance:", layout="wide")

pin = snapshots_view.pin_from_url()  # before any filter: a snapshot sets them
lang = shell.language_picker()
actor = access.sign_in_box(lang)
if actor is None:  # anonymous viewing is switched off in access.toml
    st.info(t("access.required", lang))
    st.stop()
presenting = st.query_params.get(links.PRESENT_PARAM) == "1"
registered = navigation.pages(actor, lang, opening=pin.snap.page if pin and pin.snap else None)
page = st.navigation(registered, position="hidden" if presenting else "sidebar")
navigation.remember(page, registered)
charts.forget_shown()
with data.stopped_if_unreadable(lang):
    if presenting:
        presentation.present(page.run, lang)
    else:
        page.run()
        shell.export_menu(page.title, lang)
