"""Schedules that run the whole pipeline."""

import dagster as dg

# Beijing time: the source systems' day ends at midnight there, and the federation's staff
# expect the night's load to be done before the working day.
daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    target=dg.AssetSelection.all(),
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai",
    description="Every night at 02:00 Beijing time: load all three sources, rebuild the warehouse.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(schedules=[daily_refresh])
