"""Core of the administrative-reform KPI dashboard: catalog, store, metrics, ingest, export.

Nothing in this package imports Streamlit; the app layers call into it. Its layers, lowest first,
are the table in tests/core/test_layers.py, which fails on an import up a layer.

Modules that share a name, which is which:
- `metrics/` computes the figures of the observations (one data version); `records.metrics`
  computes figures from the dossier records (quarterly counts, a unit's drill-down).
- `demo` generates the demo province's observations; `records.demo` its dossier records.
- `cli` is the command line (`python -m reformkpi`): its parser, and the subcommands on the store
  as a whole (demo, history, rollback, catalog, check, notify); the subcommands of one concept
  live with it and are registered by `cli`: `cli_users` (user …), `ingest.cli` (ingest, papi),
  `records.cli` (records-…).
- `context` computes what stands beside a figure (FigureContext); `components/context.py` draws it.
"""
