"""Illustrative dossier records, generated deterministically, shaped like a one-stop-shop export.

The skew a province sees: a few procedures carry most of the volume (Zipf weights), the units
that run late in the demo counts run late here too (and worse over time, so their backlog
grows), the end of the year and the months before Tết are busier, online submissions rise.
Each unit's records fall within its active period (active_from..active_to).

One module (over 300 lines): the generator's steps draw from shared seeded streams, and the
records must repeat the typed counts and backlog they replace (tests/core/records/test_records_demo.py).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from reformkpi import demo, periods
from reformkpi.auth import operator
from reformkpi.catalog import Catalog
from reformkpi.formatting import VIETNAM_TIME
from reformkpi.records import metrics, table
from reformkpi.records.scan import CHANNELS
from reformkpi.records.staging import INPUT_COLUMNS
from reformkpi.store import CommitInfo, Store

# Procedures by unit: (code, name, allowed calendar days). Others get their sector's generic ones.
PROCEDURES = {
    "so-tai-nguyen-moi-truong": [
        ("TNMT-01", "Đăng ký biến động quyền sử dụng đất", 14), ("TNMT-02", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", 30),
        ("TNMT-03", "Cung cấp thông tin dữ liệu đất đai", 5), ("TNMT-04", "Thẩm định báo cáo đánh giá tác động môi trường", 45),
        ("TNMT-05", "Cấp giấy phép khai thác nước dưới đất", 40), ("TNMT-06", "Gia hạn quyền sử dụng đất", 10)],
    "so-tu-phap": [
        ("TP-01", "Cấp Phiếu lý lịch tư pháp", 14), ("TP-02", "Chứng thực bản sao từ bản chính", 1),
        ("TP-03", "Đăng ký giao dịch bảo đảm", 5), ("TP-04", "Cấp thẻ công chứng viên", 14)],
    "so-ke-hoach-dau-tu": [
        ("KHDT-01", "Đăng ký thành lập doanh nghiệp", 4), ("KHDT-02", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", 4),
        ("KHDT-03", "Cấp Giấy chứng nhận đăng ký đầu tư", 21), ("KHDT-04", "Quyết định chủ trương đầu tư", 49)],
    "so-giao-thong-van-tai": [
        ("GTVT-01", "Cấp đổi giấy phép lái xe", 7), ("GTVT-02", "Cấp phù hiệu xe kinh doanh vận tải", 3),
        ("GTVT-03", "Cấp giấy phép thi công công trình đường bộ", 10)],
    "so-xay-dung": [
        ("XD-01", "Cấp giấy phép xây dựng", 28), ("XD-02", "Thẩm định thiết kế xây dựng", 35),
        ("XD-03", "Cấp chứng chỉ hành nghề hoạt động xây dựng", 28)],
    "so-lao-dong-tbxh": [
        ("LDTBXH-01", "Giải quyết trợ cấp thất nghiệp", 28), ("LDTBXH-02", "Cấp giấy phép lao động cho người nước ngoài", 7),
        ("LDTBXH-03", "Xác nhận người có công", 28)],
}
GENERIC = [("CHUNG-01", "Cấp giấy phép hoạt động", 21), ("CHUNG-02", "Cấp lại, điều chỉnh giấy phép", 14),
           ("CHUNG-03", "Xác nhận, chứng nhận theo lĩnh vực", 7), ("CHUNG-04", "Thẩm định hồ sơ chuyên ngành", 28)]
DISTRICT = [("HUYEN-01", "Chứng thực bản sao từ bản chính", 1), ("HUYEN-02", "Đăng ký hộ kinh doanh", 4),
            ("HUYEN-03", "Đăng ký khai sinh, kết hôn", 3), ("HUYEN-04", "Cấp giấy phép xây dựng nhà ở riêng lẻ", 21),
            ("HUYEN-05", "Đăng ký biến động đất đai hộ gia đình, cá nhân", 14), ("HUYEN-06", "Hỗ trợ, trợ cấp xã hội", 20)]
MONTH_WEIGHT = {1: 1.25, 2: 0.7, 3: 1.0, 4: 0.95, 5: 1.0, 6: 1.05, 7: 0.95, 8: 0.95, 9: 1.0, 10: 1.05, 11: 1.1, 12: 1.3}
EDGE = 0.05  # share resolved on the due date itself, just before the deadline
SIGMA = 0.55  # spread of processing time around a unit's typical share of the allowed time
SOURCE_SEED = 2016
DEMO_RECORDS = 200_000
DEMO_QUARTERS = 8  # quarters whose counts the demo records determine (after one of warm-up)


def _rng(seed: int, *keys) -> np.random.Generator:
    return np.random.default_rng([seed] + [zlib.crc32(str(k).encode()) for k in keys])


def procedures(cat: Catalog, unit_id: str, when: dt.date) -> list[tuple[str, str, int]]:
    """A unit's procedures on a day, with those of predecessors gone by then (a merged unit takes over their work)."""
    if unit_id in PROCEDURES:
        out = list(PROCEDURES[unit_id])
    else:
        base = DISTRICT if cat.unit(unit_id)["level"] == "district" else GENERIC
        out = [(f"{code}-{unit_id}", name, days) for code, name, days in base]
    for p in _gone(cat, unit_id, when):
        out += procedures(cat, p, when)
    return out


