"""The raw layer's recovery half: load manifests, the restore of a lost or broken warehouse
file from them, and the removal of files a load that never committed left behind.

Every committed load has a manifest, ``<source>/_loads/<load_id>.parquet`` and
``<load_id>.files.parquet`` under the raw directory: its rows of ``meta.loads`` and
``meta.files``, written inside the commit's transaction (``write_manifest``), so
``restore_from_raw`` rebuilds ``meta`` and every view from the raw directory alone
(``python -m ingestion rebuild --from raw``). ``RawStore`` calls these at its commit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import duckdb

from core.warehouse import connect
from ingestion.sql_literals import sql_list, sql_string

if TYPE_CHECKING:
    from ingestion.raw_store import RawStore

logger = logging.getLogger(__name__)


def manifest_files(source: str, load_id: str) -> tuple[str, str]:
    """The load's two manifest files, relative to the raw directory."""
    return f"{source}/_loads/{load_id}.parquet", f"{source}/_loads/{load_id}.files.parquet"


def write_manifest(
    store: RawStore, con: duckdb.DuckDBPyConnection, source: str, load_id: str
) -> None:
    """The load's rows of ``meta.loads`` and ``meta.files``, as the open transaction
    sees them, each written under a temporary name and renamed when complete."""
    for relative, table in zip(manifest_files(source, load_id), ("loads", "files"), strict=True):
        path = store.raw_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        con.execute(
            f"copy (select * from meta.{table} where load_id = ? order by all) "
            f"to {sql_string(str(tmp))} (format parquet)",
            [load_id],
        )
        tmp.replace(path)


def backfill_manifests(store: RawStore, con: duckdb.DuckDBPyConnection) -> None:
    """Manifests for committed loads written before manifests existed."""
    for load_id, source in con.execute(
        "select distinct load_id, source from meta.loads order by all"
    ).fetchall():
        if not (store.raw_dir / manifest_files(source, load_id)[0]).exists():
            write_manifest(store, con, source, load_id)


def restore_from_raw(store: RawStore) -> dict[str, int]:
    """Rebuild a new warehouse file's ``meta.loads``, ``meta.files`` and raw and
    quarantine views from the raw directory's manifests; returns loads per source.

    A manifest whose transaction never committed (a crash in between, the source not
    loaded since) is restored too: its files were complete before it was written."""
    if store.warehouse_path.exists():
        raise FileExistsError(
            f"{store.warehouse_path} exists: move it aside before restoring from raw"
        )
    manifests = sorted(store.raw_dir.glob("*/_loads/*.parquet"))
    loads = [str(p) for p in manifests if not p.name.endswith(".files.parquet")]
    files = [str(p) for p in manifests if p.name.endswith(".files.parquet")]
    if not loads:
        raise FileNotFoundError(f"no load manifests under {store.raw_dir}/<source>/_loads/")
    store.ensure()
    with connect(store.warehouse_path) as con:
        con.begin()
        con.execute(f"insert into meta.loads by name select * from read_parquet({sql_list(loads)})")
        con.execute(f"insert into meta.files by name select * from read_parquet({sql_list(files)})")
        missing = [
            f
            for (f,) in con.execute(
                "select unnest([data_file, quarantine_file, deletions_file]) as f from meta.loads"
            ).fetchall()
            if f and not (store.raw_dir / f).exists()
        ]
        if missing:
            con.rollback()
            raise FileNotFoundError(
                f"{len(missing)} file(s) the manifests name are missing, e.g. {missing[0]}"
            )
        store.rebuild_views(con)
        counts = dict(
            con.execute(
                "select source, count(distinct load_id) from meta.loads group by all"
            ).fetchall()
        )
        con.commit()
    return counts


def remove_orphans(store: RawStore, source: str) -> None:
    """Delete Parquet files of ``source`` that no committed load references."""
    folder = store.raw_dir / source
    if not folder.exists():
        return
    loads = store.query(
        "select load_id, unnest([data_file, quarantine_file, deletions_file]) as f "
        "from meta.loads where source = ?",
        [source],
    )
    committed = set(loads["f"].drop_nulls().to_list())
    for load_id in loads["load_id"].unique().to_list():
        committed.update(manifest_files(source, load_id))
    for path in folder.rglob("*.parquet*"):
        if path.relative_to(store.raw_dir).as_posix() not in committed:
            logger.warning("removing %s: written by a load that never committed", path)
            path.unlink()
