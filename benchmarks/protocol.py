"""A lightweight client of Streamlit's own protocol: what a browser says to the app server and reads
back, without the browser. It opens the websocket a page opens (`/_stcore/stream`), asks for a
script run (a BackMsg `rerun_script`, the page by its URL path) and reads the ForwardMsgs until
the script-finished message, counting the elements sent and any exception shown. It draws
nothing, so a load of many sessions costs this side little CPU and the server's share can be
measured on the same machine.

What it leaves out of a browser's visit: the HTTP requests for the page's static files, the width
probe's report of the screen (the app then lays charts out for the browser's user agent, as it
does until a probe reports), and the message cache (the server sends every element in full).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

WAIT_S = 120  # the longest a view may take before it counts as failed


@dataclass(frozen=True)
class View:
    """One script run, as the client saw it."""

    seconds: float  # from the request to the script-finished message
    elements: int  # deltas received
    received: int  # bytes received
    exceptions: int  # exception elements (the app showing an error)


class Session:
    """One websocket session of the app (a browser tab): `await Session.open(url)`, then `view`s."""

    def __init__(self, ws):
        self.ws = ws
        self.pages: dict[str, str] = {}  # URL path -> page script hash, from the server's messages

    @classmethod
    async def open(cls, url: str) -> Session:
        ws = await websockets.connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                      max_size=None, open_timeout=WAIT_S)
        return cls(ws)

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, msg: BackMsg) -> None:
        await self.ws.send(msg.SerializeToString())

    async def clear_caches(self) -> None:
        """Clear the server's st.cache_data and st.cache_resource (for every session), as the menu's
        "Clear cache" does: the next view is a cold one."""
        await self.send(BackMsg(clear_cache=True))

    async def view(self, page: str = "", query: str = "") -> View:
        """Run the script for the page at URL path `page` ("" for the root) with `query` as the URL's
        query string, and wait for it to finish."""
        msg = BackMsg()
        msg.rerun_script.query_string = query
        if page in self.pages:
            msg.rerun_script.page_script_hash = self.pages[page]
        else:  # before the server has named its pages: by URL path, as a browser's first request
            msg.rerun_script.page_name = page
        start = time.perf_counter()
        await self.send(msg)
        elements = received = exceptions = 0
        deadline = start + WAIT_S  # past it, TimeoutError
        while True:
            raw = await asyncio.wait_for(self.ws.recv(decode=False), max(deadline - time.perf_counter(), 0))
            received += len(raw)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages})
            elif kind == "new_session":
                self.pages.update({p.url_pathname: p.page_script_hash for p in fwd.new_session.app_pages})
            elif kind == "delta":
                elements += 1
                exceptions += fwd.delta.new_element.WhichOneof("type") == "exception"
            elif kind == "script_finished" and fwd.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return View(time.perf_counter() - start, elements, received, exceptions)
