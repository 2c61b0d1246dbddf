"""Publication keeps versions and rolls back atomically, a failed publication leaves the old
file, and a district file holds no other district's rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from warehouse_fingerprint import fingerprint

from serving.districts import district_codes, district_file, publish_districts
from serving.publish import current_version, list_versions, publish, rollback

NEW_MEMBERS_2024 = (
    "kpi_code = 'new_members' and period_grain = 'year' "
    "and period_start = '2024-01-01' and district_code = 'ALL'"
)


def served(serving: Path) -> tuple[str, float]:
    with duckdb.connect(str(serving), read_only=True) as con:
        (version,) = con.execute("select version from meta.publication").fetchall()[0]
        (value,) = con.execute(
            f"select value from marts.kpi_values where {NEW_MEMBERS_2024}"
        ).fetchall()[0]
    return version, value


def bump(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"update marts.kpi_values set value = value + 1 where {NEW_MEMBERS_2024}")


def test_versions_rollback_and_pruning(quality_copy: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    first = publish(quality_copy, serving)
    bump(quality_copy)
    second = publish(quality_copy, serving)
    assert list_versions(serving) == [second.version, first.version]
    assert current_version(serving) == second.version
    served_version, new_value = served(serving)
    assert served_version == second.version

    assert rollback(serving) == first.version
    assert served(serving) == (first.version, new_value - 1)
    assert current_version(serving) == first.version
    assert rollback(serving, second.version) == second.version
    assert served(serving) == (second.version, new_value)
    with pytest.raises(LookupError, match="not kept"):
        rollback(serving, "19990101T000000000000Z")

    bump(quality_copy)
    third = publish(quality_copy, serving, keep=2)
    assert list_versions(serving) == [third.version, second.version]
    assert rollback(serving) == second.version
    # keeping one version never drops the one being served
    publish(quality_copy, serving, keep=1)
    assert len(list_versions(serving)) == 1
    assert [p.name for p in serving.parent.iterdir() if p.name.startswith(".")] == []


def test_a_publication_rewrites_only_what_changed(quality_copy: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    first = publish(quality_copy, serving)
    assert len(first.rewritten) == len(first.tables) == 30  # nothing to start from
    second = publish(quality_copy, serving)
    assert (second.rewritten, second.patched) == ((), {})
    with duckdb.connect(str(serving), read_only=True) as reader:  # a reader of the old file
        query = f"select value from marts.kpi_values where {NEW_MEMBERS_2024}"
        before = reader.execute(query).fetchall()
        bump(quality_copy)
        with duckdb.connect(str(quality_copy)) as con:
            con.execute(
                "delete from marts.dim_member where member_key in "
                "(select member_key from marts.dim_member order by member_key limit 5)"
            )
            # Rows equal to others: each value must end up as often as in the warehouse.
            con.execute(
                "insert into marts.fct_honors select * from marts.fct_honors order by all limit 3"
            )
            con.execute("drop table marts.dim_program")  # a mart that is gone
        third = publish(quality_copy, serving)
        assert reader.execute(query).fetchall() == before
    # kpi_values: one row out, one in. fct_honors holds three rows twice: no hash is new to
    # either side, and the patched table's fingerprint tells, so it is written whole.
    assert third.rewritten == ("marts.fct_honors",)
    assert third.patched == {"marts.dim_member": 5, "marts.kpi_values": 2}
    assert "marts.dim_program" not in third.tables
    whole = publish(quality_copy, tmp_path / "whole.duckdb", whole=True)
    assert len(whole.rewritten) == 29 and whole.patched == {}
    assert fingerprint(serving) == fingerprint(tmp_path / "whole.duckdb")
    assert served(serving) == (third.version, served(tmp_path / "whole.duckdb")[1])
    # A file whose record does not describe it (rows changed behind the pipeline's back, or
    # written before fingerprints) is not trusted: the next publication writes it whole.
    with duckdb.connect(str(serving)) as con:
        con.execute("delete from marts.dim_district where district_code = '110105'")
    assert len(publish(quality_copy, serving).rewritten) == 29
    assert fingerprint(serving) == fingerprint(tmp_path / "whole.duckdb")


def test_failed_publication_leaves_the_previous_file(quality_copy: Path, tmp_path: Path) -> None:
    serving = tmp_path / "out" / "serving.duckdb"
    first = publish(quality_copy, serving)
    with pytest.raises(duckdb.Error):
        publish(tmp_path / "missing.duckdb", serving)
    assert served(serving)[0] == first.version
    assert list_versions(serving) == [first.version]
    assert sorted(p.name for p in serving.parent.iterdir()) == [
        "serving.duckdb",
        "serving_versions",
    ]


def test_publication_holds_only_the_marts(quality_copy: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    done = publish(quality_copy, serving)
    with duckdb.connect(str(serving), read_only=True) as con:
        schemas = {
            s for (s,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()
        }
        columns = {c for (c,) in con.execute("select column_name from duckdb_columns()").fetchall()}
    assert schemas == {"marts", "meta"}
    assert not {c for c in columns if "hmac" in c or c.startswith("_")}
    assert done.tables["marts.kpi_values"] == 300105


def test_district_file_holds_no_other_district(quality_copy: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    publish(quality_copy, serving)
    assert len(district_codes(serving)) == 16
    with pytest.raises(ValueError, match="unknown district codes: 999999"):
        publish_districts(serving, tmp_path / "districts", ["999999"])
    written = publish_districts(serving, tmp_path / "districts", ["110105"])
    path = district_file(tmp_path / "districts", "110105")
    assert set(written) == {"110105"}

    with duckdb.connect(str(path), read_only=True) as con:
        con.execute(f"attach '{serving}' as city (read_only)")
        with_district = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_columns() where database_name = current_database() "
                "and schema_name = 'marts' and column_name = 'district_code'"
            ).fetchall()
        ]
        assert len(with_district) == 12
        for table in with_district:
            found = con.execute(f"select distinct district_code from marts.{table}").fetchall()
            codes = {c for (c,) in found}
            assert codes <= {"110105"}, table
        # rows of the district are all there
        for table in ("fct_dispute_cases", "fct_service_deliveries", "kpi_values"):
            here, there = con.execute(
                f"select (select count(*) from marts.{table}), (select count(*) from "
                f"city.marts.{table} where district_code = '110105')"
            ).fetchall()[0]
            assert here == there > 0, table
        # tables without a district column are scoped through what they describe
        strays = con.execute(
            """
            select
                (select count(*) from marts.dim_member where union_id not in
                    (select union_id from city.marts.dim_union where district_code = '110105')),
                (select count(*) from marts.bridge_case_claim_types where case_key not in
                    (select case_key from marts.fct_dispute_cases)),
                (select count(*) from marts.dim_employer where employer_key not in
                    (select employer_key from marts.fct_dispute_cases)),
                (select count(*) from marts.dim_member)
            """
        ).fetchall()[0]
        assert strays[:3] == (0, 0, 0) and strays[3] > 0
        details = con.execute("select details ->> 'district_code' from meta.publication")
        assert details.fetchall() == [("110105",)]


def log_build(con: duckdb.DuckDBPyConnection, invocation: str, keys: list[int] | None) -> None:
    """A build of ``marts.facts`` in the warehouse's change log, as dbt's revisits.sql
    writes it: the build's row, then its keys (``None``: the build wrote every row)."""
    con.execute(
        "insert into meta.model_changes values ('facts', ?, now() + to_microseconds(?), ?, null)",
        [invocation, con.execute("select count(*) from meta.model_changes").fetchall()[0][0],
         None if keys is None else "fact_id"],
    )  # fmt: skip
    for key in keys or []:
        con.execute(
            "insert into meta.model_changes values ('facts', ?, now(), 'fact_id', ?)",
            [invocation, str(key)],
        )


