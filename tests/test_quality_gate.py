"""Quality gates publication: a failing ERROR check on a mart keeps the previous serving file;
a failing WARN check is reported and publication goes ahead."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.quality.checks import marts_quality
from orchestration.defs.serving.assets import MART_KEYS, serving_warehouse
from orchestration.resources import ServingResource, WarehouseResource
from serving.publish import list_versions

KPI = dg.AssetKey(["marts", "kpi_values"])
SERVING = dg.AssetKey(["serving", "warehouse"])
NEW_MEMBERS_2024 = (
    "kpi_code = 'new_members' and period_grain = 'year' "
    "and period_start = '2024-01-01' and district_code = 'ALL'"
)
JUNE_2023 = (
    "kpi_code = 'members_active_end' and period_grain = 'month' "
    "and period_start = '2023-06-01' and district_code = 'ALL'"
)


def publish_run(warehouse: Path, serving: Path) -> dg.ExecuteInProcessResult:
    """The marts' checks and publication, as a run of the real definitions (the marts
    themselves are external here: the test plants data in them directly)."""
    return dg.materialize(
        [*(dg.AssetSpec(key) for key in MART_KEYS), serving_warehouse, marts_quality],
        selection=dg.AssetSelection.assets(SERVING) | dg.AssetSelection.checks_for_assets(KPI),
        resources={
            "warehouse": WarehouseResource(path=str(warehouse)),
            "serving": ServingResource(path=str(serving)),
        },
        raise_on_error=False,
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    return {
        e.check_name: (e.passed, e.severity.value) for e in result.get_asset_check_evaluations()
    }


def published(serving: Path, where: str) -> tuple[object, float]:
    with duckdb.connect(str(serving), read_only=True) as con:
        (at,) = con.execute("select published_at from meta.publication").fetchall()[0]
        (value,) = con.execute(f"select value from marts.kpi_values where {where}").fetchall()[0]
    return at, value


def plant(warehouse: Path, sql: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql)


@pytest.fixture
def first_publication(quality_copy: Path, tmp_path: Path) -> Path:
    serving = tmp_path / "serving" / "serving.duckdb"
    result = publish_run(quality_copy, serving)
    assert result.success
    assert evaluations(result) == {
        "value_ranges": (True, "ERROR"),
        "districts_within_city": (True, "ERROR"),
        "monthly_jumps": (True, "WARN"),
    }
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [SERVING]
    return serving


def test_failing_error_check_keeps_the_previous_publication(
    quality_copy: Path, first_publication: Path
) -> None:
    before = published(first_publication, NEW_MEMBERS_2024)
    plant(quality_copy, f"update marts.kpi_values set value = -1 where {NEW_MEMBERS_2024}")

    result = publish_run(quality_copy, first_publication)

    assert not result.success
    assert evaluations(result)["value_ranges"] == (False, "ERROR")
    assert result.get_asset_materialization_events() == []
    assert published(first_publication, NEW_MEMBERS_2024) == before
    assert before[1] > 0
    leftovers = sorted(p.name for p in first_publication.parent.iterdir())
    assert leftovers == ["serving.duckdb", "serving_versions"]
    assert len(list_versions(first_publication)) == 1


def test_failing_warn_check_still_publishes(quality_copy: Path, first_publication: Path) -> None:
    at_before, june_before = published(first_publication, JUNE_2023)
    plant(quality_copy, f"update marts.kpi_values set value = value * 2 where {JUNE_2023}")

    result = publish_run(quality_copy, first_publication)

    assert result.success
    assert evaluations(result)["monthly_jumps"] == (False, "WARN")
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [SERVING]
    at_after, june_after = published(first_publication, JUNE_2023)
    assert at_after > at_before
    assert june_after == 2 * june_before
