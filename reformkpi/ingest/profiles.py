"""Which column of a file means what: header aliases, the layouts, and saved import profiles.

A target is a field of the long form (unit, indicator, period, value, max_value, source, note),
`ind:<indicator_id>` for a wide column of values, `max:<indicator_id>` for a wide column of
applicable maximum points, or `ignore`. Headers are matched after folding (no diacritics,
lower case), by their whole text, by the id in parentheses the templates add, or by the text
before it. A mapping the analyst confirms is saved as a named profile and applied first.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reformkpi import integrity
from reformkpi.auth import Actor, require
from reformkpi.catalog import Catalog
from reformkpi.config import Limits
from reformkpi.ingest.text import fold

FIELDS = ("unit", "indicator", "period", "value", "max_value", "source", "note")
IGNORE = "ignore"

FIELD_ALIASES = {
    "unit": ["unit", "unit id", "don vi", "ten don vi", "ma don vi", "co quan", "ten co quan", "co quan don vi",
             "tinh", "tinh thanh pho", "province"],
    "indicator": ["indicator", "indicator id", "chi so", "ma chi so", "ten chi so", "chi tieu"],
    "period": ["period", "ky", "ky bao cao", "nam", "quy", "year", "thoi gian", "thoi ky"],
    "value": ["value", "gia tri", "so lieu"],
    "max_value": ["max value", "diem toi da", "toi da", "max"],
    "source": ["source", "nguon", "nguon so lieu"],
    "note": ["note", "ghi chu"],
    IGNORE: ["stt", "tt", "so tt", "so thu tu"],
}
# How departments and the one-stop-shop exports head the dossier report's columns.
INDICATOR_ALIASES = {
    "dossier.carried_over": ["ton ky truoc", "so ton ky truoc", "ky truoc chuyen sang", "ton ky truoc chuyen sang"],
    "dossier.received_online": ["tiep nhan truc tuyen", "truc tuyen", "so moi tiep nhan truc tuyen"],
    "dossier.received_in_person": ["tiep nhan truc tiep", "truc tiep", "so moi tiep nhan truc tiep"],
    "dossier.received_post": ["tiep nhan qua buu chinh", "buu chinh", "qua buu chinh cong ich"],
    "dossier.received": ["tong tiep nhan", "tong so tiep nhan", "tiep nhan tong so"],
    "dossier.resolved_early": ["giai quyet truoc han", "da giai quyet truoc han"],
    "dossier.resolved_on_time": ["giai quyet dung han", "da giai quyet dung han"],
    "dossier.resolved_late": ["giai quyet qua han", "da giai quyet qua han", "da giai quyet tre han"],
    "dossier.resolved": ["da giai quyet", "tong da giai quyet", "da giai quyet tong so"],
    "dossier.pending_not_due": ["dang giai quyet trong han", "dang giai quyet chua den han"],
    "dossier.pending_overdue": ["dang giai quyet qua han"],
    "dossier.apology_letters": ["thu xin loi", "so thu xin loi", "van ban xin loi"],
    "par.total": ["tong diem", "chi so cchc", "par index", "tong diem dat duoc"],
    "sipas.overall": ["sipas", "muc do hai long", "chi so hai long", "hai long chung"],
}


@dataclass
class Profile:
    """A saved mapping: folded header → target, plus how the file writes numbers and periods."""

    name: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    decimal: str = "auto"  # "auto": Vietnamese 1.234,5; ".": the dot is the decimal mark
    period: str = ""  # the period of every row when the file has no period column
    owner: str = ""  # who saved it: only they (or an administrator) may overwrite it

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        d = json.loads(text)
        return cls(**{k: d[k] for k in ("name", "columns", "decimal", "period", "owner") if k in d})


PAPI = Profile("papi", {
    "province vi": "unit", "year": "period", "total papi": "ind:papi.total",
    **{f"d{i}": f"ind:papi.d{i}" for i in range(1, 9)},
    **{k: IGNORE for k in ("province id", "region", "region id", "total papi 6dim", "total official",
                           "n dims", "rank year", "tier")},
}, decimal=".")
BUILT_IN = {"papi": PAPI}


def keys(label: str) -> list[str]:
    """Ways a header can be matched: whole, the id in parentheses, the text before them."""
    out = [fold(label)]
    if m := re.match(r"^(.*?)\((.*)\)\s*$", str(label)):
        out += [fold(m[2]), fold(m[1])]
    return [k for k in out if k]


def _alias_table(catalog: Catalog) -> dict[str, str]:
    table: dict[str, str] = {}
    for target, aliases in FIELD_ALIASES.items():
        table.update({a: target for a in aliases})
    for _, ind in catalog.indicators.iterrows():
        iid = ind["indicator_id"]
        for text in (iid, ind["name_vi"], ind["name_en"], ind["short_vi"], ind["short_en"]):
            if text:
                table.setdefault(fold(text), f"ind:{iid}")
        table.setdefault(fold(f"max:{iid}"), f"max:{iid}")
        if ind["measure"] == "points":
            table.setdefault(fold(f"tối đa {ind['short_vi']}"), f"max:{iid}")
            table.setdefault(fold(f"{ind['short_vi']} tối đa"), f"max:{iid}")
    for iid, aliases in INDICATOR_ALIASES.items():
        if iid in set(catalog.indicators["indicator_id"]):
            table.update({a: f"ind:{iid}" for a in aliases})
    return table


class Matcher:
    """Maps a file's headers to targets: the profile's own mapping first, then the aliases."""

    def __init__(self, catalog: Catalog, profile: Profile | None = None):
        self.profile = profile or Profile()
        self.aliases = _alias_table(catalog)

    def target(self, label: str) -> str | None:
        for k in keys(label):
            if k in self.profile.columns:
                return self.profile.columns[k]
        for k in keys(label):
            if k in self.aliases:
                return self.aliases[k]
        return None

    def score(self, labels: list[str]) -> int:
        return sum(1 for x in labels if x and self.target(x) not in (None, IGNORE))

    def mapping(self, labels: list[str]) -> dict[str, str | None]:
        """label → target; a field claimed by two columns goes to the first."""
        out, taken = {}, set()
        for label in labels:
            tgt = self.target(label)
            if tgt in taken and tgt != IGNORE:
                tgt = None
            if tgt:
                taken.add(tgt)
            out[label] = tgt
        return out


def layout(mapping: dict[str, str | None]) -> str | None:
    """'long' (unit, indicator, period, value), 'wide' (a column per indicator) or None."""
    targets = set(mapping.values())
    if {"unit", "indicator", "value"} <= targets:
        return "long"
    if "unit" in targets and any(t and t.startswith("ind:") for t in targets):
        return "wide"
    return None


def profile_from_mapping(name: str, mapping: dict[str, str | None], decimal: str = "auto", period: str = "") -> Profile:
    """The analyst's confirmed mapping as a profile to save."""
    return Profile(name, {keys(label)[0]: tgt or IGNORE for label, tgt in mapping.items() if keys(label)},
                   decimal, period)


