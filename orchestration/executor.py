"""Runs whose worker died (kill -9, OOM killer, power cut) must not hold the warehouse pool.

A run that dies without cleaning up stays STARTED in the instance and keeps its slot of the
``duckdb_warehouse`` pool, so every later run waits for that slot forever. The Dagster daemon's
run monitoring frees such slots only where a daemon runs; ``dagster asset materialize`` (the
README's ``make run``) has none. So every run first looks for runs of this instance whose
worker process is gone, marks them failed and frees their slots; then it executes in process.

Only for an instance whose run storage is local (SQLite, the project's default): a process id
means nothing on another machine, so with shared storage this is left to the daemon.
"""

import logging
import os

import dagster as dg
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from ingestion.processes import process_alive, process_started

logger = logging.getLogger(__name__)

UNFINISHED = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _worker(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The process id that wrote the run's latest event, and when (epoch seconds)."""
    records = instance.get_records_for_run(run_id, limit=1, ascending=False).records
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


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed, and free the pool slots of, every unfinished run whose worker is gone."""
    if not isinstance(instance.run_storage, SqliteRunStorage):
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


@dg.executor(
    name="in_process",
    config_schema=dg.in_process_executor.config_schema.as_field(),
    requirements=dg.in_process_executor.get_requirements,
)
def in_process_after_recovery(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's in-process executor, after freeing the slots of dead runs."""
    reap_dead_runs(init_context.instance)
    return dg.in_process_executor.executor_creation_fn(init_context)  # type: ignore[misc]
