"""Export a saved view: render its page with the app's own code, without a browser, and write
what it shows as slides, PDF, offline HTML or PNG images.

`python -m app_export --snapshot ID --format pptx|pdf|html|png|csv|xlsx` (from the checkout, beside
app.py): the file shows exactly what the snapshot shows on screen. It lives on the app side because
it runs app.py; the core (`reformkpi`) never imports Streamlit nor starts an app script. It reads
the settings as the server does, and from a checkout the stores `make run` reads (CHECKOUT_STORES).
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import sys
from pathlib import Path

import streamlit.logger


class _Harness(logging.Filter):
    """Streamlit's notes that it runs without a server (the headless render is one, by design):
    "No runtime found" from each cache and "missing ScriptRunContext" from the test harness's
    session state. Anything else it logs still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not ("No runtime found" in text or "missing ScriptRunContext" in text)


# Before the components are imported: their caches log as they are declared.
for _name in ("streamlit.runtime.caching.cache_data_api", "streamlit.runtime.caching.cache_resource_api",
              "streamlit.runtime.scriptrunner_utils.script_run_context"):
    streamlit.logger.get_logger(_name).addFilter(_Harness())

from streamlit.testing.v1 import AppTest  # noqa: E402

from components import access, charts, exporting, navigation  # noqa: E402
from reformkpi import auth, config, exports, snapshots  # noqa: E402
from reformkpi.i18n import t  # noqa: E402
from reformkpi.metrics.datasets import Dataset  # noqa: E402
from reformkpi.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent
FORMATS = ("pptx", "pdf", "html", "png", "csv", "xlsx")
# The checkout's demo stores, where `make demo` writes them and `make run` reads them (the Makefile's
# DEV_STORES): used when they exist and no settings file or variable names a store.
CHECKOUT_STORES = {"store": ROOT / "data" / "store", "papi_store": ROOT / "data" / "papi-store"}


def render(snap: snapshots.Snapshot, dataset: str, actor: auth.Actor) -> tuple[dict[str, charts.Drawn], charts.Scope]:
    """What the snapshot's page draws for `actor`, by key, and what it draws them for."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    access.act_as(at.session_state, actor)  # the page sees what the operator may see
    # The snapshot in the URL makes its page the one the first run opens (navigation.pages).
    at.query_params.update({"data": dataset, "snapshot": snap.snapshot_id})
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    state = at.session_state
    return (dict(state[charts.SHOWN]) if charts.SHOWN in state else {},
            state[charts.SCOPE] if charts.SCOPE in state else charts.Scope())


class NothingToExport(Exception):
    """The page drew no chart for the operator: a cover alone would look like an export of nothing."""


def export(snap: snapshots.Snapshot, dataset: str, formats: list[str], out: Path, actor: auth.Actor) -> list[Path]:
    """One headless render of the snapshot's page, written in each format; returns the files."""
    store = Store(config.store_uri(dataset))
    lang = snap.view_state.get("lang", "vi")
    drawn, scope = render(snap, dataset, actor)
    if not any(d.figure is not None for d in drawn.values()):
        raise NothingToExport(t("export.no_charts", lang, snapshot=snap.snapshot_id))
    ds = Dataset.open(store, snap.data_version, snap.catalog_versions, snap.created_at)
    # The page's own title, as the page's export menu passes it (app.py: page.title).
    report = exporting.report(drawn, scope, ds, navigation.title(snap.page, lang), t(f"data.name.{dataset}", lang),
                          snap, lang)
    out.mkdir(parents=True, exist_ok=True)
    charted = [k for k, d in drawn.items() if d.figure is not None]
    tabled = list(zip(charted, [c.exhibit for c in report.charts])) + list(
        zip([k for k in drawn if k not in charted], report.tables))

    def files(fmt: str) -> list[tuple[str, bytes]]:
        """(part of the name, content): a file per chart (png), per chart and table (csv, xlsx), or one."""
        if fmt == "png":
            return [(k, exports.image(c.figure)) for k, c in zip(charted, report.charts)]
        if fmt in ("csv", "xlsx"):
            write = exports.exhibit_csv if fmt == "csv" else exports.exhibit_xlsx
            return [(k, write(e)) for k, e in tabled]
        return [("", exports.pptx(report) if fmt == "pptx" else exports.pdf(report) if fmt == "pdf"
                 else exports.html_report(report).encode("utf-8"))]

    paths = []
    for fmt in formats:
        for part, content in files(fmt):
            paths.append(out / exporting.file_name(snap.page, scope, snap.data_version, fmt, part))
            paths[-1].write_bytes(content)
    return paths


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m app_export", description="a snapshot's page as files")
    p.add_argument("--snapshot", required=True)
    p.add_argument("--format", required=True, help=f"one or more of {', '.join(FORMATS)}, comma-separated")
    p.add_argument("--settings", help=f"a settings file (default: the file {config.FILE_VARIABLE} names)")
    p.add_argument("--store", help="the dataset's store directory or URI (default: the configured one)")
    p.add_argument("--dataset", choices=config.DATASETS, default="demo")
    p.add_argument("--out", type=Path, default=Path("."), help="a folder")
    p.add_argument("--user", default=getpass.getuser(), help="the operator the page is rendered for")
    args = p.parse_args(argv)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        p.error(f"--format: one or more of {', '.join(FORMATS)}")
    checkout = {k: str(v) for k, v in CHECKOUT_STORES.items() if v.is_dir()}
    try:
        loaded = config.load(args.settings, defaults=checkout)
    except config.SettingsError as e:
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
