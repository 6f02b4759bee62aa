"""The dossiers page in AppTest: rates from summed counts, the heatmap, most late units, backlog, online share."""

import re
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components import chart_style
from reformkpi.metrics import rollups, targets, views
from reformkpi.periods import Period
from tests.app import sweep_states
from tests.app.test_unit import charts, open_page
from tests.conftest import ROOT, plotly_array, shown


@pytest.fixture
def dossiers_page(demo_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    return lambda **query: open_page("app_pages/dossiers.py", **query)


@pytest.mark.parametrize("query", [
    {"year": "2026", "quarter": "Q4"},  # a quarter with no data yet
    {"year": "2016", "level": "district", "lang": "en"},
    {"year": "2025", "quarter": "Q2", "level": "all", "unit": "so-nong-nghiep-moi-truong"},
])
def test_dossiers_page_runs_for_filter_combinations(dossiers_page, query):
    assert not dossiers_page(**query).exception


def test_dossier_views_carry_the_core_values(dossiers_page, demo):
    at = dossiers_page(year="2024")
    specs = charts(at)
    prov = rollups.province_series(demo, "dossier.late_rate", "quarter", "department", (2022, 2024))
    late = specs["dossier_dossier.late_rate"]["data"][0]
    assert plotly_array(late["y"]) == pytest.approx(prov["value"].tolist())
    assert late["x"][0] == "Quý I/2022"
    assert any(shown(c.value) == "Công thức: Tỷ lệ trễ hạn = Quá hạn / (Trước hạn + Đúng hạn + Quá hạn) × 100"
               for c in at.caption)
    matrix = views.rate_matrix(demo, "dossier.late_rate", "department", (2022, 2024), "vi")
    heat = specs["dossier_heatmap"]["data"][0]
    assert np.allclose(plotly_array(heat["z"]), matrix.drop(columns="name").to_numpy(float).ravel(), equal_nan=True)
    assert heat["y"][0] == matrix["name"].iloc[0]
    top = views.most_late(demo, "dossier.late_rate", Period(2024), "department", "vi")
    table = at.dataframe[0].value
    assert table["Đơn vị"].tolist() == top["name"].tolist()
    assert table["Quá hạn"].iloc[0] == f"{int(top['num'].iloc[0]):,}".replace(",", ".")
    flow = rollups.province_flow(demo, "department", (2022, 2024))
    overdue = next(tr for tr in specs["dossier_backlog"]["data"] if tr["name"] == "Đang giải quyết quá hạn")
    assert plotly_array(overdue["y"]) == flow["dossier.pending_overdue"].tolist()
    online = specs["dossier_online"]["data"][0]
    assert plotly_array(online["y"]) == pytest.approx(flow["dossier.online_share"].tolist())


def test_the_late_rate_is_judged_against_its_ceiling_not_as_a_shortfall(dossiers_page, demo):
    """A lower-is-better rate reads 'below by' / 'above by' its target, never 'short by'."""
    k = views.kpi(demo, "dossier.late_rate", Period(2024), "department", "vi")
    assert k.target == 5 and k.gap == pytest.approx(5 - k.value)
    gap = f"{abs(k.gap):.1f}".replace(".", ",")
    status = "đạt, thấp hơn" if k.meets_target else "chưa đạt, còn cao hơn"
    vi_page = dossiers_page(year="2024")
    texts = [shown(e.value) for e in [*vi_page.markdown, *vi_page.caption]]
    mark = "✓" if k.meets_target else "✗"  # said by a mark too, not by the red alone
    assert f"{mark} Mục tiêu 5,0%: {status} {gap} điểm %" in texts
    assert not any("thiếu" in v for v in texts if "Mục tiêu 5,0%" in v)
    en_page = dossiers_page(year="2024", lang="en")
    en = [shown(e.value) for e in [*en_page.markdown, *en_page.caption]]
    assert any(("below by" if k.meets_target else "above by") in v for v in en if v.startswith(f"{mark} Target 5.0%"))


def _rule(num: float, den: float) -> str:
    """The naive oracle of a rate as printed: 100 × num / den in exact decimal arithmetic, rounded
    half up to the late and online rates' one decimal, with a decimal comma (rates stay below 1.000)."""
    d = (Decimal(100) * Decimal(str(num)) / Decimal(str(den))).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{d:f}".replace(".", ",")


@pytest.mark.parametrize("year", ["2019", "2022", "2025"])
def test_dossier_rates_print_what_the_rule_says(dossiers_page, demo, year):
    """The heatmap's cells, the most-late table and the online share's hovers each print the rate
    worked out from its counts, half up, at one decimal: 1/80 = 1,25% is 1,3; 1.030/9.547 = 10,79% is
    10,8%, never "10,80%"."""
    at = dossiers_page(year=year)
    specs = charts(at)
    span = (max(2016, int(year) - 2), int(year))  # the page's three years (the demo starts in 2016)
    rates = rollups.series(demo, "dossier.late_rate", "quarter", rollups.level_units(demo, "department"), span)
    rates = rates.set_index(["unit_id", "period"])
    matrix = views.rate_matrix(demo, "dossier.late_rate", "department", span, "vi")
    quarters = [c for c in matrix.columns if c != "name"]
    heat = specs["dossier_heatmap"]["data"][0]
    ceiling = Decimal(str(targets.province(demo.catalog, "dossier.late_rate", int(year))[0]))
    ties = 0
    for unit_id, row in zip(matrix.index, heat["text"]):
        for q, cell in zip(quarters, row):
            num, den = rates.loc[(unit_id, q), ["num", "den"]] if (unit_id, q) in rates.index else (np.nan, 0)
            rate = _rule(num, den) if den else "–"
            # the mark says what the colour says: ✓ at or under the ceiling as printed, ✗ over it
            mark = "" if not den else "✓ " if Decimal(rate.replace(",", ".")) <= ceiling else "✗ "
            assert cell == mark + rate, (unit_id, q)
            ties += bool(den) and (Decimal(1000) * Decimal(str(num)) / Decimal(str(den))) % 1 == Decimal("0.5")
    top = views.most_late(demo, "dossier.late_rate", Period.parse(year), "department", "vi")
    cells = at.dataframe[0].value["Tỷ lệ trễ hạn"].tolist()
    assert cells == [_rule(n, d) + "%" for n, d in zip(top["num"], top["den"])]
    assert all(re.fullmatch(r"\d+,\d%", c) for c in cells)  # one decimal, as the indicator is published
    flow = rollups.province_flow(demo, "department", span)
    received = flow[["dossier.received_online", "dossier.received_in_person", "dossier.received_post"]].sum(axis=1)
    online = specs["dossier_online"]["data"][0]
    printed = [re.search(r": ([\d.,]+%)", h)[1] for h in online["hovertext"]]
    assert printed == [_rule(n, d) + "%" for n, d in zip(flow["dossier.received_online"], received)]
    print(f"{year}: {sum(len(r) for r in heat['text'])} heatmap cells ({ties} ties), "
          f"{len(cells)} most-late rows, {len(printed)} online hovers")


def test_on_a_phone_the_heatmap_is_a_coloured_table_when_every_unit_misses(tmp_path, monkeypatch):
    """A phone draws the heatmap's cells as a table coloured alike. When every unit's late rate is
    over the ceiling, white (the target) sits at the scale's very start: the page still shows,
    the best cell pale, the worst in the colour of a miss."""
    rows = [r for k, u in enumerate(sweep_states.STEADY) for q in ("2025-Q1", "2025-Q2")
            for r in sweep_states._dossiers(u, q, 400, 0.08 + 0.04 * k, k)]
    store = sweep_states._upload(tmp_path, "misses", rows)
    monkeypatch.setenv("REFORMKPI_STORE", store.uri)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[chart_style._KEY] = chart_style.SCREENS["phone"]
    at.query_params.update({"year": "2025", "level": "department"})
    at.run()
    at.switch_page("app_pages/dossiers.py")
    at.run()
    assert not at.exception
    styled = [d.proto.arrow_data.styler.styles for d in at.dataframe if d.proto.arrow_data.HasField("styler")]
    assert len(styled) == 1  # the heatmap's cells, the one table coloured
    colors = re.findall(r"background-color: (rgb\([^)]*\))", styled[0])
    assert colors and "rgb(213, 94, 0)" in colors  # palette.BAD, the worst cell
    assert all(c != "rgb(255, 255, 255)" for c in colors)  # every cell misses: none as white as the target
