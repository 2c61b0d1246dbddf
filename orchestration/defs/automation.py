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
    }
}


def automation_seconds() -> int:
    return env_number(ENV_AUTOMATION_SECONDS, DEFAULT_AUTOMATION_SECONDS)


def refresh_cron() -> str:
    return env_text(ENV_REFRESH_CRON, DEFAULT_REFRESH_CRON)


def full_refresh_cron() -> str:
    return env_text(ENV_FULL_REFRESH_CRON, DEFAULT_FULL_REFRESH_CRON)


daily_refresh = dg.ScheduleDefinition(
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

weekly_full_refresh = dg.ScheduleDefinition(
    name="weekly_full_refresh",
    target=dg.AssetSelection.all(),
    cron_schedule=full_refresh_cron(),
    execution_timezone="Asia/Shanghai",
    run_config=FULL_REFRESH_CONFIG,
    description=(
        f"Load all three sources, rebuild every model from the whole raw history (dbt "
        f"--full-refresh) and write the serving file whole, on `{full_refresh_cron()}` Beijing "
        f"time ({ENV_FULL_REFRESH_CRON}; default Sundays at 04:00)."
    ),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

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
