"""Membership ingestion: full, repeated and incremental loads, against the simulator's truth."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ingestion import membership
from ingestion.raw_store import RawStore
from ingestion.validation import ContractViolation
from simulator.generate import advance, generate

KEY = b"test-pii-key"
KEYS = {
    "union_org": "union_id",
    "member": "member_id",
    "membership_event": "event_id",
    "honor": "honor_id",
}


def sqlite_url(sources: Path) -> str:
    return f"sqlite:///{sources / 'membership.db'}"


def load(store: RawStore, url: str, now: dt.datetime | None = None) -> dict[str, Any]:
    results = membership.load(membership.MembershipLoad(url, KEY), store, now=now)
    return {r.entity: r for r in results}


def source_table(sources: Path, table: str) -> pl.DataFrame:
    with sqlite3.connect(sources / "membership.db") as con:
        cur = con.execute(f"select * from {table}")
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    return pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row", strict=False)


def planted(manifest: dict[str, Any], treatment: str, entity: str) -> list[dict[str, Any]]:
    return [
        p
        for p in manifest["planted"]
        if p["source"] == "membership" and p["treatment"] == treatment and p["entity"] == entity
    ]


def live(store: RawStore, entity: str) -> pl.DataFrame:
    return store.query(f"select * from raw.{entity}_current where not _is_deleted")


@pytest.fixture(scope="module")
def loaded(demo_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[RawStore, dict]:
    store = RawStore(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    return store, load(store, sqlite_url(demo_sources))


@pytest.mark.parametrize("entity", list(KEYS))
def test_full_load_keeps_every_good_row_once(
    loaded: tuple[RawStore, dict], demo_sources: Path, demo_manifest: dict, entity: str
) -> None:
    store, results = loaded
    rejected = {p["key"] for p in planted(demo_manifest, "rejected", entity)}
    source_keys = set(source_table(demo_sources, entity)[KEYS[entity]].to_list())
    current = live(store, entity)
    assert set(current[KEYS[entity]].to_list()) == source_keys - rejected
    assert current.height == len(source_keys - rejected)
    r = results[entity]
    assert (r.rows_read, r.rows_new, r.rows_quarantined) == (
        len(source_keys),
        len(source_keys) - len(rejected),
        len(rejected),
    )


def test_every_planted_rejected_row_is_quarantined_with_its_rule(
    loaded: tuple[RawStore, dict], demo_manifest: dict
) -> None:
    store, _ = loaded
    got = store.query(
        "select entity, record_key, rule, column_name from quarantine.records "
        "where source = 'membership' order by all"
    ).rows()
    expected = sorted(
        (p["entity"], p["key"], p["rule"], p["column"])
        for entity in KEYS
        for p in planted(demo_manifest, "rejected", entity)
    )
    assert got == expected
    assert len(got) == 13


def test_every_planted_flagged_row_is_loaded_with_its_flag_and_no_other(
    loaded: tuple[RawStore, dict], demo_manifest: dict
) -> None:
    store, _ = loaded
    got = sorted(
        store.query(
            "select entity, key, flag from ("
            " select 'member' as entity, member_id as key, unnest(_quality_flags) as flag"
            " from raw.member_current"
            " union all"
            " select 'union_org', union_id, unnest(_quality_flags) from raw.union_org_current)"
        ).rows()
    )
    expected = sorted(
        (p["entity"], p["key"], p["rule"])
        for entity in ("member", "union_org")
        for p in planted(demo_manifest, "flagged", entity)
    )
    assert got == expected and len(got) == 8


def test_pii_is_pseudonymised_and_facts_derived(
    loaded: tuple[RawStore, dict], demo_sources: Path
) -> None:
    store, _ = loaded
    columns = set(store.query("select * from raw.member limit 0").columns)
    assert not {"name", "id_number", "phone"} & columns
    source = source_table(demo_sources, "member").filter(pl.col("id_type") == "RESIDENT_ID")
    sample = source.row(0, named=True)
    row = store.query(
        "select id_birth_date, id_gender, id_valid, phone_valid, id_number_hmac "
        "from raw.member_current where member_id = ?",
        [sample["member_id"]],
    ).row(0, named=True)
    id_number = sample["id_number"]
    assert row["id_birth_date"] == dt.date(
        int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])
    )
    assert row["id_gender"] == ("M" if int(id_number[16]) % 2 else "F")
    assert row["id_valid"] is True and row["phone_valid"] is True
    assert len(row["id_number_hmac"]) == 64 and id_number not in row["id_number_hmac"]


def test_second_identical_run_changes_nothing(
    loaded: tuple[RawStore, dict], demo_sources: Path
) -> None:
    store, _ = loaded
    before = store.query("select count(*) from quarantine.records").item()
    versions = store.query("select count(*) from raw.member").item()
    again = load(store, sqlite_url(demo_sources))
    for r in again.values():
        assert (r.rows_new, r.rows_updated, r.rows_deleted, r.rows_quarantined) == (0, 0, 0, 0)
    assert store.query("select count(*) from quarantine.records").item() == before
    assert store.query("select count(*) from raw.member").item() == versions


def test_incremental_load_after_a_day_takes_exactly_the_changes(demo_copy: Path) -> None:
    store = RawStore(demo_copy.parent / "wh" / "warehouse.duckdb")
    load(store, sqlite_url(demo_copy))
    before = {t: source_table(demo_copy, t) for t in KEYS}
    advance(demo_copy, 1, quiet=True)
    after = {t: source_table(demo_copy, t) for t in KEYS}
    manifest = json.loads((demo_copy / "manifest.json").read_text(encoding="utf-8"))
    results = load(store, sqlite_url(demo_copy))
    for table, key in KEYS.items():
        rejected = {p["key"] for p in planted(manifest, "rejected", table)}
        old = before[table].filter(~pl.col(key).is_in(list(rejected)))
        new = after[table].filter(~pl.col(key).is_in(list(rejected)))
        added = set(new[key]) - set(old[key])
        removed = set(old[key]) - set(new[key])
        both = new.join(old, on=key, suffix="_old")
        changed = {
            row[key]
            for row in both.iter_rows(named=True)
            if any(row[c] != row[f"{c}_old"] for c in new.columns if c != key)
        }
        r = results[table]
        assert (r.rows_new, r.rows_updated) == (len(added), len(changed)), table
        assert r.rows_deleted == (len(removed) if table in membership.RECONCILED_BY_KEY else 0)
        current = live(store, table)
        assert set(current[key]) == set(new[key]), table
    deleted = {p["key"] for p in manifest["planted"] if p["rule"] == "hard_delete"}
    assert deleted and results["member"].rows_deleted == len(deleted)
    flagged = store.query("select member_id from raw.member_current where _is_deleted")[
        "member_id"
    ].to_list()
    assert set(flagged) == deleted
    # The late-committed member: stamped before the previous watermark, picked up anyway.
    late = {p["entity"]: p["key"] for p in manifest["planted"] if p["rule"] == "late_commit"}
    assert late["member"] in set(live(store, "member")["member_id"])
    assert late["membership_event"] in set(live(store, "membership_event")["event_id"])


def test_missing_required_column_stops_the_load_naming_table_and_column(
    demo_copy: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(demo_copy / "membership.db") as con:
        con.execute("alter table member drop column education")
    store = RawStore(tmp_path / "wh.duckdb")
    with pytest.raises(ContractViolation, match=r"'member'.*'education'"):
        load(store, sqlite_url(demo_copy))
    assert store.query("select count(*) from meta.loads").item() == 0


def test_a_failed_commit_leaves_nothing_and_the_rerun_loads_everything(
    demo_sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RawStore(tmp_path / "wh.duckdb")

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(RawStore, "_record", explode)
    with pytest.raises(RuntimeError, match="power cut"):
        load(store, sqlite_url(demo_sources))
    monkeypatch.undo()
    orphans = list(store.raw_dir.rglob("*.parquet"))
    assert orphans  # the Parquet files were written before the failed commit
    assert store.query("select count(*) from raw.member").item() == 0
    results = load(store, sqlite_url(demo_sources))
    assert results["member"].rows_new == live(store, "member").height > 0
    assert not set(orphans) & set(store.raw_dir.rglob("*.parquet"))


@pytest.mark.postgres
def test_postgresql_source_loads_the_same_rows_as_sqlite(
    loaded: tuple[RawStore, dict], tmp_path: Path, postgres_database: str
) -> None:
    sqlite_store, _ = loaded
    generate(tmp_path / "pg-sources", 0.01, 42, db_url=postgres_database, quiet=True)
    store = RawStore(tmp_path / "wh.duckdb")
    results = load(store, postgres_database)
    assert results["member"].rows_quarantined == 4
    for table in KEYS:
        sql = f"select _record_key, _row_hash from raw.{table}_current order by 1"
        assert store.query(sql).equals(sqlite_store.query(sql)), table
