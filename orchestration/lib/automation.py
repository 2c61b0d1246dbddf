"""When an asset refreshes on its own: as soon as what it is built from has arrived.

The raw assets are loaded by the nightly schedule, the weekly full refresh and the landing
sensor (services' files). Everything built from them (the dbt models, their tests, the
quality suites on the marts, the serving file, its docs and dashboard) carries
``on_arrival()``: when a load lands outside the nightly run, the assets downstream of what it
loaded are requested, and only those. The ``refresh_on_arrival`` sensor
(``orchestration/defs/automation.py``) evaluates the conditions.

Dagster's ``eager`` is that rule: requested when a dependency was updated (or will be in the
same run), none is missing and none is still to be materialized by a run in progress (a
dependency the run already materialized counts as arrived, even while that run goes on to its
checks). An asset updated in the same run as its dependencies (the nightly run) is not
requested again, and the warehouse pool keeps one writer whoever launched the run.
"""

import dagster as dg


def on_arrival() -> dg.AutomationCondition:
    return dg.AutomationCondition.eager()
