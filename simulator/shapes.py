"""Shapes: federations unlike the demo, to stress the pipeline (`generate --shape NAME`).

Shapes combine (`--shape one-district,late-keys`); none gives the demo's world unchanged.

- `one-district`: the federation covers one district (110105): one district federation and
  about 50 grassroots unions (the union count is fixed: 44 founded before 2020, one or two a
  year after), with every member, case, request, station and delivery in that district.
  `--scale` still scales members and activity as for the whole city.
- `late-keys`: on the generate day some keys arrive after the facts that use them: about 15 %
  of the grassroots unions and of the members that the day's deliveries, case versions and
  hotline requests reference are missing from the membership database (with every member who
  has an event in such a union), and about 15 % of the stations that deliveries and visits
  reference are missing from every station snapshot. They are entered the next day, 2025-01-01:
  `advance` publishes them (membership rows stamped that morning, the stations in the
  2025-01-01 snapshot). Facts count by their own attributes (KPIS.md), and membership events
  arrive with their members, so every KPI stays exact on both days. Honors of late unions
  and members stay published: facts whose keys are not known yet, like the others.
- `flagged-heavy`: about 15 % flagged records of every flagged kind (SOURCES.md, "Flagged"):
  members with a wrong ID check character, a gender disagreeing with the ID, a phone that is
  not 11 digits; unions with a wrong USCC check character (own or employer's); cases with a
  wrong employer USCC, a first claimant's wrong ID or phone; hotline callers' phones. Flagged
  records load and count, so the KPIs do not change.
- `skewed`: 80 % of the activity (unions and so members, cases, requests, stations,
  deliveries) in one district, 110111 (a GB18030 district); the rest as in the city.
- `empty-services-day-one`: on the generate day the landing directory holds only the catalogue
  and station snapshots; every delivery file and visit workbook (and their planted bad input)
  appears with the next `advance`.

`shape.json` beside the manifest says, for the as-of day, what the pipeline's raw checks must
find: per check and measure the rows checked and failing (simulator/checks.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import polars as pl

from simulator import calibration as cal
from simulator.membership import end_of, unions_as_of
from simulator.randomness import stream
from simulator.world import Plan, World

ONE_DISTRICT = "one-district"
LATE_KEYS = "late-keys"
FLAGGED_HEAVY = "flagged-heavy"
SKEWED = "skewed"
EMPTY_SERVICES = "empty-services-day-one"
SHAPES = (ONE_DISTRICT, LATE_KEYS, FLAGGED_HEAVY, SKEWED, EMPTY_SERVICES)

ONE_DISTRICT_CODE = "110105"
# Unions planned through 2025 at any scale; about 50 exist on the base date.
ONE_DISTRICT_UNIONS = 55
SKEWED_DISTRICT = "110111"
SKEWED_SHARE = 0.8
FLAGGED_SHARE = 0.15
LATE_SHARE = 0.15


def parse_shapes(values: Iterable[str]) -> tuple[str, ...]:
    """Shape names from repeated and comma-separated options, in canonical order."""
    names = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(names - set(SHAPES))
    if unknown:
        raise ValueError(f"unknown shape(s) {', '.join(unknown)}; known: {', '.join(SHAPES)}")
    if {ONE_DISTRICT, SKEWED} <= names:
        raise ValueError(f"{ONE_DISTRICT} and {SKEWED} exclude each other")
    return tuple(shape for shape in SHAPES if shape in names)


def plan_for(shapes: Iterable[str]) -> Plan:
    """Where the activity happens and how many unions there are, for these shapes."""
    shapes = set(shapes)
    if ONE_DISTRICT in shapes:
        total = cal.LEGACY_UNIONS + sum(
            t.new_single_unions + t.new_joint_unions for t in cal.TARGETS.values()
        )
        return Plan(weights={ONE_DISTRICT_CODE: 1.0}, union_scale=ONE_DISTRICT_UNIONS / total)
    if SKEWED in shapes:
        weights = {
            code: (1 - SKEWED_SHARE) * w + (SKEWED_SHARE if code == SKEWED_DISTRICT else 0.0)
            for code, w in cal.DISTRICT_WEIGHTS.items()
        }
        return Plan(weights=weights)
    return Plan()


def services_published(shapes: Iterable[str], as_of: dt.date) -> bool:
    """Whether the landing directory holds deliveries and visits on ``as_of``."""
    return EMPTY_SERVICES not in set(shapes) or as_of > cal.BASE_AS_OF


def visible(world: World, shapes: Iterable[str], as_of: dt.date) -> World:
    """The world as far as the sources show it on ``as_of`` (for the truth and the checks):
    without deliveries and visits while the empty-services shape holds them back."""
    if services_published(shapes, as_of):
        return world
    return dataclasses.replace(
        world, deliveries=world.deliveries.head(0), station_visits=world.station_visits.head(0)
    )


def reshape(
    world: World,
    chosen: tuple[str, ...],
    seed: int,
    as_of: dt.date,
    planted: list[dict[str, Any]],
) -> dict[str, Any]:
    """Apply the shapes that change records of the planned world (after the default planting,
    whose records they leave alone, given as ``planted``); returns what they did, for
    shape.json."""
    done: dict[str, Any] = {}
    if FLAGGED_HEAVY in chosen:
        flag_heavily(world, stream(seed, "shape-flagged-heavy"), planted)
        done[FLAGGED_HEAVY] = {"share": FLAGGED_SHARE}
    if LATE_KEYS in chosen:
        done[LATE_KEYS] = delay_keys(world, stream(seed, "shape-late-keys"), as_of)
    if ONE_DISTRICT in chosen:
        done[ONE_DISTRICT] = {"district_code": ONE_DISTRICT_CODE}
    if SKEWED in chosen:
        done[SKEWED] = {
            "district_code": SKEWED_DISTRICT,
            "share": SKEWED_SHARE,
        }
    if EMPTY_SERVICES in chosen:
        done[EMPTY_SERVICES] = {"services_from": (as_of + dt.timedelta(days=1)).isoformat()}
    return done


# --- flagged-heavy ---------------------------------------------------------------------------


def _mask(n: int, idx: np.ndarray) -> pl.Series:
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return pl.Series(values=mask)


def _share(n: int) -> int:
    return round(FLAGGED_SHARE * n)


def _wrong_check_char(text: pl.Expr) -> pl.Expr:
    """An 18-character code with its check character replaced, so the check fails (as
    identifiers.corrupt_check_char does)."""
    return text.str.slice(0, 17) + (
        pl.when(text.str.slice(17, 1) == "0").then(pl.lit("1")).otherwise(pl.lit("0"))
    )


def _bad_phone(text: pl.Expr, short: pl.Expr) -> pl.Expr:
    """A phone that is not 11 digits: one digit short, or one too many."""
    return pl.when(short).then(text.str.slice(0, 10)).otherwise(text + "8")


def _disjoint(
    rng: np.random.Generator, n: int, k: int, parts: int, eligible: np.ndarray | None = None
) -> list[np.ndarray]:
    """``parts`` disjoint sets of ``k`` row indices (fewer when not enough are eligible)."""
    order = rng.permutation(n)
    if eligible is not None:
        order = order[eligible[order]]
    return [order[i * k : (i + 1) * k] for i in range(parts)]


def flag_heavily(world: World, rng: np.random.Generator, planted: list[dict[str, Any]]) -> None:
    """About 15 % flagged records of every flagged kind. Records the default planting already
    made bad are left alone, so its manifest entries stay exact."""
    skip = {(p["entity"], p["key"]) for p in planted}
    world.members = _flag_members(world.members, rng, skip)
    world.unions = _flag_unions(world.unions, rng, skip)
    world.cases = _flag_cases(world.cases, rng, skip)
    world.hotline = _flag_hotline(world.hotline, rng, skip)


def _not_planted(keys: pl.Series, entity: str, skip: set[tuple[str, str]]) -> np.ndarray:
    return np.array([(entity, k) not in skip for k in keys.to_list()], dtype=bool)


def _flag_members(m: pl.DataFrame, rng: np.random.Generator, skip: set) -> pl.DataFrame:
    resident = (m["id_type"] == "RESIDENT_ID").to_numpy()
    eligible = resident & _not_planted(m["member_id"], "member", skip)
    bad_id, flip, bad_phone = _disjoint(rng, m.height, _share(int(resident.sum())), 3, eligible)
    short = rng.random(m.height) < 0.5
    return m.with_columns(
        id_number=pl.when(_mask(m.height, bad_id))
        .then(_wrong_check_char(pl.col("id_number")))
        .otherwise(pl.col("id_number")),
        gender=pl.when(_mask(m.height, flip))
        .then(pl.when(pl.col("gender") == "M").then(pl.lit("F")).otherwise(pl.lit("M")))
        .otherwise(pl.col("gender")),
        phone=pl.when(_mask(m.height, bad_phone))
        .then(_bad_phone(pl.col("phone"), pl.lit(pl.Series(values=short))))
        .otherwise(pl.col("phone")),
    )


def _flag_unions(u: pl.DataFrame, rng: np.random.Generator, skip: set) -> pl.DataFrame:
    """Half the share with a wrong own USCC, half (of single unions) a wrong employer's."""
    eligible = _not_planted(u["union_id"], "union_org", skip)
    single = (u["union_type"] == "SINGLE").to_numpy()
    half = round(FLAGGED_SHARE / 2 * u.height)
    (own,) = _disjoint(rng, u.height, half, 1, eligible)
    eligible[own] = False
    (employer,) = _disjoint(rng, u.height, half, 1, eligible & single)
    return u.with_columns(
        union_uscc=pl.when(_mask(u.height, own))
        .then(_wrong_check_char(pl.col("union_uscc")))
        .otherwise(pl.col("union_uscc")),
        employer_uscc=pl.when(_mask(u.height, employer))
        .then(_wrong_check_char(pl.col("employer_uscc")))
        .otherwise(pl.col("employer_uscc")),
    )


