"""Exports: one PNG (warm, Chromium already running), an 8-chart deck, PDF and HTML report, and the
data of a chart (its exhibit: the core's frame with header block and takeaway) as CSV and XLSX.

Baseline, measured in the same run: the same PNG with a fresh Chromium for the image (kaleido's
one-shot path, what `fig.to_image` does without a running server).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import kaleido

from benchmarks.measure import median_seconds
from components import overview_view
from reformkpi import exhibits, exports
from reformkpi.metrics import ranking, views
from reformkpi.metrics.datasets import Dataset
from reformkpi.periods import Period
from reformkpi.context import trend_title
from reformkpi.cli import build_demo
from reformkpi.store import Store


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        build_demo(store, "bench", last_quarter="2026-Q3")
        ds = Dataset.open(store)
        figures, frames = [], []
        for indicator in ("sipas.overall", "par.total", "dossier.late_rate", "dossier.online_share"):
            period = Period(2024, 4) if indicator.startswith("dossier") else Period(2024)
            table = ranking.league_table(ds, indicator, period, "department", "vi")
            k = views.kpi(ds, indicator, period, "department", "vi")
            ind = ds.catalog.indicator(indicator)
            trend = views.province_trend(ds, indicator, "department", "vi")
            figures += [overview_view.unit_values(table, ind, k, "vi", ds.version),
                        overview_view.province_trend(trend, ind, "vi", ds.version, trend_title(ds.catalog, indicator, "vi"))]
            frames += [(table, indicator, period), (trend, indicator, None)]  # a trend is of every year

        def exhibit(i: int) -> exhibits.Exhibit:
            frame, indicator, period = frames[i]
            header = exhibits.header(ds, indicator, "Tỉnh minh họa", "vi", period)
            return exhibits.exhibit(frame, ds, indicator, f"Biểu đồ {i + 1}", header)

        report = exports.Report("Báo cáo CCHC", "Tổng quan", "Tỉnh minh họa · phiên bản dữ liệu 1",
                                exports.dt.datetime.now(exports.dt.UTC),
                                tuple(exports.ChartExport(f, exhibit(i)) for i, f in enumerate(figures)), lang="vi")
        kaleido.stop_sync_server(silence_warnings=True)
        cold = median_seconds(lambda: figures[0].to_image(format="png", width=1600, height=900), 3)
        exports.image(figures[0])  # start the shared Chromium
        warm = median_seconds(lambda: exports.image(figures[0]), 5)
        deck = median_seconds(lambda: exports.pptx(report), 2)
        pdf = median_seconds(lambda: exports.pdf(report), 2)
        html = median_seconds(lambda: exports.html_report(report), 3)
        data = median_seconds(lambda: (exports.exhibit_csv(exhibit(0)), exports.exhibit_xlsx(exhibit(0))), 5)
        print(f"PNG 1600×900, warm (shared Chromium): {warm * 1000:7.0f} ms   aim < 1500 ms")
        print(f"PNG baseline, a Chromium per image:   {cold * 1000:7.0f} ms   ratio {cold / warm:5.1f}×")
        print(f"PowerPoint deck, {len(figures)} charts:          {deck:7.2f} s    aim < 15 s")
        print(f"PDF report, {len(figures)} charts:               {pdf:7.2f} s")
        print(f"Offline HTML report, {len(figures)} charts:      {html:7.2f} s")
        print(f"A chart's data, exhibit + CSV + XLSX:   {data * 1000:7.0f} ms")
