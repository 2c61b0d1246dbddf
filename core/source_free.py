"""The dbt nodes no source feeds: the seeds, what is built from them alone (the code
dimensions, ``kpi_definitions``) and their tests. Their tables change only when the project
does, yet a nightly ``dbt build`` rebuilt and re-tested them every day (105 of its 574 nodes).

A build records, in the warehouse, a digest of how the project defines these nodes once every
one of them has been built and has passed. A later nightly build leaves them out
(``nightly_args``) while three things hold: the digest still matches, nothing has forgotten it
since, and each of their tables is still there. Any build that may rebuild one of them forgets
the digest first (``forget``), so a build that stops half-way (a seed dropped, half loaded)
leaves none behind and the next night rebuilds them all. The digest covers each node's file
checksum, configuration, compiled-from text, test arguments and parents, every macro it calls
(recursively) and dbt's version: what dbt's own ``state:modified`` compares, kept with the
warehouse instead of in a manifest file beside it.

Imports no dbt: it reads the manifest and run results dbt wrote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb

RECORD = "meta.source_free_build"
# What makes two definitions of a node build the same table and run the same test; not where
# the project sits on disk (root_path) nor when it was parsed (created_at).
_DEFINING_FIELDS = (
    "checksum",
    "config",
    "raw_code",
    "test_metadata",
    "column_name",
    "depends_on",
    "relation_name",
)
_PASSED = {"success", "pass", "warn"}


def source_free_nodes(manifest: Mapping[str, Any]) -> set[str]:
    """Unique ids of the seeds, models and tests that have no source among their ancestors."""
    nodes = manifest["nodes"]
    fed: dict[str, bool] = {}

    def fed_by_source(uid: str) -> bool:
        if uid.startswith("source."):
            return True
        if uid not in fed:
            fed[uid] = False  # a cycle cannot occur in dbt's graph; this ends the recursion
            parents = nodes.get(uid, {}).get("depends_on", {}).get("nodes", [])
            fed[uid] = any(fed_by_source(parent) for parent in parents)
        return fed[uid]

    kinds = {"seed", "model", "test"}
    return {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] in kinds and not fed_by_source(uid)
    }


def built_nodes(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The source-free seeds and models (what has a table), by unique id."""
    nodes = manifest["nodes"]
    return [
        nodes[uid]
        for uid in sorted(source_free_nodes(manifest))
        if nodes[uid]["resource_type"] != "test"
    ]


def _macros(manifest: Mapping[str, Any], roots: Iterable[str]) -> dict[str, str]:
    macros = manifest["macros"]
    seen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        uid = todo.pop()
        if uid in seen or uid not in macros:
            continue
        seen[uid] = macros[uid]["macro_sql"]
        todo += macros[uid].get("depends_on", {}).get("macros", [])
    return seen


def definition_digest(manifest: Mapping[str, Any]) -> str:
    """A digest of the project's definition of every source-free node."""
    nodes = manifest["nodes"]
    members = sorted(source_free_nodes(manifest))
    definitions = {
        uid: {field: nodes[uid].get(field) for field in _DEFINING_FIELDS} for uid in members
    }
    called = [m for uid in members for m in nodes[uid].get("depends_on", {}).get("macros", [])]
    body = {
        "dbt": manifest["metadata"].get("dbt_version"),
        "adapter": manifest["metadata"].get("adapter_type"),
        "nodes": definitions,
        "macros": _macros(manifest, called),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _record(con: duckdb.DuckDBPyConnection) -> tuple[str, object] | None:
    """The recorded digest and when it was recorded, if there is a record."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'meta' and table_name = 'source_free_build'"
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = con.execute(f"select digest, recorded_at from {RECORD}").fetchone()
    return (row[0], row[1]) if row else None


def recorded_at(con: duckdb.DuckDBPyConnection) -> object:
    """When the record was written (None without one)."""
    record = _record(con)
    return record[1] if record else None


def _missing_tables(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]) -> list[str]:
    present = {
        (schema, name)
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    }
    return [
        f"{node['schema']}.{node['alias']}"
        for node in built_nodes(manifest)
        if (node["schema"], node["alias"]) not in present
    ]


def is_current(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]) -> bool:
    """Whether the warehouse holds the source-free tables the project would build now, all
    tested: the recorded digest is the project's and none of the tables is missing."""
    record = _record(con)
    current = record is not None and record[0] == definition_digest(manifest)
    return current and not _missing_tables(con, manifest)


def exclusion_args(manifest: Mapping[str, Any]) -> list[str]:
    """dbt arguments that leave the source-free seeds and models out of a build, with their
    own tests. Indirect selection ``cautious`` drops a test only when every node it reads is
    left out: a relationships test from a fact to a code dimension still runs."""
    names = " ".join(node["name"] for node in built_nodes(manifest))
    return ["--exclude", names, "--indirect-selection", "cautious"]


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the record: the next nightly build rebuilds and re-tests every source-free node."""
    con.execute(f"drop table if exists {RECORD}")


def nightly_args(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]) -> list[str]:
    """For a build of the whole project: the arguments that leave the source-free nodes out
    when the warehouse already holds them as the project defines them; otherwise none, with
    the record forgotten (the build is about to rebuild them)."""
    if is_current(con, manifest):
        return exclusion_args(manifest)
    forget(con)
    return []


def record(
    con: duckdb.DuckDBPyConnection,
    manifest: Mapping[str, Any],
    results: Iterable[Mapping[str, Any]],
) -> bool:
    """After a build: record the digest if every source-free node was in it and passed
    (``run_results.json``'s results); True when recorded."""
    status = {r["unique_id"]: r["status"] for r in results}
    if any(status.get(uid) not in _PASSED for uid in source_free_nodes(manifest)):
        return False
    con.execute("create schema if not exists meta")
    con.execute(
        f"create or replace table {RECORD} as "
        "select ?::varchar as digest, current_timestamp as recorded_at",
        [definition_digest(manifest)],
    )
    return True
