"""`python -m reformkpi ingest FILE ...` and `papi`: the command-line face of the upload path.

Exit 0: committed (or valid with --dry-run); exit 2: rejected, every problem listed, nothing written;
exit 2, the values listed, when the file would replace values synced from the records or stored
from another source without `--replace-synced`; exit 1 (said by `reformkpi.cli.main`): the store
refused, damaged or its disk full or read-only.
The file is read and checked in a child process under the same memory and time caps as a page's
upload (`isolated`), after its size is checked and before its bytes are read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from pathlib import Path

import pandas as pd

from reformkpi import config, formatting
from reformkpi.auth import operator
from reformkpi.config import MB, Limits
from reformkpi.context import source_label
from reformkpi.i18n import t, tn
from reformkpi.ingest import OverwriteRefused, Upload, commit, isolated, origin_counts, papi, profile_named
from reformkpi.ingest.problems import Problem
from reformkpi.store import Store


def _user(args) -> str:
    return args.user or getpass.getuser()


def cmd_ingest(args) -> int:
    store = Store(args.store)
    path = Path(args.file)
    try:
        profile = profile_named(store, args.profile)
    except KeyError as e:
        print(e, file=sys.stderr)
        return 2
    if args.period:
        profile = dataclasses.replace(profile, period=args.period)
    up = _prepare(store, path, profile, args.replace, config.limits())
    report = {"file": path.name, "sha256": up.sha256, "valid": up.valid, "layout": up.layout,
              "errors": [p.as_dict(args.lang) for p in up.errors], "hidden_errors": up.hidden_errors,
              "warnings": [p.as_dict(args.lang) for p in up.warnings], "hidden_warnings": up.hidden_warnings}
    if up.valid:
        d = up.diff
        assert d is not None, "a valid upload has its diff"
        report.update(base_version=d.base_version, rows_new=d.new.num_rows, rows_changed=len(d.changed),
                      rows_unchanged=d.unchanged, rows_deleted=len(d.deleted))
        found = up.overwrites if up.overwrites is not None else pd.DataFrame()
        if not found.empty:
            report["overwrites"] = overwrite_rows(found)
        refused = not found.empty and not args.replace_synced
        if not args.dry_run and not refused:
            try:
                r = commit(store, up, operator(_user(args)), replace_synced=args.replace_synced)
            except OverwriteRefused as e:  # a records sync landed between the check and the commit
                found, refused = e.found, True
                report["overwrites"] = overwrite_rows(found)
            else:
                report.update(committed=r.committed, version=r.version, upload_id=r.upload_id,
                              rows_new=r.rows_new, rows_changed=r.rows_changed, rows_unchanged=r.rows_unchanged,
                              rows_deleted=r.rows_deleted, attempts=r.attempts)
        if refused:
            report["refused"] = "overwrites"
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str))
    else:
        for p in up.errors + up.warnings:
            print(("LỖI  " if p.severity == "error" else "CHÚ Ý ") + p.message(args.lang),
                  file=sys.stderr if p.severity == "error" else sys.stdout)
        if up.hidden_errors:
            print(f"… +{up.hidden_errors}", file=sys.stderr)
        if "refused" in report:
            print(overwrite_message(path.name, found, args.lang), file=sys.stderr)
        elif up.valid:
            print(f"{path.name}: mới {report['rows_new']}, thay đổi {report['rows_changed']}, "
                  f"không đổi {report['rows_unchanged']}, xóa {report['rows_deleted']}"
                  + (f" → phiên bản {report['version']}" if "version" in report else " (chạy thử, chưa ghi)"))
    return 0 if up.valid and "refused" not in report else 2


def overwrite_rows(found: pd.DataFrame) -> list[dict]:
    """The values an upload would replace that came from the records or another source, for --json."""
    return [{"unit_id": r.unit_id, "indicator_id": r.indicator_id, "period": r.period, "old_value": r.old_value,
             "value": None if pd.isna(r.value) else r.value, "old_source": r.old_source, "origin": r.origin}
            for r in found.itertuples()]


def overwrite_message(file_name: str, found: pd.DataFrame, lang: str) -> str:
    """Why nothing was written: how many values of each origin, then each one (key, old → new, source)."""
    counts = origin_counts(found)
    lines = [tn("ingest.overwrites.refused", len(found), lang, file=file_name, records=counts["records"],
                other=counts["other"])]
    for r in found.itertuples():
        new = t("ingest.overwrites.deleted", lang) if pd.isna(r.value) else formatting.figure(r.value, lang)
        lines.append(f"  {r.unit_id} · {r.indicator_id} · {r.period}: {formatting.figure(r.old_value, lang)} → {new}"
                     f" ({source_label(r.old_source, lang)})")
    return "\n".join(lines)


def _prepare(store: Store, path: Path, profile, replace: bool, limits: Limits = Limits()) -> Upload:
    size = path.stat().st_size
    if size > limits.max_bytes:  # refused before its bytes are read into this process
        return Upload(path.name, "", profile,
                      errors=[Problem("too_large", fields={"size": size // MB, "limit": limits.max_bytes // MB})])
    return isolated.prepare(store.uri, path.read_bytes(), path.name, profile, replace, limits)


def papi_target(args) -> str:
    """The store `papi` builds: `papi --store`, else the global --papi-store, else a global --store
    given on the command line (the one store the command writes), else the setting."""
    return args.papi_here or args.given["papi_store"] or args.given["store"] or args.papi_store


def cmd_papi(args) -> int:
    uri = papi_target(args)
    store = Store(uri)
    if store.exists():
        if not args.if_missing:
            print(f"Kho PAPI đã có tại {store.uri}: không ghi đè / exists, not overwritten.", file=sys.stderr)
        return 0 if args.if_missing else 2
    r = papi.build(store, operator(_user(args)))
    print(json.dumps({"store": store.uri, "version": r.version, "rows_new": r.rows_new}) if args.json
          else f"PAPI: {r.rows_new} giá trị tại {store.uri}, phiên bản {r.version}")
    return 0


def register(sub) -> None:
    i = sub.add_parser("ingest", help="check a data file and write it as one new version")
    i.add_argument("file")
    # Also accepted after FILE, as the contract writes them; given there, they win.
    i.add_argument("--store", default=argparse.SUPPRESS)
    i.add_argument("--user", default=argparse.SUPPRESS)
    i.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    i.add_argument("--dry-run", action="store_true", help="check and diff only, write nothing")
    i.add_argument("--profile", help="a saved import profile (column mapping), e.g. papi")
    i.add_argument("--period", help="the period of every row, for files without a period column")
    i.add_argument("--replace", action="store_true",
                   help="delete stored rows of the file's units, indicators and periods that the file lacks")
    i.add_argument("--replace-synced", action="store_true",
                   help="replace (or, with --replace, delete) values synced from the records or stored from "
                        "another source; without it such a file is refused (exit 2) with the values listed")
    i.add_argument("--lang", choices=("vi", "en"), default="vi")
    i.set_defaults(func=cmd_ingest)
    p = sub.add_parser("papi", help="build the PAPI dataset's store from reformkpi/data/papi")
    p.add_argument("--if-missing", action="store_true", help="do nothing (exit 0) if the store exists")
    p.add_argument("--store", dest="papi_here", help="the PAPI store to build (default: --papi-store, else a "
                   "global --store, else the papi_store setting)")
    p.set_defaults(func=cmd_papi)