def _first_claimant(field: str, change: pl.Expr) -> pl.Expr:
    """The claimants list with ``field`` of its first claimant replaced by ``change``."""
    first = pl.int_range(pl.len()) == 0
    return pl.col("claimants").list.eval(
        pl.element().struct.with_fields(
            pl.when(first).then(change).otherwise(pl.field(field)).alias(field)
        )
    )


def _flag_cases(c: pl.DataFrame, rng: np.random.Generator, skip: set) -> pl.DataFrame:
    """Disjoint sets: a wrong employer USCC; the first claimant's wrong ID check character
    (resident IDs only: other documents are not checked); the first claimant's phone."""
    eligible = _not_planted(c["case_id"], "case", skip)
    k = _share(c.height)
    (employer,) = _disjoint(rng, c.height, k, 1, eligible)
    eligible[employer] = False
    first_id = c["claimants"].list.first().struct.field("id_number")
    resident = (first_id.str.len_chars() == 18).to_numpy()
    (bad_id,) = _disjoint(rng, c.height, k, 1, eligible & resident)
    eligible[bad_id] = False
    (bad_phone,) = _disjoint(rng, c.height, k, 1, eligible)
    short, long = bad_phone[::2], bad_phone[1::2]
    return c.with_columns(
        employer_uscc=pl.when(_mask(c.height, employer))
        .then(_wrong_check_char(pl.col("employer_uscc")))
        .otherwise(pl.col("employer_uscc")),
    ).with_columns(
        claimants=pl.when(_mask(c.height, bad_id))
        .then(_first_claimant("id_number", _wrong_check_char(pl.field("id_number"))))
        .when(_mask(c.height, short))
        .then(_first_claimant("phone", _bad_phone(pl.field("phone"), pl.lit(True))))
        .when(_mask(c.height, long))
        .then(_first_claimant("phone", _bad_phone(pl.field("phone"), pl.lit(False))))
        .otherwise(pl.col("claimants"))
    )


