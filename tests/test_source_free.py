"""The source-free dbt nodes (core/source_free.py): which they are, what changes their
digest, and when a nightly build leaves them out. The pipeline's two builds over one
warehouse are in test_shapes.py; here the project's manifest and a DuckDB of their tables."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from pipeline import dbt_manifest
from test_shapes import SOURCE_FREE_TABLES

from core import source_free
from orchestration.defs.dbt.project import ensure_manifest

UNIQUE_DISTRICT_KEY = "test.union_warehouse.unique_dim_district_district_key.ff454ea3b5"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    ensure_manifest()  # parsed when a code location loads; this module may run first
    return dbt_manifest()


@pytest.fixture
def warehouse(manifest: dict[str, Any]) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory warehouse holding an empty table for every source-free seed and model."""
    con = duckdb.connect()
    for node in source_free.built_nodes(manifest):
        con.execute(f"create schema if not exists {node['schema']}")
        con.execute(f"create table {node['schema']}.{node['alias']} (x integer)")
    yield con
    con.close()


def passed(manifest: dict[str, Any], *, failing: str | None = None) -> list[dict[str, str]]:
    """run_results entries of a build of every node, all passed but ``failing``."""
    return [
        {"unique_id": uid, "status": "fail" if uid == failing else "pass"}
        for uid in manifest["nodes"]
    ]


def test_the_source_free_nodes_are_the_seeds_the_code_dimensions_and_their_tests(
    manifest: dict[str, Any],
) -> None:
    free = source_free.source_free_nodes(manifest)
    tables = {node["name"] for node in source_free.built_nodes(manifest)}
    assert tables == SOURCE_FREE_TABLES
    tests = {uid for uid in free if uid.startswith("test.")}
    # Every test of the project whose every parent is one of those tables, and no other.
    want = {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
        and all(
            manifest["nodes"][p]["name"] in tables
            for p in node["depends_on"]["nodes"]
            if not p.startswith("source.")
        )
        and not any(p.startswith("source.") for p in node["depends_on"]["nodes"])
    }
    assert tests == want and UNIQUE_DISTRICT_KEY in tests
    assert not any(uid.startswith("operation.") for uid in free)
    assert "model.union_warehouse.dim_union" not in free


def test_the_digest_follows_the_definitions_of_the_source_free_nodes_only(
    manifest: dict[str, Any],
) -> None:
    digest = source_free.definition_digest(manifest)
    assert source_free.definition_digest(copy.deepcopy(manifest)) == digest

    changed_seed = copy.deepcopy(manifest)
    changed_seed["nodes"]["seed.union_warehouse.districts"]["checksum"]["checksum"] = "0" * 64
    changed_test = copy.deepcopy(manifest)
    changed_test["nodes"][UNIQUE_DISTRICT_KEY]["config"]["severity"] = "WARN"
    changed_macro = copy.deepcopy(manifest)
    changed_macro["macros"]["macro.union_warehouse.test_unique"]["macro_sql"] += "\n"
    upgraded = copy.deepcopy(manifest)
    upgraded["metadata"]["dbt_version"] = "9.9.9"
    for other in (changed_seed, changed_test, changed_macro, upgraded):
        assert source_free.definition_digest(other) != digest

    moved = copy.deepcopy(manifest)
    for node in moved["nodes"].values():
        node["root_path"] = "/elsewhere"
        node["created_at"] = 0.0
    fact = copy.deepcopy(manifest)
    fact["nodes"]["model.union_warehouse.fct_service_deliveries"]["checksum"]["checksum"] = "0"
    for same in (moved, fact):
        assert source_free.definition_digest(same) == digest


def test_a_nightly_build_leaves_them_out_only_once_they_were_built_and_passed(
    manifest: dict[str, Any], warehouse: duckdb.DuckDBPyConnection
) -> None:
    # Nothing recorded yet (a first build): build them all.
    assert source_free.nightly_args(warehouse, manifest) == []
    failed = passed(manifest, failing=UNIQUE_DISTRICT_KEY)
    assert not source_free.record(warehouse, manifest, failed)
    assert source_free.nightly_args(warehouse, manifest) == []
    built_only = [r for r in passed(manifest) if not r["unique_id"].startswith("test.")]
    assert not source_free.record(warehouse, manifest, built_only)

    assert source_free.record(warehouse, manifest, passed(manifest))
    args = source_free.nightly_args(warehouse, manifest)
    assert args[0] == "--exclude" and set(args[1].split()) == SOURCE_FREE_TABLES
    assert args[2:] == ["--indirect-selection", "cautious"]
    assert source_free.nightly_args(warehouse, manifest) == args


def test_a_changed_definition_or_a_missing_table_rebuilds_them_and_forgets_the_record(
    manifest: dict[str, Any], warehouse: duckdb.DuckDBPyConnection
) -> None:
    assert source_free.record(warehouse, manifest, passed(manifest))
    changed = copy.deepcopy(manifest)
    changed["nodes"]["seed.union_warehouse.districts"]["checksum"]["checksum"] = "0" * 64
    assert source_free.nightly_args(warehouse, changed) == []
    # Forgotten: even the project it was recorded for builds them again.
    assert source_free.nightly_args(warehouse, manifest) == []

    assert source_free.record(warehouse, manifest, passed(manifest))
    warehouse.execute("drop table reference.districts")
    assert source_free.nightly_args(warehouse, manifest) == []
    warehouse.execute("create table reference.districts (x integer)")
    assert source_free.nightly_args(warehouse, manifest) == []


def test_forget_leaves_nothing_to_find(
    manifest: dict[str, Any], warehouse: duckdb.DuckDBPyConnection
) -> None:
    assert source_free.recorded_at(warehouse) is None
    assert source_free.record(warehouse, manifest, passed(manifest))
    assert source_free.is_current(warehouse, manifest)
    assert source_free.recorded_at(warehouse) is not None
    source_free.forget(warehouse)
    source_free.forget(warehouse)
    assert not source_free.is_current(warehouse, manifest)
    assert source_free.recorded_at(warehouse) is None
