"""The digest: per subscriber, once a quarter (or a week), what needs attention in the latest period.

It is the Overview's attention list (`focus.attention` over the ranked indicators, for the year of
the latest data, as the Overview opens), limited to the subscription's target and to the units
its account may see, each indicator with its context (source · coverage · data version,
`reformkpi.context`). A snapshot pinned to that data version (one per dataset, language and
digest period, made by the notifier) is linked, so the figures in the mail and behind the link
are the same; its PDF is attached when the subscriber asks (rendered by the app's own export,
`python -m app_export`, see `pdf`).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd

from reformkpi import auth, config, focus, formatting, periods, snapshots
from reformkpi.catalog import Catalog
from reformkpi.context import figure_context
from reformkpi.i18n import t, tn
from reformkpi.metrics import comparability
from reformkpi.metrics.datasets import Dataset
from reformkpi.notify import outbox
from reformkpi.notify.changes import followed, gap_text, indicator_label, visible
from reformkpi.records import scan
from reformkpi.store import Store

NOTIFIER = "notifier"  # the name the notifier's snapshots are saved under
OVERVIEW = "tong-quan"  # the Overview's page (components/navigation.py)
PDF_SECONDS = 300


def period(cadence: str, now: dt.datetime) -> str:
    """The digest period `now` falls in: '2026-Q4' (quarterly) or '2026-W49' (weekly, ISO weeks), by
    the calendar in Viet Nam, as the app shows times (formatting.VIETNAM_TIME): at 03:00 on Monday
    there, it is still Sunday in UTC."""
    now = now.astimezone(formatting.VIETNAM_TIME)
    if cadence == "weekly":
        year, week, _ = now.isocalendar()
        return f"{year}-W{week:02d}"
    return str(periods.Period.of_day(now))


def period_text(digest_period: str, lang: str) -> str:
    """'Quý IV/2026' (Q4 2026), 'tuần 49/2026' (week 49 2026)."""
    if "-W" in digest_period:
        year, week = digest_period.split("-W")
        return t("notify.week", lang, week=int(week), year=year)
    return formatting.period_label(digest_period, lang)


def reference(kind: str, ref: str, payload: dict, lang: str) -> str:
    """A message as the page names it, as its mail does: a digest by its period ('Quý IV/2026'), an
    alert or a correction by the data version it tells of ('phiên bản dữ liệu 12'), not by the
    outbox's key ('2026-Q4', 'd12-c3.1.1.1-n'); a row planned without that content, by its key."""
    if kind == outbox.DIGEST:
        return period_text(ref, lang)
    data = payload.get("content", {}).get("data")
    return ref if data is None else t("context.version", lang, version=data)


def snapshot_link(public_url: str, snap: snapshots.Snapshot) -> str:
    """As the app links a snapshot (components/links.py): its id and dataset."""
    return public_url.rstrip("/") + "/?" + urlencode({"snapshot": snap.snapshot_id, "data": snap.view_state["data"]})


def pinned(store: Store, ds: Dataset, dataset: str, year: str, lang: str, digest_period: str,
           now: dt.datetime) -> snapshots.Snapshot:
    """The digest's snapshot of the Overview at the data version read: made once, found again by
    its title (a run stopped after making it does not make a second)."""
    title = t("notify.digest_snapshot_title", lang, period=period_text(digest_period, lang), version=ds.version)
    for snap in snapshots.list_all(store):
        if snap.title == title and snap.created_by == NOTIFIER and snap.view_state.get("lang") == lang:
            return snap
    assert ds.version is not None
    # "all" levels (components/filters.py), as `lines` lists departments and districts alike.
    return snapshots.create(store, auth.operator(NOTIFIER), title, OVERVIEW, {"data": dataset, "lang": lang,
                            "year": year, "level": "all"}, ds.version, store.catalog_versions(), now=now,
                            records_version=scan.version(store))


def lines(ds: Dataset, kind: str, unit_id: str, indicator_id: str, scope: frozenset[str] | None,
          lang: str) -> tuple[str, list[str]]:
    """The period read and the digest's lines: per indicator needing attention, the province's figure
    (to an account that sees every unit) and the units short of their target, then its context."""
    cat: Catalog = ds.catalog
    latest = focus.latest_data(ds)
    if latest is None:
        return "", []
    year = periods.Period(periods.year_of(latest[0]))
    ranked = tuple(cat.indicators.loc[cat.indicators["ranked"], "indicator_id"])
    if kind == "indicator":  # one not ranked too; none left by a catalog publish: nothing
        known = indicator_id in set(cat.indicators["indicator_id"])
        ranked = (indicator_id,) if known else ()
    att = focus.attention(ds, ranked, year, None, lang)
    lineage, scope = followed(cat, unit_id), visible(cat, scope)
    out = []
    for r in att.itertuples(index=False):
        ind = cat.indicator(r.indicator_id)
        below: pd.DataFrame = r.below
        if scope is not None:
            below = below[below["unit_id"].isin(scope)]
        if kind == "unit":
            below = below[below["unit_id"].isin(lineage)]
        show_province = scope is None and kind != "unit" and bool(r.province_misses)
        if below.empty and not show_province:
            continue
        # A partial year by the months its data cover, as the pages write it.
        span = comparability.compare(ds, r.indicator_id, year).period_text(lang)
        parts = [indicator_label(cat, r.indicator_id, lang) + " " + span + ":"]
        if show_province:
            parts.append(t("notify.digest_province", lang, value=formatting.value(r.value, ind, lang), target=formatting.value(r.target, ind, lang),
                           gap=gap_text(r.gap, ind, lang)))
        if not below.empty:
            named = [t("notify.digest_unit", lang, unit=u.name, value=formatting.value(u.value, ind, lang),
                       gap=gap_text(u.gap, ind, lang)) for u in below.itertuples()]
            parts.append(tn("notify.digest_below", len(below), lang) + " " + "; ".join(named) + ".")
        parts.append("(" + figure_context(ds, r.indicator_id, year, None, lang).summary() + ")")
        out.append(" ".join(parts))
    return str(year), out


def pdf(snap: snapshots.Snapshot, store_uri: str, dataset: str, cache: Path,
        settings_file: str | None = None) -> tuple[str, bytes]:
    """The snapshot as a PDF, by the app's export (`python -m app_export`, beside app.py): the core
    does not render pages. The export reads the store the notifier read and the settings it loaded
    (`settings_file`, else the REFORMKPI_ variables it inherits). Kept in `cache` once made (the
    snapshot never changes)."""
    path = cache / f"{snap.snapshot_id}.pdf"
    if not path.exists():
        root = config.IMPORT_ROOT
        if not (root / "app_export.py").exists():
            raise RuntimeError(f"no app_export.py in {root}: PDF attachments need the app's folder")
        with tempfile.TemporaryDirectory() as out:
            given = ["--settings", str(settings_file)] if settings_file else []
            done = subprocess.run([sys.executable, "-m", "app_export", *given, "--store", store_uri,
                                   "--snapshot", snap.snapshot_id,
                                   "--format", "pdf", "--dataset", dataset, "--out", out],
                                  cwd=root, capture_output=True, text=True, timeout=PDF_SECONDS)
            made = sorted(Path(out).glob("*.pdf"))
            if done.returncode != 0 or not made:
                raise RuntimeError(f"app_export failed ({done.returncode}): {done.stderr.strip()[-300:]}")
            cache.mkdir(parents=True, exist_ok=True)
            made[0].replace(path)
    return path.name, path.read_bytes()
