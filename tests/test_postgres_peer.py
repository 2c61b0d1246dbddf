"""The PostgreSQL peer of the warehouse (bench/peer.py): the demo pipeline's raw layer copied
into a fresh PostgreSQL database, the dbt project built there (`dbt build --target postgres`:
every model, data test and unit test passes), and the marts equal to DuckDB's: the same
kpi_values row for row, the same columns and row count in every mart, the same rows."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from conftest import POSTGRES_HOST, POSTGRES_PORT

from bench.peer import column_plan, dbt_build, drop_database, load_raw, source_relations

pytestmark = [pytest.mark.postgres, pytest.mark.long]

# Derived from the build date (age as of current_date): equal unless the two builds straddle
# midnight, so left out of the row-by-row comparison.
BUILD_DATE_COLUMNS = {("dim_member", "age_band")}


@pytest.fixture(scope="module")
def peer(pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The pipeline's warehouse, its raw layer loaded into a new PostgreSQL database and the
    dbt project built there; the database is dropped afterwards."""
    warehouse = pipeline_run["out"] / "warehouse.duckdb"
    database = f"unionwh_peer_test_{uuid.uuid4().hex[:8]}"
    target = tmp_path_factory.mktemp("peer") / "target"
    try:
        counts = load_raw(warehouse, database, host=POSTGRES_HOST, port=POSTGRES_PORT)
        env = {"UNIONWH_PG_HOST": POSTGRES_HOST, "UNIONWH_PG_PORT": str(POSTGRES_PORT)}
        dbt_build(database, target, env)
        with psycopg.connect(
            host=POSTGRES_HOST, port=POSTGRES_PORT, user="postgres", dbname=database
        ) as pg:
            yield {"warehouse": warehouse, "counts": counts, "target": target, "pg": pg}
    finally:
        drop_database(database, host=POSTGRES_HOST, port=POSTGRES_PORT)


def _duck(warehouse: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse), read_only=True)


def _sorted_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    # None first in every column; values compare as they are (Decimal with Decimal exactly,
    # float with float, a DuckDB HUGEINT int with a PostgreSQL numeric Decimal by value).
    return sorted(rows, key=lambda row: tuple((v is not None, v) for v in row))


def _columns(cursor: Any, schema: str, table: str, placeholder: str) -> list[str]:
    query = (
        "select column_name from information_schema.columns "
        f"where table_schema = {placeholder} and table_name = {placeholder} "
        "order by ordinal_position"
    )
    return [row[0] for row in cursor.execute(query, [schema, table]).fetchall()]


# bench.peer's type names as PostgreSQL's format_type() spells them.
PG_TYPE_NAMES = {
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "time": "time without time zone",
}


def _pg_type_name(planned: str) -> str:
    return PG_TYPE_NAMES.get(planned, planned).replace(", ", ",")


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def test_raw_layer_copied_with_its_types_and_values(peer: dict) -> None:
    pg = peer["pg"]
    relations = set(source_relations())
    # The histories are copied; the current views are re-created over them on PostgreSQL.
    assert set(peer["counts"]) == {r.removesuffix("_current") for r in relations}
    with _duck(peer["warehouse"]) as con:
        for relation in sorted(relations | set(peer["counts"])):
            described = con.execute(f'describe select * from raw."{relation}"').fetchall()
            planned = [(str(row[0]), column_plan(str(row[1]), str(row[0]))[0]) for row in described]
            pg_types = pg.execute(
                "select attname, format_type(atttypid, atttypmod) from pg_attribute "
                "where attrelid = %s::regclass and attnum > 0 and not attisdropped "
                "order by attnum",
                [f'raw."{relation}"'],
            ).fetchall()
            assert pg_types == [(name, _pg_type_name(kind)) for name, kind in planned], relation

            # Every value: scalars and arrays exactly; structs and lists of them as their JSON.
            nested = [kind == "jsonb" for _, kind in planned]
            select = ", ".join(
                f'cast(to_json("{name}") as varchar)' if is_json else f'"{name}"'
                for (name, _), is_json in zip(planned, nested, strict=True)
            )
            duck_rows = Counter(
                _hashable([
                    json.loads(v) if is_json and v is not None else v
                    for v, is_json in zip(row, nested, strict=True)
                ])
                for row in con.execute(f'select {select} from raw."{relation}"').fetchall()
            )  # fmt: skip
            pg_rows = Counter(
                _hashable(row) for row in pg.execute(f'select * from raw."{relation}"').fetchall()
            )
            if relation in peer["counts"]:
                assert sum(duck_rows.values()) == peer["counts"][relation], relation
            assert pg_rows == duck_rows, relation


def test_dbt_build_ran_every_model_data_test_and_unit_test(peer: dict) -> None:
    results = json.loads((peer["target"] / "run_results.json").read_text(encoding="utf-8"))
    statuses = Counter(r["status"] for r in results["results"])
    assert set(statuses) <= {"success", "pass"}, statuses
    kinds = Counter(r["unique_id"].split(".")[0] for r in results["results"])
    assert kinds["model"] >= 50 and kinds["seed"] == 6, kinds
    # Every data and unit test the build parsed ran: none left out or skipped.
    manifest = json.loads((peer["target"] / "manifest.json").read_text(encoding="utf-8"))
    data_tests = sum(1 for node in manifest["nodes"].values() if node["resource_type"] == "test")
    assert (kinds["test"], kinds["unit_test"]) == (data_tests, len(manifest["unit_tests"])), kinds


def test_kpi_values_equal_duckdb_row_for_row(peer: dict) -> None:
    query = (
        "select kpi_code, period_grain, period_start, district_code, value from marts.kpi_values"
    )
    with _duck(peer["warehouse"]) as con:
        duck = _sorted_rows(con.execute(query).fetchall())
    pg = _sorted_rows(peer["pg"].execute(query).fetchall())
    assert len(duck) > 100_000
    assert pg == duck
    # value is double precision on both: exact float equality, no tolerance.
    assert {type(row[4]) for row in pg if row[4] is not None} == {float}


def test_every_mart_has_duckdbs_columns_rows_and_row_count(peer: dict) -> None:
    pg = peer["pg"]
    mart_query = (
        "select table_name from information_schema.tables "
        "where table_schema = 'marts' order by table_name"
    )
    with _duck(peer["warehouse"]) as con:
        marts = [row[0] for row in con.execute(mart_query).fetchall()]
        assert [row[0] for row in pg.execute(mart_query).fetchall()] == marts
        assert len(marts) >= 25
        for table in marts:
            columns = _columns(con, "marts", table, "?")
            assert _columns(pg, "marts", table, "%s") == columns, table
            duck_count = con.execute(f"select count(*) from marts.{table}").fetchall()[0][0]
            pg_count = pg.execute(f"select count(*) from marts.{table}").fetchall()[0][0]
            assert pg_count == duck_count, table
            compared = ", ".join(c for c in columns if (table, c) not in BUILD_DATE_COLUMNS)
            duck_rows = Counter(con.execute(f"select {compared} from marts.{table}").fetchall())
            pg_rows = Counter(pg.execute(f"select {compared} from marts.{table}").fetchall())
            assert pg_rows == duck_rows, (
                table,
                list((duck_rows - pg_rows).items())[:3],
                list((pg_rows - duck_rows).items())[:3],
            )
