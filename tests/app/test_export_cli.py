"""`python -m app_export --snapshot ID`: the snapshot's page, rendered headlessly, as files; the core's
`reformkpi export` only says where the command went."""

import os
import subprocess
import sys

import pytest
from pptx import Presentation
from pypdf import PdfReader

from reformkpi import snapshots
from reformkpi.auth import Actor
from reformkpi.store import CommitInfo
from tests.conftest import ROOT, obs


@pytest.mark.slow
def test_a_snapshot_exports_to_slides_and_pdf_with_its_pinned_numbers(tmp_store, tmp_path):
    rows = [("so-y-te", "sipas.overall", "2019", 77.4), ("so-tu-phap", "sipas.overall", "2019", 85.0)]
    tmp_store.commit_observations(obs(rows), CommitInfo(user="lan"))
    snap = snapshots.create(tmp_store, Actor("lan", "analyst"), "Giao ban tháng 11", "tong-quan",
                            {"year": "2019", "ind": "sipas.overall", "level": "department"}, 1,
                            tmp_store.catalog_versions())
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 60.0)]), CommitInfo(user="lan"))
    closed = tmp_path / "access.toml"  # the page is rendered for the operator, not an anonymous viewer
    closed.write_text("anonymous_view = false\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "app_export", "--store", tmp_store.uri, "--snapshot", snap.snapshot_id,
                          "--format", "pptx,pdf", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=240,
                         env={**os.environ, "REFORMKPI_ACCESS": str(closed)})
    assert out.returncode == 0, out.stderr
    deck, report = out.stdout.strip().splitlines()[-2:]
    assert deck.endswith("CCHC-tong-quan-2019-v1.pptx") and report.endswith("CCHC-tong-quan-2019-v1.pdf")
    slides = list(Presentation(deck).slides)
    assert len(slides) == 4 and slides[0].shapes.title.text == "Giao ban tháng 11"  # cover, 2 charts, the table
    words = " ".join(sh.text_frame.text for sh in slides[1].shapes if sh.has_text_frame)
    assert "Mức độ hài lòng 2019" in words and "1/2 đơn vị chưa đạt mục tiêu 80,0%" in words
    assert "phiên bản dữ liệu 1" in slides[1].notes_slide.notes_text_frame.text
    text = PdfReader(report).pages[1].extract_text()
    assert "1/2 đơn vị chưa đạt mục tiêu 80,0%" in text and "phiên bản dữ liệu 1" in text
    missing = subprocess.run([sys.executable, "-m", "app_export", "--store", tmp_store.uri, "--snapshot", "khongco",
                              "--format", "pdf", "--out", str(tmp_path)], cwd=ROOT, capture_output=True)
    assert missing.returncode == 2


def test_export_refuses_a_page_without_charts(tmp_store, tmp_path):
    """An export that cannot show the data once wrote a cover-only deck and exited 0 (rendering for
    the operator with anonymous viewing off: the test above)."""
    empty = snapshots.create(tmp_store, Actor("lan", "analyst"), "Trang không có biểu đồ", "anh-chup", {}, 0,
                             tmp_store.catalog_versions())
    refused = subprocess.run([sys.executable, "-m", "app_export", "--store", tmp_store.uri, "--snapshot", empty.snapshot_id,
                              "--format", "html", "--out", str(tmp_path / "out")],
                             cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert refused.returncode == 2 and "không vẽ được biểu đồ nào" in refused.stderr
    assert not any((tmp_path / "out").glob("*.html"))


def test_the_core_command_line_says_where_export_went(tmp_store):
    out = subprocess.run([sys.executable, "-m", "reformkpi", "--store", tmp_store.uri, "export", "--snapshot", "x",
                          "--format", "pdf"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and f"python -m app_export --store {tmp_store.uri} --snapshot x --format pdf" in out.stderr
