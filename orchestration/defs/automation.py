"""What starts runs: schedules that run the whole pipeline (nightly from what changed, weekly
from scratch), and the sensor that refreshes what is built from a load that arrived between
them (the landing sensor, ``defs/services/sensors.py``, starts those loads)."""

import dagster as dg

from orchestration.lib.env import env_number, env_text

# When the nightly refresh runs, in Beijing time: the source systems' day ends at midnight
# there, and the federation's staff expect the night's load to be done before the working day.
# A federation whose sources close later sets its own time.
ENV_REFRESH_CRON = "UNIONWH_REFRESH_CRON"
DEFAULT_REFRESH_CRON = "0 2 * * *"
# Once a week every model is rebuilt from the whole raw history and the serving file written
# whole: what the nightly runs carried forward is recomputed, and its data tests see every row.
# Sunday 04:00, after the nightly refresh of that night.
ENV_FULL_REFRESH_CRON = "UNIONWH_FULL_REFRESH_CRON"
DEFAULT_FULL_REFRESH_CRON = "0 4 * * 0"
# How often the automation conditions are evaluated (orchestration/lib/automation.py). An
# evaluation of the ~600 assets and checks takes the daemon 4-18 s of a core (measured on the
# 2-core machine, 2026-12-06): at Dagster's default of 30 s it would take a fifth of a core
# all day. Loads arrive daily, so five minutes, as the landing sensor's, is late enough.
ENV_AUTOMATION_SECONDS = "UNIONWH_AUTOMATION_SECONDS"
DEFAULT_AUTOMATION_SECONDS = 300
FULL_REFRESH_CONFIG = {
    "ops": {
        "warehouse_dbt": {"config": {"full_refresh": True}},
        "serving__warehouse": {"config": {"whole": True}},
        **{
            check: {"config": {"whole": True}}
            for check in (
                "membership_raw_quality",
                "disputes_raw_quality",
                "services_raw_quality",
                "marts_quality",
            )
        },
    }
}


def automation_seconds() -> int:
    return env_number(ENV_AUTOMATION_SECONDS, DEFAULT_AUTOMATION_SECONDS)


def refresh_cron() -> str:
    return env_text(ENV_REFRESH_CRON, DEFAULT_REFRESH_CRON)


def full_refresh_cron() -> str:
    return env_text(ENV_FULL_REFRESH_CRON, DEFAULT_FULL_REFRESH_CRON)


# A run of a schedule not finished yet: its next tick launches nothing.
UNFINISHED_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def previous_run_unfinished(context: dg.ScheduleEvaluationContext, schedule: str) -> str | None:
    """The id of a run ``schedule`` launched that has not finished, if any.

    A run that outlasts its schedule's period (a weekly full refresh at ten times the scale, a
    tick run every minute in a test) would otherwise have a second whole pipeline queued
    behind it, which finds nothing new to do when its turn comes."""
    runs = context.instance.get_run_records(
        filters=dg.RunsFilter(
            tags={"dagster/schedule_name": schedule}, statuses=UNFINISHED_RUN_STATUSES
        ),
        limit=1,
    )
    return runs[0].dagster_run.run_id if runs else None


def whole_pipeline(
    context: dg.ScheduleEvaluationContext, schedule: str, run_config: dict | None = None
) -> dg.RunRequest | dg.SkipReason:
    """A run of every asset and check, naming each of them; none while the schedule's
    previous run is unfinished (``previous_run_unfinished``).

    A schedule's run of its whole target otherwise records no selection, and then Dagster's
    ``eager`` cannot tell that the run which updated an asset's dependencies updates the asset
    too: only "in progress" holds the asset back, and that is read when the automation sensor
    evaluates it, while updates are read up to the event the tick began at. An asset the run
    materialized in between (a tick takes seconds) was neither in progress nor updated, and the
    sensor requested it again after every scheduled run that ended during a tick. Named, the
    run's updates are ignored by every asset and check it also ran (``executed_with_root_target``).
    """
    if unfinished := previous_run_unfinished(context, schedule):
        return dg.SkipReason(f"{schedule}'s run {unfinished} has not finished")
    repository = context.repository_def
    assets = [a for a in repository.assets_defs_by_key.values() if a.is_materializable]
    checks = {key for asset in assets for key in asset.check_keys}
    checks |= set(repository.asset_checks_defs_by_key)
    return dg.RunRequest(
        run_config=run_config or {},
        asset_selection=sorted({key for asset in assets for key in asset.keys}),
        asset_check_keys=sorted(checks, key=lambda key: key.to_user_string()),
    )


@dg.schedule(
    name="daily_refresh",
    target=dg.AssetSelection.all(),
    cron_schedule=refresh_cron(),
    execution_timezone="Asia/Shanghai",
    description=(
        f"Load all three sources and rebuild the warehouse, on `{refresh_cron()}` Beijing time "
        f"({ENV_REFRESH_CRON}; default every night at 02:00)."
    ),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return whole_pipeline(context, "daily_refresh")


@dg.schedule(
    name="weekly_full_refresh",
    target=dg.AssetSelection.all(),
    cron_schedule=full_refresh_cron(),
    execution_timezone="Asia/Shanghai",
    description=(
        f"Load all three sources, rebuild every model from the whole raw history (dbt "
        f"--full-refresh) and write the serving file whole, on `{full_refresh_cron()}` Beijing "
        f"time ({ENV_FULL_REFRESH_CRON}; default Sundays at 04:00)."
    ),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def weekly_full_refresh(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    return whole_pipeline(context, "weekly_full_refresh", FULL_REFRESH_CONFIG)


refresh_on_arrival = dg.AutomationConditionSensorDefinition(
    name="refresh_on_arrival",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=automation_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Refreshes what is built from a load that arrived outside the nightly run (the landing "
        "sensor's, or one launched from the UI): the dbt models, tests and quality suites "
        "downstream of it and the serving file, in one run; evaluated every "
        f"{ENV_AUTOMATION_SECONDS} seconds (default {DEFAULT_AUTOMATION_SECONDS})."
    ),
)
