"""Raw membership tables: one incremental extraction of all four, committed together."""

from collections.abc import Iterator

import dagster as dg

from ingestion import membership
from orchestration.lib.raw_assets import WAREHOUSE_POOL, materializations, raw_specs
from orchestration.lib.resources import (
    MembershipDatabaseResource,
    PiiKeyResource,
    WarehouseResource,
    run_settings,
)

# dbt reads every committed version of these: the SCD2 dimensions (unions, members) and the
# incremental KPI aggregate (the periods each version of a changed record was in).
HISTORY = (
    membership.UNION_ORG,
    membership.MEMBER,
    membership.MEMBERSHIP_EVENT,
    membership.HONOR,
)

DESCRIPTIONS = {
    "union_org": "Grassroots unions (基层工会), every committed version; hard deletes tracked.",
    "member": "Members (会员), pseudonymised: no name, ID number or phone; hard deletes tracked.",
    "membership_event": "Append-only membership history (入会、转入、退会…).",
    "honor": "Awards (劳动奖状、奖章、工人先锋号、大工匠、劳模).",
}


@dg.multi_asset(
    name="membership_raw",
    specs=raw_specs(membership.ENTITIES, DESCRIPTIONS, history=HISTORY),
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def membership_raw(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pii: PiiKeyResource,
    membership_db: MembershipDatabaseResource,
) -> Iterator[dg.MaterializeResult]:
    """Extract changed rows since the watermark (10-minute overlap), validate, pseudonymise,
    reconcile keys for hard deletes, and commit one load."""
    config = membership.config_from(run_settings(pii, membership_db=membership_db))
    results = membership.load(config, warehouse.store())
    yield from materializations(context, membership.ENTITIES, results, history=HISTORY)
