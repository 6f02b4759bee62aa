"""Uploads: parse → map columns → validate → diff → commit, and rollback. Pages and the CLI call these.

`prepare` reads and checks a file and diffs it against the store without writing anything;
`commit` writes a prepared upload as one Delta commit, and refuses to replace or delete values
that came from elsewhere (`overwrites`: synced from the records, or stored with another source)
unless the analyst confirmed it; `rollback` restores a version as a new commit. Every write passes through `auth.require` (analysts upload, administrators also roll back
and publish the catalog): the role check lives here, not in the pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from reformkpi import audit, config, integrity, notes, periods
from reformkpi.auth import Actor, require
from reformkpi.catalog import Catalog, CatalogError, load_dir
from reformkpi.i18n import DEFAULT
from reformkpi.ingest import parse, profiles, validate
from reformkpi.ingest.problems import WARNING, IngestError, Problem
from reformkpi.records.metrics import SOURCE_PREFIX
from reformkpi.store import KEY, OBSERVATIONS, CommitInfo, CommitResult, Diff, Scope, Store, conform

# A change against the previous period this large is worth a second look (accepted, flagged).
JUMP_POINTS = 20.0  # percentage points, for percents and point scores
JUMP_FACTOR = 3.0  # ×3 or ÷3, for counts of at least JUMP_MIN_COUNT
JUMP_MIN_COUNT = 20


@dataclass
class Upload:
    """A prepared upload: what the file says, what is wrong with it, and how it differs from the store."""

    file_name: str
    sha256: str
    profile: profiles.Profile
    mapping: dict[str, str | None] = field(default_factory=dict)
    layout: str | None = None
    sheet: str = ""
    rows_read: int = 0
    observations: pd.DataFrame | None = None
    errors: list[Problem] = field(default_factory=list)
    hidden_errors: int = 0
    warnings: list[Problem] = field(default_factory=list)
    hidden_warnings: int = 0
    diff: Diff | None = None
    replace: Scope | None = None
    overwrites: pd.DataFrame | None = None  # stored values from elsewhere that the diff replaces or deletes

    @property
    def valid(self) -> bool:
        return not self.errors and self.observations is not None


def catalog_of(store: Store) -> Catalog:
    return Catalog.from_tables(store.read_catalog())


def prepare(store: Store, data: bytes, file_name: str, profile: profiles.Profile | None = None,
            replace: bool = False, today: dt.date | None = None, limits: parse.Limits = parse.Limits(),
            catalog: Catalog | None = None) -> Upload:
    """Read, check and diff a file against the store's current version; writes nothing. A damaged
    store is refused first (integrity.StoreFault), so its fault is never the file's."""
    integrity.check(store.uri)
    profile = profile or profiles.Profile()
    up = Upload(file_name, hashlib.sha256(data).hexdigest(), profile)
    catalog = catalog or catalog_of(store)
    matcher = profiles.Matcher(catalog, profile)
    try:
        try:
            raw = parse.read(data, file_name, matcher.score, limits)
        except IngestError as e:
            if [x.code for x in e.problems] != ["no_header"]:
                raise
            # No header recognised: take the first row of text as the header, so that the analyst
            # can map its columns by hand (the upload is rejected until they do).
            raw = parse.read(data, file_name, lambda labels: sum(1 for x in labels if x), limits)
        up.sheet, up.rows_read = raw.sheet, len(raw.frame)
        up.mapping = matcher.mapping(list(raw.frame.columns))
        up.layout = profiles.layout(up.mapping)
        if up.layout is None:
            raise IngestError([Problem("no_layout")])
        long = validate.to_long(raw, up.mapping, profile, up.layout)
        obs, up.errors, up.hidden_errors = validate.check(long, catalog, profile, today, stored_medians(store))
    except IngestError as e:
        up.errors = e.problems
        return up
    if up.errors:
        return up
    up.observations = obs
    up.replace = replace_scope(obs, catalog) if replace else None
    table = conform(obs.drop(columns=validate.WHERE))
    up.diff = store.diff(table, replace=up.replace)
    up.overwrites = overwrites(store, up.diff)
    up.warnings, up.hidden_warnings = jumps(store, obs, catalog)
    return up


class OverwriteRefused(Exception):
    """A commit would replace or delete values that came from elsewhere, and nobody confirmed it."""

    def __init__(self, found: pd.DataFrame):
        super().__init__(f"{len(found)} stored values from the records or another source would be replaced")
        self.found = found


ORIGINS = ("records", "other")


