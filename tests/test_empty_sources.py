"""Sources that have delivered nothing yet: every raw entity exists from the first load with
the columns and types a real load gives it, and the whole pipeline runs on it.

The day-one federation is the simulator's world (SF 0.002, seed 7) whose service system has
sent only its catalogue and station snapshots (the contract allows it): no delivery file, no
station-visit workbook. The run succeeds and publishes; the KPIs read from deliveries are 0
and every other KPI equals the simulator's truth (``app_service_items_cumulative`` counts
catalogue programs, so it is among the others). A second load brings the held-back files,
after which every KPI equals the truth.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest
from pipeline import PII_KEY, materialize
from test_kpis import Key, assert_matches_truth, expected, kpi_values

from ingestion import disputes, membership, services
from ingestion.contract import ENTITIES
from ingestion.raw_store import RawStore
from ingestion.spark_catalog import committed_loads, register_raw, spark_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SCALE = 0.002
SEED = 7
# Landing folders of the files a service system may not have sent on day one.
HELD_BACK = ("deliveries", "station_visits")
EMPTY_ENTITIES = ("delivery", "station_visit")
DAY_ONE_ENTITIES = ("program", "station")
# The KPIs that read service deliveries (KPIS.md).
DELIVERY_KPIS = frozenset(
    {
        "care_visits_person_times",
        "new_form_service_person_times",
        "culture_sports_person_times",
        "skills_competition_participants",
        "app_person_times_cumulative",
    }
)
Columns = list[tuple[str, str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated federation, all three sources complete (read-only)."""
    from simulator.generate import generate

    out = tmp_path_factory.mktemp("world")
    generate(out, SCALE, SEED, quiet=True)
    return out


def columns(con: duckdb.DuckDBPyConnection, view: str) -> Columns:
    return [(str(r[0]), str(r[1])) for r in con.execute(f'describe raw."{view}"').fetchall()]


def count(con: duckdb.DuckDBPyConnection, view: str) -> int:
    return con.execute(f'select count(*) from raw."{view}"').fetchall()[0][0]


def raw_views(store: RawStore) -> dict[str, tuple[Columns, int]]:
    """Columns and row count of both views of every entity."""
    with duckdb.connect(str(store.warehouse_path), read_only=True) as con:
        return {
            view: (columns(con, view), count(con, view))
            for entity in ENTITIES
            for view in (entity, f"{entity}_current")
        }


def load_all(sources: Path, store: RawStore) -> None:
    key = PII_KEY.encode()
    membership.load(membership.MembershipLoad(f"sqlite:///{sources / 'membership.db'}", key), store)
    disputes.load(
        disputes.DisputesLoad(
            export_dir=sources / "disputes", api_url=None, api_token=None, pii_key=key
        ),
        store,
    )
    services.load(services.ServicesLoad(str(sources / "landing"), key), store)


def test_a_fresh_store_has_every_entitys_views_as_a_real_load_leaves_them(
    world: Path, tmp_path: Path
) -> None:
    fresh = RawStore(tmp_path / "fresh" / "warehouse.duckdb")
    fresh.ensure()
    loaded = RawStore(tmp_path / "loaded" / "warehouse.duckdb")
    load_all(world, loaded)

    empty, real = raw_views(fresh), raw_views(loaded)
    assert len(empty) == 2 * len(ENTITIES)
    for view, (view_columns, rows) in real.items():
        assert rows > 0, view
        assert empty[view] == (view_columns, 0), view


def day_one_services(world: Path, base: Path) -> RawStore:
    """A warehouse whose only load is the service system's day one: no membership or
    dispute load, no delivery or station-visit file."""
    landing = base / "landing"
    shutil.copytree(world / "landing", landing)
    for folder in HELD_BACK:
        shutil.rmtree(landing / folder)
    store = RawStore(base / "out" / "warehouse.duckdb")
    services.load(services.ServicesLoad(str(landing), PII_KEY.encode()), store)
    return store


def test_a_restored_warehouse_has_the_views_of_entities_never_loaded(
    world: Path, tmp_path: Path
) -> None:
    store = day_one_services(world, tmp_path)
    before = raw_views(store)
    store.warehouse_path.unlink()

    assert store.restore_from_raw() == {"services": 1}
    assert raw_views(store) == before
    assert before["program_current"][1] > 0
    for entity in (*EMPTY_ENTITIES, "member", "case"):
        assert before[f"{entity}_current"][1] == 0, entity


def spark_types(spark: SparkSession, store: RawStore) -> dict[str, list[str]]:
    """Column types of both views of every entity, registered in Spark."""
    register_raw(spark, store, committed_loads(store))
    return {
        view: [f.simpleString() for f in spark.table(f"raw.`{view}`").schema.fields]
        for entity in ENTITIES
        for view in (entity, f"{entity}_current")
    }


