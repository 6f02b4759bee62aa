"""Every page: snapshot it, upload a change, export the snapshot headlessly; the files show that
page with the pinned figures (one render per page, read back as HTML, as a deck and as a PDF), each
chart and table with its context line, the deck laid out with nothing overlapping or overflowing."""

import io
import re
import shutil
from html.parser import HTMLParser

import pytest
from pptx import Presentation
from pypdf import PdfReader

import app_export
from components import data, exporting, navigation
from reformkpi import formatting, snapshots
from reformkpi.metrics import rollups
from reformkpi.metrics.datasets import Dataset
from reformkpi.auth import Actor, operator
from reformkpi.records import metrics as rm
from reformkpi.records import scan as records_scan
from reformkpi.records import table as records_table
from reformkpi.store import CommitInfo, Store
from tests import export_checks
from tests.conftest import DEMO_LAST_QUARTER, obs

TNMT = "so-tai-nguyen-moi-truong"  # the inspection report's unit, merged away in 2025
TU_PHAP = "so-tu-phap"  # in office in the latest quarter
QUARTER = DEMO_LAST_QUARTER
# page → (view state, the heading of one of its charts or tables)
PAGES = {
    "tong-quan": ({"year": "2019", "ind": "sipas.overall", "level": "department"}, "Bảng xếp hạng"),
    "don-vi": ({"year": "2019", "unit": TNMT, "ind": "sipas.overall"}, "qua các năm"),
    "xep-hang": ({"year": "2019", "ind": "sipas.overall", "level": "department"}, "Bảng xếp hạng"),
    "ho-so": ({"year": QUARTER[:4], "quarter": QUARTER[5:], "level": "department"}, "Tỷ lệ trễ hạn"),
    "ho-so-chi-tiet": ({"rq": QUARTER, "unit": TU_PHAP}, "Tồn đọng cuối mỗi quý"),
    "hai-long": ({"year": "2019", "level": "department"}, "Mức độ hài lòng"),
}


