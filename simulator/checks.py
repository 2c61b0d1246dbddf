"""What the pipeline's raw checks must find in the published sources on a given day: for
every validity measure and cross-source reference (quality/raw_suites.py), the live current
records checked, those without a value to check, and those failing.

Computed from the simulator's own records, never from pipeline code: like the ground truth
(truth.py), it includes every bad value in the sources, whether the default planting or a
shape put it there. The world holds exactly the records that load: rejected ones never enter
it, hard-deleted ones have left it, and resends and revisions are in it once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from simulator.membership import end_of, members_as_of, unions_as_of

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# (entity, check, referencing column, referenced entity) as the raw suites name them.
REFERENCES = (
    ("case", "handling_union_known", "handling_union_id", "union_org"),
    ("delivery", "union_known", "union_id", "union_org"),
    ("hotline_request", "linked_case_resolves", "linked_case_id", "case"),
    ("hotline_request", "assigned_union_known", "assigned_union_id", "union_org"),
    ("delivery", "member_known", "member_id", "member"),
    ("delivery", "program_known", "program_code", "program"),
    ("delivery", "station_known", "station_id", "station"),
    ("station_visit", "station_known", "station_id", "station"),
)
SOURCE = {
    "union_org": "membership", "member": "membership", "case": "disputes",
    "hotline_request": "disputes", "program": "services", "station": "services",
    "delivery": "services", "station_visit": "services",
}  # fmt: skip
# Short names of what each failing measure counts, for readers of shape.json.
FLAG_NAMES = {
    ("member", "id_valid"): "member.invalid_id_check",
    ("member", "gender_matches_id"): "member.gender_mismatch",
    ("member", "phone_valid"): "member.invalid_phone",
    ("union_org", "uscc_valid"): "union_org.invalid_uscc_check",
    ("case", "employer_uscc_valid"): "case.invalid_employer_uscc_check",
    ("case", "claimant_ids_valid"): "case.invalid_claimant_id_check",
    ("case", "claimant_phones_valid"): "case.invalid_claimant_phone",
    ("hotline_request", "caller_phone_valid"): "hotline_request.invalid_caller_phone",
}
UNKNOWN_NAMES = {
    ("case", "handling_union_id"): "case.unknown_handling_union",
    ("delivery", "union_id"): "delivery.unknown_union",
    ("hotline_request", "linked_case_id"): "hotline_request.unknown_linked_case",
    ("hotline_request", "assigned_union_id"): "hotline_request.unknown_assigned_union",
    ("delivery", "member_id"): "delivery.unknown_member",
    ("delivery", "program_code"): "delivery.unknown_program",
    ("delivery", "station_id"): "delivery.unknown_station",
    ("station_visit", "station_id"): "station_visit.unknown_station",
}


# --- Validity, as SOURCES.md defines it ----------------------------------------------------


def resident_id_ok(text: pl.Expr) -> pl.Expr:
    """GB 11643: 17 digits and the MOD 11-2 check character, with a real birth date."""
    text = text.str.strip_chars().str.to_uppercase()
    total = pl.sum_horizontal(
        text.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(ID_WEIGHTS)
    )
    check = total.mod(11).replace_strict(dict(enumerate(ID_CHECK)), default=None)
    born = text.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    return (
        text.str.contains(r"^[0-9]{17}[0-9X]$")
        & (text.str.slice(17, 1) == check).fill_null(False)
        & born.is_not_null()
    )


def uscc_ok(text: pl.Expr) -> pl.Expr:
    """GB 32100: 18 characters of its alphabet and the MOD 31 check character."""
    text = text.str.strip_chars().str.to_uppercase()
    index = {c: i for i, c in enumerate(USCC_CHARS)}
    values = [text.str.slice(i, 1).replace_strict(index, default=None) for i in range(18)]
    total = pl.sum_horizontal(v * w for v, w in zip(values, USCC_WEIGHTS, strict=False))
    return (
        (text.str.len_chars() == 18)
        & pl.all_horizontal(v.is_not_null() for v in values)
        & (values[17] == (31 - total.mod(31)).mod(31)).fill_null(False)
    )


def phone_ok(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.contains(r"^1[0-9]{10}$")


def id_gender(text: pl.Expr) -> pl.Expr:
    """'M' when the 17th digit is odd, 'F' when even."""
    digit = text.str.strip_chars().str.slice(16, 1).cast(pl.Int64, strict=False)
    return pl.when(digit.mod(2) == 1).then(pl.lit("M")).otherwise(pl.lit("F"))


def _member_measures() -> dict[str, pl.Expr]:
    resident = (pl.col("id_type") == "RESIDENT_ID") & pl.col("id_number").is_not_null()
    valid_id = resident & resident_id_ok(pl.col("id_number"))
    return {
        "id_valid": pl.when(resident).then(resident_id_ok(pl.col("id_number"))),
        "phone_valid": phone_ok(pl.col("phone")),
        # Only a valid ID says a gender to compare with.
        "gender_matches_id": pl.when(valid_id).then(
            pl.col("gender") == id_gender(pl.col("id_number"))
        ),
    }


def _union_measures() -> dict[str, pl.Expr]:
    """One measure for both codes: a union is flagged when its own or its employer's is bad."""
    employer = pl.col("employer_uscc")
    bad_employer = pl.when(employer.is_not_null()).then(~uscc_ok(employer)).otherwise(False)
    own = pl.col("union_uscc")
    return {"uscc_valid": pl.when(own.is_not_null()).then(uscc_ok(own) & ~bad_employer)}


