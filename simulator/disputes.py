"""The dispute & hotline system's world: case lifecycles that respect the legal time limits and
12351 hotline requests, with the versions each record passes through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import polars as pl

from simulator import calibration as cal
from simulator.identifiers import (
    OUTSIDE_AREAS,
    mobile_numbers,
    person_names,
    resident_id_numbers,
    uscc_codes,
)
from simulator.membership import BRAND_CHARS, _district_choice, _pick, end_of, opt_str
from simulator.randomness import (
    DAY,
    SECOND,
    d64,
    exact_count_choice,
    office_time,
    stream,
    uniform_dates,
)
from simulator.reference import (
    CLAIM_TYPES,
    HOTLINE_TOPICS,
    NEW_FORM_TYPES,
    SOURCE_CHANNELS,
    load_reference,
)

CASE_STATUS_AFTER = {
    "RECEIVED": "RECEIVED", "MEDIATION_STARTED": "MEDIATING", "MEDIATION_SUCCEEDED": "MEDIATING",
    "MEDIATION_FAILED": "MEDIATION_FAILED", "ARBITRATION_FILED": "ARBITRATION",
    "ARBITRATION_ACCEPTED": "ARBITRATION", "AWARD_ISSUED": "ARBITRATION",
    "LITIGATION_FILED": "LITIGATION", "JUDGMENT": "LITIGATION", "CLOSED": "CLOSED",
}  # fmt: skip
TS_FORMAT = "%Y-%m-%dT%H:%M:%S+08:00"


class UnionsByDistrict:
    """Draws an existing grassroots union of a given district (vectorised)."""

    def __init__(self, unions: pl.DataFrame, weights: Mapping[str, float] | None = None) -> None:
        pool = unions.filter(
            pl.col("parent_union_id").is_not_null()
            & (pl.col("founded_on") < d64(cal.HISTORY_START))
        ).sort("district_code", "union_id")
        self.ids = pool["union_id"].to_numpy()
        self.names = pool["union_name"].to_numpy()
        codes = pool["district_code"].to_numpy()
        self.districts = np.array(sorted(weights or cal.DISTRICT_WEIGHTS))
        self.start = np.searchsorted(codes, self.districts, side="left")
        self.count = np.searchsorted(codes, self.districts, side="right") - self.start
        fallback = unions.filter(pl.col("parent_union_id").is_null()).sort("district_code")
        self.federation = fallback["union_id"].to_numpy()

    def pick(self, rng: np.random.Generator, districts: np.ndarray) -> np.ndarray:
        """Index into self.ids, or -1 where the district has no grassroots union."""
        d = np.searchsorted(self.districts, districts)
        offset = (rng.random(len(districts)) * np.maximum(self.count[d], 1)).astype(np.int64)
        return np.where(self.count[d] > 0, self.start[d] + offset, -1)

    def ids_for(self, rng: np.random.Generator, districts: np.ndarray) -> np.ndarray:
        idx = self.pick(rng, districts)
        d = np.searchsorted(self.districts, districts)
        return np.where(idx >= 0, self.ids[np.maximum(idx, 0)], self.federation[d])


def _days(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    return rng.integers(lo, hi + 1, n) * DAY


def build_cases(
    seed: int,
    scale: float,
    unions: pl.DataFrame,
    members: pl.DataFrame,
    weights: Mapping[str, float] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cases (static attributes) and their planned lifecycle events."""
    rng = stream(seed, "cases")
    received, anchor_med, successes = [], [], []
    for year in cal.YEARS:
        t = cal.TARGETS[year]
        n_med = cal.scaled(t.cases_mediated, scale)
        n_other = max(cal.scaled(t.cases_accepted, scale) - n_med, 0)
        success = uniform_dates(rng, dt.date(year, 1, 1), dt.date(year, 12, 31), n_med)
        overdue = rng.random(n_med) < 0.04
        lead = np.where(overdue, rng.integers(16, 26, n_med), rng.integers(2, 15, n_med))
        received.append(success - lead * DAY)
        anchor_med.append(np.ones(n_med, dtype=bool))
        successes.append(success)
        received.append(uniform_dates(rng, dt.date(year, 1, 1), dt.date(year, 12, 31), n_other))
        anchor_med.append(np.zeros(n_other, dtype=bool))
        successes.append(np.full(n_other, np.datetime64("NaT", "D")))
    r_day = np.concatenate(received)
    mediated = np.concatenate(anchor_med)
    order = np.lexsort((np.arange(len(r_day)), r_day))
    r_day, mediated = r_day[order], mediated[order]
    med_success = np.concatenate(successes)[order]
    n = len(r_day)
    r_at = office_time(rng, r_day)

    path = np.where(
        mediated,
        "MEDIATED",
        _pick(rng, ("ARBITRATION", "WITHDRAWN", "REFERRED"), n, [0.55, 0.25, 0.2]),
    )
    ev: dict[str, np.ndarray] = {"RECEIVED": r_day}
    nat = np.full(n, np.datetime64("NaT", "D"))
    ms = r_day + _days(rng, 1, 1, n)
    mf = ms + _days(rng, 3, 13, n)
    af = mf + _days(rng, 1, 10, n)
    aa = af + np.where(rng.random(n) < 0.03, rng.integers(6, 9, n), rng.integers(1, 6, n)) * DAY
    aw = aa + np.where(rng.random(n) < 0.1, rng.integers(46, 61, n), rng.integers(20, 46, n)) * DAY
    litigate = (path == "ARBITRATION") & (rng.random(n) < 0.2)
    lf = aw + _days(rng, 5, 15, n)
    jd = lf + _days(rng, 60, 180, n)
    wd = r_day + _days(rng, 2, 20, n)
    starts_mediation = (
        (path == "MEDIATED")
        | (path == "ARBITRATION")
        | ((path == "WITHDRAWN") & (rng.random(n) < 0.6))
    )
    ev["MEDIATION_STARTED"] = np.where(starts_mediation, ms, nat)
    ev["MEDIATION_SUCCEEDED"] = np.where(path == "MEDIATED", med_success, nat)
    arb = path == "ARBITRATION"
    ev["MEDIATION_FAILED"] = np.where(arb, mf, nat)
    ev["ARBITRATION_FILED"] = np.where(arb, af, nat)
    ev["ARBITRATION_ACCEPTED"] = np.where(arb, aa, nat)
    ev["AWARD_ISSUED"] = np.where(arb, aw, nat)
    ev["LITIGATION_FILED"] = np.where(litigate, lf, nat)
    ev["JUDGMENT"] = np.where(litigate, jd, nat)
    ev["WITHDRAWN"] = np.where(path == "WITHDRAWN", np.maximum(wd, ms + DAY), nat)
    closed_from = np.select(
        [path == "MEDIATED", litigate, arb, path == "WITHDRAWN"],
        [med_success, jd, aw, ev["WITHDRAWN"]],
        r_day,
    )
    ev["CLOSED"] = closed_from + np.where(
        path == "REFERRED", _days(rng, 1, 7, n), _days(rng, 1, 5, n)
    )

    # Legal aid: exactly the calibrated number of grants in each year.
    la_day = r_day + _days(rng, 1, 10, n)
    la_ok = la_day < ev["CLOSED"]
    la_grant = np.zeros(n, dtype=bool)
    la_year = la_day.astype("datetime64[Y]").astype(int) + 1970
    for year in cal.YEARS:
        pool = np.flatnonzero(la_ok & (la_year == year))
        la_grant[
            exact_count_choice(rng, pool, cal.scaled(cal.TARGETS[year].cases_legal_aid, scale))
        ] = True
    ev["LEGAL_AID_GRANTED"] = np.where(la_grant, la_day, nat)

    outcome = np.select(
        [path == "MEDIATED", litigate, arb, path == "WITHDRAWN"],
        ["MEDIATED", "JUDGMENT", "ARBITRATION_AWARD", "WITHDRAWN"],
        "REFERRED",
    )
    collective = rng.random(n) < 0.03
    claim = np.round(rng.lognormal(10.0, 0.8, n) * np.where(collective, 8, 1), 2)
    ratio = np.select(
        [outcome == "MEDIATED", outcome == "ARBITRATION_AWARD", outcome == "JUDGMENT"],
        [rng.uniform(0.5, 1.0, n), rng.uniform(0.4, 1.0, n), rng.uniform(0.3, 1.0, n)],
        0.0,
    )
    recovered = claim * ratio
    close_year = ev["CLOSED"].astype("datetime64[Y]").astype(int) + 1970
    for year in cal.YEARS:
        sel = (close_year == year) & (recovered > 0)
        total = recovered[sel].sum()
        if total > 0:
            recovered[sel] *= cal.TARGETS[year].recovered_yuan * scale / total
    recovered_cents = np.round(recovered * 100).astype(np.int64)
    claim_cents = np.maximum(np.round(claim * 100).astype(np.int64), recovered_cents)

    # Events: a long table, times strictly increasing within a case.
    parts = []
    for etype, days in ev.items():
        idx = np.flatnonzero(~np.isnat(days))
        at = r_at[idx] if etype == "RECEIVED" else office_time(rng, days[idx])
        parts.append(pl.DataFrame({"case_idx": idx, "type": np.full(len(idx), etype), "at": at}))
    events = pl.concat(parts).sort("case_idx", "at")
    events = events.with_columns(
        at=pl.max_horizontal("at", pl.col("at").shift(1).over("case_idx") + pl.duration(minutes=1))
        .cum_max()
        .over("case_idx")
    ).with_columns(seq=pl.int_range(pl.len()).over("case_idx"))

    year = r_day.astype("datetime64[Y]").astype(int) + 1970
    seq_in_year = np.zeros(n, dtype=np.int64)
    for y in np.unique(year):
        sel = year == y
        seq_in_year[sel] = np.arange(1, sel.sum() + 1)
    case_id = np.char.add(
        np.char.add("C", year.astype(str)), np.char.zfill(seq_in_year.astype(str), 6)
    )
    case_no = np.char.add(
        np.char.add(np.char.add("京工调〔", year.astype(str)), "〕"),
        np.char.add(np.char.zfill(seq_in_year.astype(str), 4), "号"),
    )
    district = _district_choice(rng, n, weights)
    handling = UnionsByDistrict(unions, weights).ids_for(rng, district)
    ref = load_reference()
    industries = list(ref.industries)
    emp_industry = _pick(rng, industries, n)
    brand = np.char.add(_pick(rng, BRAND_CHARS, n), _pick(rng, BRAND_CHARS, n))
    emp_name = np.char.add(
        np.char.add(
            np.char.add("北京", brand), np.array([ref.industries[c] for c in emp_industry])
        ),
        "有限公司",
    )

    cases = pl.DataFrame(
        {
            "case_idx": np.arange(n),
            "case_id": case_id,
            "case_no": case_no,
            "received_at": r_at,
            "source_channel": _pick(rng, SOURCE_CHANNELS, n, [0.2, 0.25, 0.2, 0.15, 0.1, 0.1]),
            "district_code": district,
            "handling_union_id": handling,
            "employer_uscc": uscc_codes(rng, "91", district.astype(np.int64)),
            "employer_name": emp_name,
            "employer_industry": emp_industry,
            "is_collective": collective,
            "claim_cents": claim_cents,
            "outcome": outcome,
            "recovered_cents": recovered_cents,
            "legal_aid_planned": la_grant,
        }
    )
    cases = cases.join(_claimants(rng, n, collective, members), on="case_idx", how="left")
    cases = cases.join(_claim_types(rng, n), on="case_idx", how="left")
    events = events.join(cases.select("case_idx", "case_id"), on="case_idx").drop("case_idx")
    return cases.drop("case_idx"), events.select("case_id", "seq", "type", "at")