def origin_counts(found: pd.DataFrame) -> dict[str, int]:
    """Of the values `overwrites` lists, how many came from the records sync and how many from another source."""
    return {origin: int((found["origin"] == origin).sum()) for origin in ORIGINS}


def overwrites(store: Store, d: Diff) -> pd.DataFrame:
    """The stored values a diff replaces or deletes that did not come from a file like this one:
    counts synced from the records (their source names the records' version, or a records sync
    wrote them: origin "records"), and values stored with a named source other than the file's
    (origin "other"). A value typed in without a source, replaced by the same, is an ordinary
    correction and is not listed. Columns: the key, old_value, value (NaN: deleted), old_source,
    source, origin."""
    cols = [*KEY, "old_value", "value", "old_source", "source", "old_upload_id"]
    changed = d.changed.reindex(columns=cols)
    deleted = d.deleted.reindex(columns=[*KEY, "value", "source", "upload_id"]).rename(
        columns={"value": "old_value", "source": "old_source", "upload_id": "old_upload_id"}).assign(
        value=float("nan"), source=None)
    both = pd.concat([changed, deleted[cols]], ignore_index=True) if len(deleted) else changed
    if both.empty:
        return both.assign(origin=pd.Series(dtype=object)).drop(columns="old_upload_id")
    hist = store.history()
    synced = set(hist.loc[hist.get("operation", pd.Series(dtype=object)) == "records-sync", "upload_id"]) \
        if "upload_id" in hist else set()

    def named(x) -> str:
        return x.strip() if isinstance(x, str) else ""

    old, new = [named(x) for x in both["old_source"]], [named(x) for x in both["source"]]
    both["origin"] = ["records" if o.startswith(SOURCE_PREFIX) or u in synced else "other" if o and o != n else None
                      for o, n, u in zip(old, new, both["old_upload_id"])]
    return both[both["origin"].notna()].drop(columns="old_upload_id").reset_index(drop=True)


def stored_medians(store: Store) -> dict[str, float]:
    """The median stored value of each indicator, from the current version."""
    if not store.exists():
        return {}
    con = duckdb.connect()
    con.register("stored", store.delta(OBSERVATIONS).to_pyarrow_dataset())
    df = con.execute("SELECT indicator_id, median(value) AS m FROM stored GROUP BY indicator_id").df()
    return dict(zip(df["indicator_id"], df["m"]))


def replace_scope(obs: pd.DataFrame, catalog: Catalog) -> Scope:
    """"Replace this period for these units": the file's units and periods, every stored indicator of
    the families the file reports (a dossier report replaces dossier figures, never PAR INDEX)."""
    ind = catalog.indicators
    families = set(ind.loc[ind["indicator_id"].isin(obs["indicator_id"]), "family"])
    stored = ind[ind["family"].isin(families) & (ind["rollup"] != "derived")]["indicator_id"]
    return Scope(tuple(sorted(obs["unit_id"].unique())), tuple(sorted(stored)), tuple(sorted(obs["period"].unique())))


def jumps(store: Store, obs: pd.DataFrame, catalog: Catalog) -> tuple[list[Problem], int]:
    """Values far from the same unit's previous period (in the file, else in the store): the first
    MAX_PROBLEMS as warnings, and how many more there are."""
    if obs.empty:
        return [], 0
    prev_of = {p: periods.previous(p) for p in obs["period"].unique()}
    cur = obs[["row", "column", "unit_id", "indicator_id", "period", "value", "max_value"]].assign(
        prev_period=obs["period"].map(prev_of))
    cur = pa.Table.from_pandas(cur, preserve_index=False)  # Arrow strings: DuckDB scans them without copying
    con = duckdb.connect()
    con.register("cur", cur)
    con.register("ind", catalog.indicators[["indicator_id", "measure"]])
    con.register("stored", store.delta(OBSERVATIONS).to_pyarrow_dataset())
    df = con.execute("""
        WITH prev AS (
            SELECT unit_id, indicator_id, period, value, max_value FROM cur
            UNION ALL
            SELECT s.unit_id, s.indicator_id, s.period, s.value, s.max_value FROM stored s
            WHERE s.period IN (SELECT prev_period FROM cur)
              AND NOT EXISTS (SELECT 1 FROM cur f WHERE f.unit_id = s.unit_id AND f.indicator_id = s.indicator_id
                                AND f.period = s.period)),
        pairs AS (
            SELECT c.row, c."column", c.unit_id, c.indicator_id, c.period, c.value, p.value AS prev_value, i.measure,
                   CASE WHEN i.measure = 'points' THEN 100 * c.value / c.max_value ELSE c.value END AS score,
                   CASE WHEN i.measure = 'points' THEN 100 * p.value / p.max_value ELSE p.value END AS prev_score
            FROM cur c JOIN prev p ON p.unit_id = c.unit_id AND p.indicator_id = c.indicator_id
                                   AND p.period = c.prev_period
                       JOIN ind i ON i.indicator_id = c.indicator_id)
        SELECT *, count(*) OVER () AS n_flagged FROM pairs
        WHERE (measure IN ('percent', 'points') AND abs(score - prev_score) > $points)
           OR (measure = 'count' AND prev_value >= $min_count
               AND (value > $factor * prev_value OR value < prev_value / $factor))
        ORDER BY row LIMIT $limit""", {"points": JUMP_POINTS, "min_count": JUMP_MIN_COUNT, "factor": JUMP_FACTOR,
                                       "limit": validate.MAX_PROBLEMS}).df()
    if df.empty:
        return [], 0
    warnings = [Problem("jump", int(r.row), r.column or r.indicator_id, f"{r.value:g}", WARNING,
                        {"previous": f"{r.prev_value:g}", "period": r.period, "unit": r.unit_id})
                for r in df.itertuples()]
    return warnings, int(df["n_flagged"].iloc[0]) - len(warnings)