def _flag_hotline(h: pl.DataFrame, rng: np.random.Generator, skip: set) -> pl.DataFrame:
    eligible = _not_planted(h["request_id"], "hotline_request", skip)
    (bad,) = _disjoint(rng, h.height, _share(h.height), 1, eligible)
    short = rng.random(h.height) < 0.5
    return h.with_columns(
        caller_phone=pl.when(_mask(h.height, bad))
        .then(_bad_phone(pl.col("caller_phone"), pl.lit(pl.Series(values=short))))
        .otherwise(pl.col("caller_phone"))
    )


# --- late-keys -------------------------------------------------------------------------------


def arrival_day(as_of: dt.date) -> dt.date:
    return as_of + dt.timedelta(days=1)


def _choose_late(rng: np.random.Generator, candidates: set[str], must: set[str]) -> list[str]:
    """About LATE_SHARE of ``candidates`` (at least one), one of them from ``must`` when it
    has any, so each kind of fact meets a late key."""
    pool = sorted(candidates)
    if not pool:
        return []
    k = max(1, round(LATE_SHARE * len(pool)))
    first = sorted(must & candidates)
    chosen = [first[int(rng.integers(0, len(first)))]] if first else []
    rest = [key for key in pool if key not in chosen]
    picks = rng.choice(len(rest), min(k - len(chosen), len(rest)), replace=False)
    return sorted(chosen + [rest[i] for i in picks])


