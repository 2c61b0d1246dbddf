"""warehouse.duckdb.example (``make example``) keeps the marts' schema: when a model changes,
this fails until the file is rebuilt."""

from __future__ import annotations

from pathlib import Path

import duckdb

EXAMPLE = Path(__file__).resolve().parents[1] / "warehouse.duckdb.example"

SCHEMA = """
    select table_name, column_name, data_type
    from information_schema.columns
    where table_schema = 'marts'
    order by table_name, ordinal_position
"""


def test_example_matches_the_marts_schema(pipeline_run: dict) -> None:
    with duckdb.connect(str(pipeline_run["out"] / "serving.duckdb"), read_only=True) as con:
        expected = con.execute(SCHEMA).fetchall()
    with duckdb.connect(str(EXAMPLE), read_only=True) as con:
        found = con.execute(SCHEMA).fetchall()
        kpis = con.execute(
            "select count(distinct kpi_code), count(distinct district_code) from marts.kpi_values"
        ).fetchall()[0]
        schemas = {s for (s,) in con.execute("select schema_name from duckdb_tables()").fetchall()}
    assert found == expected, "rebuild it: make example"
    assert kpis == (19, 17)
    assert schemas == {"marts", "meta"}


def test_example_is_small() -> None:
    assert EXAMPLE.stat().st_size < 8 * 2**20
