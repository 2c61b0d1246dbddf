"""The executor of every run: Dagster's in-process one, after two repairs of the instance.

1. Runs whose worker died (kill -9, OOM killer, power cut) must not hold the warehouse pool.

A run that dies without cleaning up stays STARTED in the instance and keeps its slot of the
``duckdb_warehouse`` pool, so every later run waits for that slot forever. The Dagster daemon's
run monitoring frees such slots only where a daemon runs; ``dagster asset materialize`` (the
README's ``make run``) has none. So every run first looks for runs of this instance whose
worker process is gone, marks them failed and frees their slots; then it executes in process.

Only for an instance whose run storage is local (SQLite, the project's default): a process id
means nothing on another machine, so with shared storage this is left to the daemon.

2. Two runs started at once on a new instance both found the pool without slots, both
allocated its one slot, and ran their warehouse steps side by side. The pool's slots are now
allocated before the run's first claim, one run at a time (a file lock in DAGSTER_HOME).
"""

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from core.processes import process_alive, process_started
from orchestration.lib.raw_assets import WAREHOUSE_POOL

logger = logging.getLogger(__name__)

# The class of Dagster's default run storage: SQLite files under DAGSTER_HOME.
LOCAL_RUN_STORAGE = "SqliteRunStorage"

UNFINISHED = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


# Every Dagster event carries the id of the process that wrote it; a plain log message
# (``context.log.info``, dagster-dbt's own notes) carries none, and a step may log many.
_EVENTS_WITH_PID = set(dg.DagsterEventType)


def _worker(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The process id that wrote the run's latest Dagster event, and when (epoch seconds)."""
    records = instance.get_records_for_run(
        run_id, of_type=_EVENTS_WITH_PID, limit=1, ascending=False
    ).records
    if not records:
        return None
    entry = records[0].event_log_entry
    if entry.dagster_event is None or entry.dagster_event.pid is None:
        return None
    return entry.dagster_event.pid, entry.timestamp


def worker_is_gone(pid: int, last_event: float) -> bool:
    """True when no process ``pid`` exists, or the one that does started after the run's last
    event (the id was reused). Unsure (no /proc) counts as alive."""
    if pid == os.getpid():
        return False
    if not process_alive(pid):
        return True
    started = process_started(pid)
    return started is not None and started > last_event + 1


def run_storage_is_local(instance: dg.DagsterInstance) -> bool:
    """True when the instance keeps its runs in SQLite files on this machine (the default)."""
    # Dagster's public API neither exports its run storage classes nor says where an instance
    # keeps its runs, so this recognizes its SQLite run storage (and any subclass) by class
    # name, importing nothing private. tests/test_executor.py fails with a clear message when
    # a Dagster upgrade renames it.
    return any(cls.__name__ == LOCAL_RUN_STORAGE for cls in type(instance.run_storage).__mro__)


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed, and free the pool slots of, every unfinished run whose worker is gone."""
    if not run_storage_is_local(instance):
        return []
    reaped = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        worker = _worker(instance, run.run_id)
        if worker is None or not worker_is_gone(*worker):
            continue
        pid, _ = worker
        message = (
            f"Run worker (pid {pid}) is gone: it died without finishing the run. Marked failed "
            f"and its concurrency slots freed by the next run (pid {os.getpid()})."
        )
        logger.warning("run %s: %s", run.run_id, message)
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


@contextmanager
def _instance_lock(instance: dg.DagsterInstance, name: str) -> Iterator[None]:
    root = instance.root_directory
    if root is None:  # not a local instance: its storage serialises, or the daemon does
        yield
        return
    with (Path(root) / name).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def settle_pools(instance: dg.DagsterInstance, pools: tuple[str, ...]) -> None:
    """Give each pool that still runs on the instance's default limit exactly that many
    slots, before any step claims one. A limit set by hand (``dagster instance concurrency
    set``) is left alone."""
    storage = instance.event_log_storage
    default = instance.global_op_concurrency_default_limit
    if default is None or not storage.supports_global_concurrency_limits:
        return
    with _instance_lock(instance, ".pools.lock"):
        known = storage.get_concurrency_keys()
        for pool in pools:
            info = storage.get_concurrency_info(pool)
            if (pool not in known or info.using_default_limit) and info.slot_count != default:
                storage.initialize_concurrency_limit_to_default(pool)


@dg.executor(
    name="in_process",
    config_schema=dg.in_process_executor.config_schema.as_field(),
    requirements=dg.in_process_executor.get_requirements,
)
def in_process_after_recovery(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's in-process executor, after freeing the slots of dead runs and allocating
    the warehouse pool's."""
    reap_dead_runs(init_context.instance)
    settle_pools(init_context.instance, (WAREHOUSE_POOL,))
    return dg.in_process_executor.executor_creation_fn(init_context)  # type: ignore[misc]