class Tables(HTMLParser):
    """The report's section headings and its tables, as rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.headings, self.tables, self.contexts, self._in = [], [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag == "p" and ("class", "context") in attrs:
            self._in = "context"
            self.contexts.append("")
        elif tag in ("td", "th", "h2"):
            self._in = tag
            if tag == "h2":
                self.headings.append("")
            else:
                self.tables[-1][-1].append("")

    def handle_endtag(self, tag):
        self._in = None if tag == self._in or (tag == "p" and self._in == "context") else self._in

    def handle_data(self, text):
        if self._in == "h2":
            self.headings[-1] += text
        elif self._in == "context":
            self.contexts[-1] += text
        elif self._in:
            self.tables[-1][-1][-1] += text


def rows_of(tables, first_cell: str) -> list[list[str]]:
    return [r for tb in tables for r in tb if r and r[0] == first_cell or (len(r) > 1 and r[1] == first_cell)]


@pytest.fixture(scope="module")
def pinned(demo_store, tmp_path_factory):
    """A copy of the demo store, one snapshot per page, then a new upload and new records."""
    root = tmp_path_factory.mktemp("pinned")
    shutil.copytree(demo_store.uri, root / "store")
    store = Store(root / "store")
    analyst = Actor("lan", "analyst")
    snaps = {page: snapshots.create(store, analyst, f"Ảnh chụp {page}", page,
                                    {**view, "lang": "vi", "data": "demo"}, store.version(), store.catalog_versions(),
                                    records_version=records_scan.version(store))
             for page, (view, _) in PAGES.items()}
    before = Dataset.open(store)
    store.commit_observations(obs([(TNMT, "sipas.overall", "2019", 60.0),
                                   (TU_PHAP, "dossier.resolved_late", QUARTER, 5000.0)]), CommitInfo(user="lan"))
    stored = store.delta("records").to_pyarrow_table().to_pandas()
    extra = stored[(stored["unit_id"] == TU_PHAP) & (stored["received_quarter"] == QUARTER)].head(40)
    extra = extra.assign(dossier_id=extra["dossier_id"] + "-bo-sung").drop(columns=["upload_id", "received_quarter"])
    extra.to_parquet(root / "bo-sung.parquet")
    units = set(before.catalog.units["unit_id"])
    records_table.ingest(store, root / "bo-sung.parquet", operator("lan"), CommitInfo(user="lan", operation="records"), units)
    return store, snaps, before, rm.Records.open(store, snaps["ho-so-chi-tiet"].records_version)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_each_page_exports_its_own_pinned_figures(pinned, page, monkeypatch, tmp_path):
    store, snaps, before, old_records = pinned
    monkeypatch.setenv("REFORMKPI_STORE", store.uri)
    data.forget_latest()
    snap = snaps[page]
    html_path, pptx_path, pdf_path = app_export.export(snap, "demo", ["html", "pptx", "pdf"], tmp_path, operator("lan"))
    period = QUARTER if page.startswith("ho-so") else "2019"
    assert (html_path.name, pptx_path.name) == (f"CCHC-{page}-{period}-v{snap.data_version}.html",
                                                f"CCHC-{page}-{period}-v{snap.data_version}.pptx")
    doc = Tables()
    doc.feed(html_path.read_text(encoding="utf-8"))
    assert any(PAGES[page][1] in h for h in doc.headings), doc.headings
    assert f"phiên bản dữ liệu {snap.data_version}" in html_path.read_text(encoding="utf-8")
    slides = list(Presentation(io.BytesIO(pptx_path.read_bytes())).slides)
    assert slides[0].shapes.title.text == snap.title
    titles = [re.sub(r" \(\d+/\d+\)$", "", slide.shapes[0].text_frame.text) for slide in slides[1:]]
    assert list(dict.fromkeys(titles)) == doc.headings  # the same charts and tables, a long table paged

    # Laid out, not hoped: no box overlaps another or leaves its slide, no text overflows, every table
    # keeps its column labels, and each chart and table has the page's context line under it.
    assert export_checks.deck_problems(pptx_path.read_bytes()) == []
    pinned_line = f"Ảnh chụp số liệu: {snap.title} ({formatting.timestamp(snap.created_at, 'vi')})"
    cover = slides[0].placeholders[1].text_frame.text
    assert cover.startswith(exporting.cover_subtitle(navigation.title(page, "vi"), snap, "vi"))  # as the page's deck
    for text in export_checks.slides_text(pptx_path.read_bytes())[1:]:
        assert f"phiên bản dữ liệu {snap.data_version} · {pinned_line}" in text, text
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(pdf_path).pages]
    assert all(pinned_line in text for text in pages[1:]), pages  # a table never spills onto a page without it
    assert doc.contexts and all(pinned_line in c for c in doc.contexts)
    assert len(doc.contexts) == len(doc.headings)  # one under each chart and each table

    if page in ("tong-quan", "xep-hang", "hai-long"):
        rows = rows_of(doc.tables, "Sở Tài nguyên và Môi trường")
        assert any("77,4%" in r for r in rows) and not any("60,0%" in r for r in rows)
    elif page == "don-vi":
        # Each row names whose figure it is (the unit, or a predecessor of a merged unit).
        sipas = [r for r in doc.tables[0] if r[:3] == ["Sở Tài nguyên và Môi trường", "Mức độ hài lòng", "2019"]]
        assert sipas and sipas[0][3] == "77,4%"  # SIPAS rows as a percentage, PAR INDEX rows in points
    elif page == "ho-so":
        flow = rollups.province_flow(before, "department", (int(QUARTER[:4]), int(QUARTER[:4])))
        pinned_rate = flow.set_index("period").loc[QUARTER, "dossier.late_rate"]
        label = formatting.period_label(QUARTER, "vi")
        rate_rows = [r for tb in doc.tables for r in tb if r and r[0] == label]
        assert formatting.percent(pinned_rate, "vi") in rate_rows[0]
    else:
        received = rm.backlog_trend(old_records, TU_PHAP, QUARTER).set_index("period").loc[QUARTER, "received"]
        label = formatting.period_label(QUARTER, "vi")
        trend = [r for tb in doc.tables for r in tb if r and r[0] == label and formatting.number(received, "vi", 0) in r]
        assert trend, f"received {received} at the pinned records version"