def _gone(cat: Catalog, unit_id: str, when: dt.date) -> list[str]:
    """Direct predecessors of a unit that are no longer in office on a day."""
    u = cat.units
    pred = u[(u["successor_id"] == unit_id) & u["active_to"].notna()]
    return [p for p, to in zip(pred["unit_id"], pred["active_to"]) if to < when]


def _day_weights(days: pd.DatetimeIndex) -> np.ndarray:
    """Busy months weigh more; weekends see a trickle (online submissions)."""
    return np.array([MONTH_WEIGHT[d.month] * (0.08 if d.weekday() >= 5 else 1.0) for d in days])


def _weights(unit: pd.Series) -> float:
    uid = unit["unit_id"]
    if unit["level"] == "district":
        return 4000.0
    return float(demo.VOLUME.get(uid, 250))


def _workload(cat: Catalog, unit: pd.Series, when: dt.date) -> float:
    """A unit's weight on a day: its own and that of the units merged into it by then."""
    return _weights(unit) + sum(_weights(cat.unit(p)) for p in _gone(cat, unit["unit_id"], when))


def _late_probability(seed: int, unit_id: str, t: float) -> float:
    base = demo.LATE_BASE.get(unit_id, _rng(seed, "late", unit_id).uniform(0.01, 0.06))
    growth = 1.08 if unit_id in demo.LATE_BASE else 0.97  # the chronic ones get worse each year
    return float(np.clip(base * growth ** t, 0.002, 0.45))


def _days(u: pd.Series, quarter: str) -> pd.DatetimeIndex:
    """The days of a quarter the unit is in office."""
    start, end = periods.start(quarter), periods.end(quarter)
    lo = max(start, u["active_from"]) if pd.notna(u["active_from"]) else start
    hi = min(end, u["active_to"]) if pd.notna(u["active_to"]) else end
    return pd.date_range(lo, hi, freq="D")


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Whole parts of total in proportion to weights, adding up exactly (largest remainders)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out), kind="stable")[: total - out.sum()]] += 1
    return out


def _planned(seed: int, cat: Catalog, quarter: str, plan: pd.DataFrame,
             old_open: dict[str, int]) -> dict[str, tuple[np.ndarray, float, tuple[int, int]]]:
    """Each unit's channels, late share and backlog at the quarter's end, from the counts typed for
    the unit that answers for it then: the records repeat what was typed, split between a merged
    unit and its successor by their days in office. The backlog (open, and open overdue) a unit
    must leave among its new dossiers is the typed one less what older records (`old_open`) still
    hold open."""
    holders = cat.holders(quarter)
    units = cat.units[cat.units["level"] != "province"].sort_values("unit_id")
    out = {}
    for _, row in plan[plan["period"] == quarter].iterrows():
        members = [(u, _days(u, quarter)) for _, u in units.iterrows() if holders.get(u["unit_id"]) == row["unit_id"]]
        held = sum(old_open.get(u["unit_id"], 0) for u, _ in members)
        members = [(u, d) for u, d in members if len(d)]
        if not members:
            continue
        channel = np.repeat(np.array(CHANNELS), [int(row[f"received_{c}"]) for c in CHANNELS])
        _rng(seed, "plan", row["unit_id"], quarter).shuffle(channel)
        sizes = _split(len(channel), np.array([_workload(cat, u, d[0].date()) * _day_weights(d).sum() for u, d in members]))
        # The backlog is left with the members still in office at the end (a unit gone mid-quarter
        # cannot hold dossiers within their deadline then).
        at_end = np.array([d[-1].date() == periods.end(quarter) for _, d in members])
        weights = np.maximum(sizes, 1e-9) * (at_end if at_end.any() else 1)
        pending = _split(max(int(row["pending"]) - held, 0), weights)
        overdue = np.minimum(_split(int(row["overdue"]), weights), pending)
        for (u, _), part, left, late in zip(members, np.split(channel, np.cumsum(sizes)[:-1]), pending, overdue):
            left = min(int(left), len(part))
            out[u["unit_id"]] = (part, float(row["late_share"]), (left, min(int(late), left)))
    return out


