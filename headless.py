"""Render a saved view with the app's own pages, without a browser, and export its charts.

`python -m reformkpi export --snapshot ID --format pptx|pdf|html|png` runs this script, so the
file shows exactly what the snapshot shows on screen. It sits beside app.py (it runs the app),
not in the core, which never imports Streamlit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from components import access, navigation
from components.charts import SHOWN
from reformkpi import auth, config, exports, formatting, snapshots
from reformkpi.i18n import t
from reformkpi.store import Store

ROOT = Path(__file__).resolve().parent


def render(snap: snapshots.Snapshot, dataset: str, actor: auth.Actor) -> dict:
    """The figures the snapshot's page draws for `actor`, by chart key."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    access.act_as(at.session_state, actor)  # the page sees what the operator may see
    at.switch_page(navigation.script_of(snap.page))
    at.query_params.update({**snap.view_state, "data": dataset, "snapshot": snap.snapshot_id})
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return dict(at.session_state[SHOWN]) if SHOWN in at.session_state else {}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="reformkpi export")
    p.add_argument("--snapshot", required=True)
    p.add_argument("--format", choices=("pptx", "pdf", "html", "png"), required=True)
    p.add_argument("--dataset", choices=config.DATASETS, default="demo")
    p.add_argument("--out", type=Path, default=Path("."), help="a folder")
    p.add_argument("--user", required=True, help="the operator the page is rendered for")
    args = p.parse_args(argv)
    uri = config.store_uri(args.dataset)
    os.environ["REFORMKPI_STORE" if args.dataset == "demo" else "REFORMKPI_PAPI_STORE"] = uri
    snap = snapshots.get(Store(uri), args.snapshot)
    if snap is None:
        print(f"Không có ảnh chụp {args.snapshot} / no snapshot {args.snapshot}", file=sys.stderr)
        return 2
    lang = snap.view_state.get("lang", "vi")
    charts = tuple(exports.chart_export(fig) for fig in render(snap, args.dataset, auth.operator(args.user)).values())
    if not charts:  # a cover without charts would look like an export of nothing
        print(t("export.no_charts", lang, snapshot=args.snapshot), file=sys.stderr)
        return 2
    source = t("share.source", lang, dataset=t(f"data.name.{args.dataset}", lang), version=snap.data_version)
    report = exports.Report(snap.title, snap.note, source, dt.datetime.now(dt.UTC), charts)
    day = formatting.date(dt.date.today(), lang).replace("/", "-")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.format == "png":
        paths = [args.out / exports.file_name(t("share.file_prefix", lang), c.title, day, ext="png") for c in charts]
        for path, chart in zip(paths, charts):
            path.write_bytes(exports.image(chart.figure))
    else:
        make = {"pptx": exports.pptx, "pdf": exports.pdf, "html": lambda r: exports.html_report(r).encode("utf-8")}
        paths = [args.out / exports.file_name(t("share.file_prefix", lang), snap.title, day, ext=args.format)]
        paths[0].write_bytes(make[args.format](report))
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
