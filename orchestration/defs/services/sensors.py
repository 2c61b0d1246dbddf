"""A sensor on the landing directory: a run when files the warehouse lacks appear."""

import hashlib
from collections import Counter

import dagster as dg
import duckdb

from ingestion.services import unloaded_files
from orchestration.defs.services.assets import services_raw
from orchestration.lib.env import env_number
from orchestration.lib.executor import UNFINISHED, reap_dead_runs
from orchestration.lib.resources import ServicesLandingResource, WarehouseResource

# How often the landing directory is listed. Files land once a day per district; five
# minutes keeps a listing of tens of thousands of files (on an object store) cheap.
ENV_LANDING_POLL_SECONDS = "UNIONWH_LANDING_POLL_SECONDS"
DEFAULT_LANDING_POLL_SECONDS = 300
# The sensor reads meta.files between runs only; a writer still holding the file means a run
# is finishing, and the next evaluation looks again.
LOCK_WAIT_SECONDS = 5.0
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, *UNFINISHED]


def poll_seconds() -> int:
    return env_number(ENV_LANDING_POLL_SECONDS, DEFAULT_LANDING_POLL_SECONDS)


@dg.sensor(
    name="services_landing_sensor",
    target=[services_raw],
    minimum_interval_seconds=poll_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Loads the service landing directory when it holds files that the warehouse has not "
        f"loaded (meta.files); looks every {ENV_LANDING_POLL_SECONDS} seconds (default "
        f"{DEFAULT_LANDING_POLL_SECONDS})."
    ),
)
def services_landing_sensor(
    context: dg.SensorEvaluationContext,
    services_landing: ServicesLandingResource,
    warehouse: WarehouseResource,
) -> dg.SensorResult | dg.SkipReason:
    # A run that died would otherwise look in progress forever and silence the sensor.
    reap_dead_runs(context.instance)
    if context.instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS), limit=1):
        # Reading the warehouse now could hold its lock when that run's dbt opens it.
        return dg.SkipReason("a run is in progress; the landing directory is looked at after it")
    try:
        new = unloaded_files(services_landing.landing_dir, warehouse.store(), LOCK_WAIT_SECONDS)
    except duckdb.IOException as exc:
        return dg.SkipReason(f"the warehouse is busy ({exc}); looking again next time")
    if not new:
        return dg.SkipReason("every landing file is loaded")
    listing = sorted((f.entity, f.path, f.size) for f in new)
    # One run per set of new files: a failed load is not retried on every evaluation (the
    # nightly refresh retries it), but a further file makes a new set and a new run.
    run_key = hashlib.sha256(repr(listing).encode()).hexdigest()
    by_entity = Counter(entity for entity, _, _ in listing)
    context.log.info(f"{len(new)} landing files not loaded yet: {dict(by_entity)}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key, tags={"landing_files": str(len(new))})]
    )