def _claimants(
    rng: np.random.Generator, n_cases: int, collective: np.ndarray, members: pl.DataFrame
) -> pl.DataFrame:
    size = np.where(collective, rng.integers(3, 31, n_cases), 1)
    case_idx = np.repeat(np.arange(n_cases), size)
    k = len(case_idx)
    pool = members.filter(pl.col("legacy"))
    is_member = rng.random(k) < 0.55
    pick = rng.integers(0, pool.height, k)
    birth = np.datetime64("1965-01-01") + rng.integers(0, 365 * 38, k) * DAY
    male = rng.random(k) < 0.6
    area = OUTSIDE_AREAS[rng.integers(0, len(OUTSIDE_AREAS), k)]
    form = _pick(rng, ("STANDARD", "NEW_FORM", "FLEXIBLE"), k, [0.7, 0.2, 0.1])
    nf = _pick(rng, NEW_FORM_TYPES, k)
    outsiders = pl.DataFrame(
        {
            "member_id": opt_str(np.full(k, None)),
            "name": person_names(rng, k),
            "id_number": resident_id_numbers(rng, area, birth, male),
            "phone": mobile_numbers(rng, k),
            "employment_form": form,
            "new_form_type": opt_str(np.where(form == "NEW_FORM", nf, None)),
        }
    )
    insiders = pool[pick].select(
        "member_id", "name", "id_number", "phone", "employment_form", "new_form_type"
    )
    chosen = pl.DataFrame({"case_idx": case_idx, "is_member": is_member}).with_columns(
        pl.struct(
            pl.when(pl.lit(is_member)).then(insiders[c]).otherwise(outsiders[c]).alias(c)
            for c in outsiders.columns
        ).alias("claimant")
    )
    return chosen.group_by("case_idx").agg(pl.col("claimant").alias("claimants"))


