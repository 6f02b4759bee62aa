"""Streamlit and Plotly building blocks, one concept a module, each named for what it draws or does.

A component that shares a name with a module of another layer draws it or serves it:
`context.py` draws the core's `reformkpi.context`; `history.py` and `upload.py` hold the blocks of
the page of the same name in `app_pages/`.
"""
