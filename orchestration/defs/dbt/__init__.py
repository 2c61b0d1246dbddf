"""dbt area: the dbt project that builds staging, intermediate and marts in the warehouse.

Only the project handle and the CLI resource live here for now; ``@dbt_assets`` need a
``manifest.json`` at import time and will be added together with the first models.
"""

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"

# Constructing DbtProject only reads dbt_project.yml; it does not need a manifest.
# No `dbt_project.prepare_if_dev()` yet: nothing needs a manifest, and its preparer runs a
# bare `dbt` from PATH, which breaks `.venv/bin/dagster dev` when the venv is not activated.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# DbtCliResource resolves a bare "dbt" on PATH, which fails when the venv is not activated
# (e.g. `.venv/bin/python -m pytest`); point it at the dbt installed beside this interpreter.
_DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")

defs = dg.Definitions(
    resources={
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            dbt_executable=str(_DBT_EXECUTABLE) if _DBT_EXECUTABLE.exists() else "dbt",
        ),
    },
)
