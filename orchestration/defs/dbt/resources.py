"""The dbt CLI resource the dbt area's assets run the project with."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.dbt.project import DBT_EXECUTABLE, dbt_project

defs = dg.Definitions(
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
)
