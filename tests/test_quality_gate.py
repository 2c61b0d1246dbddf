"""Quality gates publication: a failing ERROR check on a mart, or on the raw layer, keeps the
previous serving file (a raw one never stops the models); a failing WARN check is reported
and publication goes ahead; the serving file carries every check's latest findings."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.quality.checks import marts_quality, source_checks
from orchestration.defs.serving.assets import MART_KEYS, serving_warehouse
from orchestration.lib.resources import ServingResource, WarehouseResource
from serving.publish import PublicationBlocked, list_versions, publish

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


def quality_rows(serving: Path) -> list[tuple]:
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(
            "select asset, check_name, measure, severity, passed, records_failing, finding_en "
            "from marts.data_quality order by asset, check_name, measure"
        ).fetchall()


def test_the_serving_file_carries_the_latest_findings(
    quality_copy: Path, first_publication: Path
) -> None:
    first = quality_rows(first_publication)
    # the measures of the KPI table's checks, the ones this run selected, all passed
    assert [row[1:5] for row in first] == [
        ("districts_within_city", "excess", "ERROR", True),
        ("monthly_jumps", "allowed_change,change", "WARN", True),
        ("value_ranges", "amount", "ERROR", True),
        ("value_ranges", "rate", "ERROR", True),
        ("value_ranges", "value_present", "ERROR", True),
    ]
    plant(quality_copy, f"update marts.kpi_values set value = value * 2 where {JUNE_2023}")
    assert publish_run(quality_copy, first_publication).success
    failed = [row for row in quality_rows(first_publication) if not row[4]]
    assert failed == [
        (
            "marts/kpi_values",
            "monthly_jumps",
            "allowed_change,change",
            "WARN",
            False,
            2,
            "2 city-wide monthly moves beyond their band that no explanation covers",
        )
    ]


@dg.asset(key=["marts", "stand_in_model"], deps=[dg.AssetKey(["raw", "membership", "member"])])
def stand_in_model() -> None:
    """Stands for the dbt models downstream of the raw layer."""


def test_a_raw_error_blocks_publication_never_the_models(
    quality_copy: Path, first_publication: Path
) -> None:
    before = published(first_publication, NEW_MEMBERS_2024)
    # a load that deleted 3000 of the 26465 live members (11 % > 5 %, >= 10 rows)
    plant(
        quality_copy,
        "insert into meta.loads by name select 'plant-member' as load_id, "
        "'membership' as source, 'member' as entity, "
        "(now() at time zone 'Asia/Shanghai') + interval 1 hour as loaded_at, "
        "current_date as load_date, 0 as rows_read, 0 as rows_new, 0 as rows_updated, "
        "0 as rows_unchanged, 3000 as rows_deleted, 0 as rows_quarantined, 0 as rows_flagged",
    )
    member = dg.AssetKey(["raw", "membership", "member"])
    raw_keys = {check.asset_key for check in source_checks("membership").check_specs}
    result = dg.materialize(
        [
            *(dg.AssetSpec(key) for key in {*MART_KEYS, *raw_keys}),
            stand_in_model,
            serving_warehouse,
            source_checks("membership"),
        ],
        selection=dg.AssetSelection.assets(SERVING, stand_in_model)
        | dg.AssetSelection.checks(dg.AssetCheckKey(member, "load_volume")),
        resources={
            "warehouse": WarehouseResource(path=str(quality_copy)),
            "serving": ServingResource(path=str(first_publication)),
        },
        raise_on_error=False,
    )
    assert not result.success
    # Dagster sees WARN, so the models downstream of the raw layer still run ...
    assert evaluations(result) == {"load_volume": (False, "WARN")}
    built = {m.asset_key for m in result.get_asset_materialization_events()}
    assert built == {dg.AssetKey(["marts", "stand_in_model"])}
    # ... and publication, the gate, refuses: the analysts keep the last good file
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert (
        "publication blocked by 1 failed ERROR check(s): raw/membership/member load_volume"
        " (mass_deleted)" in failure.event_specific_data.error.message
    )
    assert published(first_publication, NEW_MEMBERS_2024) == before
    with pytest.raises(PublicationBlocked, match="mass_deleted"):
        publish(quality_copy, first_publication)
    assert len(list_versions(first_publication)) == 1
