"""Worlds unlike the demo (simulator/shapes.py) through the whole pipeline: each shaped world
is generated, materialized, advanced a day and materialized again, the way the contract runs
it (`dagster asset materialize`, default quality thresholds). After every load the serving
file is published, its KPIs equal the simulator's truth for that day exactly, and its quality
table reports what the shapes put in the sources, with the exact counts of shape.json.

Five shapes in two worlds keep it to four pipeline runs (about two minutes each here)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import dbt_manifest, dbt_results, materialize
from test_kpis import assert_matches_truth, expected, kpi_values

from core import source_free
from simulator.generate import advance, generate

pytestmark = pytest.mark.slow

SCALE = 0.003
SEED = 17
WORLDS = {
    # Late unions, members and stations in a one-district federation of about 50 unions.
    "one-district+late-keys": ("one-district", "late-keys"),
    # 80 % in one GB18030 district, ~15 % flagged records, services only from day two.
    "skewed+flagged-heavy+empty-services": ("skewed", "flagged-heavy", "empty-services-day-one"),
}
# Facts linked to a dimension's "unknown" row although they name a key, by the shape.json
# count they must equal: the late station is linked to unknown, then re-linked.
LINKED_TO_UNKNOWN = {
    "delivery.unknown_station": (
        "select count(*) from marts.fct_service_deliveries as f "
        "inner join marts.dim_station as d on f.station_key = d.station_key "
        "where d.is_unknown and f.station_id is not null"
    ),
    "station_visit.unknown_station": (
        "select count(*) from marts.fct_station_visits as f "
        "inner join marts.dim_station as d on f.station_key = d.station_key "
        "where d.is_unknown and f.station_id is not null"
    ),
}
# What a dbt build runs (its on-run-start hook too), unit tests aside: the pipeline leaves
# them out.
NODE_KINDS = {"seed", "model", "test", "operation"}
SOURCE_FREE_TABLES = {
    "districts", "enumerations", "ethnicities", "industries", "kpi_catalogue",
    "unit_categories", "kpi_definitions", "dim_district", "dim_industry", "dim_unit_category",
    "dim_beneficiary_group", "dim_case_event_type", "dim_case_outcome", "dim_claim_type",
    "dim_dispute_channel", "dim_hotline_category", "dim_hotline_channel", "dim_hotline_topic",
}  # fmt: skip
QUALITY_COLUMNS = (
    "asset", "check_name", "measure", "severity", "passed", "records_checked",
    "records_failing", "failing_share",
)  # fmt: skip


@dataclass(frozen=True)
class Load:
    """What one materialization left in the serving file, beside what the sources held."""

    as_of: str
    started: dt.datetime  # UTC, like meta.publication.published_at
    version: str
    published_at: dt.datetime
    kpis: dict[tuple[str, str, str, str], float | None]
    quality: dict[tuple[str, str, str], dict[str, Any]]
    truth: dict[tuple[str, str, str, str], Any]
    shape: dict[str, Any]
    linked_to_unknown: dict[str, int]
    dbt_nodes: set[str]  # what the run's dbt build ran


def _linked_to_unknown(serving: Path) -> dict[str, int]:
    with duckdb.connect(str(serving), read_only=True) as con:
        return {name: con.execute(sql).fetchall()[0][0] for name, sql in LINKED_TO_UNKNOWN.items()}


def _read_serving(serving: Path) -> tuple[str, dt.datetime, dict]:
    with duckdb.connect(str(serving), read_only=True) as con:
        version, published_at = con.execute(
            "select version, published_at from meta.publication"
        ).fetchone()
        rows = con.execute(f"select {', '.join(QUALITY_COLUMNS)} from marts.data_quality")
        quality = {
            (row[0], row[1], row[2]): dict(zip(QUALITY_COLUMNS, row, strict=True))
            for row in rows.fetchall()
        }
    return version, published_at, quality


def _load(sources: Path, base: Path) -> Load:
    """Materialize everything over ``sources`` (failing the test unless the run succeeds)."""
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    materialize(sources, base)
    serving = base / "out" / "serving.duckdb"
    version, published_at, quality = _read_serving(serving)
    shape = json.loads((sources / "shape.json").read_text(encoding="utf-8"))
    return Load(
        as_of=shape["as_of"],
        started=started,
        version=version,
        published_at=published_at,
        kpis=kpi_values(serving, "year"),
        quality=quality,
        truth=expected(sources),
        shape=shape,
        linked_to_unknown=_linked_to_unknown(serving),
        dbt_nodes={result["unique_id"] for result in dbt_results(base)},
    )


@pytest.fixture(scope="module", params=list(WORLDS))
def loads(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A shaped world loaded on its generate day and again after one more day."""
    base = tmp_path_factory.mktemp(request.param)
    sources = base / "sources"
    generate(sources, SCALE, SEED, quiet=True, shape=WORLDS[request.param])
    found = [_load(sources, base)]
    advance(sources, 1, quiet=True)
    found.append(_load(sources, base))
    yield found
    shutil.rmtree(base, ignore_errors=True)  # four warehouses' worth of files


