"""The columns and types of each entity's raw history before its source delivered anything.

``raw.<entity>`` and ``raw.<entity>_current`` exist from the first load on, because the
quality suites and dbt read every entity whatever its source sent (the contract lets a
service system start with its catalogue alone). Their columns are not listed anywhere: a
loader given no records still runs its transformation (validation, pseudonymisation,
derived and bookkeeping columns) and returns typed, empty rows, which the raw store hashes
and stamps like any other load. So the empty views cannot drift from what a real load
writes.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl

from ingestion import disputes, membership, services
from ingestion.contract import Entity
from ingestion.raw_store import hashed, stamped

# Nothing is validated against the date and nothing is pseudonymised with the key: there
# are no rows. Fixed values keep the result the same on every call.
_SCHEMA_DATE = dt.date(2000, 1, 1)
_SCHEMA_KEY = b"schema only"


def empty_rows(entity: Entity) -> pl.DataFrame:
    """What ``entity``'s loader hands the raw store for an input without records."""
    if entity.source == membership.SOURCE:
        return membership.empty_rows(entity, _SCHEMA_KEY, _SCHEMA_DATE)
    if entity.source == disputes.SOURCE:
        return disputes.empty_rows(entity, _SCHEMA_KEY, _SCHEMA_DATE)
    if entity.source == services.SOURCE:
        return services.empty_rows(entity, _SCHEMA_DATE)
    raise ValueError(f"no loader for source {entity.source!r}")


@cache  # the code it runs does not change while a process lives
def empty_history(entity: Entity) -> pl.DataFrame:
    """``raw.<entity>`` without rows: ``empty_rows`` as ``RawStore.commit`` stores rows."""
    loaded_at = dt.datetime.combine(_SCHEMA_DATE, dt.time())
    return stamped(hashed(empty_rows(entity)), "", loaded_at)