def commit(store: Store, up: Upload, actor: Actor, replace_synced: bool = False) -> CommitResult:
    """Write a valid prepared upload as one commit; a race re-diffs on the fresh version.

    Values synced from the records or stored from another source are replaced only with
    `replace_synced` (the analyst confirmed it): otherwise OverwriteRefused, nothing written,
    checked on the diff the commit builds on (a sync that landed meanwhile counts too)."""
    require(actor, "upload")
    if not up.valid or up.observations is None:
        raise ValueError("a rejected upload cannot be committed")
    if not replace_synced and up.overwrites is not None and not up.overwrites.empty:
        raise OverwriteRefused(up.overwrites)  # refused before anything, notes included, is written

    def unconfirmed(d: Diff) -> None:
        if not (found := overwrites(store, d)).empty:
            raise OverwriteRefused(found)

    info = CommitInfo(user=actor.name, operation="replace" if up.replace else "upload",
                      file_name=up.file_name, sha256=up.sha256)
    # The file's notes are written first, waiting on this upload's commit: they are read only once
    # the commit exists, so a crash between the two writes shows neither (reformkpi.notes.read).
    waiting = notes.add(store, actor, up.observations, None, info.upload_id)
    result = store.commit_observations(conform(up.observations.drop(columns=[*validate.WHERE, "note"])), info,
                                       replace=up.replace, check=None if replace_synced else unconfirmed)
    if waiting and not result.committed:
        # Nothing changed, so no commit carries the upload: its notes go with the version it was checked on.
        notes.add(store, actor, up.observations, result.version, result.upload_id)
    return result


def rollback(store: Store, version: int, actor: Actor, reason: str) -> int:
    """Make `version` current again as a new commit that records who and why."""
    require(actor, "rollback")
    if not reason.strip():
        raise ValueError("a rollback needs a reason")
    return store.restore(version, CommitInfo(user=actor.name, operation="rollback", reason=reason))


def profile_named(store: Store, name: str | None) -> profiles.Profile:
    return profiles.load(config.profiles_dir(store.uri), name) if name else profiles.Profile()


def update_catalog(store: Store, actor: Actor, directory) -> None:
    """Publish an edited catalog (units, indicators, targets, grade bands) as new catalog versions.

    Administrators only; the files are checked as a whole (broken references refuse everything), and
    a catalog under which stored rows would break a rule they now keep (a term ended before figures
    of the unit, a stored indicator made computed) is refused with those rows listed.
    """
    require(actor, "admin")
    tables = load_dir(directory)
    # The refusal is a CatalogError's plain text, its rows' messages in the default language as before.
    broken = audit.new_violations(store.read().to_pandas(), catalog_of(store), Catalog.from_tables(tables), DEFAULT)
    if not broken.empty:
        listed = "; ".join(f"{r.unit_id} · {r.indicator_id} · {r.period}: {r.message}" for r in broken.head(20).itertuples())
        raise CatalogError(f"{len(broken)} stored rows would break a rule: {listed}")
    store.write_catalog(tables, CommitInfo(user=actor.name, operation="catalog", file_name=str(directory)))