def _case_measures() -> dict[str, pl.Expr]:
    people = pl.col("claimants")
    # A claimant's number is read as a resident ID when it has 18 characters.
    ids = people.list.eval(
        pl.element().struct.field("id_number").str.strip_chars().str.len_chars().eq(18)
        & ~resident_id_ok(pl.element().struct.field("id_number"))
    )
    phones = people.list.eval(~phone_ok(pl.element().struct.field("phone")).fill_null(True))
    some = people.list.len() > 0
    return {
        "employer_uscc_valid": pl.when(pl.col("employer_uscc").is_not_null()).then(
            uscc_ok(pl.col("employer_uscc"))
        ),
        "claimant_ids_valid": pl.when(some).then(~ids.list.any()),
        "claimant_phones_valid": pl.when(some).then(~phones.list.any()),
    }


def _hotline_measures() -> dict[str, pl.Expr]:
    return {"caller_phone_valid": phone_ok(pl.col("caller_phone"))}


# --- The sources' current records on a day -------------------------------------------------


def current_records(world: Any, as_of: dt.date) -> dict[str, pl.DataFrame]:
    """Each checked entity's live current records on ``as_of``, in the columns the checks
    read (hotline requests in their latest published version)."""
    from simulator.writers import stations_as_of, visits_publish_day

    end = end_of(as_of)
    received = world.case_events.filter(pl.col("at") <= end)["case_id"].unique()
    months = world.station_visits["date"].dt.truncate("1mo")
    published = [m for m in months.unique().to_list() if visits_publish_day(m) <= as_of]
    snapshot = dt.date(as_of.year, as_of.month, 1)
    return {
        "member": members_as_of(world.members, world.events, as_of),
        "union_org": unions_as_of(world.unions, as_of),
        "case": world.cases.filter(pl.col("case_id").is_in(received.implode())),
        "hotline_request": world.hotline.filter(pl.col("received_at") <= end).with_columns(
            # Shown once assigned, and the linked case once closed (disputes.hotline_versions).
            assigned_union_id=pl.when(pl.col("assigned_at") <= end).then("assigned_union_id"),
            linked_case_id=pl.when(pl.col("closed_at") <= end).then("linked_case_id"),
        ),
        "program": world.programs.filter(pl.col("announced_on") <= snapshot),
        "station": stations_as_of(world.stations, as_of),
        "delivery": world.deliveries.filter(pl.col("recorded_at") <= end),
        "station_visit": world.station_visits.filter(months.is_in(published)),
    }


def _row(entity: str, check: str, measure: str, values: pl.Series) -> dict[str, Any]:
    return {
        "asset": f"raw/{SOURCE[entity]}/{entity}",
        "check_name": check,
        "measure": measure,
        "records_checked": values.len(),
        "records_missing": values.null_count(),
        "records_failing": int((~values.drop_nulls()).sum()),
    }


def expected_checks(world: Any, as_of: dt.date) -> list[dict[str, Any]]:
    """One row per (asset, check, measure): records checked (the check's batch: live current
    records, or those with a non-null reference), missing (no value to check) and failing."""
    current = current_records(world, as_of)
    rows = []
    validity = {
        "member": _member_measures(),
        "union_org": _union_measures(),
        "case": _case_measures(),
        "hotline_request": _hotline_measures(),
    }
    for entity, measures in validity.items():
        found = current[entity].select(**measures)
        rows += [_row(entity, "validity", m, found[m]) for m in measures]
    keys = {"member": "member_id", "union_org": "union_id", "case": "case_id"}
    keys |= {"program": "program_code", "station": "station_id"}
    for entity, check, column, target in REFERENCES:
        refs = current[entity][column].drop_nulls()
        known = refs.is_in(current[target][keys[target]].implode())
        rows.append(_row(entity, check, f"{column}_known", known))
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The failing counts under short names: flagged records by kind, unknown keys by role."""
    entity = {row["asset"]: row["asset"].rsplit("/", 1)[1] for row in rows}
    flagged, unknown = {}, {}
    for row in rows:
        name = entity[row["asset"]]
        if row["check_name"] == "validity":
            flagged[FLAG_NAMES[name, row["measure"]]] = row["records_failing"]
        else:
            column = row["measure"].removesuffix("_known")
            unknown[UNKNOWN_NAMES[name, column]] = row["records_failing"]
    return {"flagged": flagged, "unknown_keys": unknown}