def _leave_open(r: np.random.Generator, received: np.ndarray, due: np.ndarray, resolved: np.ndarray,
                end: np.datetime64, close: np.datetime64, need: int, overdue: int) -> None:
    """Move dates (in place) so that `need` of these dossiers are open at the quarter's end,
    `overdue` of them past their due date. Overdue ones are taken from those due before the end
    (latest due first) and resolved, late, within two weeks after it; the others from those due
    after the end (latest due first), then from those with the longest allowed time, received
    again within it before the end (or before `close`, when the unit leaves office earlier), and
    resolved by their due date. Surplus open ones are
    resolved before the end."""
    minute = np.timedelta64(60, "s")

    def later(pick, until):
        span = (until - end).astype("int64")
        resolved[pick] = end + (r.random(len(pick)) * span).astype("int64").astype("timedelta64[s]")

    def sooner(pick):
        # One that would have been late stays late where its due date falls in the quarter.
        lo = np.where((resolved[pick] > due[pick]) & (due[pick] < end - minute), due[pick] + 1, received[pick])
        span = (end - minute - lo).astype("int64")
        resolved[pick] = lo + (r.random(len(pick)) * span).astype("int64").astype("timedelta64[s]")

    def latest_due(idx, n):
        return idx[np.argsort(-due[idx].astype("int64"), kind="stable")[:max(n, 0)]]

    late_open = (resolved >= end) & (due < end)
    gap = overdue - int(late_open.sum())
    if gap > 0:
        later(latest_due(np.flatnonzero((resolved < end) & (due < end)), gap), end + np.timedelta64(14, "D"))
    elif gap < 0:
        sooner(r.choice(np.flatnonzero(late_open), -gap, replace=False))
    on_time_open = (resolved >= end) & (due >= end)
    gap = need - overdue - int(on_time_open.sum())
    if gap > 0:
        shut = np.flatnonzero(resolved < end)
        first = latest_due(shut[due[shut] > end + minute], gap)
        rest = shut[due[shut] <= end + minute]
        allowed = due[rest] - received[rest]
        moved = rest[np.argsort(-allowed.astype("int64"), kind="stable")[: gap - len(first)]]
        allowed = due[moved] - received[moved]
        back = (r.random(len(moved)) * allowed.astype("int64")).astype("int64").astype("timedelta64[s]")
        received[moved] = np.maximum(close - minute - back, received.min())
        due[moved] = received[moved] + allowed
        pick = np.concatenate([first, moved])
        # A deadline longer than the unit's days in the quarter allow: overdue after all.
        later(pick, np.where(due[pick] > end + minute, due[pick], end + np.timedelta64(14, "D")))
    elif gap < 0:
        sooner(r.choice(np.flatnonzero(on_time_open), -gap, replace=False))


