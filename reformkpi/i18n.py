"""Interface text, one file per language (locales/vi.json, locales/en.json). Vietnamese first."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
_DIR = Path(__file__).parent / "locales"


@cache
def texts(lang: str) -> dict[str, str]:
    return json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def t(key: str, lang: str = DEFAULT, **fields) -> str:
    """The text for a key in a language; {fields} are filled in. A missing key is an error."""
    return texts(lang if lang in LANGUAGES else DEFAULT)[key].format(**fields)
