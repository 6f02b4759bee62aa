"""The records' heavy aggregations on a Dask cluster, for when one machine is outgrown.

The cluster reads the same Delta table as the dashboard: the file list of a version (Delta log
and statistics, `scan.files`), one task per data file, each read by a worker with pyarrow
(local paths or object-storage URIs alike), then the partial results are summed. The figures
follow the definitions of `metrics.py` to the number (a test compares them with DuckDB's):
the nine quarterly dossier counts of every unit and quarter, and the late-procedure table of a
unit and quarter.

`client()` starts a LocalCluster of worker processes on this machine; `client(address)` joins a
running scheduler (`dask scheduler` on one host, `dask worker tcp://host:8786` on each of the
others), and the same code runs there unchanged.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from dask.distributed import Client, LocalCluster

from reformkpi import objectstore
from reformkpi.records import scan
from reformkpi.records.counting import COUNTS
from reformkpi.records.scan import bounds

LOCAL = np.timedelta64(7, "h")  # Viet Nam time has no daylight saving
COLUMNS = ["unit_id", "procedure_code", "procedure_name", "channel", "received_at", "due_at", "resolved_at"]


def client(address: str | None = None, workers: int = 2) -> Client:
    """A client of the scheduler at `address` (tcp://host:8786), or of a new LocalCluster of
    `workers` single-threaded worker processes."""
    if address:
        return Client(address)
    return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None))


def _filesystem(paths: list[str]) -> pafs.FileSystem | None:
    """What the workers read the files with: the store's object store, handed to them with each task
    (a worker has no settings of its own); None for local files."""
    return objectstore.arrow_fs(paths[0])[0] if paths and objectstore.is_remote(paths[0]) else None


def _read(path: str, fs: pafs.FileSystem | None = None) -> pd.DataFrame:
    """One data file, instants as UTC nanoseconds without a zone (numpy compares those fastest)."""
    df = pq.read_table(objectstore.file_path(path), columns=COLUMNS, filesystem=fs).to_pandas()
    for c in ("received_at", "due_at", "resolved_at"):
        df[c] = df[c].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    return df


def _outcome(df: pd.DataFrame) -> pd.Series:
    """'late' after due_at by any amount; 'early' on an earlier local calendar day; else 'on_time'."""
    day = lambda c: (df[c] + LOCAL).dt.floor("D")
    out = np.where(df["resolved_at"] > df["due_at"], "late",
                   np.where(day("resolved_at") < day("due_at"), "early", "on_time"))
    return pd.Series(out, index=df.index).where(df["resolved_at"].notna())


def _naive(moment: dt.datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(dt.UTC).replace(tzinfo=None), "ns")


def _file_counts(path: str, quarter_bounds: list[tuple[str, dt.datetime, dt.datetime]],
                 fs: pafs.FileSystem | None = None) -> pd.DataFrame:
    """The nine counts per unit and quarter from one data file."""
    df = _read(path, fs)
    outcome = _outcome(df)
    open_until = df["resolved_at"].fillna(pd.Timestamp.max)
    frames = []
    for period, start, end in quarter_bounds:
        s, e = _naive(start), _naive(end)
        touching = (df["received_at"] < e) & (open_until >= s)
        if not touching.any():
            continue
        r = df[touching]
        o, until = outcome[touching], open_until[touching]
        new = r["received_at"] >= s
        done = r["resolved_at"] < e
        pending = until >= e
        flags = pd.DataFrame({
            "carried_over": ~new,
            **{f"received_{c}": new & (r["channel"] == c) for c in scan.CHANNELS},
            "resolved_early": done & (o == "early"),
            "resolved_on_time": done & (o == "on_time"),
            "resolved_late": done & (o == "late"),
            "pending_not_due": pending & (r["due_at"] >= e),
            "pending_overdue": pending & (r["due_at"] < e)})
        frames.append(flags.groupby(r["unit_id"]).sum().assign(period=period).reset_index())
    return pd.concat(frames) if frames else pd.DataFrame(columns=["unit_id", *COUNTS, "period"])


def _sum(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=["unit_id", "period", *COUNTS])
    return pd.concat(parts).groupby(["unit_id", "period"], as_index=False)[list(COUNTS)].sum()


def _files(file_list: list[scan.DataFile], first: str, last: str) -> list[str]:
    """The files that can hold dossiers open between the start of `first` and the end of `last`
    (the same pruning as the dashboard's: partitions, then Delta statistics)."""
    start = bounds(first)[0]
    return [f.path for f in file_list if f.quarter <= last and f.may_be_open_at(start)]


def quarter_counts(c: Client, file_list: list[scan.DataFile], quarter_list: list[str]) -> pd.DataFrame:
    """Per unit and quarter the nine stored dossier counts, as `metrics.quarter_counts`."""
    qb = [(p, *bounds(p)) for p in quarter_list]
    paths = _files(file_list, min(quarter_list), max(quarter_list)) if quarter_list else []
    parts = c.map(_file_counts, paths, quarter_bounds=qb, fs=_filesystem(paths), pure=False)
    while len(parts) > 1:  # a tree of sums: no worker receives every partial at once
        parts = [c.submit(_sum, parts[i:i + 8], pure=False) for i in range(0, len(parts), 8)]
    out = parts[0].result() if parts else _sum([])
    out = out.sort_values(["unit_id", "period"]).reset_index(drop=True)
    return out.astype({col: "int64" for col in COUNTS})


def _unit_rows(path: str, unit_id: str, s: dt.datetime, e: dt.datetime,
               fs: pafs.FileSystem | None = None) -> pd.DataFrame:
    df = _read(path, fs)
    df = df[(df["unit_id"] == unit_id) & (df["received_at"] < _naive(e))
            & (df["resolved_at"].isna() | (df["resolved_at"] >= _naive(s)))]
    return df.assign(outcome=_outcome(df))


def late_procedures(c: Client, file_list: list[scan.DataFile], unit_id: str, quarter: str,
                    limit: int = 10) -> pd.DataFrame:
    """Procedures with the most dossiers resolved late or overdue at the end of the quarter, as
    `metrics.late_procedures`: the workers filter the unit's dossiers, the medians are taken here."""
    s, e = bounds(quarter)
    paths = _files(file_list, quarter, quarter)
    parts = c.gather(c.map(_unit_rows, paths, unit_id=unit_id, s=s, e=e, fs=_filesystem(paths), pure=False))
    r = pd.concat(parts) if parts else pd.DataFrame(columns=[*COLUMNS, "outcome"])
    end = _naive(e)
    done = r["resolved_at"] < end
    late = done & (r["outcome"] == "late")
    overdue = (r["resolved_at"].isna() | (r["resolved_at"] >= end)) & (r["due_at"] < end)
    r = r.assign(resolved=done, late=late, overdue_open=overdue,
                 days_late=((r["resolved_at"] - r["due_at"]) / pd.Timedelta(days=1)).where(late))
    g = r.groupby("procedure_code").agg(procedure_name=("procedure_name", "first"), resolved=("resolved", "sum"),
                                        late=("late", "sum"), overdue_open=("overdue_open", "sum"),
                                        median_days_late=("days_late", "median")).reset_index()
    g["late_rate"] = (100.0 * g["late"] / g["resolved"].where(g["resolved"] > 0)).astype(float)
    g = g[g["late"] + g["overdue_open"] > 0].assign(_n=lambda x: x["late"] + x["overdue_open"])
    g = g.sort_values(["_n", "procedure_code"], ascending=[False, True]).head(limit)
    cols = ["procedure_code", "procedure_name", "resolved", "late", "overdue_open", "late_rate", "median_days_late"]
    return g[cols].astype({"resolved": "int64", "late": "int64", "overdue_open": "int64"}).reset_index(drop=True)
