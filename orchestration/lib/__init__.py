"""What the areas under ``orchestration/defs`` share: the raw assets' keys, specs and
materializations, the resources and the run executor. Not loaded as definitions itself."""
