"""`python -m reformkpi export --snapshot ID`: the snapshot's page, rendered headlessly, as files."""

import io
import os
import subprocess
import sys

from pptx import Presentation
from pypdf import PdfReader

from reformkpi import snapshots
from reformkpi.auth import Actor
from reformkpi.store import CommitInfo
from tests.conftest import ROOT, obs


def test_a_snapshot_exports_to_slides_and_pdf_with_its_pinned_numbers(tmp_store, tmp_path):
    rows = [("so-y-te", "sipas.overall", "2019", 77.4), ("so-tu-phap", "sipas.overall", "2019", 85.0)]
    tmp_store.commit_observations(obs(rows), CommitInfo(user="lan"))
    snap = snapshots.create(tmp_store, Actor("lan", "analyst"), "Giao ban tháng 11", "tong-quan",
                            {"year": "2019", "ind": "sipas.overall", "level": "department"}, 1,
                            tmp_store.catalog_versions())
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 60.0)]), CommitInfo(user="lan"))
    closed = tmp_path / "access.toml"  # the page is rendered for the operator, not an anonymous viewer
    closed.write_text("anonymous_view = false\n", encoding="utf-8")
    for fmt in ("pptx", "pdf"):
        out = subprocess.run([sys.executable, "-m", "reformkpi", "--store", tmp_store.uri, "export", "--snapshot",
                              snap.snapshot_id, "--format", fmt, "--out", str(tmp_path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=240,
                             env={**os.environ, "REFORMKPI_ACCESS": str(closed)})
        assert out.returncode == 0, out.stderr
        path = out.stdout.strip().splitlines()[-1]
        assert path.endswith(f".{fmt}") and "Báo cáo CCHC - Giao ban tháng 11" in path
        data = open(path, "rb").read()
        if fmt == "pptx":
            slides = list(Presentation(io.BytesIO(data)).slides)
            assert len(slides) == 3 and slides[0].shapes.title.text == "Giao ban tháng 11"
            words = " ".join(sh.text_frame.text for sh in slides[1].shapes if sh.has_text_frame)
            assert "Mức độ hài lòng 2019" in words and "1/2 đơn vị chưa đạt mục tiêu 80,0%" in words
            assert "phiên bản dữ liệu 1" in slides[1].notes_slide.notes_text_frame.text
        else:
            text = PdfReader(io.BytesIO(data)).pages[1].extract_text()
            assert "1/2 đơn vị chưa đạt mục tiêu 80,0%" in text and "phiên bản dữ liệu 1" in text
    missing = subprocess.run([sys.executable, "-m", "reformkpi", "--store", tmp_store.uri, "export", "--snapshot",
                              "khongco", "--format", "pdf", "--out", str(tmp_path)], cwd=ROOT, capture_output=True)
    assert missing.returncode == 2
