"""Hostile unit names render as text in the Overview: in the table, the chart and the tiles."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests import hostile
from tests.conftest import ROOT, plotly_array


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    return hostile.build(tmp_path_factory.mktemp("hostile") / "store")


def test_hostile_names_are_shown_as_plain_text(hostile_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", hostile_store.uri)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"year": "2019", "ind": "sipas.overall"})
    at.run()
    assert not at.exception
    names = at.dataframe[0].value["Đơn vị"].tolist()
    assert set(hostile.NAMES.values()) <= set(names)  # the table holds the raw text, which it renders as text
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    labels = plotly_array(spec["data"][0]["y"])
    assert "&lt;script&gt;alert('xss')&lt;/script&gt;" in labels  # Plotly reads HTML in labels: escaped
    assert not any("<script" in str(v) or "<img" in str(v) for v in labels)
    assert "<script" not in spec["data"][0]["hovertext"][0] + "".join(spec["data"][0]["hovertext"])
    markdown = " ".join(m.value for m in at.markdown)
    assert "javascript:" not in markdown
