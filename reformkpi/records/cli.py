"""Command line for records: `records-ingest FILE [--sync]` and `records-demo OUT`."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import sys
from pathlib import Path

from reformkpi import config, periods
from reformkpi.catalog import Catalog, load_dir
from reformkpi.records import demo, metrics, table
from reformkpi.store import CommitInfo, Store


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cmd_ingest(args) -> int:
    store = Store(args.store)
    source = Path(args.file)
    units = set(Catalog.from_tables(store.read_catalog()).units["unit_id"])
    info = CommitInfo(user=args.user or getpass.getuser(), operation="records", file_name=source.name,
                      sha256=_sha256(source))
    try:
        r = table.ingest(store, source, info, units)
    except table.RecordsError as e:
        print("\n".join(e.problems), file=sys.stderr)
        return 2
    out = {"version": r.version, "rows_read": r.rows_read, "rows_new": r.rows_new,
           "rows_changed": r.rows_changed, "rows_unchanged": r.rows_unchanged}
    if args.sync and r.committed:
        s = metrics.sync_counts(store, metrics.Records.open(store, r.version),
                                CommitInfo(user=info.user, operation="records-sync", file_name=f"records v{r.version}"))
        out["observations_version"] = s.version
    print(json.dumps(out) if args.json else
          f"Hồ sơ: {r.rows_new} mới, {r.rows_changed} sửa, {r.rows_unchanged} không đổi · phiên bản {r.version}")
    return 0


def cmd_demo(args) -> int:
    cat = Catalog.from_tables(load_dir(config.CATALOG_DIR))
    n = demo.write_export(cat, Path(args.out), args.first_quarter, args.last_quarter, args.records, args.seed)
    print(f"{n} hồ sơ minh họa → {args.out}")
    return 0


def register(sub) -> None:
    i = sub.add_parser("records-ingest", help="ingest a dossier-records export (CSV or Parquet)")
    i.add_argument("file")
    i.add_argument("--sync", action="store_true", help="then write the quarterly counts they determine")
    i.set_defaults(func=cmd_ingest)
    d = sub.add_parser("records-demo", help="write an illustrative records export (Parquet, or CSV by name)")
    d.add_argument("out")
    d.add_argument("--records", type=int, default=demo.DEMO_RECORDS)
    d.add_argument("--first-quarter", default="2024-Q3")
    d.add_argument("--last-quarter", default=periods.latest_complete_quarter(dt.date.today()))
    d.add_argument("--seed", type=int, default=demo.SOURCE_SEED)
    d.set_defaults(func=cmd_demo)
