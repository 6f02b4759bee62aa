"""The nine quarterly dossier counts (COUNTS, by the definitions in `metrics`' docstring) of rows
given batch by batch, with numpy.

Each instant is placed in its quarter by its Viet Nam calendar day (a table of the quarter of every
day in range), so a row costs a few integer operations instead of a range join against the
quarters. Per unit, four histograms over those quarter numbers (received by
channel, resolved by outcome, due, the later of due and resolved) then give every count:
a dossier touches quarter i when it was received in i or before and resolved in i or after, so

    carried over into i      = #(received before i) − #(resolved before i)
    open at the end of i     = #(received in or before i) − #(resolved in or before i)
    of those, overdue        = #(due in or before i) − #(due and resolved in or before i)

which holds because ingest refuses a dossier resolved or due before it was received.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reformkpi import periods
from reformkpi.records.scan import CHANNELS, DAY_US, LOCAL_OFFSET_US, bounds

COUNTS = ("carried_over", "received_online", "received_in_person", "received_post", "resolved_early",
          "resolved_on_time", "resolved_late", "pending_not_due", "pending_overdue")
OUTCOMES = ("early", "on_time", "late")
# What a batch must hold.
COLUMNS = ("unit_id", "channel", "received_at", "due_at", "resolved_at")
NEVER = 2**62  # an open dossier's resolution: after every quarter (and no overflow in day arithmetic)
# Slots of a (unit, quarter) histogram: the channels or outcomes, then the rest (another channel; open).
SLOTS = max(len(CHANNELS), len(OUTCOMES)) + 1
OPEN = SLOTS - 1
# Rows counted at a time. A chunk's temporaries (half a MiB each) come back from the allocator's
# free memory; a million-row temporary is mapped afresh and costs more in page faults (a third of
# the counting time) than the arithmetic on it.
CHUNK_ROWS = 1 << 16


def micros_of(moment: dt.datetime) -> int:
    """An instant as UTC microseconds."""
    return int(moment.timestamp()) * 10**6


def micros(col: pa.ChunkedArray | pa.Array, missing: int = NEVER) -> np.ndarray:
    """Instants as UTC microseconds (read-only where they are Arrow's own); `missing` where there
    is none (an open dossier's resolution)."""
    us = col.cast(pa.int64())
    return (pc.fill_null(us, missing) if us.null_count else us).to_numpy(zero_copy_only=False)


def local_day(us: np.ndarray) -> np.ndarray:
    """The Viet Nam calendar day of instants (UTC microseconds), as days since 1970-01-01."""
    day = us + LOCAL_OFFSET_US
    return np.floor_divide(day, DAY_US, out=day)


def outcome_codes(resolved: np.ndarray, due: np.ndarray, resolved_day: np.ndarray | None = None,
                  due_day: np.ndarray | None = None) -> np.ndarray:
    """Each resolution's position in OUTCOMES (instants as from `micros`; their `local_day`s if at
    hand): late when after due_at, even by one second; early on a Viet Nam calendar day before the
    due date; else on time."""
    code = np.less(local_day(resolved) if resolved_day is None else resolved_day,
                   local_day(due) if due_day is None else due_day).view(np.int8)  # 1: early
    np.subtract(code, (resolved > due).view(np.int8), out=code)  # −1: late (never both)
    return np.subtract(OUTCOMES.index("on_time"), code, out=code)  # OUTCOMES: early, on_time, late


def _codes(col: pa.ChunkedArray | pa.Array) -> tuple[list, np.ndarray]:
    """The distinct values of a text column and each row's position among them."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    values = col.dictionary.to_pylist()
    return values, pc.fill_null(col.indices, len(values)).to_numpy(zero_copy_only=False).astype(np.int64)


def _positions(col: pa.ChunkedArray | pa.Array, known: tuple[str, ...]) -> np.ndarray:
    """Each row's position in `known`; len(known) for anything else (or nothing)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_dictionary(col.type) and col.dictionary.to_pylist() == list(known):  # a DuckDB enumeration
        return (pc.fill_null(col.indices, len(known)) if col.null_count else col.indices).to_numpy(zero_copy_only=False)
    values, code = _codes(col)
    lookup = np.array([known.index(v) if v in known else len(known) for v in values] + [len(known)])
    return lookup[code]


@dataclass(frozen=True)
class Instants:
    """The instants of a chunk's dossiers as UTC microseconds (`micros`), their outcomes and channels."""

    received: np.ndarray
    due: np.ndarray
    resolved: np.ndarray  # NEVER while open
    outcome: np.ndarray  # position in OUTCOMES; OPEN while open
    channel: np.ndarray  # position in CHANNELS; len(CHANNELS) for another


def chunks(batch: pa.RecordBatch | pa.Table) -> Iterator[pa.RecordBatch | pa.Table]:
    """A batch in chunks of CHUNK_ROWS rows."""
    for start in range(0, batch.num_rows, CHUNK_ROWS):
        yield batch.slice(start, CHUNK_ROWS)


def gathered(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Batches gathered into batches of at least CHUNK_ROWS rows (the last may hold fewer): DuckDB
    hands a selective query's rows over in many small batches, and each chunk counted costs a
    fixed few hundred microseconds whatever its size."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= CHUNK_ROWS:
            yield pa.concat_batches(pending)
            pending, rows = [], 0
    if rows:
        yield pa.concat_batches(pending)


class QuarterCounter:
    """Counts of consecutive quarters `first`..`last`, fed batch by batch (`add`), read once (`frame`)."""

    def __init__(self, first: str, last: str):
        self.quarters = periods.quarters_between(first, last)
        # Quarter i is [edges[i], edges[i + 1]); before the first is -1, from the end on len(quarters).
        # The edges are Viet Nam midnights, so an instant's quarter follows from its calendar day:
        # a lookup per row, three times cheaper than a binary search over the edges.
        edge_days = local_day(np.array([micros_of(bounds(q)[0]) for q in self.quarters] + [micros_of(bounds(last)[1])],
                                       dtype=np.int64))
        self.day_zero = edge_days[0] - 1
        self.bin_of_day = np.searchsorted(edge_days, np.arange(self.day_zero, edge_days[-1] + 1),
                                          side="right").astype(np.min_scalar_type(len(self.quarters) + 1))
        self.width = len(self.quarters) + 2  # histogram bins: -1 .. len(quarters), shifted by one
        self.units: dict[str, np.ndarray] = {}  # unit -> (histogram kind, bin) counts

    def _bins(self, local_days: np.ndarray) -> np.ndarray:
        """The quarter number + 1 of each calendar day (from `local_days`, which it overwrites)."""
        local_days -= self.day_zero
        return self.bin_of_day.take(local_days, mode="clip")  # before the first day or after the last: the ends

    def add(self, batch: pa.RecordBatch | pa.Table, unit: str | None = None) -> None:
        """Count the rows of a batch: all of `unit` if given, else of the unit their unit_id names."""
        for chunk in chunks(batch):
            self.add_chunk(chunk, unit)

    def add_chunk(self, batch: pa.RecordBatch | pa.Table, unit: str | None = None,
                  coded: list[str] | None = None) -> Instants:
        """Count a chunk of at most CHUNK_ROWS rows (as `add`; with `coded`, each row's unit is its
        position in it, in the column unit_code: numbers cost less to read than text); its
        instants, outcomes and channels, for a caller to reuse."""
        if unit is not None:
            units, code = [unit], np.zeros(batch.num_rows, dtype=np.int64)
        elif coded is not None:
            units, code = coded, np.asarray(batch.column("unit_code")).astype(np.int64)  # a copy: written below
        else:
            units, code = _codes(batch.column("unit_id"))
        channel = _positions(batch.column("channel"), CHANNELS)
        received, due, resolved = (micros(batch.column(c)) for c in ("received_at", "due_at", "resolved_at"))
        # Each temporary written in place, for the same reason as CHUNK_ROWS.
        received_day, due_day, resolved_day = (local_day(us) for us in (received, due, resolved))
        outcome = outcome_codes(resolved, due, resolved_day, due_day)
        outcome[resolved == NEVER] = OPEN
        qr, qd, qdue = self._bins(received_day), self._bins(resolved_day), self._bins(due_day)  # days overwritten
        w, n = self.width, len(units)
        # Four histograms over (unit, quarter bin): received by channel, resolved by outcome (open
        # ones in the last slot), due, and the later of due and resolved.
        index = np.multiply(code, w, out=code)
        at = np.empty_like(index)
        by_channel = np.bincount(_slot(index, qr, channel, at), minlength=n * w * SLOTS).reshape(n, w, SLOTS)
        by_outcome = np.bincount(_slot(index, qd, outcome, at), minlength=n * w * SLOTS).reshape(n, w, SLOTS)
        due_h = np.bincount(np.add(index, qdue, out=at), minlength=n * w).reshape(n, 1, w)
        later_h = np.bincount(np.add(index, np.maximum(qdue, qd), out=at), minlength=n * w).reshape(n, 1, w)
        hist = np.concatenate([by_channel.transpose(0, 2, 1), by_outcome.transpose(0, 2, 1), due_h, later_h], axis=1)
        for u, h in zip(units, hist):
            self.units[u] = self.units[u] + h if u in self.units else h
        return Instants(received, due, resolved, outcome, channel)

    def arrays(self) -> tuple[list[str], dict[str, np.ndarray], np.ndarray]:
        """The units counted, each of COUNTS as a (unit, quarter) array, and whether a dossier of
        the unit touches the quarter (every count is zero where none does)."""
        ids = list(self.units)
        n = len(self.quarters)
        if not ids:
            return ids, {c: np.zeros((0, n), np.int64) for c in COUNTS}, np.zeros((0, n), bool)
        h = np.stack([self.units[u] for u in ids])  # unit, kind, bin
        upto = h.cumsum(axis=2)  # upto[..., b]: rows whose bin is b or less (quarter b − 1 or before)
        before, through = upto[:, :, :n], upto[:, :, 1:n + 1]  # quarter i: bins ≤ i, bins ≤ i + 1
        received = lambda upto: upto[:, :SLOTS].sum(axis=1)
        resolved = lambda upto: upto[:, SLOTS:2 * SLOTS].sum(axis=1)  # open ones last: never
        due, later = 2 * SLOTS, 2 * SLOTS + 1
        open_at_end = received(through) - resolved(through)
        overdue = through[:, due] - through[:, later]
        cols = {"carried_over": received(before) - resolved(before),
                **{f"received_{c}": h[:, i, 1:n + 1] for i, c in enumerate(CHANNELS)},
                **{f"resolved_{o}": h[:, SLOTS + i, 1:n + 1] for i, o in enumerate(OUTCOMES)},
                "pending_not_due": open_at_end - overdue, "pending_overdue": overdue}
        return ids, cols, received(through) - resolved(before) > 0

    def frame(self) -> pd.DataFrame:
        """unit_id, period and COUNTS for every unit and quarter with a dossier touching it."""
        if not self.units:
            return empty()
        ids, cols, keep = self.arrays()
        n = len(self.quarters)
        out = pd.DataFrame({"unit_id": np.repeat(np.array(ids, dtype=object), n).reshape(len(ids), n)[keep],
                            "period": np.tile(np.array(self.quarters, dtype=object), (len(ids), 1))[keep],
                            **{c: v[keep] for c, v in cols.items()}})
        return out.astype({c: "int64" for c in COUNTS})


def _slot(index: np.ndarray, quarter_bin: np.ndarray, slot: np.ndarray, out: np.ndarray) -> np.ndarray:
    """(index + quarter_bin) * SLOTS + slot, into `out`."""
    np.add(index, quarter_bin, out=out)
    np.multiply(out, SLOTS, out=out)
    return np.add(out, slot, out=out)


def empty() -> pd.DataFrame:
    return pd.DataFrame({"unit_id": pd.Series(dtype=object), "period": pd.Series(dtype=object),
                         **{c: pd.Series(dtype="int64") for c in COUNTS}})


def count(batches: Iterable[pa.RecordBatch | pa.Table], quarter_list: list[str]) -> pd.DataFrame:
    """COUNTS per unit and quarter of `quarter_list` (any quarters), sorted by unit and period."""
    if not quarter_list:
        return empty()
    counter = QuarterCounter(min(quarter_list), max(quarter_list))
    for b in batches:
        counter.add(b)
    out = counter.frame()
    out = out[out["period"].isin(quarter_list)]
    return out.sort_values(["unit_id", "period"], ignore_index=True)
