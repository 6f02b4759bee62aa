"""The digest's snapshot link, opened in a fresh browser on a phone after newer figures came in,
shows the figures of the mail: the snapshot is pinned to the data version the digest read."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest

from reformkpi.metrics.datasets import Dataset
from reformkpi.notify import digest
from reformkpi.store import CommitInfo, Store
from tests.browser.conftest import screenshot, serve
from tests.browser.test_legibility import PHONE_AGENT
from tests.conftest import obs

UNIT, NAME = "so-dan-toc-ton-giao", "Sở Dân tộc và Tôn giáo"


@pytest.mark.slow
def test_the_digest_link_shows_the_figures_of_the_mail(browser, demo_store, tmp_path):
    store = Store(shutil.copytree(demo_store.uri, tmp_path / "store"))
    ds = Dataset.open(store)
    year, lines = digest.lines(ds, "attention", "", "", None, "vi")
    snap = digest.pinned(store, ds, "demo", year, "vi", "2026-Q4", dt.datetime.now(dt.UTC))
    # The unit's figures as the mail writes them: "Sở Dân tộc và Tôn giáo: 5,8% (−0,8 điểm %)".
    told = [f"{NAME}: {value}" for line in lines for value in re.findall(re.escape(NAME) + r": (\d+,\d%)", line)]
    assert len(told) == 2  # the late rate and the on-time rate
    # Newer figures come in after the digest: 40 of its Q3 dossiers resolved late.
    store.commit_observations(obs([(UNIT, "dossier.resolved_late", "2026-Q3", 40)]), CommitInfo(user="mai"))
    assert digest.lines(Dataset.open(store), "attention", "", "", None, "vi")[1] != lines

    proc, url = serve(store.uri)
    try:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True,
                                      has_touch=True, user_agent=PHONE_AGENT)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(digest.snapshot_link(url, snap))
        page.get_by_text(f"Ảnh chụp “{snap.title}”", exact=False).wait_for()
        page.get_by_text(told[0], exact=False).first.wait_for()
        body = page.inner_text("body")
        screenshot(page, "digest-link-phone")
        assert all(figure in body for figure in told), (told, body[:3000])
        assert f"phiên bản {ds.version}" in body
        context.close()
    finally:
        proc.terminate()
        proc.wait(10)
