"""Command line for records: `records-ingest FILE [--sync]`, `records-compact` and `records-demo OUT`.

`records-ingest` reads the export in a child process under the upload worker's memory cap, as
the page does, but with no time cap: a national export takes minutes to hours, an operator
watches its progress and can stop it, and what would hurt other sessions is memory, which stays
capped (tests/core/records/test_records_hostile.py).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path

from reformkpi import auth, config, periods
from reformkpi.catalog import Catalog, load_dir
from reformkpi.i18n import t
from reformkpi.ingest import isolated
from reformkpi.ingest.problems import IngestError
from reformkpi.records import demo, load, scan, staging, table
from reformkpi.store import CommitInfo, Store


def cmd_ingest(args) -> int:
    source = Path(args.file)
    try:
        done = load.load_capped(Store(args.store), source, auth.operator(args.user or getpass.getuser()),
                                sync=args.sync, tmp_dir=args.tmp_dir, limits=staging.operator_limits(config.limits()), timed=False,
                                progress=None if args.quiet else _Progress())
    except IngestError as e:
        print("\n".join(f"{source.name}: {p.message(args.lang)}" for p in e.problems), file=sys.stderr)
        return 2
    r = done.records
    out = {"version": r.version, "rows_read": r.rows_read, "rows_new": r.rows_new,
           "rows_changed": r.rows_changed, "rows_unchanged": r.rows_unchanged}
    if done.observations_version is not None:
        out["observations_version"] = done.observations_version
    print(json.dumps(out) if args.json else
          f"Hồ sơ: {r.rows_new} mới, {r.rows_changed} sửa, {r.rows_unchanged} không đổi · phiên bản {r.version}")
    return 0


def cmd_sync(args) -> int:
    """Write the counts of the current records version (completes a sync that was interrupted)."""
    store = Store(args.store)
    try:
        # In the capped child, as `records-ingest` syncs: the counts are read from every record.
        r = isolated.run(load.sync_counts, (store, auth.operator(args.user or getpass.getuser())),
                         staging.operator_limits(config.limits()), timed=False)
    except IngestError as e:
        print("\n".join(p.message(args.lang) for p in e.problems), file=sys.stderr)
        return 2
    out = {"observations_version": r.version, "rows_new": r.rows_new, "rows_changed": r.rows_changed,
           "rows_unchanged": r.rows_unchanged}
    print(json.dumps(out) if args.json else
          t("records.sync.done" if r.committed else "records.sync.unchanged", args.lang, version=r.version,
            new=r.rows_new, changed=r.rows_changed, unchanged=r.rows_unchanged))
    return 0


class _Progress:
    """Progress on stderr (stdout stays the result), at most once a second."""

    STAGE = {"read": "đọc", "diff": "so sánh", "write": "ghi"}

    def __init__(self):
        self.shown = -1.0

    def __call__(self, p: table.Progress) -> None:
        if p.elapsed - self.shown < 1 and p.fraction < 1:
            return
        self.shown = p.elapsed
        speed = f"{p.rows_per_s:,.0f} dòng/s" if p.rows_per_s else "–"
        eta = f"còn ~{p.eta:,.0f} s" if p.eta is not None else ""
        print(f"{self.STAGE[p.stage]} {p.rows:,}/{p.total:,} · {speed} · {100 * p.fraction:.0f}% {eta}".rstrip(),
              file=sys.stderr, flush=True)


def cmd_compact(args) -> int:
    user = args.user or getpass.getuser()
    v = table.compact(Store(args.store), auth.operator(user),
                      CommitInfo(user=user, operation="records-compact", file_name=scan.RECORDS))
    print(json.dumps({"version": v}) if args.json else "Không có gì để gộp" if v is None else f"Đã gộp tệp · phiên bản {v}")
    return 0


def cmd_demo(args) -> int:
    cat = Catalog.from_tables(load_dir(config.CATALOG_DIR))
    n = demo.write_export(cat, Path(args.out), args.first_quarter, args.last_quarter, args.records, args.seed)
    print(json.dumps({"records": n, "out": args.out}) if args.json else f"{n} hồ sơ minh họa → {args.out}")
    return 0


def register(sub) -> None:
    i = sub.add_parser("records-ingest", help="ingest a dossier-records export (CSV or Parquet)")
    i.add_argument("file")
    i.add_argument("--sync", action="store_true", help="then write the quarterly counts they determine")
    i.add_argument("--tmp-dir", help="folder for temporary files (about the export's size; default REFORMKPI_TMP "
                   "or the system's temporary folder); removed on success and on failure")
    i.add_argument("--quiet", action="store_true", help="no progress on stderr")
    i.add_argument("--lang", choices=("vi", "en"), default="vi", help="language of the problems listed")
    i.set_defaults(func=cmd_ingest)
    s = sub.add_parser("records-sync", help="write the quarterly counts of the current records version into the "
                       "observations (completes an interrupted `records-ingest --sync`)")
    s.add_argument("--lang", choices=("vi", "en"), default="vi")
    s.set_defaults(func=cmd_sync)
    c = sub.add_parser("records-compact", help="rewrite quarters held in many small files as few sorted ones "
                                                "(earlier versions stay readable)")
    c.set_defaults(func=cmd_compact)
    d = sub.add_parser("records-demo", help="write an illustrative records export (Parquet, or CSV by name)")
    d.add_argument("out")
    d.add_argument("--records", type=int, default=demo.DEMO_RECORDS)
    d.add_argument("--first-quarter", default="2024-Q3")
    d.add_argument("--last-quarter", default=periods.latest_complete_quarter(dt.date.today()))
    d.add_argument("--seed", type=int, default=demo.SOURCE_SEED)
    d.set_defaults(func=cmd_demo)
