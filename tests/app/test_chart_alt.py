"""Every chart has a text alternative beside it: the core's description, and its data as a table."""

import pandas as pd

from reformkpi import exhibits, formatting
from reformkpi.metrics import ranking
from reformkpi.periods import Period
from tests.app.test_overview import charts


def test_each_chart_is_followed_by_its_description_and_a_table_of_its_data(app, demo):
    at = app(year="2019", ind="sipas.overall")
    assert not at.exception
    drawn = charts(at)
    descriptions = [c.value for c in at.caption if c.value.startswith("Biểu đồ «")]
    tables = [e for e in at.expander if e.label == "Xem dạng bảng"]
    assert len(descriptions) == len(tables) == len(drawn) == 2
    # The units chart: the core's league table, described with the takeaway its exports carry.
    league = ranking.league_table(demo, "sipas.overall", Period(2019), "department", "vi")
    takeaway = exhibits.takeaway(league, demo, "sipas.overall", "vi")
    assert takeaway.startswith(f"{int((league['gap'] < 0).sum())}/{league['gap'].notna().sum()} đơn vị chưa đạt")
    assert descriptions[0].endswith(formatting.markdown_text(f"{len(league)} dòng số liệu. " + takeaway))
    assert not tables[0].table  # a closed expander sends no table
    at.session_state["alt-overview_units"] = True  # as a click on it leaves it
    table = [e for e in at.run().expander if e.label == "Xem dạng bảng"][0].table[0].value
    assert len(table) == len(league) and "Đơn vị" in table.columns
    row = table[table["Đơn vị"] == "Sở Tài nguyên và Môi trường"].iloc[0]
    assert row["Mức độ hài lòng (%)"] == "77,4%"  # written as the page writes it


def test_the_alternative_speaks_english_and_follows_presentation_mode(app):
    at = app(year="2019", ind="sipas.overall", lang="en")
    assert any(c.value.startswith("Chart “") for c in at.caption)
    assert [e.label for e in at.expander].count("View as a table") == len(charts(at))
    shown = app(year="2019", ind="sipas.overall", present="1")
    assert not shown.exception
    shown.session_state["alt-present-chart"] = True
    tables = [e for e in shown.run().expander if e.label == "Xem dạng bảng"]
    assert len(charts(shown)) == len(tables) == 1 and isinstance(tables[0].table[0].value, pd.DataFrame)
