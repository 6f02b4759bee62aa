"""The drill-down's tables of a unit and quarter, with numpy over its dossiers open at some moment
of the quarter, held column by column (`QuarterRows`), by the definitions in `metrics`' docstring.

Numpy, not a query each: the rows are already in memory as arrays (the counting worked them out),
and a few hundred thousand rows cost DuckDB more to take in and set up per query than the
arithmetic on them. Medians and 90th percentiles interpolate linearly between the two nearest
values (numpy's default, as DuckDB's `quantile_cont`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reformkpi.records.counting import OUTCOMES
from reformkpi.records.scan import CHANNELS, DAY_US

LATE = OUTCOMES.index("late")
AGE_BUCKETS = ((0, 7), (8, 15), (16, 30), (31, 60), (61, 90), (91, None))
OVERDUE_BUCKETS = ((0, 1), (2, 5), (6, 10), (11, 30), (31, None))


@dataclass(frozen=True)
class QuarterRows:
    """A unit's dossiers open at some moment of the quarter [s, e) (UTC microseconds)."""

    s: int
    e: int
    received: np.ndarray  # instants as UTC microseconds
    due: np.ndarray
    resolved: np.ndarray  # NEVER while open
    outcome: np.ndarray  # position in OUTCOMES (any value while open)
    channel: np.ndarray  # position in CHANNELS
    procedure: np.ndarray  # position in procedure_codes
    procedure_codes: np.ndarray  # text, each once
    procedure_names: np.ndarray  # of each code, the name its first dossier gives
    # Worked out once for every table:
    resolved_in: np.ndarray  # resolved in the quarter
    open_at_end: np.ndarray
    late: np.ndarray  # resolved late in the quarter
    overdue: np.ndarray  # open at the end of the quarter and past due by then
    processing_days: np.ndarray  # resolved − received (meaningless while open)
    allowed_days: np.ndarray  # due − received

    @classmethod
    def of(cls, s: int, e: int, columns: dict[str, list[np.ndarray]], codes: list[pa.Array],
           names: list[pa.Array]) -> QuarterRows:
        """From the columns of the rows chunk by chunk, procedures as text."""
        c = {k: np.concatenate(v) if v else np.empty(0, np.int64) for k, v in columns.items()}
        encoded = pc.dictionary_encode(pa.chunked_array(codes, pa.string())).combine_chunks()
        procedure = encoded.indices.to_numpy(zero_copy_only=False)
        n = len(encoded.dictionary)
        order, starts, _ = _by_group(procedure, n)
        first = order[starts]
        resolved_in = c["resolved"] < e
        overdue = ~resolved_in & (c["due"] < e)
        return cls(s, e, procedure=procedure, procedure_codes=np.array(encoded.dictionary.to_pylist(), dtype=object),
                   procedure_names=np.array(pa.chunked_array(names, pa.string()).take(pa.array(first)).to_pylist(),
                                            dtype=object),
                   resolved_in=resolved_in, open_at_end=~resolved_in, late=resolved_in & (c["outcome"] == LATE),
                   overdue=overdue,
                   processing_days=days(c["received"], c["resolved"]), allowed_days=days(c["received"], c["due"]),
                   **c)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray))


def days(start: np.ndarray, end: np.ndarray | int) -> np.ndarray:
    """end − start (UTC microseconds) in days, fractional."""
    return (end - start) / DAY_US