def _claim_types(rng: np.random.Generator, n_cases: int) -> pl.DataFrame:
    weights = [0.08, 0.3, 0.15, 0.12, 0.1, 0.06, 0.07, 0.05, 0.03, 0.02, 0.01, 0.01]
    first = _pick(rng, CLAIM_TYPES, n_cases, weights)
    second = _pick(rng, CLAIM_TYPES, n_cases, weights)
    third = _pick(rng, CLAIM_TYPES, n_cases, weights)
    k = np.where(rng.random(n_cases) < 0.4, np.where(rng.random(n_cases) < 0.3, 3, 2), 1)
    return pl.DataFrame(
        {"case_idx": np.arange(n_cases), "a": first, "b": second, "c": third, "k": k}
    ).select(
        "case_idx",
        pl.concat_list("a", "b", "c").list.head(pl.col("k")).list.unique(maintain_order=True)
        .alias("claim_types"),
    )  # fmt: skip


def build_hotline(
    seed: int,
    scale: float,
    unions: pl.DataFrame,
    members: pl.DataFrame,
    cases: pl.DataFrame,
    weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    rng = stream(seed, "hotline")
    picker = UnionsByDistrict(unions, weights)
    # Stands in where a request has no district (its draw is discarded): any covered district.
    placeholder = str(picker.districts[0])
    referrals = cases.filter(pl.col("source_channel") == "HOTLINE_REFERRAL")
    ref_received = referrals["received_at"].to_numpy()
    ref_year = ref_received.astype("datetime64[Y]").astype(int) + 1970
    regular_rx = []
    for year in cal.YEARS:
        k = max(
            cal.scaled(cal.TARGETS[year].hotline_requests, scale) - int((ref_year == year).sum()), 0
        )
        days = uniform_dates(rng, dt.date(year, 1, 1), dt.date(year, 12, 31), k)
        regular_rx.append(
            days.astype("datetime64[us]") + rng.integers(7 * 3600, 22 * 3600, k) * SECOND
        )
    n_reg = sum(len(x) for x in regular_rx)
    n_ref = referrals.height
    lead = (rng.uniform(0.5, 3.0, n_ref) * 86400).astype(np.int64) * SECOND
    received = np.concatenate([*regular_rx, ref_received - lead])
    is_ref = np.concatenate([np.zeros(n_reg, dtype=bool), np.ones(n_ref, dtype=bool)])
    n = len(received)

    district = np.concatenate(
        [
            np.where(rng.random(n_reg) < 0.92, _district_choice(rng, n_reg, weights), None),
            referrals["district_code"].to_numpy(),
        ]
    )
    dispatched = is_ref | (rng.random(n) < 0.4)
    complexity = np.where(
        is_ref, "GENERAL", _pick(rng, ("GENERAL", "DIFFICULT", "COMPLEX"), n, [0.8, 0.15, 0.05])
    )
    due_days = np.select([complexity == "GENERAL", complexity == "DIFFICULT"], [7, 15], 30)
    due_at = received + due_days * DAY
    has_district = district != None  # noqa: E711 - numpy elementwise comparison
    assigned = np.where(
        dispatched & has_district,
        picker.ids_for(rng, np.where(has_district, district, placeholder).astype(str)),
        None,
    )
    assigned_at = received + rng.integers(600, 7200, n) * SECOND
    late = rng.random(n) < 0.02
    frac = np.where(late, rng.uniform(1.0, 1.3, n), rng.uniform(0.05, 0.95, n))
    work = (frac * due_days * 86400).astype(np.int64) * SECOND
    closed = np.where(dispatched, received + work, received + rng.integers(180, 1200, n) * SECOND)
    closed = np.where(
        is_ref, np.concatenate([np.zeros(n_reg, "datetime64[us]"), ref_received]), closed
    )
    # The report counts every 2024 request closed: requests received before the base date
    # are closed by its end.
    base_end = end_of(cal.BASE_AS_OF)
    closed = np.where((received <= base_end) & (closed > base_end), base_end, closed)
    closed = np.maximum(closed, np.where(dispatched, assigned_at, received) + SECOND)

    caller_member = rng.random(n) < 0.3
    pool = members.filter(pl.col("legacy"))
    pick = rng.integers(0, pool.height, n)
    category = np.where(
        is_ref,
        _pick(rng, ("LEGAL_AID", "COMPLAINT"), n),
        _pick(
            rng,
            ("CONSULT", "SERVICE", "COMPLAINT", "LEGAL_AID", "SUGGESTION"),
            n,
            [0.55, 0.2, 0.12, 0.08, 0.05],
        ),
    )
    satisfaction = np.where(
        rng.random(n) < 0.7, _pick(rng, (5, 4, 3, 2, 1), n, [0.6, 0.25, 0.1, 0.03, 0.02]), -1
    )
    year = received.astype("datetime64[Y]").astype(int) + 1970
    order = np.lexsort((np.arange(n), received))
    frame = pl.DataFrame(
        {
            "received_at": received,
            "channel": _pick(rng, ("PHONE", "APP", "WECHAT", "WEB"), n, [0.6, 0.2, 0.15, 0.05]),
            "caller_member_id": opt_str(
                np.where(caller_member, pool["member_id"].to_numpy()[pick], None)
            ),
            "caller_phone": np.where(
                caller_member, pool["phone"].to_numpy()[pick], mobile_numbers(rng, n)
            ),
            "district_code": opt_str(district),
            "category": category,
            "topic": _pick(rng, HOTLINE_TOPICS, n),
            "handling": np.where(dispatched, "DISPATCHED", "ANSWERED_ON_CALL"),
            "assigned_union_id": opt_str(assigned),
            "complexity": complexity,
            "due_at": due_at,
            "assigned_at": np.where(dispatched, assigned_at, np.datetime64("NaT", "us")),
            "closed_at": closed,
            "satisfaction": satisfaction,
            "linked_case_id": opt_str(
                np.concatenate([np.full(n_reg, None), referrals["case_id"].to_numpy()])
            ),
            "year": year,
        }
    )[order]
    frame = frame.with_columns(
        satisfaction=pl.when(pl.col("satisfaction") > 0).then(pl.col("satisfaction")),
        request_id=pl.lit("H")
        + pl.col("year").cast(pl.String)
        + (pl.int_range(1, pl.len() + 1).over("year")).cast(pl.String).str.zfill(8),
    )
    return frame.drop("year")


# --- Versions as the source system publishes them --------------------------------------------


def _ts(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime(TS_FORMAT)


def _money(col: str) -> pl.Expr:
    cents = pl.col(col)
    return (cents // 100).cast(pl.String) + "." + (cents % 100).cast(pl.String).str.zfill(2)


def case_versions(
    cases: pl.DataFrame, events: pl.DataFrame, t0: np.datetime64 | None, t1: np.datetime64
) -> pl.DataFrame:
    """Every version of every case whose updated_at falls in (t0, t1], as JSON-ready rows,
    with `file_date`, the export file it belongs to."""
    ev = (
        events.sort("case_id", "seq")
        .with_columns(
            status_after=pl.col("type").replace_strict(CASE_STATUS_AFTER, default=None),
            day=pl.col("at").dt.date(),
        )
        .with_columns(
            status=pl.col("status_after").forward_fill().over("case_id"),
            legal_aid=(pl.col("type") == "LEGAL_AID_GRANTED").cum_max().over("case_id"),
        )
    )
    versions = ev.group_by("case_id", "day").agg(pl.all().sort_by("seq").last())
    versions = versions.filter(pl.col("at") <= t1)
    if t0 is not None:
        versions = versions.filter(pl.col("at") > t0)
    lists = ev.group_by("case_id").agg(
        pl.struct(pl.col("type"), _ts("at").alias("at")).sort_by("seq").alias("all_events")
    )
    closed = pl.col("status") == "CLOSED"
    out = (
        versions.join(lists, on="case_id")
        .join(cases, on="case_id")
        .with_columns(events=pl.col("all_events").list.head(pl.col("seq") + 1))
        .sort("at", "case_id")
        .select(
            "case_id", "case_no", _ts("received_at").alias("received_at"), "source_channel",
            "district_code", "handling_union_id",
            pl.struct(
                pl.col("employer_uscc").alias("uscc"), pl.col("employer_name").alias("name"),
                pl.col("employer_industry").alias("industry_code"),
            ).alias("employer"),
            "claimants", "is_collective", "claim_types",
            _money("claim_cents").alias("claim_amount"), "events", "status",
            pl.when(closed).then(pl.col("outcome")).alias("outcome"),
            pl.when(closed).then(_money("recovered_cents")).alias("recovered_amount"),
            "legal_aid",
            pl.when(closed).then(_ts("at")).alias("closed_at"),
            _ts("at").alias("updated_at"),
            pl.col("day").alias("file_date"),
        )
    )  # fmt: skip
    return out


def hotline_versions(
    hotline: pl.DataFrame, t0: np.datetime64 | None, t1: np.datetime64
) -> pl.DataFrame:
    stages = []
    for stage, at_col in ((0, "received_at"), (1, "assigned_at"), (2, "closed_at")):
        stages.append(
            hotline.filter(pl.col(at_col).is_not_null()).with_columns(
                stage=pl.lit(stage), at=pl.col(at_col)
            )
        )
    v = pl.concat(stages).with_columns(day=pl.col("at").dt.date())
    v = v.group_by("request_id", "day").agg(pl.all().sort_by("stage").last())
    v = v.filter(pl.col("at") <= t1)
    if t0 is not None:
        v = v.filter(pl.col("at") > t0)
    is_closed = pl.col("stage") == 2
    return v.sort("at", "request_id").select(
        "request_id", _ts("received_at").alias("received_at"), "channel",
        pl.struct(
            pl.col("caller_member_id").alias("member_id"), pl.col("caller_phone").alias("phone")
        ).alias("caller"),
        "district_code", "category", "topic", "handling",
        pl.when(pl.col("stage") >= 1).then(pl.col("assigned_union_id")).alias("assigned_union_id"),
        "complexity", _ts("due_at").alias("due_at"),
        pl.when(is_closed).then(_ts("closed_at")).alias("closed_at"),
        pl.when(is_closed).then(pl.lit("CLOSED"))
        .when(pl.col("stage") == 1).then(pl.lit("IN_PROGRESS"))
        .when(pl.col("handling") == "DISPATCHED").then(pl.lit("OPEN"))
        .otherwise(pl.lit("IN_PROGRESS")).alias("status"),
        pl.when(is_closed).then(pl.col("satisfaction")).alias("satisfaction"),
        pl.when(is_closed).then(pl.col("linked_case_id")).alias("linked_case_id"),
        _ts("at").alias("updated_at"),
        pl.col("day").alias("file_date"),
    )  # fmt: skip
