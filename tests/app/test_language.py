"""Every page speaks the language of its link: app.py resolves it once and each page passes it down,
so no part of an English page (a label, a caption, a chart, a table, a help text) falls back to
Vietnamese."""

import re
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from components import navigation
from reformkpi.formatting import markdown_text
from reformkpi.i18n import texts
from reformkpi.metrics.datasets import Dataset
from tests.app.conftest import ANALYST
from tests.conftest import ROOT


def _vietnamese_only() -> set[str]:
    """The fixed parts (between placeholders) of each Vietnamese interface text that English does
    not share, long enough not to occur by chance in data (unit names, sources)."""
    vi, en = texts("vi"), texts("en")
    parts = set()
    for key, text in vi.items():
        for part in re.split(r"\{[^}]*\}", text):
            part = part.strip(" .:;,()·—–-*_[]\n")
            if len(part) >= 12 and re.search(r"[^\x00-\x7f]", part) and part not in en[key]:
                parts.add(part)
    return parts


VIETNAMESE = _vietnamese_only()


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _shown(node) -> list[str]:
    """Every string an element or block carries (labels, values, help, options, chart specs)."""
    proto = getattr(node, "proto", None)
    found = _strings(MessageToDict(proto)) if proto is not None else []
    for child in getattr(node, "children", {}).values():
        found += _shown(child)
    return found


def _data_texts(ds: Dataset) -> list[str]:
    """Texts the data carries in one language only (documents, sources, precision notes): shown as
    stored on either page, and so left out of the check."""
    cat = ds.catalog
    found = [*cat.indicators["precision_source"], *cat.targets["source"], *cat.grade_bands["source"],
             *ds.sql("SELECT DISTINCT source FROM obs WHERE source IS NOT NULL")["source"]]
    return sorted({x for v in found if str(v).strip() for x in (str(v), markdown_text(str(v)))}, key=len, reverse=True)


def _interface(shown: list[str], data: list[str]) -> list[str]:
    out = []
    for s in shown:
        for d in data:
            s = s.replace(d, "")
        out.append(s)
    return out


def test_the_check_finds_vietnamese_interface_text():
    vi = texts("vi")["overview.title"]
    assert vi in VIETNAMESE
    page = ["Administrative reform overview", "Sở Tài chính"]  # English text and a unit's name: clean
    assert not [p for p in VIETNAMESE for s in page if p in s]
    assert [p for p in VIETNAMESE for s in [*page, f"**{vi}**"] if p in s] == [vi]
    source = "Kết quả Chỉ số CCHC công bố tỷ lệ % với hai chữ số thập phân"  # a document, in data
    assert not [p for p in VIETNAMESE for s in _interface([f"Rounded ({source})"], [source]) if p in s]


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda s: s.url_path)
def test_each_page_opened_by_an_english_link_is_english(demo_store, demo, monkeypatch, spec):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["access:actor"] = ANALYST  # may open every page
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page(spec.script)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception and not at.error
    assert at.title[0].value == texts("en")[f"{Path(spec.script).stem}.title"]
    shown = _interface(_shown(at._tree), _data_texts(demo))
    assert len(shown) > 20  # the page drew
    assert [p for p in VIETNAMESE for s in shown if p in s] == []
