"""Command line: `python -m reformkpi demo|history|rollback|catalog|check ...` (the same core calls as the pages)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import getpass
import json
import shlex
import sys
from pathlib import Path

from reformkpi import audit, auth, cli_users, config, demo, integrity, periods
from reformkpi.records import demo as records_demo
from reformkpi.records import cli as records_cli
from reformkpi import versions
from reformkpi.ingest import cli as ingest_cli
from reformkpi.catalog import Catalog, CatalogError, load_dir
from reformkpi.i18n import tn
from reformkpi.notify import run as notifier
from reformkpi.store import CommitInfo, Store, StoreError


def _user(args) -> str:
    return args.user or getpass.getuser()


def build_demo(store: Store, user: str, last_quarter: str | None = None, seed: int = 2016) -> int:
    """Write the demo province into an empty store: the catalog, then one commit of observations."""
    tables = load_dir(config.CATALOG_DIR)
    store.init(tables, CommitInfo(user=user, operation="init", file_name="reformkpi/data/catalog"))
    obs = demo.generate(Catalog.from_tables(tables), seed=seed, last_quarter=last_quarter)
    store.commit_observations(obs, CommitInfo(user=user, operation="demo", file_name=f"demo seed={seed}"))
    records_demo.build(store, user, last_quarter or periods.latest_complete_quarter(dt.date.today()), seed=seed)
    return store.version()


def cmd_demo(args) -> int:
    store = Store(args.store)
    if store.exists():
        if args.if_missing:
            return 0
        print(f"Kho dữ liệu đã có tại {store.uri}: không ghi đè.", file=sys.stderr)
        return 2
    version = build_demo(store, _user(args), args.last_quarter, args.seed)
    print(json.dumps({"store": store.uri, "version": version}) if args.json
          else f"Đã tạo dữ liệu minh họa tại {store.uri}, phiên bản {version}")
    return 0


def cmd_history(args) -> int:
    h = Store(args.store).history()
    if args.json:
        print(h.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        print(h.to_string(index=False))
    return 0


def cmd_rollback(args) -> int:
    store = Store(args.store)
    try:
        v = versions.rollback(store, args.version, auth.operator(_user(args)), args.reason)
    except (integrity.StoreFault, integrity.StoreUnwritable):
        raise  # said in words by main
    except (StoreError, ValueError, PermissionError) as e:
        print(f"Không thể khôi phục: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"version": v, "restored": args.version}) if args.json
          else f"Đã khôi phục phiên bản {args.version} thành phiên bản mới {v}")
    return 0


def cmd_catalog(args) -> int:
    try:
        versions.update_catalog(Store(args.store), auth.operator(_user(args)), Path(args.directory))
    except (CatalogError, OSError, ValueError) as e:
        print(f"Danh mục không hợp lệ, chưa ghi gì / Catalog refused, nothing written: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"store": args.store, "catalog": args.directory}) if args.json
          else f"Đã cập nhật danh mục từ {args.directory}")
    return 0


def cmd_repair(args) -> int:
    """Set aside a table's damaged or missing commits (kept, never deleted): the table goes back
    to the version before the first of them."""
    try:
        good = integrity.repair(args.store, args.table, auth.operator(_user(args)))
    except StoreError as e:
        print(f"Không thể sửa / Cannot repair: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"table": args.table, "version": good}) if args.json
          else f"Bảng {args.table} trở về phiên bản {good} / {args.table} is back at version {good}")
    return 0


def cmd_check(args) -> int:
    """Exit 0 when the store is sound and every stored row keeps the catalog's rules, 1 with what
    is wrong: first the store's own faults (a damaged log, a missing file), else the rows."""
    store = Store(args.store)
    faults = integrity.verify(store.uri)
    if faults:
        if args.json:
            print(json.dumps([{**dataclasses.asdict(f), "message": " ".join(f.lines(args.lang))} for f in faults],
                             ensure_ascii=False, default=str))
        else:
            print("\n".join(integrity.StoreFault(store.uri, faults).lines(args.lang)))
        return 1
    current = Catalog.from_tables(store.read_catalog())
    obs = store.read().to_pandas()
    if args.catalog:
        try:
            proposed = Catalog.from_tables(load_dir(Path(args.catalog)))
        except (CatalogError, OSError, ValueError) as e:
            print(f"Danh mục không hợp lệ / Catalog refused: {e}", file=sys.stderr)
            return 2
        found = audit.new_violations(obs, current, proposed, lang=args.lang)
    else:
        found = audit.violations(obs, current, lang=args.lang)
    if args.json:
        print(found.to_json(orient="records", force_ascii=False))
    else:
        print(tn("check.summary", len(found), args.lang, version=store.version(), rows=len(obs)))
        if len(found):
            print(found[["unit_id", "indicator_id", "period", "message"]].to_string(index=False))
    return 1 if len(found) else 0


