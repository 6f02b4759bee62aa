"""Every page reads the one comparability decision: no coloured or signed change, value or rank,
across a method break (SIPAS 2022 in the demo, the PAPI total 2018), lines broken there, and the
running year's tiles compared with the same quarters of the year before."""

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from reformkpi import formatting
from reformkpi.auth import operator
from reformkpi.ingest import papi
from reformkpi.metrics import views
from reformkpi.periods import Period
from reformkpi.store import Store
from tests.conftest import ROOT, plotly_array

SIPAS, PAPI = {"Mức độ hài lòng", "Satisfaction"}, {"Tổng PAPI", "PAPI total"}
# What a page writes for a rank change: a unit tile's "lên 2 bậc so với 2021", a fall "từ hạng 1 xuống hạng 2".
RANK_CHANGE = re.compile(r"bậc so với|giữ hạng|xuống hạng|\b(up|down) \d+ on\b|same rank|to rank")
NO_CHANGE = {"–", "mới", "new"}


@pytest.fixture(scope="module")
def papi_store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("papi-compare") / "store")
    papi.build(store, operator("test"))
    return store


@pytest.fixture
def page(demo_store, papi_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    monkeypatch.setenv("REFORMKPI_PAPI_STORE", papi_store.uri)

    def open_page(path: str, **query) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
        at.query_params.update(query)
        at.switch_page(path)
        at.run()
        assert not at.exception and not at.error
        return at
    return open_page


def changes_shown(at: AppTest, names: set[str]) -> list[str]:
    """Every change of value or rank the page shows for the indicator named `names`: its tiles'
    deltas and rank changes, its league table's change columns, its falls."""
    found = [f"{m.label}: {m.proto.delta}" for m in at.metric if m.label in names and m.proto.delta]
    for block in at.columns:
        if any(m.label in names for m in block.metric):
            found += [c.value for c in block.caption if RANK_CHANGE.search(c.value)]
    for table in at.dataframe:
        frame = table.value
        for header in ("Thay đổi", "Thay đổi hạng", "Change", "Rank change"):
            if header in frame:
                found += [f"{header}: {v}" for v in frame[header] if v not in NO_CHANGE]
    found += [m.value for m in at.markdown if any(n in m.value for n in names) and RANK_CHANGE.search(m.value)]
    return found


def reasons(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith(("Không so sánh", "Not comparable"))]


@pytest.mark.parametrize("path, query, names, reason", [
    ("app_pages/overview.py", {"year": "2022", "ind": "sipas.overall"}, SIPAS,
     "Không so sánh với 2021: phương pháp tính thay đổi từ 2022"),
    ("app_pages/overview.py", {"year": "2022", "ind": "sipas.overall", "lang": "en"}, SIPAS,
     "Not comparable with 2021: the method changed from 2022"),
    ("app_pages/unit.py", {"unit": "so-tu-phap", "year": "2022", "ind": "sipas.overall"}, SIPAS,
     "Không so sánh với 2021: phương pháp tính thay đổi từ 2022"),
    ("app_pages/unit.py", {"unit": "so-tu-phap", "year": "2022", "ind": "sipas.overall", "lang": "en"}, SIPAS,
     "Not comparable with 2021: the method changed from 2022"),
    ("app_pages/rankings.py", {"year": "2022", "ind": "sipas.overall"}, SIPAS,
     "Không so sánh với 2021: phương pháp tính thay đổi từ 2022"),
    ("app_pages/satisfaction.py", {"year": "2022"}, SIPAS, None),
    ("app_pages/overview.py", {"data": "papi", "year": "2018", "ind": "papi.total"}, PAPI,
     "Không so sánh với 2017: phương pháp tính thay đổi từ 2018"),
    ("app_pages/rankings.py", {"data": "papi", "year": "2018", "ind": "papi.total"}, PAPI,
     "Không so sánh với 2017: phương pháp tính thay đổi từ 2018"),
])
def test_no_change_of_value_or_rank_is_shown_across_a_method_break(page, path, query, names, reason):
    at = page(path, **query)
    assert changes_shown(at, names) == []
    if reason is not None:  # said where a change would have been
        assert reason in reasons(at)


def test_the_detector_sees_changes_where_the_method_is_the_same(page):
    at = page("app_pages/overview.py", year="2023", ind="sipas.overall")
    assert len(changes_shown(at, SIPAS)) > 10  # the tile's delta and the league table's changes
    at = page("app_pages/unit.py", unit="so-tu-phap", year="2023", ind="sipas.overall")
    assert any(m.label == "Mức độ hài lòng" and m.proto.delta for m in at.metric)


def joined_pairs(trace: dict) -> set[tuple]:
    """Consecutive x values a line joins (None breaks it)."""
    x = plotly_array(trace["x"])
    return {(str(a), str(b)) for a, b in zip(x, x[1:]) if a is not None and b is not None}


def test_lines_break_at_the_method_break_on_the_unit_and_rankings_pages(page):
    at = page("app_pages/unit.py", unit="so-tu-phap", year="2022", ind="sipas.overall")
    specs = {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    history = specs["unit_history"]
    unit_lines = [tr for tr in history["data"] if tr["name"] == "Sở Tư pháp"]
    sipas = unit_lines[1]  # the grid follows the catalog's order: PAR INDEX, then SIPAS
    assert ("2020", "2021") in joined_pairs(sipas) and ("2021", "2022") not in joined_pairs(sipas)
    assert ("2021", "2022") in joined_pairs(unit_lines[0])  # PAR INDEX has no break
    assert "Đổi phương pháp" in [a["text"] for a in history["layout"]["annotations"]]
    ranks = specs["unit_ranks"]
    assert all(("2021", "2022") not in joined_pairs(tr) for tr in ranks["data"])
    assert any(("2022", "2023") in joined_pairs(tr) for tr in ranks["data"])
    assert "Đổi phương pháp" in [a["text"] for a in ranks["layout"]["annotations"]]

    at = page("app_pages/rankings.py", year="2024", ind="sipas.overall")
    bump = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == "rankings_bump")
    assert all(("2021", "2022") not in joined_pairs(tr) for tr in bump["data"])
    assert any(("2022", "2023") in joined_pairs(tr) for tr in bump["data"])
    assert "Đổi phương pháp" in [a["text"] for a in bump["layout"]["annotations"]]


@pytest.mark.parametrize("lang, versus, flag", [
    ("vi", "Quý I–III/2026 so với Quý I–III/2025", "Năm 2026 chưa đủ các quý: số liệu Quý I–III/2026"),
    ("en", "Q1–Q3 2026 vs Q1–Q3 2025", "2026 is not complete: data for Q1–Q3 2026"),
])
@pytest.mark.parametrize("path, query", [
    ("app_pages/overview.py", {}), ("app_pages/dossiers.py", {}), ("app_pages/unit.py", {"unit": "so-tu-phap"}),
])
def test_the_2026_tiles_compare_q1_to_q3_with_q1_to_q3_and_say_the_year_is_partial(page, path, query, lang, versus,
                                                                                    flag):
    at = page(path, year="2026", lang=lang, **query)
    changed = [m for m in at.metric if m.proto.delta]
    assert len(changed) >= 2 and {m.proto.delta_description for m in changed} == {versus}
    for block in at.columns:  # every tile with a change flags the incomplete year
        if any(m.proto.delta for m in block.metric):
            assert flag in [c.value for c in block.caption]


def test_the_2026_online_share_tile_is_the_core_change_over_the_same_quarters(page, demo):
    k = views.kpi(demo, "dossier.online_share", Period(2026), None, "vi")
    at = page("app_pages/dossiers.py", year="2026")
    tile = next(m for m in at.metric if m.label == "Tỷ lệ trực tuyến")
    # Q1–Q3 2026 against Q1–Q3 2025 (+10,5), not against the whole of 2025 (+8,9).
    assert tile.proto.delta == formatting.signed(k.change, "vi", 1) + " điểm %" == "+10,5 điểm %"
