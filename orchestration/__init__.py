"""Dagster code location: assets, jobs and resources of the union warehouse."""
