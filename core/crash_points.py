"""Named places where the crash-recovery tests kill the run, as a power cut would.

``UNIONWH_CRASH_AT=<point>`` (or ``<point>@<n>``, the n-th pass, default the first) makes the
process send SIGKILL to its whole process group when it passes ``crash_point(<point>)``: the
Dagster run and any child it started (the dbt process) die at once, no ``finally`` runs,
nothing is flushed. The tests start each run in a new session so only the run dies.

Unset, which is always the case outside those tests, a pass costs one environment lookup.
The points are listed in ``POINTS`` so a test can prove each one is reached.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV_CRASH_AT = "UNIONWH_CRASH_AT"

POINTS = (
    # ingestion
    "membership.extracted",  # after an entity's rows are read and validated, before commit
    "disputes.api_page",  # after a page of the dispute API, the next not yet asked for
    "disputes.export_file",  # after an export file is read, the next not yet
    "services.file",  # after a delivery file is parsed, the next not yet
    "raw.files_written",  # a load's Parquet files are written, DuckDB not yet told
    "raw.recorded",  # inside the commit transaction: loads, watermark and files recorded
    "raw.committed",  # the load is committed, Dagster has not recorded the materialization
    # dbt
    "dbt.started",  # dbt is running, the step has logged only plain messages since its start
    "dbt.result",  # after dbt reported a node, while it builds the following ones
    # checks
    "quality.suite",  # after a great-expectations suite, before the next
    # publication
    "serving.staged",  # the new serving file is half written under its private name
    "serving.kept",  # the new file is kept as a version, not yet swapped in
    "serving.swapped",  # the new file is live, old versions not yet pruned
)

_passes: Counter[str] = Counter()


def crash_point(point: str) -> None:
    """Die here (SIGKILL to the process group) if ``UNIONWH_CRASH_AT`` names this pass."""
    wanted = os.environ.get(ENV_CRASH_AT)
    if not wanted:
        return
    name, _, nth = wanted.partition("@")
    if name != point:
        return
    _passes[point] += 1
    if _passes[point] == int(nth or 1):
        os.killpg(os.getpgrp(), signal.SIGKILL)
