"""Top-level Dagster definitions: one ``defs`` per source area plus the dbt area, merged."""

import dagster as dg

# Import the area modules, not their `defs`: Dagster's module loader refuses a module that
# holds more than one Definitions object at module scope.
from orchestration import automation
from orchestration.defs import dbt as dbt_area
from orchestration.defs import disputes, membership, services
from orchestration.resources import resources_from_env

defs: dg.Definitions = dg.Definitions.merge(
    membership.defs,
    disputes.defs,
    services.defs,
    dbt_area.defs,
    automation.defs,
    dg.Definitions(resources=resources_from_env()),
)