def test_a_publication_catches_up_by_the_keys_the_builds_changed(tmp_path: Path) -> None:
    """A mart whose builds log the keys they changed is brought up to date by those keys'
    rows; when the log cannot tell (a build of every row, the published build pruned) or
    the counts disagree with it (rows deleted behind dbt's back), every row's hash is
    compared instead. Each way the serving file equals one written whole."""
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema meta")
        con.execute(
            "create table meta.model_changes (model_name varchar, invocation_id varchar, "
            "recorded_at timestamp, key_column varchar, changed_key varchar)"
        )
        con.execute(
            "create table marts.facts as select i as fact_id, i % 7 as amount "
            "from range(1000) as r(i)"
        )
        con.execute("create table marts.other as select 1 as n")
        log_build(con, "b1", None)

    def publish_and_compare() -> tuple[dict[str, int], dict[str, int]]:
        done = publish(warehouse, serving, gate=False)
        whole = publish(warehouse, tmp_path / "whole.duckdb", gate=False, whole=True)
        assert fingerprint(serving) == fingerprint(whole.path)
        return done.keyed, done.patched

    assert publish(warehouse, serving, gate=False).keyed == {}
    assert publish_and_compare() == ({"marts.facts": 0}, {})  # no build since
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.facts set amount = amount + 100 where fact_id in (3, 4)")
        con.execute("delete from marts.facts where fact_id = 5")
        con.execute("insert into marts.facts values (1000, 1), (1001, 2)")
        log_build(con, "b2", [3, 4, 5])
        log_build(con, "b3", [1000, 1001, 4])
    # keys 3 and 4 out and in again, 5 out, 1000 and 1001 in
    assert publish_and_compare() == ({"marts.facts": 7}, {})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.facts set amount = 0 where fact_id = 10")
        log_build(con, "b4", None)  # a build of every row: the log cannot tell
    assert publish_and_compare() == ({}, {"marts.facts": 2})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.facts where fact_id = 11")  # behind dbt's back
    assert publish_and_compare() == ({}, {"marts.facts": 1})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.facts set amount = 1 where fact_id = 12")
        log_build(con, "b5", [12])
        con.execute("delete from meta.model_changes where invocation_id = 'b4'")  # pruned
    assert publish_and_compare() == ({}, {"marts.facts": 2})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.facts values (1002, 3)")
        log_build(con, "b6", [*range(600), 1002])  # keys holding most rows, one row new
    # deleting and writing again 600 keys' rows costs more than finding the one new row
    assert publish_and_compare() == ({}, {"marts.facts": 1})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.facts set amount = 2 where fact_id = 13")
        log_build(con, "b7", [13])
    assert publish_and_compare() == ({"marts.facts": 2}, {})
