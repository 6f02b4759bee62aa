"""The "Theo dõi" page's list: the user's subscriptions (an administrator's: everyone's), each with
what it follows, how it is sent, the latest message's delivery, and pause/resume and removal.
Every change goes to the core, which checks the actor again (auth.require)."""

from __future__ import annotations

import streamlit as st

from components import actions, data, shell
from reformkpi import auth, config, formatting, subscriptions
from reformkpi.catalog import Catalog
from reformkpi.i18n import t, tm
from reformkpi.store import Store
from reformkpi.notify import digest, outbox
from reformkpi.subscriptions import Subscription


def delivery(store: Store, subscription_ids: list[str]) -> dict[str, list]:
    """Each subscription's messages, newest first, from the notifier's outbox (reformkpi.notify)."""
    return outbox.state_for(store, subscription_ids)


def _catalog(dataset: str) -> Catalog | None:
    ref = data.current(data.uri_of(dataset))
    return data.dataset(ref).catalog if ref is not None else None


def _delivery_line(messages: list, actor: auth.Actor, lang: str) -> str:
    if not messages:
        return t("subscriptions.delivery.none", lang)
    m = messages[0]
    state = {"committing": "sending"}.get(m.state, m.state)
    if state == "failed" and m.done:
        state = "gave_up"
    when = formatting.timestamp(m.at, lang)
    # The raw error may name servers, addresses or settings: for administrators only.
    error = m.last_error if actor.can("admin") else t("subscriptions.delivery.error_hidden", lang)
    return tm(f"subscriptions.delivery.{state}", lang, message=t(f"subscriptions.message.{m.kind}", lang),
              ref=digest.reference(m.kind, m.ref, m.payload, lang),
              time=when, attempts=m.attempts, error=error,
              next=formatting.timestamp(m.next_try, lang) if m.next_try is not None else when)


def listing(actor: auth.Actor, lang: str) -> None:
    store = subscriptions.home()
    subs = subscriptions.list_for(store, actor)
    if not subs:
        st.info(t("subscriptions.none", lang))
        return
    catalogs = {d: _catalog(d) for d in config.DATASETS if any(s.target.dataset == d for s in subs)}
    sent = delivery(store, [s.subscription_id for s in subs])
    for sub in subs:
        _one(store, sub, actor, catalogs[sub.target.dataset], sent.get(sub.subscription_id, []), lang)


def _one(store: Store, sub: Subscription, actor: auth.Actor, catalog: Catalog | None, messages: list,
         lang: str) -> None:
    with st.container(border=True, key=f"subscription-{sub.subscription_id}"):
        st.markdown(f"**{formatting.markdown_text(subscriptions.describe(sub.target, catalog, lang))}**")
        digest = t(f"subscriptions.digest.{sub.digest}", lang)
        if sub.attach_pdf and sub.digest != "none":
            digest += " · " + t("subscriptions.pdf", lang)
        st.caption(tm("subscriptions.meta", lang, dataset=t(f"data.name.{sub.target.dataset}", lang),
                      channel=t(f"subscriptions.channel.{sub.channel}", lang), address=sub.address,
                      language=shell.LANGUAGE_NAMES[sub.lang], digest=digest,
                      since=formatting.timestamp(sub.since, lang)))
        if sub.user != actor.name:
            st.caption(tm("subscriptions.owner", lang, user=sub.user))
        if sub.paused:
            st.warning(t("subscriptions.paused", lang), icon=":material/pause_circle:")
        st.caption(_delivery_line(messages, actor, lang))
        pause, remove = st.columns(2)
        if pause.button(t("subscriptions.resume" if sub.paused else "subscriptions.pause", lang),
                        key=f"pause-{sub.subscription_id}"):
            with actions.reported(lang):
                subscriptions.set_paused(store, actor, sub.subscription_id, not sub.paused)
                st.rerun()
        if remove.button(t("subscriptions.remove", lang), key=f"remove-{sub.subscription_id}"):
            with actions.reported(lang):
                subscriptions.remove(store, actor, sub.subscription_id)
                st.rerun()
