"""One folder per area (the three sources, dbt, quality, serving), loaded by Dagster's
defs-folder loader (``orchestration/definitions.py``): every module's assets, checks, sensors
and schedules at module scope, or the one ``Definitions`` a module holds (resources, the
executor)."""
