"""The demo province: illustrative data generated deterministically from a seed.

It is shaped like the real thing (departments that improve, some unstable from year to year,
some that run late; dossier counts that add up quarter to quarter; the 2025 mergers) and
carries the inspection report's figure: Sở Tài nguyên và Môi trường, satisfaction 77.4% in 2019.
Nothing here is a real province's data; the interface labels it "Dữ liệu minh họa".
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reformkpi import periods
from reformkpi.catalog import Catalog

FIRST_QUARTER = "2016-Q1"
SOURCE = "Dữ liệu minh họa (sinh tự động)"
SEED_FIGURE = ("so-tai-nguyen-moi-truong", "sipas.overall", "2019", 77.4)
# Applicable maximum points of the 8 PAR INDEX areas; some units have criteria that do not apply.
PAR_MAX = (11.0, 9.0, 14.0, 10.0, 13.0, 8.0, 15.0, 20.0)
PAR_MAX_BY_UNIT = {
    "ban-dan-toc": (11.0, 9.0, 14.0, 10.0, 13.0, 8.0, 15.0, 4.0),
    "so-dan-toc-ton-giao": (11.0, 9.0, 14.0, 10.0, 13.0, 8.0, 15.0, 4.0),
    "thanh-tra-tinh": (11.0, 7.0, 14.0, 10.0, 13.0, 8.0, 15.0, 20.0),
}
# Dossiers a quarter, for the departments that carry the volume; others get a small random one.
VOLUME = {"so-tai-nguyen-moi-truong": 4200, "so-giao-thong-van-tai": 3600, "so-tu-phap": 2600,
          "so-ke-hoach-dau-tu": 1300, "so-xay-dung": 1400, "so-lao-dong-tbxh": 1100,
          "so-cong-thuong": 900, "so-y-te": 800, "so-nong-nghiep-ptnt": 700}
# Who runs late and who is unstable, so that the demo shows what inspections talk about.
LATE_BASE = {"so-tai-nguyen-moi-truong": 0.12, "so-xay-dung": 0.09, "so-ke-hoach-dau-tu": 0.08}
UNSTABLE = {"so-tai-nguyen-moi-truong", "so-xay-dung", "h-bien-gioi", "so-cong-thuong"}
SEASON = {1: 0.85, 2: 1.0, 3: 1.05, 4: 1.12}
VOLUME_SCALE = 0.45  # the demo records repeat these counts: this keeps them near 200 000 dossiers
SIPAS_BREAK_YEAR = 2022  # the survey method changed: a drop for everybody, as nationally


@dataclass(frozen=True)
class Profile:
    par_base: float
    par_trend: float
    volatility: float
    sipas_base: float
    sipas_trend: float
    late_base: float
    late_trend: float
    online_offset: float
    volume: float


def _rng(seed: int, *keys) -> np.random.Generator:
    return np.random.default_rng([seed] + [zlib.crc32(str(k).encode()) for k in keys])


def _profile(seed: int, unit: pd.Series) -> Profile:
    r = _rng(seed, "profile", unit["unit_id"])
    uid = unit["unit_id"]
    district = unit["level"] == "district"
    return Profile(
        par_base=r.uniform(72, 86),
        par_trend=r.normal(0.9, 0.6),
        volatility=r.uniform(4.5, 7.0) if uid in UNSTABLE else r.uniform(0.8, 2.2),
        sipas_base=76.8 if uid == SEED_FIGURE[0] else r.uniform(79, 88),
        sipas_trend=r.normal(0.7, 0.4),
        late_base=LATE_BASE.get(uid, r.uniform(0.01, 0.07)),
        late_trend=r.uniform(0.9, 1.03),
        online_offset=r.normal(0, 0.5),
        volume=VOLUME_SCALE * (r.uniform(2500, 6000) if district else VOLUME.get(uid, r.uniform(30, 450))),
    )


def _row(unit_id, indicator_id, period, value, max_value=None):
    return (unit_id, indicator_id, period, periods.start(period), float(value),
            None if max_value is None else float(max_value))


def _yearly(seed: int, cat: Catalog, prof: dict[str, Profile], last_year: int) -> list[tuple]:
    rows = []
    for year in range(2016, last_year + 1):
        y = str(year)
        shock = _rng(seed, "year", year).normal(0, 1.2)
        for _, u in cat.active_units(y).iterrows():
            uid = u["unit_id"]
            if u["level"] == "province":
                continue
            p, r = prof[uid], _rng(seed, "yearly", uid, year)
            t = year - 2016
            score = np.clip(p.par_base + p.par_trend * t + shock + p.volatility * r.normal(), 50, 97) / 100
            maxima = PAR_MAX_BY_UNIT.get(uid, PAR_MAX)
            points = [round(m * float(np.clip(score + r.normal(0, 0.05), 0.3, 1.0)), 2) for m in maxima]
            for i, (pt, m) in enumerate(zip(points, maxima), 1):
                rows.append(_row(uid, f"par.area{i}", y, pt, m))
            rows.append(_row(uid, "par.total", y, round(sum(points), 2), sum(maxima)))

            drop = 4.0 if year >= SIPAS_BREAK_YEAR else 0.0
            overall = round(float(np.clip(p.sipas_base + p.sipas_trend * t - drop + p.volatility / 2 * r.normal(), 60, 98)), 1)
            if (uid, "sipas.overall", y) == SEED_FIGURE[:3]:
                overall = SEED_FIGURE[3]
            rows.append(_row(uid, "sipas.overall", y, overall))
            for f in range(1, 6):
                rows.append(_row(uid, f"sipas.f{f}", y, round(float(np.clip(overall + r.normal(0, 2.5), 50, 100)), 1)))
            if year >= 2019:
                online = 100 / (1 + np.exp(-(year - 2021.5 + p.online_offset)))
                rows.append(_row(uid, "service.full_online", y, round(float(np.clip(online + r.normal(0, 4), 0, 100)), 1)))
    return rows


def _quarterly(seed: int, cat: Catalog, prof: dict[str, Profile], last_quarter: str) -> list[tuple]:
    rows = []
    pending: dict[str, tuple[int, int]] = {}
    volume = {uid: p.volume for uid, p in prof.items()}
    was_active: set[str] = set()
    for q in periods.quarters_between(FIRST_QUARTER, last_quarter):
        _, year, qi = periods.parse(q)
        active = cat.active_units(q)
        active = active[active["level"] != "province"]
        ids = set(active["unit_id"])
        # A unit that has gone hands its backlog and its workload to its successor.
        for gone in sorted(was_active - ids):
            succ = cat.unit(gone)["successor_id"]
            if succ:
                nd, od = pending.pop(gone, (0, 0))
                sd, so = pending.get(succ, (0, 0))
                pending[succ] = (sd + nd, so + od)
                volume[succ] += volume[gone]
        was_active = ids
        t = year - 2016 + (qi - 1) / 4
        share_online = 1 / (1 + np.exp(-(t - 8.0) / 2.0))
        for uid in sorted(ids):
            p, r = prof[uid], _rng(seed, "quarter", uid, q)
            carried = sum(pending[uid]) if uid in pending else int(r.poisson(volume[uid] * 0.08))
            received = int(r.poisson(volume[uid] * SEASON[qi] * (1 + 0.03 * t)))
            online = int(r.binomial(received, float(np.clip(share_online + p.online_offset * 0.15, 0.01, 0.95))))
            post = int(r.binomial(received - online, 0.03))
            in_person = received - online - post
            to_process = carried + received
            resolved = int(r.binomial(to_process, r.uniform(0.86, 0.95)))
            late_p = float(np.clip(p.late_base * p.late_trend ** t * (1 + r.normal(0, 0.25)), 0, 0.5))
            late = int(r.binomial(resolved, late_p))
            early = int(r.binomial(resolved - late, 0.4))
            on_time = resolved - late - early
            left = to_process - resolved
            overdue = int(r.binomial(left, min(0.6, late_p * 1.6)))
            pending[uid] = (left - overdue, overdue)
            apology = int(r.binomial(late, min(1.0, 0.4 + 0.06 * t)))
            for k, v in (("carried_over", carried), ("received_online", online),
                         ("received_in_person", in_person), ("received_post", post),
                         ("resolved_early", early), ("resolved_on_time", on_time),
                         ("resolved_late", late), ("pending_not_due", left - overdue),
                         ("pending_overdue", overdue), ("apology_letters", apology)):
                rows.append(_row(uid, f"dossier.{k}", q, v))
    return rows


def generate(cat: Catalog, seed: int = 2016, last_quarter: str | None = None) -> pd.DataFrame:
    """Observations of the demo province from 2016-Q1 to `last_quarter` (default: the latest complete one)."""
    last_quarter = last_quarter or periods.latest_complete_quarter(dt.date.today())
    _, year, qi = periods.parse(last_quarter)
    last_year = year if qi == 4 else year - 1
    prof = {u["unit_id"]: _profile(seed, u) for _, u in cat.units.iterrows()}
    rows = _yearly(seed, cat, prof, last_year) + _quarterly(seed, cat, prof, last_quarter)
    df = pd.DataFrame(rows, columns=["unit_id", "indicator_id", "period", "period_start", "value", "max_value"])
    df["source"] = SOURCE
    return df
