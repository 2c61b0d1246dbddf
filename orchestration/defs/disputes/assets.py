"""Raw dispute cases and 12351 hotline requests, from the REST API or the JSON-lines export."""

from collections.abc import Iterator

import dagster as dg

from ingestion import disputes
from orchestration.lib.raw_assets import WAREHOUSE_POOL, materializations, raw_specs
from orchestration.lib.resources import (
    DisputesSourceResource,
    PiiKeyResource,
    WarehouseResource,
    run_settings,
)

# The incremental KPI aggregate reads every committed version of these (the periods each
# version of a changed record was in).
HISTORY = (disputes.CASE, disputes.HOTLINE_REQUEST)

DESCRIPTIONS = {
    "case": (
        "Labour-dispute cases (劳动争议案件), every committed version; claimants pseudonymised, "
        "claim types, events and claimants nested."
    ),
    "hotline_request": "12351 hotline requests (职工诉求); the caller's phone pseudonymised.",
}


@dg.multi_asset(
    name="disputes_raw",
    specs=raw_specs(disputes.ENTITIES, DESCRIPTIONS, history=HISTORY),
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def disputes_raw(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pii: PiiKeyResource,
    disputes_source: DisputesSourceResource,
) -> Iterator[dg.MaterializeResult]:
    """New export files once each (or API pages since the watermark), validated,
    pseudonymised, latest version per key, committed as one load."""
    config = disputes.config_from(run_settings(pii, disputes_source=disputes_source))
    results = disputes.load(config, warehouse.store())
    yield from materializations(context, disputes.ENTITIES, results, history=HISTORY)
