"""Publication: the marts copied to the serving file once they and their checks are done."""

from pathlib import Path

import dagster as dg

from orchestration.defs.dbt.assets import warehouse_dbt
from orchestration.lib.automation import on_arrival
from orchestration.lib.freshness import refresh_freshness
from orchestration.lib.raw_assets import WAREHOUSE_POOL
from orchestration.lib.resources import ServingResource, WarehouseResource
from serving.dashboard import write_dashboard
from serving.publish import PublicationBlocked, publish

MART_KEYS = sorted(
    (key for key in warehouse_dbt.keys if key.path[0] == "marts"), key=lambda k: k.path
)


class PublicationConfig(dg.Config):
    """``whole``: write every table of the serving file, not only those that changed."""

    whole: bool = False


@dg.asset(
    key=["serving", "warehouse"],
    deps=MART_KEYS,
    group_name="serving",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    freshness_policy=refresh_freshness(),
    automation_condition=on_arrival(),
    description=(
        "The marts and the latest check findings (marts.data_quality) published to "
        "UNIONWH_SERVING_PATH for analysts and BI, swapped in atomically. Blocked while the "
        "latest run of any ERROR check failed: the previous file stays."
    ),
)
def serving_warehouse(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    serving: ServingResource,
    config: PublicationConfig,
) -> dg.MaterializeResult:
    try:
        done = publish(Path(warehouse.path), Path(serving.path), whole=config.whole)
    except PublicationBlocked as blocked:
        raise dg.Failure(
            description=str(blocked),
            metadata={"blocking_checks": blocked.failures},
        ) from None
    context.log.info(
        f"published {len(done.tables)} tables to {done.path}: {len(done.rewritten)} written "
        f"anew, {len(done.patched)} patched, {len(done.keyed)} caught up by the keys dbt changed"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(done.path)),
            "version": done.version,
            "published_at": done.published_at.isoformat(),
            "tables": len(done.tables),
            "rewritten": list(done.rewritten),
            "patched": done.patched,
            "keyed": done.keyed,
            "rows": done.tables,
        }
    )


@dg.asset(
    key=["serving", "dashboard"],
    deps=[serving_warehouse],
    group_name="serving",
    kinds={"html"},
    freshness_policy=refresh_freshness(),
    automation_condition=on_arrival(),
    description=(
        "The work-report dashboard (dashboard.html beside the serving file): the year's KPIs "
        "as the report lists them, monthly city series and figures by district, as charts."
    ),
)
def serving_dashboard(
    context: dg.AssetExecutionContext, serving: ServingResource
) -> dg.MaterializeResult:
    path = Path(serving.path)
    out = write_dashboard(path, path.with_name("dashboard.html"))
    context.log.info(f"dashboard written to {out}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(out.resolve()))})