def test_serving_file_is_published_after_each_load(loads: list[Load]) -> None:
    assert [load.as_of for load in loads] == ["2024-12-31", "2025-01-01"]
    for load in loads:
        assert load.published_at >= load.started, load.as_of
    assert loads[0].version != loads[1].version


def test_every_kpi_equals_the_truth_after_each_load(loads: list[Load]) -> None:
    for load, years in zip(loads, (5, 6), strict=True):  # 2020-2024, then 2025 too
        assert len(load.truth) == 243 * years
        assert_matches_truth(load.kpis, load.truth)


def test_quality_table_reports_the_shapes_findings_exactly(loads: list[Load]) -> None:
    """Every validity measure and cross-source reference: flagged records and keys not (yet)
    known are warnings with their exact counts; none blocks publication."""
    for load in loads:
        got = {
            key: (row["severity"], row["passed"], row["records_checked"], row["records_failing"])
            for key, row in load.quality.items()
        }
        want = {
            (r["asset"], r["check_name"], r["measure"]): (
                "WARN",
                r["records_failing"] == 0,
                r["records_checked"],
                r["records_failing"],
            )
            for r in load.shape["checks"]
        }
        assert {key: got.get(key) for key in want} == want, load.as_of
        for r in load.shape["checks"]:
            nonmissing = r["records_checked"] - r["records_missing"]
            share = load.quality[r["asset"], r["check_name"], r["measure"]]["failing_share"]
            assert share == pytest.approx(r["records_failing"] / nonmissing if nonmissing else 0)


def test_the_shapes_findings_are_there_to_report(loads: list[Load]) -> None:
    """The worlds do stress the checks: findings on the first day that the second day's
    sources resolve (late keys) or keep (flagged records)."""
    first, second = (load.shape for load in loads)
    if "late-keys" in first["shapes"]:
        late = ("delivery.unknown_member", "delivery.unknown_union", "delivery.unknown_station")
        late += ("station_visit.unknown_station", "case.unknown_handling_union")
        for name in late:
            assert first["unknown_keys"][name] > second["unknown_keys"][name], name
    if "flagged-heavy" in first["shapes"]:
        assert all(n >= 10 for n in first["flagged"].values()), first["flagged"]
        assert second["flagged"]["member.invalid_id_check"] > 0
    if "empty-services-day-one" in first["shapes"]:
        assert not first["services_published"] and second["services_published"]
        assert first["unknown_keys"]["station_visit.unknown_station"] == 0
        assert second["unknown_keys"]["station_visit.unknown_station"] >= 1


def test_late_keys_are_linked_to_unknown_then_re_linked(loads: list[Load]) -> None:
    """A fact whose station is not yet in a snapshot is published, linked to the unknown
    station; the load that brings the station re-links it."""
    for load in loads:
        want = {name: load.shape["unknown_keys"][name] for name in LINKED_TO_UNKNOWN}
        assert load.linked_to_unknown == want, load.as_of
    if "late-keys" in loads[0].shape["shapes"]:
        first, second = (load.linked_to_unknown for load in loads)
        assert all(first[name] > second[name] for name in LINKED_TO_UNKNOWN), (first, second)


def test_the_second_nightly_build_leaves_the_source_free_nodes_out(loads: list[Load]) -> None:
    """The seeds, the code dimensions and their tests are built and tested on the first load;
    the next night's build finds them as the project defines them and runs every other node
    (core/source_free.py), and the KPIs still equal the truth (above)."""
    manifest = dbt_manifest()
    free = source_free.source_free_nodes(manifest)
    everything = {
        uid for uid, node in manifest["nodes"].items() if node["resource_type"] in NODE_KINDS
    }
    first, second = (load.dbt_nodes for load in loads)
    assert first == everything
    assert second == everything - free
    assert {node["name"] for node in source_free.built_nodes(manifest)} == SOURCE_FREE_TABLES
    # A test from a fact to a code dimension reads a source-fed table: it still runs.
    assert "model.union_warehouse.dim_district" in free
    assert any("ref_dim_district_" in uid and "fct_" in uid for uid in second)
