"""The source contract (``docs/contracts/SOURCES.md``) as data: every entity's columns, their
kinds, and the code lists.

Validation (``ingestion.validation``) is driven entirely by these specs, so a rule added to
the contract is a line here, not code in three loaders. Code lists come from the project's
dbt seeds (``dbt_project/seeds``), the same tables the warehouse labels codes with.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"

# The People's Republic was founded on 1949-10-01; the contract treats earlier dates as bad.
EARLIEST_DATE = "1949-10-01"

Kind = Literal["str", "code", "int", "money", "float", "date", "timestamp", "timestamptz", "bool"]


@dataclass(frozen=True, slots=True)
class Column:
    """One contract column.

    ``domain`` names a code list (an enumeration seed domain or a reference seed) the value
    must belong to (for ``int`` columns, its decimal text). ``event_date`` marks dates of
    things that happened, so they may not lie after the load's date (due dates and
    catalogue end dates may). ``min_value``/``max_value`` bound an ``int`` column.
    """

    name: str
    kind: Kind = "str"
    required: bool = False
    domain: str | None = None
    event_date: bool = False
    min_value: int | None = None
    pii: bool = False
    max_value: int | None = None


def _col(name: str, kind: Kind = "str", **kw: object) -> Column:
    return Column(name, kind, **kw)  # type: ignore[arg-type]


def req(name: str, kind: Kind = "str", **kw: object) -> Column:
    return Column(name, kind, required=True, **kw)  # type: ignore[arg-type]


opt = _col


@dataclass(frozen=True, slots=True)
class Entity:
    """A source entity: its key, its change cursor and its columns in contract order."""

    source: str
    name: str
    key: str
    columns: tuple[Column, ...]
    cursor: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.source}.{self.name} has no column {name!r}")


UNION_ORG = Entity(
    "membership",
    "union_org",
    key="union_id",
    cursor="updated_at",
    columns=(
        req("union_id"),
        req("union_uscc"),
        req("union_name"),
        req("union_type", "code", domain="union_type"),
        opt("employer_uscc"),
        opt("employer_name"),
        req("unit_category", "code", domain="unit_categories"),
        req("industry_code", "code", domain="industries"),
        req("district_code", "code", domain="districts"),
        opt("parent_union_id"),
        req("founded_on", "date", event_date=True),
        req("headcount", "int", min_value=0),
        req("status", "code", domain="union_status"),
        opt("dissolved_on", "date", event_date=True),
        req("created_at", "timestamp", event_date=True),
        req("updated_at", "timestamp", event_date=True),
    ),
)

MEMBER = Entity(
    "membership",
    "member",
    key="member_id",
    cursor="updated_at",
    columns=(
        req("member_id"),
        req("union_id"),
        opt("name", pii=True),
        req("id_type", "code", domain="id_type"),
        opt("id_number", pii=True),
        opt("phone", pii=True),
        req("gender", "code", domain="gender"),
        req("birth_date", "date", event_date=True),
        req("ethnicity_code", "code", domain="ethnicities"),
        req("education", "code", domain="education"),
        req("hukou_type", "code", domain="hukou_type"),
        req("from_outside_beijing", "bool"),
        req("employment_form", "code", domain="employment_form"),
        opt("new_form_type", "code", domain="new_form_type"),
        opt("platform_name"),
        opt("skill_level", "int", domain="skill_level"),
        req("status", "code", domain="member_status"),
        req("joined_on", "date", event_date=True),
        req("created_at", "timestamp", event_date=True),
        req("updated_at", "timestamp", event_date=True),
    ),
)

MEMBERSHIP_EVENT = Entity(
    "membership",
    "membership_event",
    key="event_id",
    cursor="recorded_at",
    columns=(
        req("event_id"),
        req("member_id"),
        req("event_type", "code", domain="membership_event_type"),
        req("union_id"),
        opt("counterpart_union_id"),
        req("event_date", "date", event_date=True),
        opt("channel", "code", domain="join_channel"),
        req("employment_form", "code", domain="employment_form"),
        req("recorded_at", "timestamp", event_date=True),
    ),
)

HONOR = Entity(
    "membership",
    "honor",
    key="honor_id",
    cursor="updated_at",
    columns=(
        req("honor_id"),
        req("honor_type", "code", domain="honor_type"),
        req("level", "code", domain="honor_level"),
        opt("member_id"),
        req("union_id"),
        opt("team_name"),
        req("awarded_on", "date", event_date=True),
        req("revoked", "bool"),
        req("updated_at", "timestamp", event_date=True),
    ),
)

# Dispute records are JSON; nested parts (employer, claimants, events, claim_types) are
# validated by ``ingestion.disputes.records``. These are the scalar top-level fields.
CASE = Entity(
    "disputes",
    "case",
    key="case_id",
    cursor="updated_at",
    columns=(
        req("case_id"),
        req("case_no"),
        req("received_at", "timestamptz", event_date=True),
        req("source_channel", "code", domain="case_source_channel"),
        req("district_code", "code", domain="districts"),
        opt("handling_union_id"),
        req("is_collective", "bool"),
        opt("claim_amount", "money"),
        req("status", "code", domain="case_status"),
        opt("outcome", "code", domain="case_outcome"),
        opt("recovered_amount", "money"),
        opt("legal_aid", "bool"),
        opt("closed_at", "timestamptz", event_date=True),
        req("updated_at", "timestamptz", event_date=True),
    ),
)

HOTLINE_REQUEST = Entity(
    "disputes",
    "hotline_request",
    key="request_id",
    cursor="updated_at",
    columns=(
        req("request_id"),
        req("received_at", "timestamptz", event_date=True),
        req("channel", "code", domain="hotline_channel"),
        opt("caller_member_id"),
        opt("caller_phone", pii=True),
        opt("district_code", "code", domain="districts"),
        req("category", "code", domain="hotline_category"),
        req("topic", "code", domain="hotline_topic"),
        req("handling", "code", domain="hotline_handling"),
        opt("assigned_union_id"),
        req("complexity", "code", domain="hotline_complexity"),
        req("due_at", "timestamptz"),  # the contract lists it among the never-null fields
        opt("closed_at", "timestamptz", event_date=True),
        req("status", "code", domain="hotline_status"),
        opt("satisfaction", "int", min_value=1, max_value=5),  # the contract: 1..5
        opt("linked_case_id"),
        req("updated_at", "timestamptz", event_date=True),
    ),
)

PROGRAM = Entity(
    "services",
    "program",
    key="program_code",
    columns=(
        req("program_code"),
        req("name_zh"),
        opt("name_en"),
        req("category", "code", domain="program_category"),
        req("channel", "code", domain="program_channel"),
        req("start_on", "date"),
        opt("end_on", "date"),
        opt("owner_union_id"),
    ),
)

STATION = Entity(
    "services",
    "station",
    key="station_id",
    columns=(
        req("station_id"),
        req("name"),
        req("district_code", "code", domain="districts"),
        opt("address"),
        opt("longitude", "float"),
        opt("latitude", "float"),
        req("is_24h", "bool"),
        req("is_smart", "bool"),
        req("opened_on", "date", event_date=True),
        opt("closed_on", "date"),
    ),
)

DELIVERY = Entity(
    "services",
    "delivery",
    key="delivery_id",
    cursor="recorded_at",
    columns=(
        req("delivery_id"),
        req("program_code"),
        opt("member_id"),
        req("beneficiary_group", "code", domain="beneficiary_group"),
        req("union_id"),
        opt("union_name"),
        opt("station_id"),
        req("district_code", "code", domain="districts"),
        req("delivered_on", "date", event_date=True),
        req("person_times", "int", min_value=1),
        req("benefit_value_yuan", "money"),
        req("channel", "code", domain="delivery_channel"),
        req("recorded_at", "timestamp", event_date=True),
        opt("remark", pii=True),
    ),
)

STATION_VISIT = Entity(
    "services",
    "station_visit",
    key="station_id",  # with visit_date: the key is (station_id, visit_date)
    columns=(
        req("station_id"),
        req("visit_date", "date", event_date=True),
        req("visits", "int", min_value=0),
        req("new_form_visits", "int", min_value=0),
        req("reporting_union_id"),
    ),
)

# The xlsx sheets carry Chinese headers; this maps them to the contract's columns.
STATION_VISIT_HEADERS = {
    "驿站编号": "station_id",
    "日期": "visit_date",
    "服务人次": "visits",
    "其中新就业形态": "new_form_visits",
    "填报单位": "reporting_union_id",
}

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        UNION_ORG, MEMBER, MEMBERSHIP_EVENT, HONOR, CASE, HOTLINE_REQUEST,
        PROGRAM, STATION, DELIVERY, STATION_VISIT,
    )
}  # fmt: skip

# Reference seeds whose first column is the code; everything else is an enumerations domain.
_REFERENCE_SEEDS = {
    "districts": "district_code",
    "industries": "industry_code",
    "unit_categories": "unit_category",
    "ethnicities": "ethnicity_code",
}


def _read_seed(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def code_lists() -> dict[str, frozenset[str]]:
    """Every legal code, by domain (enumeration domains and reference seeds alike)."""
    lists: dict[str, set[str]] = {}
    for row in _read_seed("enumerations"):
        lists.setdefault(row["domain"], set()).add(row["code"])
    for seed, column in _REFERENCE_SEEDS.items():
        lists[seed] = {row[column] for row in _read_seed(seed)}
    return {domain: frozenset(codes) for domain, codes in lists.items()}


def codes(domain: str) -> frozenset[str]:
    try:
        return code_lists()[domain]
    except KeyError:
        raise KeyError(f"no code list {domain!r} in {SEEDS_DIR}") from None
