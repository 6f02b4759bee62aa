"""The floor of a page view: a bare Streamlit app that draws what the app's leader pages draw
(their title, metric tiles, Plotly charts with the same figure and config, and tables, in the same
columns beside a sidebar: at the same sizes), each page at the app's own URL path, and nothing else: no sidebar, sign-in, width probe,
data store or cache of results. `bench_floor.py` captures the app's pages into the file named by
`FLOOR_VIEWS` (a pickle) and serves this script beside the app.

`streamlit run benchmarks/floor_app.py` with FLOOR_VIEWS set; never part of the app.
"""

from __future__ import annotations

import json
import os
import pickle

import plotly.io as pio
import streamlit as st


def _rebuilt(elements: list[tuple]) -> list[tuple]:
    """Figures rebuilt from their captured JSON, once."""
    out = []
    for kind, body in elements:
        if kind == "plotly":
            body = (pio.from_json(body[0]), json.loads(body[1] or "{}"))
        elif kind == "columns":
            body = (body[0], [_rebuilt(inside) for inside in body[1]])
        out.append((kind, body))
    return out


@st.cache_resource
def views() -> dict[str, tuple[str, list[tuple]]]:
    """Each page's title and elements by URL path ('' for the root)."""
    with open(os.environ["FLOOR_VIEWS"], "rb") as f:
        captured = pickle.load(f)
    return {path: (title, _rebuilt(elements)) for path, (title, elements) in captured.items()}


def _draw(elements: list[tuple]) -> None:
    for kind, body in elements:
        if kind == "plotly":
            st.plotly_chart(body[0], config=body[1])
        elif kind == "metric":
            st.metric(*body, border=True)
        elif kind == "columns":
            for column, inside in zip(st.columns(body[0]), body[1]):
                with column:
                    _draw(inside)
        else:
            st.dataframe(body, hide_index=True)


def draw(path: str) -> None:
    title, elements = views()[path]
    st.sidebar.caption("floor")  # a sidebar, so that the main column is as wide as the app's
    st.title(title)
    _draw(elements)


st.set_page_config(page_title="floor", layout="wide")
pages = [st.Page(lambda path=path: draw(path), title=title, url_path=path or "tong-quan", default=not path)
         for path, (title, _) in views().items()]
st.navigation(pages, position="hidden").run()