def _by_group(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positions of the rows group by group (in their order within a group), and where each
    group starts and ends among them."""
    # A stable sort of small integers is a radix sort: linear time.
    order = np.argsort(groups.astype(np.min_scalar_type(n_groups)), kind="stable")
    sizes = np.bincount(groups, minlength=n_groups)
    ends = np.cumsum(sizes)
    return order, ends - sizes, ends


def quantiles(values: np.ndarray, groups: np.ndarray, n_groups: int, qs: tuple[float, ...]) -> np.ndarray:
    """The qs-quantiles of the (finite) values of each group 0..n_groups − 1: one row per group, one
    column per q (NaN where a group has none), to the bit as np.quantile's linear method gives them
    (its steps below) for all groups at once: np.quantile costs some 60 µs a call whatever the size,
    and a table calls it per procedure."""
    order, starts, ends = _by_group(groups, n_groups)
    ordered = values[order]
    out = np.full((n_groups, len(qs)), np.nan)
    some = np.flatnonzero(ends > starts)
    for g in some:
        ordered[starts[g]:ends[g]].sort()
    first, last = starts[some, None], ends[some, None] - 1
    at = (last - first) * np.asarray(qs, dtype=float)  # a position among the group's sorted values
    below = np.floor(at)
    # At or past the last position both neighbours are the last value (numpy's index −1).
    past = at >= last - first
    below[past] = -1
    gamma = at - below
    lo = np.where(past, last, first + below.astype(np.intp))
    hi = np.where(past, last, lo + 1)
    a, b = ordered[lo], ordered[hi]
    diff = b - a
    lerp = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=lerp, where=gamma >= 0.5)
    out[some] = lerp
    return out


def _quantiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float | None]:
    return [None] * len(qs) if values.size == 0 else \
        [float(v) for v in quantiles(values, np.zeros(values.size, np.intp), 1, qs)[0]]


def times(r: QuarterRows) -> dict:
    """Of the dossiers resolved in the quarter: median and 90th percentile processing days, median allowed days."""
    median, p90 = _quantiles(r.processing_days[r.resolved_in], (0.5, 0.9))
    return {"median_days": median, "p90_days": p90, "allowed_days": _quantiles(r.allowed_days[r.resolved_in], (0.5,))[0]}


@dataclass(frozen=True)
class Procedures:
    """Per procedure of a unit's dossiers open in the quarter (`procedures`), column by column: the
    two procedure tables take their rows from it, which costs less than filtering a frame."""

    columns: dict[str, np.ndarray | pd.api.extensions.ExtensionArray]

    def __getitem__(self, column: str) -> np.ndarray | pd.api.extensions.ExtensionArray:
        return self.columns[column]

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.columns.values())


def _text(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Text as a frame's column holds it: pandas' text type; objects when there is none."""
    return pd.array(values, dtype="str" if len(values) else object)


def procedures(r: QuarterRows) -> Procedures:
    """Per procedure: procedure_code, procedure_name, resolved, late, overdue_open (at the end of the
    quarter), median_days_late (of the late ones), median_days, p90_days, allowed_days (median
    allowed time) of those resolved, late_rate (% of resolved)."""
    n = len(r.procedure_codes)
    done, late, g = r.resolved_in, r.late, r.procedure
    resolved = np.bincount(g[done], minlength=n)
    late_n = np.bincount(g[late], minlength=n)
    in_days = quantiles(r.processing_days[done], g[done], n, (0.5, 0.9))
    with np.errstate(invalid="ignore", divide="ignore"):
        late_rate = np.where(resolved > 0, 100.0 * late_n / resolved, np.nan)
    return Procedures({
        "procedure_code": _text(r.procedure_codes), "procedure_name": _text(r.procedure_names),
        "resolved": resolved, "late": late_n,
        "overdue_open": np.bincount(g[r.overdue], minlength=n),
        "median_days_late": quantiles(days(r.due[late], r.resolved[late]), g[late], n, (0.5,))[:, 0],
        "median_days": in_days[:, 0], "p90_days": in_days[:, 1],
        "allowed_days": quantiles(r.allowed_days[done], g[done], n, (0.5,))[:, 0],
        "late_rate": late_rate})


def _bucketed(values: np.ndarray, buckets) -> np.ndarray:
    """Each value's bucket (lo, hi inclusive; the last open-ended), by position."""
    return np.searchsorted(np.array([hi for _, hi in buckets[:-1]], dtype=float), values, side="left")


def _bucket_frame(buckets, **counts: np.ndarray) -> pd.DataFrame:
    """lo, hi (None: open-ended) and, per bucket, the counts given by bucket position."""
    return pd.DataFrame({"lo": [lo for lo, _ in buckets], "hi": [hi for _, hi in buckets],
                         **{k: np.bincount(v, minlength=len(buckets)).astype("int64") for k, v in counts.items()}},
                        copy=False)


def overdue_days(r: QuarterRows) -> pd.DataFrame:
    """How late, in started days past due_at (one second late is day 1), for dossiers resolved late
    in the quarter and for those open and overdue at its end (counted to the end of the quarter).
    Columns: lo, hi, resolved_late, open_overdue."""
    bucket = _bucketed(np.ceil(days(r.due, np.minimum(r.resolved, r.e))), OVERDUE_BUCKETS)
    return _bucket_frame(OVERDUE_BUCKETS, resolved_late=bucket[r.late], open_overdue=bucket[r.overdue])


def backlog_ageing(r: QuarterRows) -> pd.DataFrame:
    """Dossiers open at the end of the quarter by age (whole days since received): lo, hi, not_due, overdue."""
    bucket = _bucketed(np.floor(days(r.received, r.e)), AGE_BUCKETS)
    return _bucket_frame(AGE_BUCKETS, not_due=bucket[r.open_at_end & ~r.overdue], overdue=bucket[r.overdue])


def channels(r: QuarterRows) -> pd.DataFrame:
    """Online, in person and by post: received in the quarter, and of those resolved in it the late
    rate and median processing days. Columns: channel, received, resolved, late_rate, median_days."""
    n = len(CHANNELS)
    known = r.channel < n
    done = r.resolved_in & known
    resolved = np.bincount(r.channel[done], minlength=n)[:n]
    late = np.bincount(r.channel[r.late & known], minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        late_rate = np.where(resolved > 0, 100.0 * late / resolved, np.nan)
    return pd.DataFrame({"channel": list(CHANNELS),
                         "received": np.bincount(r.channel[(r.received >= r.s) & known], minlength=n)[:n],
                         "resolved": resolved, "late_rate": late_rate,
                         "median_days": quantiles(r.processing_days[done], r.channel[done], n, (0.5,))[:, 0]},
                        copy=False)