def _quarter_frame(seed: int, cat: Catalog, quarter: str, per_unit_scale: float, as_of: dt.datetime,
                   t: float, plan: pd.DataFrame | None = None, old_open: dict[str, int] | None = None,
                   late_in: dict[str, int] | None = None) -> pd.DataFrame:
    start, end = periods.start(quarter), periods.end(quarter)
    frames = []
    units = cat.units[cat.units["level"] != "province"]
    full = _day_weights(pd.date_range(start, end, freq="D")).mean() * 91  # a quarter's weight at scale 1
    planned = None if plan is None else _planned(seed, cat, quarter, plan, old_open or {})
    quarter_end = np.datetime64(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()) - dt.timedelta(hours=7), "s")
    for _, u in units.sort_values("unit_id").iterrows():
        days = _days(u, quarter)
        if not len(days):
            continue
        uid, lo = u["unit_id"], days[0].date()
        r = _rng(seed, "records", uid, quarter)
        day_w = _day_weights(days)
        if planned is None:
            # A successor takes over the workload of the units merged into it.
            weight = _workload(cat, u, lo)
            n = int(r.poisson(weight * per_unit_scale * day_w.sum() / full))
            late_p = _late_probability(seed, uid, t)
        elif uid in planned:
            channels, late_share, backlog = planned[uid]
            # A few on-time dossiers are placed just before the deadline (below): the rest carry the
            # late share, less the overdue dossiers carried in, which will be resolved late.
            n = len(channels)
            late_p = float(np.clip((late_share - (late_in or {}).get(uid, 0) / max(n, 1)) / (1 - EDGE), 0.001, 0.6))
        else:
            continue
        if n == 0:
            continue
        procs = procedures(cat, uid, lo)
        zipf = 1 / np.arange(1, len(procs) + 1) ** 1.4
        which = r.choice(len(procs), n, p=zipf / zipf.sum())
        day = r.choice(len(days), n, p=day_w / day_w.sum())
        seconds = r.uniform(7.5 * 3600, 17 * 3600, n).astype("int64")
        received = (np.asarray(days.values, "datetime64[s]")[day] + seconds.astype("timedelta64[s]")
                    - np.timedelta64(7, "h"))  # local office hours, stored as UTC instants
        allowed = np.array([procs[i][2] for i in which], dtype=float)
        due = received + (allowed * 86400).astype("int64").astype("timedelta64[s]")
        mu = -SIGMA * NormalDist().inv_cdf(1 - late_p)
        share = np.exp(r.normal(mu, SIGMA, n))
        resolved = received + (allowed * share * 86400).astype("int64").astype("timedelta64[s]")
        # A few are resolved on the due date itself, just before the deadline (on time, not early).
        edge = r.random(n) < EDGE
        resolved[edge] = due[edge] - r.integers(60, 4 * 3600, edge.sum()).astype("timedelta64[s]")
        if planned is not None:
            close = np.datetime64(days[-1] + pd.Timedelta(days=1) - pd.Timedelta(hours=7), "s")
            _leave_open(r, received, due, resolved, quarter_end, close, *backlog)
        is_open = resolved > np.datetime64(as_of.replace(tzinfo=None) - dt.timedelta(hours=7))
        online_p = float(np.clip(1 / (1 + np.exp(-(t - 8.0) / 2.0)) + _rng(seed, "online", uid).normal(0, 0.08), 0.02, 0.95))
        channel = (np.where(r.random(n) < online_p, "online", np.where(r.random(n) < 0.04, "post", "in_person"))
                   if planned is None else channels)
        frames.append(pd.DataFrame({
            "dossier_id": [f"{quarter.replace('-', '')}-{uid}-{i:06d}" for i in range(n)],
            "unit_id": uid,
            "procedure_code": np.array([p[0] for p in procs])[which],
            "procedure_name": np.array([p[1] for p in procs])[which],
            "channel": channel,
            "received_at": received, "due_at": due,
            "resolved_at": np.where(is_open, np.datetime64("NaT"), resolved),
            "status": np.where(is_open, "in_progress", "resolved"),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=INPUT_COLUMNS)


def _as_table(df: pd.DataFrame) -> pa.Table:
    ts = pa.timestamp("s", tz="UTC")
    cols = {c: pa.array(df[c].astype("datetime64[s]").to_numpy(), pa.timestamp("s")).cast(ts)
            if c.endswith("_at") else pa.array(df[c].astype(str).to_numpy(), pa.string()) for c in INPUT_COLUMNS}
    return pa.table(cols)


def base_volume(cat: Catalog, quarter: str) -> float:
    """Dossiers a quarter at scale 1 (for choosing the scale that gives a number of records)."""
    units = cat.active_units(quarter)
    start = periods.start(quarter)
    return sum(_workload(cat, u, start) for _, u in units[units["level"] != "province"].iterrows())


def generate(cat: Catalog, first_quarter: str, last_quarter: str, n_records: int,
             seed: int = SOURCE_SEED, plan: pd.DataFrame | None = None) -> Iterator[pa.Table]:
    """About n_records records received from first_quarter to last_quarter, one table per quarter.

    With a plan (typed_counts), each unit and quarter gets the dossiers and late share typed for
    it instead, and n_records is not used. Dossiers not resolved by the end of last_quarter are
    open (no resolved_at).
    """
    qs = periods.quarters_between(first_quarter, last_quarter)
    scale = n_records / sum(base_volume(cat, q) for q in qs)
    as_of = dt.datetime.combine(periods.end(last_quarter) + dt.timedelta(days=1), dt.time(), VIETNAM_TIME)
    # With a plan, the dossiers of earlier quarters still open: they count towards the backlog.
    past = pd.DataFrame({"unit_id": pd.Series(dtype=str), "due_at": pd.Series(dtype="datetime64[s]"),
                         "resolved_at": pd.Series(dtype="datetime64[s]")})
    for q in qs:
        _, year, qi = periods.parse(q)
        t = year - 2016 + (qi - 1) / 4
        start, end = (pd.Timestamp(d) - pd.Timedelta(hours=7) for d in (periods.start(q), periods.end(q) + dt.timedelta(days=1)))
        past = past[past["resolved_at"].isna() | (past["resolved_at"] >= start)]
        still = past[past["resolved_at"].isna() | (past["resolved_at"] >= end)]
        late_in = past[past["due_at"] < start]["unit_id"].value_counts().to_dict()
        frame = _quarter_frame(seed, cat, q, scale, as_of, t, plan, still["unit_id"].value_counts().to_dict(), late_in)
        if not frame.empty:
            if plan is not None:
                past = pd.concat([past, frame[["unit_id", "due_at", "resolved_at"]]], ignore_index=True)
            yield _as_table(frame)


def write_export(cat: Catalog, out: Path, first_quarter: str, last_quarter: str, n_records: int,
                 seed: int = SOURCE_SEED, plan: pd.DataFrame | None = None) -> int:
    """Write a generated export (Parquet, or CSV in local time if the name ends in .csv); rows written."""
    n = 0
    out = Path(out)
    writer = None
    for tbl in generate(cat, first_quarter, last_quarter, n_records, seed, plan):
        n += tbl.num_rows
        if out.suffix.lower() == ".csv":
            local = tbl.to_pandas()
            for c in ("received_at", "due_at", "resolved_at"):
                local[c] = local[c].dt.tz_convert("Asia/Ho_Chi_Minh").dt.strftime("%Y-%m-%d %H:%M:%S")
            local.to_csv(out, mode="a" if n > tbl.num_rows else "w", header=n == tbl.num_rows, index=False)
        else:
            writer = writer or pq.ParquetWriter(out, tbl.schema, compression="zstd")
            writer.write_table(tbl)
    if writer:
        writer.close()
    return n


def typed_counts(obs: pd.DataFrame, quarters: list[str]) -> pd.DataFrame:
    """Per unit and quarter, the dossiers typed as received by channel, the late share of those
    resolved and the backlog at the quarter's end: unit_id, period, received_online,
    received_in_person, received_post, late_share, pending, overdue."""
    d = obs[obs["period"].isin(quarters) & obs["indicator_id"].str.startswith("dossier.")]
    wide = d.pivot_table(index=["unit_id", "period"], columns="indicator_id", values="value", aggfunc="sum").fillna(0)
    out = pd.DataFrame({f"received_{c}": wide[f"dossier.received_{c}"].astype(int) for c in CHANNELS})
    resolved = wide[["dossier.resolved_early", "dossier.resolved_on_time", "dossier.resolved_late"]].sum(axis=1)
    out["late_share"] = (wide["dossier.resolved_late"] / resolved.replace(0, np.nan)).fillna(0)
    out["pending"] = (wide["dossier.pending_not_due"] + wide["dossier.pending_overdue"]).astype(int)
    out["overdue"] = wide["dossier.pending_overdue"].astype(int)
    return out.reset_index()


def build(store: Store, user: str, last_quarter: str, seed: int = SOURCE_SEED) -> int:
    """Add demo records to the demo store (a quarter of warm-up, then DEMO_QUARTERS quarters) and write
    the counts they determine into the observations; returns the records version.

    The records repeat the typed counts they take over from (dossiers received by channel, late
    share), so the series does not break where the source changes."""
    cat = Catalog.from_tables(store.read_catalog())
    first = last_quarter
    for _ in range(DEMO_QUARTERS):
        first = periods.previous(first)
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "demo-records.parquet"
        plan = typed_counts(store.read().to_pandas(), periods.quarters_between(first, last_quarter))
        write_export(cat, export, first, last_quarter, 0, seed, plan)
        result = table.ingest(store, export, operator(user), CommitInfo(user=user, operation="demo", file_name=f"demo records seed={seed}"),
                              set(cat.units["unit_id"]))
    assert result.version is not None, "a first ingest into an empty table always commits"
    rec = metrics.Records.open(store, result.version)
    derived = metrics.derived_observations(rec, cat)
    # Apology letters are not in the records: the demo writes them for its late dossiers, as it
    # does for the typed quarters, so that the store never shows more letters than late dossiers.
    late = derived[derived["indicator_id"] == "dossier.resolved_late"]
    r = _rng(seed, "apology")
    letters = late.assign(indicator_id="dossier.apology_letters", source=demo.SOURCE,
                          value=r.binomial(late["value"].astype("int64"), 0.7).astype(float))
    store.commit_observations(pd.concat([derived, letters], ignore_index=True),
                              CommitInfo(user=user, operation="records-sync", file_name=f"records v{result.version}"))
    return result.version
