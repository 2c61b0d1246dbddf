"""The contract's way to run the pipeline: ``dagster asset materialize -m
orchestration.definitions --select '*'`` from the project root, with every ``UNIONWH_*``
variable pointing at sources and outputs in other directories. Then nothing the pipeline
wrote may hold a planted name, ID number or phone."""

from __future__ import annotations

import sqlite3
import zlib
from contextlib import closing
from pathlib import Path

import duckdb
from pii_scan import planted_pii, scan_tree

from quality.gx_runner import docs_index


def test_materialize_everything_from_the_project_root(
    pipeline_run: dict, demo_manifest: dict
) -> None:
    done = pipeline_run["done"]
    assert "RUN_SUCCESS" in done.stdout + done.stderr
    with duckdb.connect(str(pipeline_run["out"] / "warehouse.duckdb"), read_only=True) as con:
        loaded = dict(
            con.execute("select entity, sum(rows_new) from meta.loads group by entity").fetchall()
        )
        quarantined = con.execute("select count(*) from quarantine.records").fetchone()
    membership = {"union_org": 378, "member": 26465, "membership_event": 33823, "honor": 96}
    assert {k: loaded[k] for k in membership} == membership
    others = ("case", "hotline_request", "program", "station", "delivery", "station_visit")
    assert all(loaded[k] > 0 for k in others) and len(loaded) == 10
    # Every planted rejected record of the three sources (see the manifest), and no other.
    rejected = [p for p in demo_manifest["planted"] if p["treatment"] == "rejected"]
    assert quarantined is not None and quarantined[0] == len(rejected) == 33


def test_no_plain_personal_data_anywhere_the_pipeline_wrote(
    pipeline_run: dict, demo_sources: Path
) -> None:
    pii = planted_pii(demo_sources)
    assert len(pii.numbers) > 50_000 and len(pii.names) > 1_000
    assert "13912345678" in pii.numbers  # the phone planted in a delivery remark
    # The scan covers the published serving file and the quality reports (GX Data Docs) too.
    out = pipeline_run["out"]
    assert (out / "serving.duckdb").is_file()
    assert docs_index(out / "warehouse.duckdb").is_file()
    findings = scan_tree(pipeline_run["base"], pii)
    assert findings == {}


def test_the_scan_finds_personal_data_when_it_is_there(tmp_path: Path, demo_sources: Path) -> None:
    pii = planted_pii(demo_sources)
    leaked_phone = "13912345678"
    leaked_name = sorted(pii.names)[0]
    with duckdb.connect(str(tmp_path / "leak.duckdb")) as con:
        con.execute("create table t (n struct(note varchar))")
        con.execute("insert into t values ({'note': ?})", [f"call {leaked_phone}"])
        con.execute("create table u (who varchar)")
        con.execute("insert into u values (?)", [leaked_name])
    (tmp_path / "run.log").write_text(f"caller was {leaked_name}\n", encoding="utf-8")
    # Dagster's SQLite storage: a phone in a text column, a name in a compressed snapshot.
    with closing(sqlite3.connect(tmp_path / "runs.db")) as con, con:
        con.execute("create table runs (run_body text)")
        con.execute("insert into runs values (?)", [f'{{"tags": "{leaked_phone}"}}'])
        con.execute("create table snapshots (snapshot_body blob)")
        snapshot = zlib.compress(f'{{"description": "{leaked_name}"}}'.encode())
        con.execute("insert into snapshots values (?)", [snapshot])
    findings = scan_tree(tmp_path, pii)
    assert findings == {
        "leak.duckdb:main.t.n": {leaked_phone},
        "leak.duckdb:main.u.who": {leaked_name},
        str(tmp_path / "run.log"): {leaked_name},
        str(tmp_path / "runs.db"): {leaked_phone, leaked_name},
    }
