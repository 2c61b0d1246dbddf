"""Quality area: great-expectations suites and quarantine summaries as asset checks."""

import dagster as dg

from orchestration.defs.quality.checks import marts_quality, raw_quality

defs = dg.Definitions(asset_checks=[*raw_quality, marts_quality])
