"""The demo province: deterministic, internally consistent, carrying the seed's figure and the mergers."""

import pandas as pd
import pytest

from reformkpi import config, demo, formatting
from reformkpi.metrics import ranking, views
from reformkpi.catalog import Catalog, load_dir
from reformkpi.periods import Period
from tests.conftest import DEMO_LAST_QUARTER


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_tables(load_dir(config.CATALOG_DIR))


@pytest.fixture(scope="module")
def generated(catalog):
    return demo.generate(catalog, last_quarter=DEMO_LAST_QUARTER)


def test_generation_is_deterministic(catalog, generated):
    again = demo.generate(catalog, last_quarter=DEMO_LAST_QUARTER)
    pd.testing.assert_frame_equal(generated, again)


def test_the_seed_figure_shows_as_77_4_percent(demo):
    t = ranking.league_table(demo, "sipas.overall", Period(2019), "department", "vi").set_index("unit_id")
    value = t.loc["so-tai-nguyen-moi-truong", "value"]
    assert value == 77.4 and formatting.percent(value, "vi") == "77,4%"
    assert t.loc["so-tai-nguyen-moi-truong", "target"] == 80 and not t.loc["so-tai-nguyen-moi-truong", "meets_target"]


def test_shape_of_the_province(catalog, generated):
    u = catalog.units
    assert 18 <= (u["level"] == "department").sum() <= 24 and (u["level"] == "district").sum() == 8
    assert generated["period"].min() == "2016" and generated["period"].max() == DEMO_LAST_QUARTER
    districts = set(u.loc[u["level"] == "district", "unit_id"])
    dist = generated[generated["unit_id"].isin(districts)]
    assert dist["period"].max() == "2025-Q2"  # districts end on 30/6/2025
    assert not generated.duplicated(["unit_id", "indicator_id", "period"]).any()


def _wide(generated):
    d = generated[generated["indicator_id"].str.startswith("dossier.")]
    return d.pivot_table(index=["unit_id", "period"], columns="indicator_id", values="value").fillna(0)


def test_dossier_counts_add_up_each_quarter_and_carry_over(generated):
    w = _wide(generated)
    c = lambda k: w[f"dossier.{k}"]
    to_process = c("carried_over") + c("received_online") + c("received_in_person") + c("received_post")
    done = c("resolved_early") + c("resolved_on_time") + c("resolved_late") + c("pending_not_due") + c("pending_overdue")
    assert (to_process == done).all()
    assert (c("apology_letters") <= c("resolved_late")).all()
    so_y_te = w.loc["so-y-te"]
    pending = (so_y_te["dossier.pending_not_due"] + so_y_te["dossier.pending_overdue"]).shift(1)
    assert (so_y_te["dossier.carried_over"].iloc[1:] == pending.iloc[1:]).all()


def test_the_merged_department_takes_over_its_predecessors_backlog(generated):
    w = _wide(generated)
    backlog = lambda u, p: w.loc[(u, p), "dossier.pending_not_due"] + w.loc[(u, p), "dossier.pending_overdue"]
    merged = backlog("so-tai-nguyen-moi-truong", "2024-Q4") + backlog("so-nong-nghiep-ptnt", "2024-Q4")
    assert w.loc[("so-nong-nghiep-moi-truong", "2025-Q1"), "dossier.carried_over"] == merged


def test_lineage_of_the_merged_department_spans_2016_to_2025(demo):
    s = views.unit_history(demo, "so-nong-nghiep-moi-truong", ("par.total",))
    assert sorted(set(s["period"])) == [str(y) for y in range(2016, 2026)]
    assert s.loc[s["period"] == "2024", "unit_id"].tolist() == ["so-nong-nghiep-ptnt", "so-tai-nguyen-moi-truong"]
    assert s.loc[s["kind"] == "own", "period"].tolist() == ["2025"]


def test_par_points_stay_within_the_applicable_maximum(generated):
    par = generated[generated["indicator_id"].str.startswith("par.")]
    assert (par["value"] <= par["max_value"]).all() and (par["value"] >= 0).all()
    ban = par[(par["unit_id"] == "ban-dan-toc") & (par["indicator_id"] == "par.total")]
    assert (ban["max_value"] == 84.0).all()


def test_some_departments_are_unstable_and_some_run_late(demo):
    stab = ranking.rank_stability(demo, "par.total", "department", (2016, 2024)).set_index("unit_id")
    assert stab.loc["so-xay-dung", "rank_sd"] > stab["rank_sd"].median()
    late = ranking.league_table(demo, "dossier.late_rate", Period(2019), "department", "vi")
    assert late.iloc[-1]["unit_id"] == "so-tai-nguyen-moi-truong"  # the most late, as the report says


def test_every_demo_rate_is_its_counts_rounded_half_up(demo):
    """Every unit-quarter rate of the demo (the heatmap's cells, the most-late table's rates) is
    100 × num / den in exact decimals, half up, at the indicator's decimal: the ties (1/80 = 1,25%)
    included, which binary half-to-even rounding put one tenth low."""
    from decimal import ROUND_HALF_UP, Decimal

    from reformkpi.metrics import rollups

    checked = ties = 0
    for rate in ("dossier.late_rate", "dossier.online_share"):
        s = rollups.series(demo, rate, "quarter").dropna(subset=["value"])
        for num, den, value in zip(s["num"], s["den"], s["value"]):
            exact = Decimal(100) * Decimal(str(num)) / Decimal(str(den))
            assert value == float(exact.quantize(Decimal("0.1"), ROUND_HALF_UP)), (num, den, value)
            assert formatting.percent(value, "vi", 1) == formatting.percent(exact, "vi", 1)
            ties += (exact * 10) % 1 == Decimal("0.5")
            checked += 1
    assert checked > 2000 and ties > 0
    print(f"{checked} demo rates, {ties} ties")
