"""Carry message ids from the old JSON files (locales/<lang>/*.json) into the gettext catalogs.

For merging branches written before the catalogs moved to gettext: `python -m reformkpi.i18n_json`
adds every key of every locales/<lang>/*.json to locales/<lang>/LC_MESSAGES/messages.po, refuses a
key whose .po text differs, and deletes the JSON files it carried over.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reformkpi import i18n


def carry(lang: str, folder: Path = i18n.LOCALES) -> list[str]:
    """Add the JSON keys of one language to its catalog; returns the keys added."""
    files = sorted((folder / lang).glob("*.json"))
    catalog = i18n.read_catalog(lang, folder)
    added = []
    for path in files:
        for key, text in json.loads(path.read_text(encoding="utf-8")).items():
            old = catalog.get(key)
            if old is None:
                catalog.add(key, text)
                added.append(key)
            elif old.string != text:
                raise ValueError(f"{path}: {key} differs from the catalog: {text!r} / {old.string!r}")
    i18n.write_catalog(catalog, lang, folder)
    for path in files:
        path.unlink()
    return added


def main() -> int:
    for lang in i18n.LANGUAGES:
        print(lang, ", ".join(carry(lang)) or "nothing to carry")
    return 0


if __name__ == "__main__":
    sys.exit(main())
