"""The incremental warehouse equals a full refresh (Step 12).

The raw layer's current tables, which each load updates for the keys it changed, equal the
current state reconciled afresh from the whole history, entity by entity.

A small world unlike the demo (keys that arrive a day late, a service platform empty on day
one) is loaded and built, then advanced five days: every day brings new and changed records,
a revision of a delivery file, a hard delete and a back-dated late commit in the membership
database, and on the first day the late keys and every service file. Each day's raw loads are
followed by an incremental ``dbt run``, the last one by ``dbt build`` (every data test on the
incremental path). Then ``dbt run --full-refresh`` rebuilds a copy of the warehouse from the
same raw layer, and both must be equal relation by relation (the crash tests' fingerprint).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from pipeline import ROOT, pipeline_env, run_dbt
from warehouse_fingerprint import fingerprint

from ingestion.contract import ENTITIES
from ingestion.raw_views import current_view_sql
from serving.publish import Publication, publish
from simulator.generate import advance, generate
from simulator.shapes import EMPTY_SERVICES, LATE_KEYS

SCALE = 0.002
SEED = 23
DAYS = 5
# The models built by loads (replace_keys), and the source whose loads each processes.
BY_LOADS = {
    "int_unions_historized": "membership",
    "int_members_historized": "membership",
    "int_member_states_intervalized": "membership",
    "fct_membership_events": "membership",
    "dim_member": "membership",
    "fct_membership_monthly": "membership",
    "int_membership_kpis_aggregated": "membership",
    "int_dispute_kpis_aggregated": "disputes",
    "fct_case_events": "disputes",
    "fct_hotline_requests": "disputes",
}

NARROWED_TESTS = ("unique", "unique_combination_of_columns")
# The published marts whose builds log the keys they changed (meta.model_changes).
LOGGED_MARTS = (
    "marts.dim_member",
    "marts.fct_case_events",
    "marts.fct_hotline_requests",
    "marts.fct_membership_events",
    "marts.fct_membership_monthly",
    "marts.fct_service_deliveries",
)


def ingest(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "load"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]


def dbt(env: dict[str, str], target: Path, *args: str) -> None:
    # A build runs the data tests, not the unit tests: the pipeline's build leaves them out.
    unit_tests = ["--exclude-resource-type", "unit_test"] if args[0] == "build" else []
    done = run_dbt(env, target, *args, *unit_tests)
    assert done.returncode == 0, done.stdout[-6000:]


def test_incremental_warehouse_after_five_days_equals_a_full_refresh(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    generate(sources, SCALE, SEED, quiet=True, shape=(LATE_KEYS, EMPTY_SERVICES))
    base = tmp_path / "incremental"
    env = pipeline_env(sources, base)
    warehouse = Path(env["UNIONWH_WAREHOUSE_PATH"])
    target = base / "target"
    serving = base / "serving.duckdb"
    ingest(env)
    dbt(env, target, "build")
    first = publish(warehouse, serving, gate=False)
    caught_up = []
    for day in range(1, DAYS + 1):
        advance(sources, 1, quiet=True)
        ingest(env)
        dbt(env, target, "build" if day == DAYS else "run")
        caught_up.append(publish(warehouse, serving, gate=False).keyed)
    # The last run took the incremental path: it replaced keys, it did not rebuild.
    compiled = (target / "compiled" / "union_warehouse" / "models").rglob("*.sql")
    incremental = {p.stem for p in compiled if "_revisit_marker" in p.read_text(encoding="utf-8")}
    assert incremental == set(BY_LOADS)
    assert_unique_tests_read_only_the_revisited_rows(target, warehouse)
    assert_publication_caught_up_by_the_changed_keys(first, caught_up, warehouse, tmp_path)

    full = tmp_path / "full" / "warehouse.duckdb"
    full.parent.mkdir()
    shutil.copy(warehouse, full)
    dbt({**env, "UNIONWH_WAREHOUSE_PATH": str(full)}, tmp_path / "full" / "target", "run",
        "--full-refresh")  # fmt: skip

    with duckdb.connect(str(warehouse), read_only=True) as con:
        for entity in ENTITIES.values():
            columns = [c for (c, *_) in con.execute(f"describe raw.{entity.name}").fetchall()]
            table = f"select * from raw.{entity.name}_current"
            afresh = f"select * from ({current_view_sql(entity, columns)})"
            rows = con.execute(f"select count(*) from raw.{entity.name}_current").fetchone()[0]
            stray = con.execute(f"select count(*) from ({table} except all {afresh})").fetchone()
            lost = con.execute(f"select count(*) from ({afresh} except all {table})").fetchone()
            assert (stray[0], lost[0]) == (0, 0), (entity.name, rows, stray[0], lost[0])

    got, want = fingerprint(warehouse), fingerprint(full)
    assert got.keys() == want.keys()
    differ = {name: (got[name], want[name]) for name in want if got[name] != want[name]}
    assert not differ, differ
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loads = con.execute("select count(distinct load_id) from meta.loads").fetchone()[0]
        by_source = dict(
            con.execute(
                "select source, count(distinct load_id) from meta.loads group by source"
            ).fetchall()
        )
        recorded = dict(
            con.execute(
                "select model_name, count(*) from meta.model_loads "
                "where load_id not similar to '(seed|model):.*' and load_id != 'built' "
                "group by model_name"
            ).fetchall()
        )
        events = con.execute("select count(*) from marts.fct_membership_events").fetchone()[0]
        # Each model's SQL and the models and seeds upstream of it are recorded (the event
        # fact's labels come from the enumerations seed through the events' staging model).
        definitions = dict(
            con.execute(
                "select model_name, list(split_part(load_id, ':', 2) order by load_id) "
                "from meta.model_loads where load_id similar to '(seed|model):.*:.*' "
                "group by model_name"
            ).fetchall()
        )
    assert by_source == {"membership": 1 + DAYS, "disputes": 1 + DAYS, "services": 1 + DAYS}
    assert loads == 3 * (1 + DAYS)
    assert recorded == {model: by_source[source] for model, source in BY_LOADS.items()}
    assert events > 1_000
    assert {"enumerations", "stg_membership__membership_events", "dim_member"} <= set(
        definitions["fct_membership_events"]
    )
    assert_a_build_revisiting_most_keys_tests_whole(env, tmp_path / "regrid", warehouse, full)


def assert_a_build_revisiting_most_keys_tests_whole(
    env: dict[str, str], target: Path, warehouse: Path, full: Path
) -> None:
    """A KPI aggregate that lost every period but its first revisits the periods the grid
    has and it has not (macros/incremental/revisited_periods.sql): the build restores them
    as the full refresh computed them, and, having rewritten more than a third of the rows,
    tests the model whole (macros/incremental/revisits.sql)."""
    model = "intermediate.int_dispute_kpis_aggregated"
    with duckdb.connect(str(warehouse)) as con:
        kept = con.execute(f"select min(period_start) from {model}").fetchone()[0]
        con.execute(f"delete from {model} where period_start <> ?", [kept])
        (kept_rows,) = con.execute(f"select count(*) from {model}").fetchone()
    dbt(env, target, "build", "--select", "int_dispute_kpis_aggregated")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"attach '{full}' as full_refresh (read_only)")
        total, whole, revisited, rows_revisited, rows_total = con.execute(
            "select count(*), bool_and(whole), count(revisited_key), max(rows_revisited), "
            "max(rows_total) "
            "from meta.model_revisits where model_name = 'int_dispute_kpis_aggregated'"
        ).fetchone()
        periods, rows = con.execute(
            f"select count(distinct period_start), count(*) from {model}"
        ).fetchone()
        differ = con.execute(
            f"select count(*) from ((select * from {model} except all "
            f"select * from full_refresh.{model}) union all (select * from full_refresh.{model} "
            f"except all select * from {model}))"
        ).fetchone()[0]
    assert (whole, differ) == (False, 0)
    assert revisited == periods - 1 and total == periods
    assert (rows_revisited, rows_total) == (rows - kept_rows, rows)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    tests = [
        Path(node["compiled_path"]).read_text(encoding="utf-8")
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node.get("attached_node") == "model.union_warehouse.int_dispute_kpis_aggregated"
        and node.get("test_metadata", {}).get("name") in NARROWED_TESTS
    ]
    assert len(tests) >= 1 and not any("meta.model_revisits" in sql for sql in tests)


def assert_publication_caught_up_by_the_changed_keys(
    first: Publication, caught_up: list[dict[str, int]], warehouse: Path, tmp_path: Path
) -> None:
    """Every day's publication brought the marts dbt builds incrementally up to date by the
    keys those builds changed (meta.model_changes), reading no other row of them, and the
    serving file equals one written whole from the same warehouse."""
    assert first.keyed == {} and len(first.rewritten) == len(first.tables)
    # Day one is 2025-01-01: every union's monthly rows gain a month, and every service file
    # arrives (the services source was empty on the first load). The changed keys of those
    # two marts hold most of their rows, so they are hashed instead (serving.publish's
    # PATCH_SHARE); every later day catches all four up by their keys.
    first_day = sorted(set(LOGGED_MARTS) - {"marts.fct_membership_monthly",
                                            "marts.fct_service_deliveries"})  # fmt: skip
    assert [sorted(keyed) for keyed in caught_up] == [first_day] + [sorted(LOGGED_MARTS)] * (
        DAYS - 1
    )
    # Each day changes some rows of the member dimension and the delivery and event facts.
    for mart in ("marts.dim_member", "marts.fct_membership_events"):
        assert all(keyed[mart] > 0 for keyed in caught_up), mart
    whole = publish(warehouse, tmp_path / "whole.duckdb", gate=False, whole=True)
    assert whole.keyed == {} and len(whole.rewritten) == len(whole.tables)
    assert fingerprint(first.path) == fingerprint(whole.path)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        builds = dict(
            con.execute(
                "select model_name, count(*) from meta.model_changes "
                "where changed_key is null group by model_name"
            ).fetchall()
        )
    # The first build and one per day: each logged, none pruned.
    assert builds == dict.fromkeys((*BY_LOADS, "fct_service_deliveries"), 1 + DAYS)


def assert_unique_tests_read_only_the_revisited_rows(target: Path, warehouse: Path) -> None:
    """In the last build, the incremental path: every unique test of the models built by loads
    read only the rows sharing a value with a row of a key the build revisited
    (macros/incremental/revisits.sql); every other test read its whole relation."""
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    unique_tests, narrowed, of_keys, logged = set(), set(), {}, {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        model = manifest["nodes"][node["attached_node"]] if node["attached_node"] else {}
        tested = model.get("name", "")
        sql = Path(node["compiled_path"]).read_text(encoding="utf-8")
        if tested in BY_LOADS and node["test_metadata"]["name"] in NARROWED_TESTS:
            unique_tests.add(node["name"])
            if node.get("column_name") == model["config"]["unique_key"]:
                of_keys[node["name"]] = sql.count(model["relation_name"])
        if "meta.model_revisits" in sql:
            narrowed.add(node["name"])
        if tested == "fct_service_deliveries" and node["test_metadata"]["name"] == "unique":
            # the merge logs the keys it merged: its key test reads only their rows
            logged[node["name"]] = "meta.model_changes" in sql
    assert len(unique_tests) >= 8 and narrowed == unique_tests
    assert logged == {"unique_fct_service_deliveries_delivery_id": True}
    # A test of the key itself reads the model once (its revisited keys' rows are those
    # holding their values); fct_membership_events.event_id at least.
    assert len(of_keys) >= 1 and set(of_keys.values()) == {1}, of_keys
    with duckdb.connect(str(warehouse), read_only=True) as con:
        revisited = dict(
            con.execute(
                "select model_name, count(revisited_key) from meta.model_revisits "
                "where not whole group by model_name"
            ).fetchall()
        )
        members = con.execute("select count(distinct member_id) from marts.dim_member").fetchone()
        periods = con.execute(
            "select count(distinct period_start) from intermediate.int_kpi_periods"
        ).fetchone()
    assert revisited.keys() == set(BY_LOADS)
    # A day's change: some members, not all of them; some periods, not all of them.
    assert 0 < revisited["dim_member"] < members[0]
    assert 0 < revisited["int_membership_kpis_aggregated"] < periods[0]
    # (The last day's disputes load may be empty at this scale.)
    assert revisited["int_dispute_kpis_aggregated"] < periods[0]
