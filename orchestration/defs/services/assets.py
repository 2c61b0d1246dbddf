"""Raw service-platform data from the landing directory: catalogue, stations, deliveries,
station visits."""

from collections.abc import Iterator

import dagster as dg

from ingestion import services
from orchestration.lib.raw_assets import WAREHOUSE_POOL, materializations, raw_specs
from orchestration.lib.resources import (
    PiiKeyResource,
    ServicesLandingResource,
    WarehouseResource,
    run_settings,
)

# The incremental delivery fact in dbt reads every committed version, and the tombstones.
HISTORY = (services.DELIVERY,)
DELETIONS_KEY = dg.AssetKey(["raw", "services", "deletions"])


def _deletions_spec() -> dg.AssetSpec:
    # Built in a function: the defs-folder loader would load an AssetSpec at module scope as
    # an asset of its own, beside the one services_raw produces under the same key.
    return dg.AssetSpec(
        DELETIONS_KEY,
        group_name="services",
        kinds={"duckdb", "parquet"},
        description="Service records withdrawn by a revision file (tombstones in raw.deletions).",
        metadata={"raw_view": "raw.deletions"},
    )


DESCRIPTIONS = {
    "program": "Service programme catalogue; the newest snapshot file is the truth.",
    "station": "Union rest stations (工会驿站); the newest snapshot file is the truth.",
    "delivery": (
        "Service deliveries, every file once, GB18030 or UTF-8 per file; a revision file "
        "replaces its predecessor's rows; remarks never loaded."
    ),
    "station_visit": "Monthly station visit counts from the xlsx workbooks (Chinese headers).",
}


@dg.multi_asset(
    name="services_raw",
    specs=[*raw_specs(services.ENTITIES, DESCRIPTIONS, history=HISTORY), _deletions_spec()],
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def services_raw(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pii: PiiKeyResource,
    services_landing: ServicesLandingResource,
) -> Iterator[dg.MaterializeResult]:
    """Every landing file not loaded before, validated, committed as one load."""
    config = services.config_from(run_settings(pii, services_landing=services_landing))
    results = services.load(config, warehouse.store())
    yield from materializations(context, services.ENTITIES, results, history=HISTORY)
    yield dg.MaterializeResult(
        asset_key=DELETIONS_KEY,
        metadata={"rows_deleted": sum(r.rows_deleted for r in results)},
    )
