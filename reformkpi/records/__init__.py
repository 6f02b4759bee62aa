"""Dossier records: one row per dossier from the one-stop-shop systems (table), the quarterly
counts and drill-downs computed from them (metrics), and an illustrative generator (demo)."""
