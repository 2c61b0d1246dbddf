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


def test_example_holds_none_of_its_sources_personal_data(tmp_path: Path) -> None:
    """The example is built from the simulator's seed 7 at scale 0.002 (``make example``):
    regenerate those sources and query every text column of the file for their PII."""
    from pii_scan import planted_pii, scan_duckdb

    from simulator.generate import generate

    generate(tmp_path, 0.002, 7, quiet=True)
    pii = planted_pii(tmp_path)
    assert len(pii.numbers) > 5_000 and len(pii.names) > 500
    assert scan_duckdb(EXAMPLE, pii) == {}
