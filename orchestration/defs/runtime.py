"""What every run is given: the resources, configured from ``UNIONWH_*``, and the executor."""

import dagster as dg

from orchestration.lib.executor import in_process_after_recovery
from orchestration.lib.resources import resources_from_env

defs = dg.Definitions(
    resources=resources_from_env(),
    # Every step that touches the DuckDB file is serialised by the warehouse pool anyway, so
    # separate step processes would buy no parallelism and cost a definitions load (~8 s) each.
    # The executor first frees the pool slots of runs that died (orchestration/lib/executor.py).
    executor=in_process_after_recovery,
)
