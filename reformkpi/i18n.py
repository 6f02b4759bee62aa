"""Interface text: gettext catalogs, one per language (locales/<lang>/LC_MESSAGES/messages.po).

Message ids are dotted keys ("upload.errors"); every id is in every language. A text that shows a
count has plural forms (Vietnamese one, English two) and is read with tn(). The .po files are the
source: they are compiled in memory when first read (babel's write_mo), so a checkout or an
installed package needs no build step and no compiled file can fall out of date.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

from reformkpi.formatting import markdown_text

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
DOMAIN = "messages"
LOCALES = Path(str(resources.files("reformkpi").joinpath("locales")))


def catalog_path(lang: str, folder: Path = LOCALES) -> Path:
    return folder / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(lang: str, folder: Path = LOCALES) -> Catalog:
    with catalog_path(lang, folder).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def write_catalog(catalog: Catalog, lang: str, folder: Path = LOCALES) -> None:
    """Writes the canonical form (sorted by id, no wrapping) that read/write leaves unchanged."""
    with catalog_path(lang, folder).open("wb") as f:
        write_po(f, catalog, width=0, sort_output=True, omit_header=False)


def compile_catalog(catalog: Catalog) -> Translations:
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


@cache
def _loaded(lang: str) -> tuple[Translations, frozenset[str], frozenset[str]]:
    catalog = read_catalog(lang)
    ids = frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id)
    plural = frozenset(m.id[0] for m in catalog if m.id and m.pluralizable)
    return compile_catalog(catalog), ids, plural


def texts(lang: str) -> dict[str, str]:
    """Every id of a language with its text (the first plural form for a plural message)."""
    tr, ids, plural = _loaded(lang)
    return {k: tr.ngettext(k, k, 1) if k in plural else tr.gettext(k) for k in ids}


def _lookup(key: str, lang: str, count: int | None) -> str:
    tr, ids, plural = _loaded(lang if lang in LANGUAGES else DEFAULT)
    if key not in ids:
        raise KeyError(key)
    if (count is not None) != (key in plural):
        raise KeyError(f"{key}: read with {'tn' if key in plural else 't'}()")
    return tr.gettext(key) if count is None else tr.ngettext(key, key, count)


def t(key: str, lang: str, **fields) -> str:
    """The text for a key in a language; {fields} are filled in. A missing key is an error."""
    return _lookup(key, lang, None).format(**fields)


def tn(key: str, count: int, lang: str, **fields) -> str:
    """The plural form of a key for `count`; the field {n} is the count unless given (formatted)."""
    return _lookup(key, lang, int(count)).format(**{"n": count, **fields})


def tm(key: str, lang: str, **fields) -> str:
    """t() for an element that renders Markdown: the fields (names, titles, files, sources: text
    from data or users) are escaped, the translation's own Markdown is kept."""
    return t(key, lang, **{k: markdown_text(v) for k, v in fields.items()})


def tnm(key: str, count: int, lang: str, **fields) -> str:
    """tn() for an element that renders Markdown (see tm)."""
    return tn(key, count, lang, **{k: markdown_text(v) for k, v in fields.items()})


def column(base: str, lang: str) -> str:
    """The name of a catalog column written per language: column("short", "en") → "short_en"."""
    return f"{base}_{lang if lang in LANGUAGES else DEFAULT}"
