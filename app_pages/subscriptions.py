"""Theo dõi: the user's subscriptions (an administrator's: everyone's), their delivery, pause and removal."""

import streamlit as st

from components import access, shell, subscriptions_view
from reformkpi.i18n import t

lang = shell.language()
actor = access.guard(access.current_actor(), "subscribe", lang)
st.title(t("subscriptions.title", lang))
st.caption(t("subscriptions.intro", lang))
subscriptions_view.listing(actor, lang)
