"""How late an asset the nightly refresh updates may be before the UI says so.

Dagster shows an asset WARN once its last materialization is older than the warn window and
FAIL past the fail window (freshness policies, enabled in ``orchestration/dagster.yaml``). The
default fits the nightly schedule: a refresh that has not finished four hours after it was due
warns; a night missed altogether fails. A federation that refreshes less often sets
``UNIONWH_FRESHNESS_FAIL_HOURS`` (the warning comes four hours before).
"""

from datetime import timedelta

import dagster as dg

from orchestration.lib.env import env_number

ENV_FAIL_HOURS = "UNIONWH_FRESHNESS_FAIL_HOURS"
DEFAULT_FAIL_HOURS = 30.0
WARN_BEFORE = timedelta(hours=4)


def refresh_freshness() -> dg.FreshnessPolicy:
    hours = env_number(ENV_FAIL_HOURS, DEFAULT_FAIL_HOURS)
    if hours <= WARN_BEFORE.total_seconds() / 3600:
        raise ValueError(f"{ENV_FAIL_HOURS}={hours}: must be more than 4 hours")
    fail = timedelta(hours=hours)
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=fail - WARN_BEFORE)
