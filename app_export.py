"""Export a saved view: render its page with the app's own code, without a browser, and write
what it shows as slides, PDF, offline HTML or PNG images.

`python -m app_export --snapshot ID --format pptx|pdf|html|png` (from the checkout, beside app.py):
the file shows exactly what the snapshot shows on screen. It lives on the app side because it
runs app.py; the core (`reformkpi`) never imports Streamlit nor starts an app script.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from components import access, charts, share
from reformkpi import auth, config, exports, settings, snapshots
from reformkpi.i18n import t
from reformkpi.metrics.datasets import Dataset
from reformkpi.store import Store

ROOT = Path(__file__).resolve().parent
FORMATS = ("pptx", "pdf", "html", "png")


def render(snap: snapshots.Snapshot, dataset: str, actor: auth.Actor) -> tuple[dict[str, charts.Drawn], str]:
    """What the snapshot's page draws for `actor`, by key, and the page's title."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    access.act_as(at.session_state, actor)  # the page sees what the operator may see
    # The snapshot in the URL makes its page the one the first run opens (navigation.pages).
    at.query_params.update({"data": dataset, "snapshot": snap.snapshot_id})
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    drawn = dict(at.session_state[charts.SHOWN]) if charts.SHOWN in at.session_state else {}
    return drawn, at.title[0].value if at.title else snap.title


class NothingToExport(Exception):
    """The page drew no chart for the operator: a cover alone would look like an export of nothing."""


def export(snap: snapshots.Snapshot, dataset: str, formats: list[str], out: Path, actor: auth.Actor) -> list[Path]:
    """One headless render of the snapshot's page, written in each format; returns the files."""
    store = Store(config.store_uri(dataset))
    lang = snap.view_state.get("lang", "vi")
    drawn, page_title = render(snap, dataset, actor)
    if not any(d.figure is not None for d in drawn.values()):
        raise NothingToExport(t("export.no_charts", lang, snapshot=snap.snapshot_id))
    ds = Dataset.open(store, snap.data_version, snap.catalog_versions, snap.created_at)
    report = share.report(drawn, ds, snap.page, snap.title, "\n".join(filter(None, (page_title, snap.note))),
                          t(f"data.name.{dataset}", lang), snap.view_state, snap, lang)
    period = share.view_period(snap.view_state)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        if fmt == "png":
            keys = [k for k, d in drawn.items() if d.figure is not None]
            for key, chart in zip(keys, report.charts):
                paths.append(out / exports.view_file_name(snap.page, period, snap.data_version, "png", key))
                paths[-1].write_bytes(exports.image(chart.figure))
            continue
        make = {"pptx": exports.pptx, "pdf": exports.pdf, "html": lambda r: exports.html_report(r).encode("utf-8")}
        paths.append(out / exports.view_file_name(snap.page, period, snap.data_version, fmt))
        paths[-1].write_bytes(make[fmt](report))
    return paths


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m app_export", description="a snapshot's page as files")
    p.add_argument("--snapshot", required=True)
    p.add_argument("--format", required=True, help="one or more of pptx, pdf, html, png, comma-separated")
    p.add_argument("--settings", help=f"a settings file (default: the file {settings.FILE_VARIABLE} names)")
    p.add_argument("--store", help="the dataset's store directory or URI (default: the configured one)")
    p.add_argument("--dataset", choices=config.DATASETS, default="demo")
    p.add_argument("--out", type=Path, default=Path("."), help="a folder")
    p.add_argument("--user", default=getpass.getuser(), help="the operator the page is rendered for")
    args = p.parse_args(argv)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        p.error(f"--format: one or more of {', '.join(FORMATS)}")
    try:
        loaded = settings.load(args.settings)
    except settings.SettingsError as e:
        print(e, file=sys.stderr)
        return 2
    if args.store:  # the page reads the store from the settings, so the override goes there
        loaded = dataclasses.replace(loaded, **{"store" if args.dataset == "demo" else "papi_store": args.store})
    with config.using(loaded):
        return _export(args, formats)


def _export(args: argparse.Namespace, formats: list[str]) -> int:
    uri = config.store_uri(args.dataset)
    snap = snapshots.get(Store(uri), args.snapshot)
    if snap is None:
        print(f"Không có ảnh chụp {args.snapshot} / no snapshot {args.snapshot}", file=sys.stderr)
        return 2
    try:
        paths = export(snap, args.dataset, formats, args.out, auth.operator(args.user))
    except NothingToExport as e:
        print(e, file=sys.stderr)
        return 2
    except RuntimeError as e:  # the page itself failed: say which snapshot, not a trace of the test harness
        print(f"Không xuất được ảnh chụp {args.snapshot} / could not export snapshot {args.snapshot}: {e}",
              file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
