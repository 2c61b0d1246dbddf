"""Every great-expectations suite passes on the clean demo warehouse and fails on data planted
to break it, with the exact unexpected counts and example keys; the quarantine summary
matches what the simulator planted."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion.contract import ENTITIES
from quality.config import DEFAULT_CONFIG, ENV_SOURCES_AS_OF, load_thresholds
from quality.gx_runner import docs_index, expected_counts, quality_dir, run_suites
from quality.mart_suites import (
    KPI_DISTRICTS_WITHIN_CITY,
    KPI_MONTHLY_JUMPS,
    KPI_VALUE_RANGES,
    RECONCILIATION_SUITES,
    mart_suites,
)
from quality.outcome import SuiteOutcome
from quality.quarantine import summarise_quarantine
from quality.raw_suites import (
    CASE_OUTCOME_MIX,
    CASE_UNION_KNOWN,
    CASE_VALIDITY,
    DELIVERY_UNION_KNOWN,
    HOTLINE_CASE_RESOLVES,
    HOTLINE_VALIDITY,
    MEMBER_VALIDITY,
    NEW_FORM_JOIN_SHARE,
    UNION_VALIDITY,
    balance_suite,
    freshness_suite,
    raw_suites,
    volume_suite,
)
from quality.suite import Severity, Suite

RECONCILIATION = {s.asset[-1]: s for s in RECONCILIATION_SUITES}


def run(warehouse: Path, suite: Suite, **kwargs: Any) -> SuiteOutcome:
    (outcome,) = run_suites(warehouse, [suite], build_docs=False, **kwargs)
    return outcome


def plant(warehouse: Path, *statements: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for sql in statements:
            con.execute(sql)


def unexpected(outcome: SuiteOutcome) -> dict[str, int | None]:
    return {e.column or e.expectation: e.unexpected_count for e in outcome.expectations}


def example_keys(outcome: SuiteOutcome, column: str) -> set[str]:
    (found,) = [e for e in outcome.expectations if e.column == column]
    return {next(iter(example.values())) for example in found.examples}


def planted(manifest: dict[str, Any], entity: str, rule: str) -> set[str]:
    return {p["key"] for p in manifest["planted"] if p["entity"] == entity and p["rule"] == rule}


# --- the clean demo ------------------------------------------------------------------------


# The demo's planted flags and orphans: reported (WARN), never blocking.
FLAGGED_ON_DEMO = {
    ("member", "validity"),
    ("union_org", "validity"),
    ("case", "validity"),
    ("hotline_request", "validity"),
    ("case", "handling_union_known"),
    ("hotline_request", "assigned_union_known"),
    ("delivery", "member_known"),
    ("delivery", "program_known"),
    ("delivery", "station_known"),
    ("station_visit", "station_known"),
}


def test_clean_demo_passes_every_error_suite_and_writes_data_docs(quality_copy: Path) -> None:
    outcomes = run_suites(quality_copy, raw_suites() + mart_suites())
    failed = {(o.asset[-1], o.check, o.severity) for o in outcomes if not o.passed}
    # The demo world ends on 2024-12-31, so every entity with a change cursor is stale; the
    # catalogue, stations and visits have no cursor and only their load age is judged.
    stale = {(e.name, "freshness", "WARN") for e in ENTITIES.values() if e.cursor is not None}
    assert failed == stale | {(entity, check, "WARN") for entity, check in FLAGGED_ON_DEMO}
    assert len(outcomes) == len(raw_suites()) + len(mart_suites()) == 53
    index = docs_index(quality_copy)
    assert index.is_file()
    assert "raw.membership.member.validity" in index.read_text(encoding="utf-8")


def test_validity_failures_are_exactly_the_planted_flags(
    quality_copy: Path, demo_manifest: dict[str, Any]
) -> None:
    cases = [
        (
            MEMBER_VALIDITY,
            "member",
            {
                "id_valid": "invalid_id_check",
                "phone_valid": "invalid_phone",
                "gender_matches_id": "gender_mismatch",
            },
        ),
        (UNION_VALIDITY, "union_org", {"uscc_valid": "invalid_uscc_check"}),
        (
            CASE_VALIDITY,
            "case",
            {
                "employer_uscc_valid": "invalid_uscc_check",
                "claimant_ids_valid": "invalid_id_check",
                "claimant_phones_valid": "invalid_phone",
            },
        ),
        (HOTLINE_VALIDITY, "hotline_request", {"caller_phone_valid": "invalid_phone"}),
    ]
    for suite, entity, rules in cases:
        outcome = run(quality_copy, suite)
        # flagged records are loaded and count: every one is reported, none blocks
        assert (outcome.passed, outcome.severity) == (False, "WARN"), suite.gx_name
        for column, rule in rules.items():
            assert example_keys(outcome, column) == planted(demo_manifest, entity, rule)


def test_reference_failures_are_exactly_the_planted_orphans(
    quality_copy: Path, demo_manifest: dict[str, Any]
) -> None:
    suites = {s.gx_name: s for s in raw_suites()}
    cases = {
        "raw.disputes.case.handling_union_known": ("case", "unknown_union"),
        "raw.disputes.hotline_request.assigned_union_known": ("hotline_request", "unknown_union"),
        "raw.services.delivery.member_known": ("delivery", "unknown_member"),
        "raw.services.delivery.program_known": ("delivery", "unknown_program"),
        "raw.services.delivery.station_known": ("delivery", "unknown_station"),
        "raw.services.station_visit.station_known": ("station_visit", "unknown_station"),
    }
    for name, (entity, rule) in cases.items():
        outcome = run(quality_copy, suites[name])
        assert (outcome.passed, outcome.severity) == (False, "WARN"), name
        (expectation,) = outcome.expectations
        assert expectation.unexpected_count == len(planted(demo_manifest, entity, rule)) == 1
    case = run(quality_copy, CASE_UNION_KNOWN)
    assert example_keys(case, "handling_union_id_known") == planted(
        demo_manifest, "case", "unknown_union"
    )


# --- planted failures ----------------------------------------------------------------------

# after the demo's loads, which are stamped in Beijing time
LATER = "(now() at time zone 'Asia/Shanghai') + interval 1 hour"


def _some(table: str, key: str, n: int, where: str = "true") -> str:
    return f"select {key} from raw.{table} where {where} order by {key} limit {n}"


PLANTS: list[tuple[Suite, list[str], dict[str, int | None]]] = [
    (
        MEMBER_VALIDITY,
        [
            f"update raw.member_current set id_valid = false "
            f"where member_id in ({_some('member_current', 'member_id', 300, 'id_valid')})"
        ],
        {"id_valid": 302},
    ),
    (
        UNION_VALIDITY,
        [
            "update raw.union_org_current "
            "set _quality_flags = list_append(_quality_flags, 'invalid_uscc_check') "
            f"where union_id in ({_some('union_org_current', 'union_id', 10)})"
        ],
        {"uscc_valid": 12},
    ),
    (
        CASE_VALIDITY,
        [
            "update raw.case_current "
            "set _quality_flags = list_append(_quality_flags, 'invalid_id_check') "
            f"where case_id in ({_some('case_current', 'case_id', 20)})"
        ],
        {"claimant_ids_valid": 21},
    ),
    (
        HOTLINE_VALIDITY,
        [
            "update raw.hotline_request_current set caller_phone_valid = false where request_id in "
            f"({_some('hotline_request_current', 'request_id', 50, 'caller_phone_valid')})"
        ],
        {"caller_phone_valid": 51},
    ),
    (
        CASE_UNION_KNOWN,
        [
            "update raw.case_current set handling_union_id = 'U99999999' "
            f"where case_id in ({_some('case_current', 'case_id', 10)})"
        ],
        {"handling_union_id_known": 11},
    ),
    (
        DELIVERY_UNION_KNOWN,
        [
            "update raw.delivery_current set union_id = 'U99999999' "
            f"where delivery_id in ({_some('delivery_current', 'delivery_id', 1000)})"
        ],
        {"union_id_known": 1000},
    ),
    (
        HOTLINE_CASE_RESOLVES,
        [
            "update raw.hotline_request_current set linked_case_id = 'C0000000000' "
            "where request_id in "
            f"({_some('hotline_request_current', 'request_id', 5, 'linked_case_id is not null')})"
        ],
        {"linked_case_id_known": 5},
    ),
    (
        NEW_FORM_JOIN_SHARE,
        [
            "update raw.membership_event_current set employment_form = 'NEW_FORM' "
            "where event_type = 'JOIN'"
        ],
        {"new_form_share": 1},
    ),
    (
        CASE_OUTCOME_MIX,
        ["update raw.case_current set outcome = 'WITHDRAWN' where closed_at is not null"],
        {"outcome": None},
    ),
    (
        volume_suite(ENTITIES["member"]),
        # a load that deleted 3000 of the 26465 live members (11 %)
        [
            "insert into meta.loads by name select 'plant-member' as load_id, "
            "'membership' as source, 'member' as entity, "
            f"{LATER} as loaded_at, current_date as load_date, "
            "0 as rows_read, 0 as rows_new, 0 as rows_updated, 0 as rows_unchanged, "
            "3000 as rows_deleted, 0 as rows_quarantined, 0 as rows_flagged"
        ],
        {"mass_deleted": 1},
    ),
    (
        volume_suite(ENTITIES["station"]),
        # a snapshot that deleted all 16 stations
        [
            "insert into meta.loads by name select 'plant-station' as load_id, "
            "'services' as source, 'station' as entity, "
            f"{LATER} as loaded_at, current_date as load_date, "
            "0 as rows_read, 0 as rows_new, 0 as rows_updated, 0 as rows_unchanged, "
            "16 as rows_deleted, 0 as rows_quarantined, 0 as rows_flagged"
        ],
        {"emptied": 1, "mass_deleted": 1},
    ),
    (
        balance_suite(ENTITIES["delivery"]),
        # a load that read 100 rows and accounted for 99 of them
        [
            "insert into meta.loads by name select 'plant-delivery' as load_id, "
            "'services' as source, 'delivery' as entity, "
            f"{LATER} as loaded_at, current_date as load_date, "
            "100 as rows_read, 90 as rows_new, 3 as rows_updated, 0 as rows_unchanged, "
            "0 as rows_deleted, 2 as rows_quarantined, 0 as rows_flagged, 4 as rows_reconciled"
        ],
        {"balanced": 1},
    ),
    (
        RECONCILIATION["fct_service_deliveries"],
        [
            # two deliveries lost on the way to the fact, one counted twice
            "delete from marts.fct_service_deliveries where delivery_id in "
            "(select delivery_id from marts.fct_service_deliveries order by 1 limit 2)",
            "insert into marts.fct_service_deliveries select * from marts.fct_service_deliveries "
            "where delivery_id = (select max(delivery_id) from marts.fct_service_deliveries)",
        ],
        {"times_in_fact": 3},
    ),
    (
        RECONCILIATION["fct_dispute_cases"],
        # a case the source no longer holds is still in the fact
        [
            "update raw.case_current set _is_deleted = true where case_id = "
            "(select min(case_id) from raw.case_current)"
        ],
        {"times_in_fact": 0, "live_in_raw": 1},
    ),
    (
        RECONCILIATION["fct_membership_events"],
        # one event lost and another counted twice: the fact's row count is the raw layer's,
        # its keys' hash sum is not
        [
            "delete from marts.fct_membership_events where event_id = "
            "(select min(event_id) from marts.fct_membership_events)",
            "insert into marts.fct_membership_events select * from marts.fct_membership_events "
            "where event_id = (select max(event_id) from marts.fct_membership_events)",
        ],
        {"times_in_fact": 2, "live_in_raw": 0},
    ),
    (
        KPI_VALUE_RANGES,
        [
            "update marts.kpi_values set value = -1 where kpi_code = 'new_members' "
            "and period_grain = 'year' and period_start = '2024-01-01' and district_code = 'ALL'",
            "update marts.kpi_values set value = 1.5 where kpi_code = 'hotline_closure_rate' "
            "and period_grain = 'month' and period_start = '2024-03-01' and district_code = 'ALL'",
        ],
        {"amount": 1, "rate": 1},
    ),
    (
        KPI_DISTRICTS_WITHIN_CITY,
        [
            "update marts.kpi_values set value = value + 1000 where kpi_code = 'disputes_accepted' "
            "and period_grain = 'quarter' and period_start = '2024-04-01' "
            "and district_code = '110105'"
        ],
        {"excess": 1},
    ),
    (
        KPI_MONTHLY_JUMPS,
        [
            "update marts.kpi_values set value = value * 2 where kpi_code = 'members_active_end' "
            "and period_grain = 'month' and period_start = '2023-06-01' and district_code = 'ALL'"
        ],
        {"allowed_change,change": 2},  # the jump up in June and back down in July
    ),
]


@pytest.mark.parametrize(
    ("suite", "statements", "expected"), PLANTS, ids=[p[0].gx_name for p in PLANTS]
)
def test_suite_fails_on_planted_data(
    quality_copy: Path, suite: Suite, statements: list[str], expected: dict[str, int | None]
) -> None:
    # the demo's own flags and orphans are already reported; the plant adds to them
    before = run(quality_copy, suite)
    assert before.passed or (suite.asset[-1], suite.name) in FLAGGED_ON_DEMO
    plant(quality_copy, *statements)
    outcome = run(quality_copy, suite)
    assert not outcome.passed
    # exactly the expectations named fail (besides the demo's own), with exactly these counts
    labels = {e.column or e.expectation for e in outcome.failed}
    assert labels == {e.column or e.expectation for e in before.failed} | {
        label for label, n in expected.items() if n != 0
    }
    found = unexpected(outcome)
    assert {label: found[label] for label in expected} == expected
    # GX saw only the rows whose verdict is news, and found what it finds over every row: the
    # plants wrote no load, so a load-tracking suite counted every row in DuckDB; a
    # reconciliation handed GX exactly the broken keys
    if suite.load_column is not None:
        assert outcome.gx_rows == 0
    if suite.expected_rows is not None:
        assert outcome.gx_rows == sum(expected.values())
    assert findings([outcome]) == findings([run(quality_copy, suite, whole=True)])


@pytest.mark.parametrize("fact", sorted(RECONCILIATION))
def test_a_reconciliation_whose_sides_agree_does_not_read_its_join(
    quality_copy: Path, fact: str
) -> None:
    suite = RECONCILIATION[fact]
    thresholds = load_thresholds()
    with duckdb.connect(str(quality_copy), read_only=True) as con:
        live = con.sql(f"select count(*) from ({suite.query(thresholds)})").fetchall()[0][0]
        assert expected_counts(con, suite, thresholds) == (live, 0)
        # the join is not read: a batch that fails when read changes nothing
        unread = replace(
            suite,
            sql="select 'k' as record_key, error('the join was read')::integer as times_in_fact, "
            "true as live_in_raw",
        )
        assert expected_counts(con, unread, thresholds) == (live, 0)
        # sides that disagree send the count to the join
        apart = replace(suite, agreement=(suite.agreement[0], "select 0, 0"))
        with pytest.raises(duckdb.Error, match="the join was read"):
            expected_counts(con, replace(apart, sql=unread.sql), thresholds)
        assert expected_counts(con, apart, thresholds) == (live, 0)


def test_a_load_recorded_before_the_balance_was_kept_is_not_judged(quality_copy: Path) -> None:
    plant(
        quality_copy,
        "insert into meta.loads by name select 'old-delivery' as load_id, "
        "'services' as source, 'delivery' as entity, "
        f"{LATER} as loaded_at, current_date as load_date, "
        "100 as rows_read, 90 as rows_new, 0 as rows_updated, 0 as rows_unchanged, "
        "0 as rows_deleted, 0 as rows_quarantined, 0 as rows_flagged",
    )
    outcome = run(quality_copy, balance_suite(ENTITIES["delivery"]))
    assert outcome.passed
    assert unexpected(outcome) == {"balanced": 0}


def test_planted_examples_name_the_damaged_keys(quality_copy: Path) -> None:
    plant(quality_copy, *PLANTS[-3][1])
    outcome = run(quality_copy, KPI_VALUE_RANGES)
    (amount,) = [e for e in outcome.expectations if e.column == "amount"]
    assert amount.examples == [
        {
            "kpi_code": "new_members",
            "period_grain": "year",
            "period_start": "2024-01-01",
            "district_code": "ALL",
        }
    ]


def test_outcome_mix_reports_the_divergence(quality_copy: Path) -> None:
    clean = run(quality_copy, CASE_OUTCOME_MIX)
    plant(quality_copy, *PLANTS[8][1])
    skewed = run(quality_copy, CASE_OUTCOME_MIX)
    assert clean.expectations[0].observed_value < 0.15 < skewed.expectations[0].observed_value
    # every closed case WITHDRAWN: KL(observed || expected) = ln(1 / 0.16)
    assert skewed.expectations[0].observed_value == pytest.approx(math.log(1 / 0.16))


@pytest.mark.parametrize("suite", [CASE_OUTCOME_MIX, NEW_FORM_JOIN_SHARE], ids=lambda s: s.name)
def test_distributions_are_not_judged_from_a_handful_of_records(
    quality_copy: Path, suite: Suite
) -> None:
    """A small federation: 29 closed cases or joins in the year, every one of a kind far
    outside the band, is below distribution.min_records (30) and not judged."""
    entity = "case_current" if suite is CASE_OUTCOME_MIX else "membership_event_current"
    keep = (
        "closed_at is not null and outcome is not null"
        if suite is CASE_OUTCOME_MIX
        else "event_type = 'JOIN'"
    )
    skew = (
        "update raw.case_current set outcome = 'WITHDRAWN'"
        if suite is CASE_OUTCOME_MIX
        else "update raw.membership_event_current set employment_form = 'NEW_FORM'"
    )
    latest, key = (
        ("closed_at", "case_id") if suite is CASE_OUTCOME_MIX else ("event_date", "event_id")
    )
    plant(
        quality_copy,
        f"delete from raw.{entity} where not ({keep})",
        f"delete from raw.{entity} where {key} not in "
        f"(select {key} from raw.{entity} order by {latest} desc, {key} limit 29)",
        skew,
    )
    outcome = run(quality_copy, suite)
    assert outcome.passed
    assert list(outcome.observed.values())[0] == 29


def test_an_explained_kpi_jump_passes(quality_copy: Path, tmp_path: Path) -> None:
    plant(quality_copy, *PLANTS[-1][1])
    config = tmp_path / "config" / "thresholds.yml"
    config.parent.mkdir()
    shutil.copy(DEFAULT_CONFIG, config)
    (config.parent / "kpi_explanations.csv").write_text(
        "kpi_code,period_start,district_code,explanation\n"
        "members_active_end,2023-06-01,ALL,membership drive counted twice (test)\n"
        "members_active_end,2023-07-01,ALL,back to normal after the drive (test)\n",
        encoding="utf-8",
    )
    assert not run(quality_copy, KPI_MONTHLY_JUMPS).passed
    assert run(quality_copy, KPI_MONTHLY_JUMPS, thresholds=load_thresholds(config)).passed


def test_monthly_jumps_severity_is_configurable(tmp_path: Path) -> None:
    config = tmp_path / "thresholds.yml"
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace("severity: WARN", "severity: ERROR")
    config.write_text(text, encoding="utf-8")
    shutil.copy(DEFAULT_CONFIG.with_name("kpi_explanations.csv"), tmp_path)
    assert KPI_MONTHLY_JUMPS.effective_severity(load_thresholds()) is Severity.WARN
    assert KPI_MONTHLY_JUMPS.effective_severity(load_thresholds(config)) is Severity.ERROR


def test_freshness_fails_stale_and_passes_fresh_loads(quality_copy: Path) -> None:
    suite = freshness_suite(ENTITIES["member"])
    stale = run(quality_copy, suite)
    assert unexpected(stale) == {"hours_since_load": 0, "source_lag_days": 1}
    assert stale.observed["source_lag_days"] > 600  # the demo world ends on 2024-12-31
    plant(
        quality_copy,
        "update meta.loads set watermark = loaded_at - interval 6 hour "
        "where source = 'membership' and entity = 'member'",
    )
    assert run(quality_copy, suite).passed
    plant(
        quality_copy,
        "update meta.loads set loaded_at = loaded_at - interval 3 day "
        "where source = 'membership' and entity = 'member'",
    )
    assert unexpected(run(quality_copy, suite)) == {"hours_since_load": 1, "source_lag_days": 0}


def test_freshness_judges_record_lag_against_the_sources_as_of_date(
    quality_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = freshness_suite(ENTITIES["member"])
    with duckdb.connect(str(quality_copy), read_only=True) as con:
        ((newest,),) = con.execute(
            "select max(watermark) from meta.loads where entity = 'member'"
        ).fetchall()
    monkeypatch.setenv(ENV_SOURCES_AS_OF, "2024-12-31")
    fresh = run(quality_copy, suite)
    assert fresh.passed
    end_of_day = dt.datetime(2025, 1, 1)
    hours = (end_of_day - newest.replace(minute=0, second=0, microsecond=0)).total_seconds()
    assert fresh.observed["source_lag_days"] == hours // 3600 / 24
    assert fresh.observed["lag_judged_against"] == "sources as of 2024-12-31"
    # Two months on, the same records are stale.
    monkeypatch.setenv(ENV_SOURCES_AS_OF, "2025-03-01")
    assert unexpected(run(quality_copy, suite)) == {"hours_since_load": 0, "source_lag_days": 1}
    monkeypatch.setenv(ENV_SOURCES_AS_OF, "31/12/2024")
    with pytest.raises(ValueError, match="UNIONWH_SOURCES_AS_OF='31/12/2024'"):
        run(quality_copy, suite)


def test_chunked_validation_sums_to_the_whole_batch(quality_copy: Path) -> None:
    whole = run(quality_copy, MEMBER_VALIDITY)
    chunked = run(quality_copy, MEMBER_VALIDITY, chunk_rows=5000, whole=True)
    assert (whole.chunks, chunked.chunks) == (1, 6)
    assert (
        unexpected(chunked)
        == unexpected(whole)
        == {
            "id_valid": 2,
            "phone_valid": 2,
            "gender_matches_id": 2,
        }
    )
    plant(quality_copy, *PLANTS[0][1])
    assert not run(quality_copy, MEMBER_VALIDITY, chunk_rows=5000).passed


def findings(outcomes: list[SuiteOutcome]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        o.suite: [
            (e.column, e.element_count, e.missing_count, e.unexpected_count, e.success)
            for e in o.expectations
        ]
        for o in outcomes
    }


def test_the_next_run_validates_the_new_loads_rows_and_finds_what_a_whole_run_does(
    quality_copy: Path,
) -> None:
    suites = [s for s in raw_suites() if s.load_column is not None]
    assert len(suites) == 12  # every validity and reference suite
    first = run_suites(quality_copy, suites, build_docs=False)
    assert {o.gx_rows for o in first} == {None}  # nothing validated yet: every row
    again = run_suites(quality_copy, suites, build_docs=False)
    assert {o.gx_rows for o in again} == {0}
    assert findings(again) == findings(first)

    # A new load rewrites 40 valid members, 4 of them with a bad phone; an old member's ID
    # check character breaks in place (no load of its own); two unions are deleted, so what
    # they handled no longer resolves: rows of old loads whose verdict changed.
    plant(
        quality_copy,
        """create temp table rewritten as
        select member_id, row_number() over (order by member_id) as n
        from raw.member_current
        where not _is_deleted and id_valid and phone_valid
        order by member_id
        limit 40""",
        """update raw.member_current
        set _load_id = 'a-new-load', phone_valid = (select n > 4 from rewritten as w
                                                     where w.member_id = member_current.member_id)
        where member_id in (select member_id from rewritten)""",
        """update raw.member_current set id_valid = false
        where member_id = (select max(member_id) from raw.member_current
                           where not _is_deleted and id_valid)""",
        """update raw.union_org_current set _is_deleted = true
        where union_id in (select handling_union_id from raw.case_current
                           where handling_union_id is not null
                           group by all order by count(*) desc, 1 limit 2)""",
    )
    day = run_suites(quality_copy, suites, build_docs=False)
    assert {o.suite: o.gx_rows for o in day if o.gx_rows} == {MEMBER_VALIDITY.gx_name: 40}
    whole = run_suites(quality_copy, suites, build_docs=False, whole=True)
    assert {o.gx_rows for o in whole} == {None}
    assert findings(day) == findings(whole)
    before, after = findings(first), findings(day)
    assert {c: n for c, _, _, n, _ in after[MEMBER_VALIDITY.gx_name]} == {
        "id_valid": 2 + 1,
        "phone_valid": 2 + 4,
        "gender_matches_id": 2,
    }
    orphaned = after[CASE_UNION_KNOWN.gx_name][0][3] - before[CASE_UNION_KNOWN.gx_name][0][3]
    with duckdb.connect(str(quality_copy), read_only=True) as con:
        ((handled,),) = con.sql(
            """select count(*) from raw.case_current as c
            join raw.union_org_current as u on c.handling_union_id = u.union_id
            where u._is_deleted and not c._is_deleted"""
        ).fetchall()
        flagged = con.sql(
            """select _load_id = 'a-new-load', list(member_id) from raw.member_current
            where not phone_valid and not _is_deleted group by all"""
        ).fetchall()
    assert orphaned == handled > 0
    new, old = (set(dict(flagged)[b]) for b in (True, False))
    assert (len(new), len(old)) == (4, 2)
    (member,) = [o for o in day if o.suite == MEMBER_VALIDITY.gx_name]
    (phones,) = [e for e in member.expectations if e.column == "phone_valid"]
    # the examples name the new load's flagged rows first, then the old loads'
    examples = [example["member_id"] for example in phones.examples]
    assert set(examples[:4]) == new and examples[4] in old and not phones.success

    # The record of what was validated is a cache: unreadable, every row is validated again.
    seen = quality_dir(quality_copy) / "loads_seen" / f"{MEMBER_VALIDITY.gx_name}.json"
    assert "a-new-load" in seen.read_text(encoding="utf-8")
    seen.write_text("{torn", encoding="utf-8")
    (rerun,) = run_suites(quality_copy, [MEMBER_VALIDITY], build_docs=False)
    assert rerun.gx_rows is None
    assert findings([rerun]) == {MEMBER_VALIDITY.gx_name: after[MEMBER_VALIDITY.gx_name]}


def test_an_emptied_table_counts_zero_rows_whichever_way_it_is_validated(
    quality_copy: Path,
) -> None:
    suites = [HOTLINE_VALIDITY, RECONCILIATION["fct_hotline_requests"]]
    run_suites(quality_copy, suites, build_docs=False)  # the loads it has validated
    plant(
        quality_copy,
        "delete from raw.hotline_request_current",
        "delete from marts.fct_hotline_requests",
    )
    empty = {
        HOTLINE_VALIDITY.gx_name: [("caller_phone_valid", 0, 0, 0, True)],
        RECONCILIATION["fct_hotline_requests"].gx_name: [
            ("times_in_fact", 0, 0, 0, True),
            ("live_in_raw", 0, 0, 0, True),
        ],
    }
    for whole in (False, True):
        outcomes = run_suites(quality_copy, suites, build_docs=False, whole=whole)
        assert findings(outcomes) == empty
        assert [o.rows for o in outcomes] == [0, 0]


# --- quarantine ----------------------------------------------------------------------------


def test_quarantine_counts_are_the_simulator_planted_rejections(
    quality_copy: Path, demo_manifest: dict[str, Any]
) -> None:
    outcomes = summarise_quarantine(quality_copy, list(ENTITIES.values()))
    found = {o.entity.name: o.by_rule for o in outcomes}
    expected: dict[str, Counter[str]] = {e: Counter() for e in ENTITIES}
    for p in demo_manifest["planted"]:
        if p["treatment"] == "rejected":
            expected[p["entity"]][p["rule"]] += 1
    assert found == {e: dict(sorted(c.items())) for e, c in expected.items()}
    assert {o.entity.name for o in outcomes if o.passed} == {"station", "station_visit"}
    assert {o.severity for o in outcomes} == {Severity.WARN}


def _quarantine_load(warehouse: Path, read: int, rejected: int) -> None:
    plant(
        warehouse,
        "insert into meta.loads by name select 'plant-delivery' as load_id, "
        "'services' as source, 'delivery' as entity, "
        f"{LATER} as loaded_at, current_date as load_date, "
        f"{read} as rows_read, {read - rejected} as rows_new, 0 as rows_updated, "
        f"0 as rows_unchanged, 0 as rows_deleted, {rejected} as rows_quarantined, "
        "0 as rows_flagged",
        "insert into quarantine.records by name select 'services' as source, "
        "'delivery' as entity, 'D' || i as record_key, 'plant.csv' as file, i as line, "
        "'unknown_code' as rule, 'program_code' as column_name, 'plant-delivery' as _load_id "
        f"from range({rejected}) as t(i)",
    )


@pytest.mark.parametrize(
    ("read", "rejected", "passed", "severity"),
    [
        (1000, 0, True, Severity.WARN),
        (1000, 5, False, Severity.WARN),
        (1000, 50, False, Severity.ERROR),
        (100, 9, False, Severity.WARN),
    ],
)
def test_quarantine_rate_sets_the_severity(
    quality_copy: Path, read: int, rejected: int, passed: bool, severity: Severity
) -> None:
    _quarantine_load(quality_copy, read, rejected)  # a later load than the demo's
    (outcome,) = summarise_quarantine(quality_copy, [ENTITIES["delivery"]])
    assert (outcome.passed, outcome.severity) == (passed, severity)
    assert outcome.by_rule == ({"unknown_code": rejected} if rejected else {})
    assert outcome.metadata()["rows_quarantined"] == rejected