def _day_facts(world: World, as_of: dt.date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The deliveries, case versions and hotline requests the sources publish on ``as_of``."""
    lo, hi = end_of(as_of - dt.timedelta(days=1)), end_of(as_of)

    def within(col: str) -> pl.Expr:
        return (pl.col(col) > lo) & (pl.col(col) <= hi)

    deliveries = world.deliveries.filter(within("recorded_at"))
    changed = world.case_events.filter(within("at"))["case_id"].unique()
    if changed.is_empty():  # a small world's quiet day: its latest case version instead
        seen = world.case_events.filter(pl.col("at") <= hi)
        changed = seen.filter(pl.col("at") == pl.col("at").max())["case_id"].unique()
    cases = world.cases.filter(pl.col("case_id").is_in(changed.implode()))
    hotline = world.hotline.filter(
        within("received_at") | within("assigned_at") | within("closed_at")
    ).with_columns(
        assigned_union_id=pl.when(pl.col("assigned_at") <= hi).then(pl.col("assigned_union_id"))
    )
    return deliveries, cases, hotline


def _keys(frame: pl.DataFrame, col: str) -> set[str]:
    return set(frame[col].drop_nulls().to_list())


def delay_keys(world: World, rng: np.random.Generator, as_of: dt.date) -> dict[str, Any]:
    """Hold back some unions, members and stations that the day's facts reference until the
    next day; returns what was held back."""
    deliveries, cases, hotline = _day_facts(world, as_of)
    end = end_of(as_of)
    grassroots = unions_as_of(world.unions, as_of).filter(pl.col("parent_union_id").is_not_null())
    case_unions = _keys(cases, "handling_union_id")
    union_refs = _keys(deliveries, "union_id") | case_unions | _keys(hotline, "assigned_union_id")
    late_unions = _choose_late(rng, union_refs & _keys(grassroots, "union_id"), case_unions)

    seen = world.events.filter(pl.col("recorded_at") <= end)
    claimants = cases.select(pl.col("claimants").explode().struct.field("member_id"))
    delivered_to = _keys(deliveries, "member_id")
    member_refs = delivered_to | _keys(claimants, "member_id") | _keys(hotline, "caller_member_id")
    chosen = _choose_late(rng, member_refs & _keys(seen, "member_id"), delivered_to)
    # A member of a late union arrives with it: the membership system itself stays consistent.
    in_late_unions = _keys(seen.filter(pl.col("union_id").is_in(late_unions)), "member_id")
    late_members = sorted(set(chosen) | in_late_unions)

    arrival = dt.datetime.combine(arrival_day(as_of), dt.time(9, 0))
    world.unions = _restamp_unions(world.unions, late_unions, arrival)
    world.events = _restamp_events(world.events, late_members, end, arrival)
    late_stations = _delay_stations(world, rng, as_of)
    return {
        "arrive_on": arrival_day(as_of).isoformat(),
        "unions": len(late_unions),
        "members": len(late_members),
        "members_referenced": len(chosen),
        "stations": len(late_stations),
    }


def _restamp_unions(unions: pl.DataFrame, late: list[str], arrival: dt.datetime) -> pl.DataFrame:
    """Late unions are created (and, if already dissolved, dissolved) on arrival, so their
    rows carry the arrival's stamps and an incremental extraction finds them."""
    hit = pl.col("union_id").is_in(late)
    created = pl.lit(arrival) + pl.duration(seconds=hit.cast(pl.Int64).cum_sum())
    return unions.with_columns(
        created_at=pl.when(hit).then(created).otherwise(pl.col("created_at"))
    ).with_columns(
        dissolved_at=pl.when(hit & pl.col("dissolved_at").is_not_null())
        .then(pl.max_horizontal("dissolved_at", "created_at"))
        .otherwise(pl.col("dissolved_at"))
    )


def _restamp_events(
    events: pl.DataFrame, late: list[str], end: Any, arrival: dt.datetime
) -> pl.DataFrame:
    """A late member's events recorded by ``end`` are recorded on arrival instead, a second
    apart in their original order (which orders a member's events of the same date)."""
    hit = pl.col("member_id").is_in(late) & (pl.col("recorded_at") <= end)
    rank = pl.col("recorded_at").rank("ordinal").over("member_id", "_hit")
    return (
        events.with_columns(_hit=hit)
        .with_columns(
            recorded_at=pl.when(pl.col("_hit"))
            .then(pl.lit(arrival) + pl.duration(seconds=rank))
            .otherwise(pl.col("recorded_at"))
        )
        .drop("_hit")
    )


def _delay_stations(world: World, rng: np.random.Generator, as_of: dt.date) -> list[str]:
    """Stations that deliveries and published visits reference, left out of every snapshot
    until the one of the arrival day's month."""
    from simulator.writers import stations_as_of, visits_publish_day

    end = end_of(as_of)
    listed = _keys(stations_as_of(world.stations, as_of), "station_id")
    used = _keys(world.deliveries.filter(pl.col("recorded_at") <= end), "station_id")
    months = world.station_visits["date"].dt.truncate("1mo").unique().to_list()
    published = [m for m in months if visits_publish_day(m) <= as_of]
    visited = _keys(
        world.station_visits.filter(pl.col("date").dt.truncate("1mo").is_in(published)),
        "station_id",
    )
    late = _choose_late(rng, (used | visited) & listed, used)
    arrival = arrival_day(as_of)
    listed_on = dt.date(arrival.year, arrival.month, 1)
    if listed_on != arrival:
        raise ValueError("late stations arrive with the next monthly snapshot: the base date")
    world.stations = world.stations.with_columns(
        listed_on=pl.when(pl.col("station_id").is_in(late)).then(pl.lit(listed_on))
    )
    return late
