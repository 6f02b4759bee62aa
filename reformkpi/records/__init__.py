"""Dossier records: one row per dossier from the one-stop-shop systems (table), the quarterly
counts and drill-downs computed from them (metrics), and an illustrative generator (demo).
`records.metrics` is not `reformkpi.metrics` (the figures of the observations), and `records.demo`
not `reformkpi.demo` (the demo province's observations): see the package's docstring."""