def cmd_export(args) -> int:
    """Exports render the app's pages, which the core never runs: the command lives beside app.py."""
    store = ["--store", args.store] if args.dataset == "demo" else []  # --store names the demo dataset's
    same = ["python", "-m", "app_export", *store, "--snapshot", args.snapshot or "ID",
            "--format", args.format or "pdf", "--dataset", args.dataset, "--out", args.out]
    print("Lệnh xuất đã chuyển sang `python -m app_export`, chạy trong thư mục ứng dụng (cạnh app.py) / "
          "export moved to `python -m app_export`, run from the app's folder (beside app.py):\n  "
          + shlex.join(same), file=sys.stderr)
    return 2


def cmd_notify(args) -> int:
    """Send what is due: alerts for data changed since the last run, digests, retries (cron or a
    systemd timer runs it; see docs/notifications.md)."""
    try:
        report = notifier.run(config.settings(), settings_file=args.settings)
    except notifier.Busy as e:  # a timer fired while a run is still going: that run sends
        print(f"Đang có lượt gửi khác / another notifier run is going: {e}", file=sys.stderr)
        return 0
    counts = {"recovered": len(report.recovered), "planned": report.planned, "sent": report.sent,
              "failed": report.failed, "waiting": report.waiting}
    print(json.dumps(counts) if args.json else " · ".join(f"{k} {v}" for k, v in counts.items()))
    for error in report.pdf_errors:
        print(f"Gửi bản tin không kèm PDF / digest sent without its PDF: {error}", file=sys.stderr)
    if report.waiting:
        print("smtp_host chưa được đặt: thư chờ gửi / smtp_host is not set: e-mails wait", file=sys.stderr)
    return 1 if report.failed else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reformkpi", description="Administrative-reform KPI store")
    p.add_argument("--settings", help=f"a settings file (TOML; default: the file {config.FILE_VARIABLE} names)")
    p.add_argument("--store", default=config.store_uri(), help="store directory or URI (for `papi`, the store it "
                   "builds, unless --papi-store names one)")
    p.add_argument("--papi-store", default=config.store_uri("papi"), help="the PAPI dataset's store directory or URI")
    p.add_argument("--user", help="who does this (recorded in the commit)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="write the demo province into an empty store")
    d.add_argument("--if-missing", action="store_true", help="do nothing (exit 0) if the store exists")
    d.add_argument("--last-quarter", help="e.g. 2026-Q3 (default: the latest complete quarter)")
    d.add_argument("--seed", type=int, default=2016)
    d.set_defaults(func=cmd_demo)
    sub.add_parser("history", help="list every version").set_defaults(func=cmd_history)
    fix = sub.add_parser("repair", help="set aside a table's damaged or missing commits (as `check` says): "
                                        "the table goes back to the version before them")
    fix.add_argument("table", help="the table `check` names, e.g. observations")
    fix.set_defaults(func=cmd_repair)
    r = sub.add_parser("rollback", help="make an old version current again (as a new version)")
    r.add_argument("version", type=int)
    r.add_argument("--reason", required=True)
    r.set_defaults(func=cmd_rollback)
    pub = sub.add_parser("catalog", help="publish an edited catalog folder (units, indicators, targets, grade bands)")
    pub.add_argument("directory", nargs="?", default=str(config.CATALOG_DIR))
    pub.set_defaults(func=cmd_catalog)
    c = sub.add_parser("check", help="audit the store against the catalog's rules (terms, computed indicators, "
                                      "ranges, parts and totals); exit 1 lists the rows that break one")
    c.add_argument("--catalog", help="a catalog folder to check instead: lists the rows it would make break a rule")
    c.add_argument("--lang", choices=("vi", "en"), default="vi")
    c.set_defaults(func=cmd_check)
    e = sub.add_parser("export", help="moved to `python -m app_export` (it renders the app's pages)")
    e.add_argument("--snapshot")
    e.add_argument("--format")
    e.add_argument("--dataset", choices=config.DATASETS, default="demo")
    e.add_argument("--out", default=".")
    e.set_defaults(func=cmd_export)
    sub.add_parser("notify", help="send the alerts, digests and retries that are due (run it from cron "
                                  "or a systemd timer)").set_defaults(func=cmd_notify)
    cli_users.register(sub)
    records_cli.register(sub)
    ingest_cli.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Load the settings (`--settings`, then the environment) once, and run the command with them."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--settings")
    early.add_argument("--store")
    early.add_argument("--papi-store")
    known, _ = early.parse_known_args(argv)
    try:
        loaded = config.load(known.settings)
    except config.SettingsError as e:
        print(e, file=sys.stderr)
        return 2
    given = {"store": known.store, "papi_store": known.papi_store}
    # The stores named on the command line are the settings of the whole run: every subcommand, and
    # whatever it calls, reads them from there.
    with config.using(dataclasses.replace(loaded, **{k: v for k, v in given.items() if v})):
        args = parser().parse_args(argv)  # defaults (the stores) come from the loaded settings
        args.given = given
        uri = ingest_cli.papi_target(args) if args.command == "papi" else args.store
        try:
            with integrity.reading(uri):
                return args.func(args)
        except (integrity.StoreFault, integrity.StoreUnwritable) as e:  # the store's fault, said in words
            print("\n".join(e.lines(getattr(args, "lang", "vi"))), file=sys.stderr)
            return 1
