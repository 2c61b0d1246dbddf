"""Ground truth: every KPI of KPIS.md per year, city-wide and per district, computed in Python
from the simulator's own records (never from warehouse SQL).

The world holds only records that count: planted rejected records never enter it, flagged ones
are in it as loaded, reconciled ones (resends, revisions) are in it once, in their final form,
and hard-deleted records have been removed from it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from simulator import calibration as cal
from simulator.membership import end_of, honors_as_of, unions_as_of
from simulator.reference import IN_UNION_EVENTS

DISTRICTS = tuple(sorted(cal.DISTRICT_WEIGHTS))
CITY_ONLY = {
    "app_service_items_cumulative", "app_person_times_cumulative", "labour_certificates",
    "labour_medals", "worker_pioneers",
}  # fmt: skip
KPI_ORDER = (
    "new_single_unions", "new_members", "new_members_new_form", "members_active_end",
    "disputes_accepted", "disputes_mediated", "disputes_legal_aid", "disputes_recovered_yuan",
    "hotline_requests", "hotline_closure_rate", "care_visits_person_times",
    "new_form_service_person_times", "culture_sports_person_times",
    "skills_competition_participants", "app_service_items_cumulative",
    "app_person_times_cumulative", "labour_certificates", "labour_medals", "worker_pioneers",
)  # fmt: skip


def _by_year(df: pl.DataFrame, date_col: str, value: pl.Expr) -> pl.DataFrame:
    """(year, district_code, value) for every district plus ALL."""
    keyed = df.with_columns(year=pl.col(date_col).dt.year())
    per_district = (
        keyed.filter(pl.col("district_code").is_not_null())
        .group_by("year", "district_code")
        .agg(value.alias("value"))
    )
    city = (
        keyed.group_by("year").agg(value.alias("value")).with_columns(district_code=pl.lit("ALL"))
    )
    return pl.concat([per_district, city.select(per_district.columns)])


def compute_kpis(world: Any, as_of: dt.date) -> list[dict[str, Any]]:
    end = end_of(as_of)
    years = list(range(cal.HISTORY_START.year, as_of.year + 1))
    union_district = world.unions.select("union_id", "district_code")
    results: dict[str, pl.DataFrame] = {}

    unions = unions_as_of(world.unions, as_of).filter(pl.col("union_type") == "SINGLE")
    results["new_single_unions"] = _by_year(unions, "founded_on", pl.len())

    events = world.events.filter(pl.col("recorded_at") <= end).join(
        union_district, on="union_id", how="left"
    )
    joins = events.filter(pl.col("event_type") == "JOIN")
    results["new_members"] = _by_year(joins, "event_date", pl.len())
    results["new_members_new_form"] = _by_year(
        joins.filter(pl.col("employment_form") == "NEW_FORM"), "event_date", pl.len()
    )
    active = []
    ordered = events.sort("event_date", "recorded_at")
    for year in years:
        period_end = dt.date(year, 12, 31)
        latest = (
            ordered.filter(pl.col("event_date") <= period_end)
            .group_by("member_id")
            .agg(pl.col("event_type").last(), pl.col("district_code").last())
            .filter(pl.col("event_type").is_in(IN_UNION_EVENTS))
            .with_columns(d=pl.lit(period_end))
        )
        active.append(_by_year(latest, "d", pl.len()))
    results["members_active_end"] = pl.concat(active)

    case_events = world.case_events.filter(pl.col("at") <= end).join(
        world.cases.select("case_id", "district_code", "recovered_cents"), on="case_id"
    )
    kinds = {
        "disputes_accepted": "RECEIVED",
        "disputes_mediated": "MEDIATION_SUCCEEDED",
        "disputes_legal_aid": "LEGAL_AID_GRANTED",
    }
    for code, etype in kinds.items():
        results[code] = _by_year(case_events.filter(pl.col("type") == etype), "at", pl.len())
    results["disputes_recovered_yuan"] = _by_year(
        case_events.filter(pl.col("type") == "CLOSED"), "at", pl.col("recovered_cents").sum() / 100
    )

    hotline = world.hotline.filter(pl.col("received_at") <= end).with_columns(
        closed=pl.col("closed_at") <= end
    )
    results["hotline_requests"] = _by_year(hotline, "received_at", pl.len())
    results["hotline_closure_rate"] = _by_year(hotline, "received_at", pl.col("closed").mean())

    deliveries = world.deliveries.filter(pl.col("recorded_at") <= end).join(
        world.programs.select("program_code", "category"), on="program_code", how="left"
    )
    pt = pl.col("person_times").sum()
    care = pl.col("category").is_in(["WINTER_WARMTH", "SUMMER_COOLNESS"])
    for code, cond in (
        ("care_visits_person_times", care),
        ("new_form_service_person_times", pl.col("beneficiary_group") == "NEW_FORM_WORKER"),
        ("culture_sports_person_times", pl.col("category") == "CULTURE_SPORTS"),
        ("skills_competition_participants", pl.col("category") == "SKILLS_COMPETITION"),
    ):
        results[code] = _by_year(deliveries.filter(cond), "delivered_on", pt)

    last_snapshot = dt.date(as_of.year, as_of.month, 1)
    app_programs = world.programs.filter(
        (pl.col("category") == "APP_SERVICE") & (pl.col("announced_on") <= last_snapshot)
    )
    app_deliveries = deliveries.filter(pl.col("channel") == "APP")
    cumulative = []
    for year in years:
        period_end = dt.date(year, 12, 31)
        cumulative.append(
            {
                "year": year,
                "app_service_items_cumulative": app_programs.filter(
                    pl.col("start_on") <= period_end
                ).height,
                "app_person_times_cumulative": int(
                    app_deliveries.filter(pl.col("delivered_on") <= period_end)[
                        "person_times"
                    ].sum()
                ),
            }
        )
    for code in ("app_service_items_cumulative", "app_person_times_cumulative"):
        results[code] = pl.DataFrame(
            [{"year": c["year"], "district_code": "ALL", "value": c[code]} for c in cumulative]
        )

    honors = honors_as_of(world.honors, as_of).filter(
        ~pl.col("revoked") & pl.col("level").is_in(["MUNICIPAL", "NATIONAL"])
    )
    for code, htype in (
        ("labour_certificates", "LABOUR_CERTIFICATE"),
        ("labour_medals", "LABOUR_MEDAL"),
        ("worker_pioneers", "WORKER_PIONEER"),
    ):
        results[code] = _by_year(
            honors.filter(pl.col("honor_type") == htype).with_columns(
                district_code=pl.lit(None, pl.String)
            ),
            "awarded_on",
            pl.len(),
        )

    rows = []
    for code in KPI_ORDER:
        found = {
            (r["year"], r["district_code"]): r["value"] for r in results[code].iter_rows(named=True)
        }
        rate = code == "hotline_closure_rate"
        money = code == "disputes_recovered_yuan"
        for year in years:
            for district in ("ALL",) if code in CITY_ONLY else ("ALL", *DISTRICTS):
                value = found.get((year, district))
                if value is None and not rate:
                    value = 0
                if money and value is not None:
                    value = round(float(value), 2)
                elif value is not None and not rate:
                    value = int(value)
                rows.append(
                    {
                        "kpi_code": code,
                        "period_grain": "year",
                        "period_start": f"{year}-01-01",
                        "district_code": district,
                        "value": value,
                    }
                )
    return rows


def write_expected_kpis(out: Path, world: Any, as_of: dt.date) -> dict[str, Any]:
    rows = compute_kpis(world, as_of)
    document = {
        "as_of": as_of.isoformat(),
        "note": "Year-grain KPIs per KPIS.md, computed by the simulator from its own records.",
        "rows": rows,
    }
    (out / "expected_kpis.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return document


def city_year(document: dict[str, Any], year: int) -> dict[str, Any]:
    start = f"{year}-01-01"
    return {
        r["kpi_code"]: r["value"]
        for r in document["rows"]
        if r["district_code"] == "ALL" and r["period_start"] == start
    }
