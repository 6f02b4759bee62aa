"""Every number the dashboard shows, computed with DuckDB over one data version, by concept:

- datasets: a data version loaded for reading (observations, catalog, notes), years and unit names;
- rollups: series of an indicator per unit and period, roll-ups to years, units combined (with n of
  N units, the coverage rule of `reformkpi.coverage`);
- targets: the one target lookup (a unit's own, else the general one) and the gap to a target;
- comparability: whether a period may be compared with the one before, over what, and why not;
- ranking: ranks among peers, grades, rank stability;
- views: the frames leaders read (headline figures, a unit's profile, dossiers, satisfaction).
"""
