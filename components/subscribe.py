""""Theo dõi trang này": subscribe to what a leader page shows, in a dialog (channel, address,
language, digest cadence, PDF attachment). The core (reformkpi.subscriptions) checks and refuses."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components import access, actions, data, shell, url_state
from reformkpi import auth, config, subscriptions
from reformkpi.i18n import LANGUAGES, t, tm
from reformkpi.subscriptions import Target

_OPEN = "subscribe:open"  # the key of the control whose dialog is open


def control(targets: Sequence[Target], lang: str, key: str) -> None:
    """The page's button; the dialog offers `targets` (the first chosen). Anonymous: a disabled
    button saying to sign in."""
    actor = access.current_actor()
    if actor is None or not actor.can("subscribe"):
        st.button(t("subscribe.button", lang), key=key, icon=":material/notifications:", disabled=True,
                  help=t("subscribe.sign_in", lang))
        return
    # Open until dismissed: kept in the session, so a full rerun (not only the dialog's own) shows it again.
    st.button(t("subscribe.button", lang), key=key, icon=":material/notifications:",
              on_click=st.session_state.__setitem__, args=(_OPEN, key))
    if st.session_state.get(_OPEN) == key:
        st.dialog(t("subscribe.button", lang), on_dismiss=lambda: st.session_state.pop(_OPEN, None))(_form)(
            tuple(targets), actor, lang)


def _form(targets: tuple[Target, ...], actor: auth.Actor, lang: str) -> None:
    dataset = url_state.chosen("data") or config.DATASETS[0]
    targets = tuple(Target(x.kind, x.unit_id, x.indicator_id, dataset) for x in targets)
    ref = data.current(data.uri_of(dataset))
    catalog = data.dataset(ref).catalog if ref is not None else None
    with st.form("subscribe-form", border=False):
        target = st.radio(t("subscribe.what", lang), targets,
                          format_func=lambda x: subscriptions.describe(x, catalog, lang))
        channel = st.radio(t("subscribe.channel", lang), subscriptions.CHANNELS, horizontal=True,
                           format_func=lambda c: t(f"subscriptions.channel.{c}", lang))
        address = st.text_input(t("subscribe.address", lang), value=subscriptions.email_of(actor),
                                max_chars=subscriptions.MAX_ADDRESS)
        language = st.selectbox(t("subscribe.language", lang), LANGUAGES, index=LANGUAGES.index(lang),
                                format_func=shell.LANGUAGE_NAMES.__getitem__)
        digest = st.selectbox(t("subscribe.digest", lang), subscriptions.CADENCES,
                              index=subscriptions.CADENCES.index("quarterly"),
                              format_func=lambda c: t(f"subscriptions.digest.{c}", lang))
        pdf = st.checkbox(t("subscribe.pdf", lang))
        st.caption(t("subscribe.alerts", lang))
        if st.form_submit_button(t("subscribe.submit", lang), type="primary"):
            with actions.reported(lang):
                done = subscriptions.subscribe(subscriptions.home(), actor, target, channel, address, language, digest, pdf)
                st.success(tm("subscribe.done", lang, what=subscriptions.describe(done.target, catalog, lang)),
                           icon=":material/notifications_active:")
