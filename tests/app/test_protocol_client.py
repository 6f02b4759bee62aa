"""The benchmarks' protocol client (benchmarks/protocol.py) against the app served for real: it opens
the root and a page by its URL path over Streamlit's websocket and sees each script run finish."""

import asyncio
import threading

import pytest

from benchmarks.protocol import Session
from tests.browser.conftest import serve


@pytest.mark.slow
def test_protocol_client_opens_pages_and_sees_the_script_finish(demo_store):
    proc, url = serve(demo_store.uri, env={"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # never a full pipe

    async def visit():
        session = await Session.open(url)
        root = await session.view()
        unit = await session.view("don-vi")
        await session.close()
        return root, unit, session.pages

    try:
        root, unit, pages = asyncio.run(visit())
    finally:
        proc.terminate()
        proc.wait(30)
    assert {"don-vi", "xep-hang", "ho-so-chi-tiet"} <= set(pages)  # the app's pages, named by the server
    for view in (root, unit):
        assert view.elements > 20 and view.received > 10_000 and view.exceptions == 0
    assert unit.elements != root.elements  # another page's script ran: the Unit page, not the Overview again
