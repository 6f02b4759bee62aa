"""Interface text, one folder per language (locales/vi/, locales/en/). Vietnamese first.

Each folder holds one JSON file per area of the app (core.json, upload.json, ...); a key must be
unique across a language's files and present in every language.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

from reformkpi.formatting import markdown_text

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
_DIR = Path(str(resources.files("reformkpi").joinpath("locales")))


@cache
def texts(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((_DIR / lang).glob("*.json")):
        part = json.loads(path.read_text(encoding="utf-8"))
        if clash := set(merged) & set(part):
            raise KeyError(f"{path}: keys defined twice: {sorted(clash)}")
        merged.update(part)
    return merged


def t(key: str, lang: str = DEFAULT, **fields) -> str:
    """The text for a key in a language; {fields} are filled in. A missing key is an error."""
    return texts(lang if lang in LANGUAGES else DEFAULT)[key].format(**fields)


def tm(key: str, lang: str = DEFAULT, **fields) -> str:
    """t() for an element that renders Markdown: the fields (names, titles, files, sources: text
    from data or users) are escaped, the translation's own Markdown is kept."""
    return t(key, lang, **{k: markdown_text(v) for k, v in fields.items()})
