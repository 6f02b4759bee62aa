"""A button's action, run so that the core's refusals reach the user as a translated message and
never as Streamlit's error box: a permission the actor lacks, a store that could not be written (a
race lost after every retry, a version that is gone, a damaged log, a full or read-only disk), a
snapshot, profile or subscription that cannot be saved, an upload that would overwrite values synced meanwhile.
What is not one of the core's typed refusals is a bug and is left to surface."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from reformkpi import integrity, snapshots, subscriptions
from reformkpi.auth import PermissionDenied
from reformkpi.i18n import t, tm, tn
from reformkpi.ingest import OverwriteRefused, origin_counts
from reformkpi.ingest.profiles import ProfileError
from reformkpi.store import StoreError

log = logging.getLogger(__name__)


@contextmanager
def reported(lang: str) -> Iterator[None]:
    """Run the block; a typed refusal from the core is shown translated and the page goes on."""
    try:
        yield
    except (integrity.StoreFault, integrity.StoreUnwritable) as e:
        log.warning("store refused a write: %s", e)
        store_problem(e, lang)
    except PermissionDenied as e:
        log.warning("refused: %s", e)
        st.error(t("access.ended" if e.ended else "action.denied", lang), icon=":material/block:")
    except StoreError as e:
        log.warning("store refused a write: %s", e)
        st.error(t("action.store_failed", lang), icon=":material/error:")
    except snapshots.SnapshotError:
        st.error(t("share.title_needed", lang))
    except OverwriteRefused as e:
        st.error(tn("upload.overwrites_refused", len(e.found), lang, **origin_counts(e.found)))
    except ProfileError as e:
        st.error(tm(f"ingest.profile.{e.code}", lang, **e.fields))
    except subscriptions.SubscriptionError as e:
        st.error(e.message(lang, markdown=True))


def store_problem(e: integrity.StoreFault | integrity.StoreUnwritable, lang: str) -> None:
    """What is wrong with the store and what to do, in words (pages and refused writes alike)."""
    st.warning("\n\n".join(e.lines(lang, markdown=True)), icon=":material/report:")
