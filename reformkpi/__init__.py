"""Core of the administrative-reform KPI dashboard: catalog, store, metrics, ingest, export.

Nothing in this package imports Streamlit; the app layers call into it.
"""