@pytest.mark.spark
@pytest.mark.long
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime on PATH")
def test_spark_registers_entities_without_data_with_their_types(
    world: Path, tmp_path: Path
) -> None:
    partial = day_one_services(world, tmp_path / "partial")
    full = RawStore(tmp_path / "full" / "warehouse.duckdb")
    load_all(world, full)
    never_loaded = [
        view
        for entity in ENTITIES
        if entity not in DAY_ONE_ENTITIES
        for view in (entity, f"{entity}_current")
    ]
    with spark_session(tmp_path / "spark") as spark:
        empty = spark_types(spark, partial)
        rows = {view: spark.table(f"raw.`{view}`").count() for view in never_loaded}
        real = spark_types(spark, full)
    assert rows == dict.fromkeys(never_loaded, 0)
    assert {view: empty[view] for view in never_loaded} == {
        view: real[view] for view in never_loaded
    }


@dataclass(frozen=True)
class Run:
    """What one materialization left: the sources it read and what it produced."""

    sources: Path
    warehouse: Path
    serving: Path
    raw: dict[str, tuple[Columns, int]]
    loads: list[tuple[str, int, int, str | None]]
    kpis: dict[Key, float | None]
    served: dict[Key, float | None]


def observe(sources: Path, base: Path) -> Run:
    out = base / "out"
    store = RawStore(out / "warehouse.duckdb")
    loads = store.query(
        "select entity, rows_read, rows_new, data_file from meta.loads "
        "where source = 'services' order by load_id, entity"
    ).rows()
    return Run(
        sources=sources,
        warehouse=store.warehouse_path,
        serving=out / "serving.duckdb",
        raw=raw_views(store),
        loads=loads,  # type: ignore[arg-type]
        kpis=kpi_values(store.warehouse_path),
        served=kpi_values(out / "serving.duckdb"),
    )


@pytest.fixture(scope="module")
def day_one(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The pipeline run on a world without delivery files and station-visit workbooks."""
    base = tmp_path_factory.mktemp("day-one")
    sources = base / "sources"
    shutil.copytree(world, sources)
    for folder in HELD_BACK:
        shutil.move(sources / "landing" / folder, base / folder)
    materialize(sources, base)
    return observe(sources, base)


@pytest.fixture(scope="module")
def day_two(day_one: Run) -> Run:
    """The same pipeline after the held-back files arrived (a second load)."""
    base = day_one.sources.parent
    for folder in HELD_BACK:
        shutil.move(base / folder, day_one.sources / "landing" / folder)
    materialize(day_one.sources, base)
    return observe(day_one.sources, base)


@pytest.mark.slow
def test_day_one_has_empty_service_entities_and_publishes(day_one: Run) -> None:
    for entity in EMPTY_ENTITIES:
        for view in (entity, f"{entity}_current"):
            view_columns, rows = day_one.raw[view]
            assert rows == 0, view
            assert {"_load_id", "_record_key", "_row_hash", "_quality_flags"} <= {
                name for name, _ in view_columns
            }, view
    # The load recorded that nothing came for them.
    assert [(e, n, d) for e, n, _, d in day_one.loads if e in EMPTY_ENTITIES] == [
        ("delivery", 0, None),
        ("station_visit", 0, None),
    ]
    assert day_one.serving.exists()
    assert day_one.served == day_one.kpis


@pytest.mark.slow
def test_day_one_delivery_kpis_are_zero_and_the_others_the_truth(day_one: Run) -> None:
    delivery = {k: v for k, v in day_one.kpis.items() if k[0] in DELIVERY_KPIS}
    assert {k[0] for k in delivery} == DELIVERY_KPIS
    assert set(delivery.values()) == {0.0}
    want = expected(day_one.sources)
    others = {k: v for k, v in want.items() if k[0] not in DELIVERY_KPIS}
    assert len(others) < len(want)
    assert_matches_truth(kpi_values(day_one.warehouse, "year"), others)


@pytest.mark.slow
def test_a_period_without_hotline_requests_has_a_null_closure_rate(day_one: Run) -> None:
    rates = {k: v for k, v in day_one.kpis.items() if k[0] == "hotline_closure_rate"}
    requests = {k[1:]: v for k, v in day_one.kpis.items() if k[0] == "hotline_requests"}
    assert 0.0 in requests.values()
    for (_, *cell), rate in rates.items():
        assert (rate is None) == (requests[tuple(cell)] == 0), cell


@pytest.mark.slow
def test_after_the_second_load_every_kpi_is_the_truth(day_one: Run, day_two: Run) -> None:
    for entity in EMPTY_ENTITIES:
        for view in (entity, f"{entity}_current"):
            view_columns, rows = day_two.raw[view]
            assert rows > 0, view
            assert view_columns == day_one.raw[view][0], view
    assert_matches_truth(kpi_values(day_two.warehouse, "year"), expected(day_two.sources))
    assert day_two.served == day_two.kpis
