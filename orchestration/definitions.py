"""The Dagster code location: everything under ``orchestration/defs``, found by Dagster's
defs-folder loader (``[tool.dg.project]`` in pyproject.toml names the folder)."""

from pathlib import Path

import dagster as dg

defs: dg.Definitions = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
