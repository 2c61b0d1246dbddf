"""dbt area: the dbt project that builds staging, intermediate and marts in the warehouse."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.dbt.assets import dbt_docs, warehouse_dbt
from orchestration.defs.dbt.project import DBT_EXECUTABLE, dbt_project

defs = dg.Definitions(
    assets=[warehouse_dbt, dbt_docs],
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
)
