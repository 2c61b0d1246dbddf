"""Top-level Dagster definitions: one ``defs`` per source area, the dbt area, the quality
checks and publication, merged."""

import dagster as dg

# Import the area modules, not their `defs`: Dagster's module loader refuses a module that
# holds more than one Definitions object at module scope.
from orchestration import automation
from orchestration.defs import dbt as dbt_area
from orchestration.defs import disputes, membership, quality, services, serving
from orchestration.executor import in_process_after_recovery
from orchestration.resources import resources_from_env

defs: dg.Definitions = dg.Definitions.merge(
    membership.defs,
    disputes.defs,
    services.defs,
    dbt_area.defs,
    quality.defs,
    serving.defs,
    automation.defs,
    # Every step that touches the DuckDB file is serialised by the warehouse pool anyway, so
    # separate step processes would buy no parallelism and cost a definitions load (~8 s) each.
    # The executor first frees the pool slots of runs that died (orchestration/executor.py).
    dg.Definitions(resources=resources_from_env(), executor=in_process_after_recovery),
)