class ProfileError(ValueError):
    """A profile that cannot be saved; `code` names why (ingest.profile.<code> in the locales)."""

    def __init__(self, code: str, **fields):
        super().__init__(code)
        self.code, self.fields = code, fields


def _safe_name(name: str) -> str:
    if len(name) > Limits().max_name_chars:
        raise ProfileError("name_too_long", limit=Limits().max_name_chars)
    slug = fold(name).replace(" ", "-")
    if not slug:
        raise ProfileError("name_missing")
    return slug


def save(directory: Path, profile: Profile, actor: Actor) -> Path:
    """Save under its name for `actor`: analysts may overwrite their own profiles, administrators
    any; the built-in names are reserved."""
    require(actor, "upload")
    slug = _safe_name(profile.name)
    if slug in BUILT_IN:
        raise ProfileError("reserved", name=profile.name)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{slug}.json"
    if path.exists():
        owner = Profile.from_json(path.read_text(encoding="utf-8")).owner
        if owner and owner != actor.name and not actor.can("admin"):
            raise ProfileError("not_owner", name=profile.name, owner=owner)
    else:
        owner = actor.name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(Profile(profile.name, profile.columns, profile.decimal, profile.period, owner or actor.name).to_json(),
                   encoding="utf-8")
    tmp.replace(path)  # atomic: a reader sees the old or the new profile
    return path


def folder(uri: str) -> Any:
    """Saved import profiles live beside the store's tables: a folder on a local disk, an
    objectstore.RemotePath in a bucket."""
    return integrity.store_root(uri) / "_profiles"


def names(directory: Path) -> list[str]:
    saved = [p.stem for p in sorted(directory.glob("*.json"))] if directory.exists() else []
    return sorted(set(BUILT_IN) | set(saved))


def load(directory: Path, name: str) -> Profile:
    """A built-in profile (never shadowed by a saved file of the same name), or a saved one."""
    slug = _safe_name(name)
    if slug in BUILT_IN:
        return Profile.from_json(BUILT_IN[slug].to_json())  # a copy: callers may set its period
    path = directory / f"{slug}.json"
    if path.exists():
        return Profile.from_json(path.read_text(encoding="utf-8"))
    raise KeyError(f"no import profile {name!r}")
