"""The membership system's world: unions, members, their event history and honors, planned
from 2020 through the horizon. `*_as_of` functions give the table a source system shows on a
given day."""

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
from simulator.randomness import (
    DAY,
    SECOND,
    d64,
    entry_lag,
    office_time,
    stream,
    uniform_dates,
)
from simulator.reference import (
    EDUCATION,
    NEW_FORM_TYPE_INDUSTRY,
    NEW_FORM_TYPES,
    PLATFORMS,
    load_reference,
)

BRAND_CHARS = list("华信达通恒泰鑫盛安康瑞丰源宏远博创新智联众合嘉禾中兴建业金石天成")
JOIN_MONTH_WEIGHTS = np.array([0.7, 0.6, 1.2, 1.3, 1.2, 1.0, 0.9, 0.8, 1.2, 1.1, 1.2, 0.8])
MIGRATION_DAY = d64(cal.HISTORY_START)


def _pick(rng: np.random.Generator, values: tuple | list, n: int, p: list[float] | None = None):
    arr = np.array(values)
    if p is None:
        return arr[rng.integers(0, len(arr), n)]
    prob = np.asarray(p, dtype=float)
    return arr[rng.choice(len(arr), n, p=prob / prob.sum())]


def _district_choice(
    rng: np.random.Generator, n: int, weights: Mapping[str, float] | None = None
) -> np.ndarray:
    """Districts drawn by workforce weight; a shaped world passes its own weights."""
    weights = weights or cal.DISTRICT_WEIGHTS
    return _pick(rng, list(weights), n, list(weights.values()))


def opt_str(values: np.ndarray) -> pl.Series:
    """An optional text column from a numpy array holding str and None."""
    return pl.Series(values=np.asarray(values, dtype=object).tolist(), dtype=pl.String)


def _ids(prefix: str, start: int, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(start, start + n).astype(str), width))


def build_unions(
    seed: int, scale: float, weights: Mapping[str, float] | None = None
) -> pl.DataFrame:
    """Unions; ``weights`` (sorted district codes) are the districts the federation covers."""
    rng = stream(seed, "unions")
    ref = load_reference()
    industries = list(ref.industries)
    weights = weights or cal.DISTRICT_WEIGHTS
    districts = list(weights)

    # The district federations (16 in the city) head every grassroots union of their district.
    n_dist = len(districts)
    dist_found = np.full(n_dist, np.datetime64("1952-06-01"))

    n_legacy = max(cal.scaled(cal.LEGACY_UNIONS, scale), 8)
    legacy_found = uniform_dates(rng, dt.date(1980, 1, 1), dt.date(2019, 12, 31), n_legacy)
    legacy_type = _pick(rng, ("SINGLE", "JOINT", "FEDERATION"), n_legacy, [0.8, 0.15, 0.05])

    new_found, new_type = [], []
    for year in cal.YEARS:
        t = cal.TARGETS[year]
        for kind, count in (("SINGLE", t.new_single_unions), ("JOINT", t.new_joint_unions)):
            k = cal.scaled(count, scale)
            new_found.append(uniform_dates(rng, dt.date(year, 1, 1), dt.date(year, 12, 31), k))
            new_type.append(np.full(k, kind))
    founded = np.concatenate([legacy_found, *new_found])
    order = np.argsort(founded, kind="stable")
    founded = founded[order]
    utype = np.concatenate([legacy_type, *new_type])[order]
    n = len(founded)

    district = _district_choice(rng, n, weights)
    industry_p = np.ones(len(industries))
    for code in cal.NEW_FORM_INDUSTRIES:
        industry_p[industries.index(code)] = 4.0
    industry = _pick(rng, industries, n, list(industry_p))
    # Every scale needs a union for each kind of new-form worker to join.
    industry[: len(cal.NEW_FORM_INDUSTRIES)] = cal.NEW_FORM_INDUSTRIES
    utype[: len(cal.NEW_FORM_INDUSTRIES)] = "JOINT"

    single = utype == "SINGLE"
    brand = np.char.add(_pick(rng, BRAND_CHARS, n), _pick(rng, BRAND_CHARS, n))
    industry_name = np.array([ref.industries[c] for c in industry])
    suffix = _pick(rng, ("有限公司", "股份有限公司", "集团有限公司"), n, [0.7, 0.2, 0.1])
    employer_name = np.char.add(np.char.add(np.char.add("北京", brand), industry_name), suffix)
    district_name = np.array([ref.districts[c] for c in district])
    joint_name = np.char.add(np.char.add(district_name, brand), "联合工会")
    fed_name = np.char.add(np.char.add(district_name, brand), "工会联合会")
    union_name = np.where(
        single,
        np.char.add(employer_name, "工会委员会"),
        np.where(utype == "JOINT", joint_name, fed_name),
    )

    area = district.astype(np.int64)
    union_uscc = uscc_codes(rng, "81", area)
    employer_uscc = uscc_codes(rng, "91", area)
    unit_category = _pick(rng, ref.unit_categories, n)

    headcount = np.maximum(0, rng.lognormal(3.6, 1.1, n)).astype(np.int64)
    status_end = _pick(rng, ("ACTIVE", "DISSOLVED", "MERGED"), n, [0.985, 0.01, 0.005])
    dissolve_lo = np.maximum(founded + 365 * DAY, MIGRATION_DAY)
    dissolved_on = uniform_dates(rng, dissolve_lo, np.full(n, d64(cal.HORIZON_END)), n)
    dissolved_on = np.where(
        (status_end != "ACTIVE") & (dissolved_on <= d64(cal.HORIZON_END)),
        dissolved_on,
        np.datetime64("NaT"),
    )
    created_day = np.maximum(founded, MIGRATION_DAY)
    created_at = office_time(rng, created_day)
    dissolved_at = office_time(rng, dissolved_on)

    dist_ids = _ids("U", 1, n_dist, 8)
    parent = dist_ids[np.searchsorted(np.array(districts), district)]
    grassroots = pl.DataFrame(
        {
            "union_id": _ids("U", n_dist + 1, n, 8),
            "union_uscc": union_uscc,
            "union_name": union_name,
            "union_type": utype,
            "employer_uscc": opt_str(np.where(single, employer_uscc, None)),
            "employer_name": opt_str(np.where(single, employer_name, None)),
            "unit_category": unit_category,
            "industry_code": industry,
            "district_code": district,
            "parent_union_id": parent,
            "founded_on": founded,
            "headcount": headcount,
            "end_status": np.where(np.isnat(dissolved_on), "ACTIVE", status_end),
            "dissolved_on": dissolved_on,
            "created_at": created_at,
            "dissolved_at": dissolved_at,
        }
    )
    fed_created = office_time(rng, np.full(n_dist, MIGRATION_DAY))
    federations = pl.DataFrame(
        {
            "union_id": dist_ids,
            "union_uscc": uscc_codes(rng, "81", np.array(districts).astype(np.int64)),
            "union_name": np.char.add(np.array([ref.districts[c] for c in districts]), "总工会"),
            "union_type": np.full(n_dist, "FEDERATION"),
            "employer_uscc": np.full(n_dist, None),
            "employer_name": np.full(n_dist, None),
            "unit_category": np.full(n_dist, "500"),
            "industry_code": np.full(n_dist, "9221"),
            "district_code": np.array(districts),
            "parent_union_id": np.full(n_dist, None),
            "founded_on": dist_found,
            "headcount": rng.integers(50, 300, n_dist),
            "end_status": np.full(n_dist, "ACTIVE"),
            "dissolved_on": np.full(n_dist, np.datetime64("NaT", "D")),
            "created_at": fed_created,
            "dissolved_at": np.full(n_dist, np.datetime64("NaT", "us")),
        }
    )
    return pl.concat([federations, grassroots], how="vertical_relaxed")


class UnionPicker:
    """Draws unions existing on a given date, weighted by headcount (vectorised)."""

    def __init__(self, unions: pl.DataFrame, mask: pl.Expr) -> None:
        pool = unions.filter(mask & (pl.col("parent_union_id").is_not_null())).sort("founded_on")
        self.ids = pool["union_id"].to_numpy()
        self.founded = pool["founded_on"].to_numpy()
        self.cum = np.cumsum(pool["headcount"].to_numpy().astype(float) + 1.0)

    def pick(self, rng: np.random.Generator, dates: np.ndarray) -> np.ndarray:
        k = np.maximum(np.searchsorted(self.founded, dates, side="right"), 1)
        target = rng.random(len(dates)) * self.cum[k - 1]
        return self.ids[np.minimum(np.searchsorted(self.cum, target, side="right"), k - 1)]


def build_members(
    seed: int, scale: float, unions: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Members (with their personal data) and their full planned event history."""
    rng = stream(seed, "members")
    ref = load_reference()
    all_pick = UnionPicker(unions, pl.lit(True))
    nf_pick = {
        t: UnionPicker(unions, pl.col("industry_code") == code)
        for t, code in NEW_FORM_TYPE_INDUSTRY.items()
    }

    # Join dates: legacy members (joined before the system's 2020 go-live) then yearly cohorts.
    n_legacy = cal.scaled(cal.LEGACY_MEMBERS, scale)
    join_dates = [uniform_dates(rng, dt.date(2005, 1, 1), dt.date(2019, 12, 31), n_legacy)]
    new_form = [rng.random(n_legacy) < 0.06]
    for year in cal.YEARS:
        t = cal.TARGETS[year]
        k, k_nf = cal.scaled(t.joins, scale), cal.scaled(t.joins_new_form, scale)
        days = np.arange(d64(dt.date(year, 1, 1)), d64(dt.date(year + 1, 1, 1)), DAY)
        month = days.astype("datetime64[M]").astype(int) % 12
        weights = JOIN_MONTH_WEIGHTS[month]
        join_dates.append(days[rng.choice(len(days), k, p=weights / weights.sum())])
        flags = np.zeros(k, dtype=bool)
        flags[rng.choice(k, k_nf, replace=False)] = True
        new_form.append(flags)
    joined_on = np.concatenate(join_dates)
    is_nf = np.concatenate(new_form)
    legacy = np.zeros(len(joined_on), dtype=bool)
    legacy[:n_legacy] = True
    order = np.lexsort((np.arange(len(joined_on)), joined_on))
    joined_on, is_nf, legacy = joined_on[order], is_nf[order], legacy[order]
    n = len(joined_on)

    form = np.where(
        is_nf,
        "NEW_FORM",
        _pick(rng, ("STANDARD", "FLEXIBLE", "RETIRED"), n, [0.88, 0.07, 0.05]),
    )
    nf_type = np.where(is_nf, _pick(rng, NEW_FORM_TYPES, n, [0.4, 0.3, 0.15, 0.1, 0.05]), None)
    platform = np.array([None] * n, dtype=object)
    for t, names in PLATFORMS.items():
        sel = nf_type == t
        platform[sel] = _pick(rng, names, int(sel.sum()))

    male = rng.random(n) < np.where(is_nf, 0.85, 0.55)
    age = np.where(form == "RETIRED", rng.integers(55, 68, n), rng.integers(18, 56, n))
    birth = joined_on - (age * 365.25).astype(np.int64) * DAY - rng.integers(0, 365, n) * DAY
    birth = np.maximum(birth, np.datetime64("1950-01-01"))
    outside = rng.random(n) < np.where(is_nf, 0.7, 0.3)
    area = np.where(
        outside,
        OUTSIDE_AREAS[rng.integers(0, len(OUTSIDE_AREAS), n)],
        np.array(list(cal.DISTRICT_WEIGHTS)).astype(np.int64)[rng.integers(0, 16, n)],
    )
    id_type = _pick(
        rng,
        ("RESIDENT_ID", "HKMO_PERMIT", "TW_PERMIT", "FOREIGN_PR"),
        n,
        [0.985, 0.005, 0.003, 0.007],
    )
    resident = resident_id_numbers(rng, area, birth, male)
    eight = np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8)
    other_id = np.where(
        id_type == "HKMO_PERMIT",
        np.char.add("H", eight),
        np.where(id_type == "TW_PERMIT", eight, np.char.add("USA1", np.char.add(eight, "123"))),
    )
    id_number = np.where(id_type == "RESIDENT_ID", resident, other_id)

    ethnicity_p = np.full(len(ref.ethnicities), 0.02 / (len(ref.ethnicities) - 1))
    ethnicity_p[ref.ethnicities.index("01")] = 0.95
    education = _pick(rng, EDUCATION, n, [2, 8, 15, 12, 20, 30, 10, 3])
    skill = np.where(rng.random(n) < 0.3, rng.integers(1, 6, n), -1)

    union0 = np.empty(n, dtype=object)
    std = ~is_nf
    union0[std] = all_pick.pick(rng, np.maximum(joined_on[std], MIGRATION_DAY))
    for t, picker in nf_pick.items():
        sel = nf_type == t
        union0[sel] = picker.pick(rng, np.maximum(joined_on[sel], MIGRATION_DAY))

    members = pl.DataFrame(
        {
            "member_id": _ids("M", 1, n, 10),
            "initial_union_id": union0.astype(str),
            "name": person_names(rng, n),
            "id_type": id_type,
            "id_number": id_number,
            "phone": mobile_numbers(rng, n),
            "gender": np.where(male, "M", "F"),
            "birth_date": birth,
            "ethnicity_code": _pick(rng, ref.ethnicities, n, list(ethnicity_p)),
            "education": education,
            "hukou_type": np.where(outside & (rng.random(n) < 0.7), "RURAL", "URBAN"),
            "from_outside_beijing": outside,
            "employment_form": form,
            "new_form_type": opt_str(nf_type),
            "platform_name": opt_str(platform),
            "skill_level": skill,
            "joined_on": joined_on,
            "legacy": legacy,
        }
    ).with_columns(skill_level=pl.when(pl.col("skill_level") > 0).then(pl.col("skill_level")))
    events = _build_events(rng, members, all_pick, nf_pick)
    return members, events


def _recorded(rng: np.random.Generator, dates: np.ndarray) -> np.ndarray:
    """Recording time: usually the same office day, sometimes entered a day or two late."""
    return office_time(rng, dates + entry_lag(rng, dates))


def _build_events(
    rng: np.random.Generator,
    members: pl.DataFrame,
    all_pick: UnionPicker,
    nf_pick: dict[str, UnionPicker],
) -> pl.DataFrame:
    n = members.height
    mid = members["member_id"].to_numpy()
    joined = members["joined_on"].to_numpy()
    legacy = members["legacy"].to_numpy()
    form = members["employment_form"].to_numpy()
    nf_type = members["new_form_type"].to_numpy()
    union0 = members["initial_union_id"].to_numpy()
    horizon = d64(cal.HORIZON_END)
    start = np.maximum(joined, MIGRATION_DAY) + DAY

    join_rec = np.where(
        legacy,
        office_time(rng, MIGRATION_DAY + rng.integers(0, 14, n) * DAY),
        _recorded(rng, joined),
    )
    channel = np.where(
        form == "NEW_FORM",
        _pick(rng, ("APP", "DRIVE", "ONSITE"), n, [0.5, 0.3, 0.2]),
        _pick(rng, ("ONSITE", "APP", "DRIVE", "PHONE"), n, [0.5, 0.25, 0.2, 0.05]),
    )
    parts = [
        pl.DataFrame(
            {
                "member_id": mid,
                "event_type": np.full(n, "JOIN"),
                "union_id": union0,
                "counterpart_union_id": opt_str(np.full(n, None)),
                "event_date": joined,
                "channel": opt_str(np.where(legacy & (rng.random(n) < 0.5), None, channel)),
                "employment_form": form,
                "recorded_at": join_rec,
            }
        )
    ]

    transfer = rng.random(n) < np.where(form == "NEW_FORM", 0.15, 0.07)
    t_date = start + rng.exponential(700, n).astype(np.int64) * DAY
    transfer &= t_date <= horizon
    union1 = union0.copy()
    std = transfer & (form != "NEW_FORM")
    union1[std] = all_pick.pick(rng, t_date[std])
    for t, picker in nf_pick.items():
        sel = transfer & (nf_type == t)
        union1[sel] = picker.pick(rng, t_date[sel])
    transfer &= union1 != union0
    t_rec = _recorded(rng, t_date)
    ti = np.flatnonzero(transfer)
    for etype, here, there, offset in (
        ("TRANSFER_OUT", union0, union1, 0),
        ("TRANSFER_IN", union1, union0, 60),
    ):
        parts.append(
            pl.DataFrame(
                {
                    "member_id": mid[ti],
                    "event_type": np.full(len(ti), etype),
                    "union_id": here[ti],
                    "counterpart_union_id": there[ti],
                    "event_date": t_date[ti],
                    "channel": opt_str(np.full(len(ti), None)),
                    "employment_form": form[ti],
                    "recorded_at": t_rec[ti] + offset * SECOND,
                }
            )
        )

    current = np.where(transfer, union1, union0)
    exit_base = np.where(transfer, t_date, start)
    exits = rng.random(n) < np.where(legacy, 0.2, 0.12)
    e_date = exit_base + (1 + rng.exponential(600, n).astype(np.int64)) * DAY
    exits &= e_date <= horizon
    e_type = _pick(
        rng,
        ("WITHDRAW", "DEEMED_WITHDRAW", "RETAIN", "RETIRE", "EXPEL", "DECEASED"),
        n,
        [0.35, 0.15, 0.15, 0.27, 0.01, 0.07],
    )
    e_type = np.where(form == "RETIRED", "DECEASED", e_type)
    r_date = e_date + (1 + rng.exponential(300, n).astype(np.int64)) * DAY
    reinstate = (
        exits
        & np.isin(e_type, ("WITHDRAW", "DEEMED_WITHDRAW", "RETAIN"))
        & (rng.random(n) < 0.25)
        & (r_date <= horizon)
    )
    for mask, etype, dates in ((exits, e_type, e_date), (reinstate, "REINSTATE", r_date)):
        idx = np.flatnonzero(mask)
        parts.append(
            pl.DataFrame(
                {
                    "member_id": mid[idx],
                    "event_type": np.broadcast_to(etype, n)[idx],
                    "union_id": current[idx],
                    "counterpart_union_id": opt_str(np.full(len(idx), None)),
                    "event_date": dates[idx],
                    "channel": opt_str(np.full(len(idx), None)),
                    "employment_form": form[idx],
                    "recorded_at": _recorded(rng, dates[idx]),
                }
            )
        )
    events = pl.concat(parts, how="vertical_relaxed").sort(["recorded_at", "member_id"])
    return events.with_columns(
        event_id=pl.lit("E") + pl.int_range(1, events.height + 1).cast(pl.String).str.zfill(12)
    ).select(
        "event_id", "member_id", "event_type", "union_id", "counterpart_union_id",
        "event_date", "channel", "employment_form", "recorded_at",
    )  # fmt: skip


def build_honors(
    seed: int, scale: float, unions: pl.DataFrame, members: pl.DataFrame
) -> pl.DataFrame:
    rng = stream(seed, "honors")
    grass = unions.filter(
        pl.col("parent_union_id").is_not_null() & (pl.col("founded_on") < MIGRATION_DAY)
    )["union_id"].to_numpy()
    pool = members.filter(pl.col("legacy"))
    pool_ids = pool["member_id"].to_numpy()
    pool_union = pool["initial_union_id"].to_numpy()
    rows = []
    for year in cal.YEARS:
        t = cal.TARGETS[year]
        plan = [
            ("LABOUR_CERTIFICATE", t.honors_certificates),
            ("LABOUR_MEDAL", t.honors_medals),
            ("WORKER_PIONEER", t.honors_pioneers),
            ("CRAFTSMAN", 10),
        ]
        if year in (2020, 2025):
            plan.append(("MODEL_WORKER", 300))
        for htype, count in plan:
            k = cal.scaled(count, scale)
            k_district = cal.scaled(count * 1.5, scale) if htype != "CRAFTSMAN" else 0
            k_revoked = max(1, cal.scaled(count * 0.01, scale)) if htype == "LABOUR_MEDAL" else 0
            total = k + k_district + k_revoked
            level = np.concatenate(
                [
                    np.where(rng.random(k) < 0.12, "NATIONAL", "MUNICIPAL"),
                    np.full(k_district, "DISTRICT"),
                    np.full(k_revoked, "MUNICIPAL"),
                ]
            )
            revoked = np.zeros(total, dtype=bool)
            revoked[k + k_district :] = True
            awarded = uniform_dates(rng, dt.date(year, 4, 24), dt.date(year, 4, 29), total)
            person = htype in ("LABOUR_MEDAL", "CRAFTSMAN", "MODEL_WORKER")
            pick = rng.integers(0, max(len(pool_ids), 1), total)
            union = pool_union[pick] if person else grass[rng.integers(0, len(grass), total)]
            rows.append(
                pl.DataFrame(
                    {
                        "honor_type": np.full(total, htype),
                        "level": level,
                        "member_id": opt_str(pool_ids[pick] if person else np.full(total, None)),
                        "union_id": union,
                        "team_name": np.char.add(
                            _pick(rng, ("第一", "第二", "第三", "质检", "运维", "技术"), total),
                            _pick(rng, ("班组", "车间", "项目部", "服务队"), total),
                        )
                        if htype == "WORKER_PIONEER"
                        else opt_str(np.full(total, None)),
                        "awarded_on": awarded,
                        "revoked_at": np.where(
                            revoked,
                            office_time(rng, awarded + rng.integers(30, 90, total) * DAY),
                            np.datetime64("NaT", "us"),
                        ),
                        "award_updated_at": office_time(rng, awarded + DAY),
                    }
                )
            )
    honors = pl.concat(rows, how="vertical_relaxed").sort(["awarded_on", "honor_type"])
    return honors.with_columns(
        honor_id=pl.lit("A") + pl.int_range(1, honors.height + 1).cast(pl.String).str.zfill(8)
    )


# --- What the source system shows on a given day -------------------------------------------


def end_of(day: dt.date) -> np.datetime64:
    return d64(day + dt.timedelta(days=1)).astype("datetime64[us]") - SECOND


def unions_as_of(unions: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    end = end_of(as_of)
    ended = pl.col("dissolved_at").is_not_null() & (pl.col("dissolved_at") <= end)
    return unions.filter(pl.col("created_at") <= end).select(
        "union_id", "union_uscc", "union_name", "union_type", "employer_uscc", "employer_name",
        "unit_category", "industry_code", "district_code", "parent_union_id", "founded_on",
        "headcount",
        pl.when(ended).then(pl.col("end_status")).otherwise(pl.lit("ACTIVE")).alias("status"),
        pl.when(ended).then(pl.col("dissolved_on")).alias("dissolved_on"),
        "created_at",
        pl.when(ended).then(pl.col("dissolved_at")).otherwise(pl.col("created_at"))
        .alias("updated_at"),
    )  # fmt: skip


EVENT_STATUS = {
    "JOIN": "ACTIVE", "TRANSFER_IN": "ACTIVE", "TRANSFER_OUT": "ACTIVE", "REINSTATE": "ACTIVE",
    "RETAIN": "RETAINED", "RETIRE": "RETIRED", "WITHDRAW": "WITHDRAWN",
    "DEEMED_WITHDRAW": "WITHDRAWN", "DECEASED": "DECEASED", "EXPEL": "EXPELLED",
}  # fmt: skip


def members_as_of(members: pl.DataFrame, events: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    end = end_of(as_of)
    visible = events.filter(pl.col("recorded_at") <= end)
    latest = (
        visible.sort(["event_date", "recorded_at"])
        .group_by("member_id", maintain_order=False)
        .agg(
            pl.col("event_type").last().alias("last_type"),
            pl.col("union_id").last().alias("last_union"),
            pl.col("counterpart_union_id").last().alias("last_counterpart"),
            pl.col("recorded_at").min().alias("created_at"),
            pl.col("recorded_at").max().alias("updated_at"),
        )
    )
    return (
        members.join(latest, on="member_id", how="inner")
        .with_columns(
            union_id=pl.when(pl.col("last_type") == "TRANSFER_OUT")
            .then(pl.col("last_counterpart"))
            .otherwise(pl.col("last_union")),
            status=pl.col("last_type").replace_strict(EVENT_STATUS),
            employment_form=pl.when(pl.col("last_type") == "RETIRE")
            .then(pl.lit("RETIRED"))
            .otherwise(pl.col("employment_form")),
        )
        .sort("member_id")
        .select(
            "member_id", "union_id", "name", "id_type", "id_number", "phone", "gender",
            "birth_date", "ethnicity_code", "education", "hukou_type", "from_outside_beijing",
            "employment_form",
            pl.when(pl.col("employment_form") == "NEW_FORM").then(pl.col("new_form_type"))
            .alias("new_form_type"),
            pl.when(pl.col("employment_form") == "NEW_FORM").then(pl.col("platform_name"))
            .alias("platform_name"),
            "skill_level", "status", "joined_on", "created_at", "updated_at",
        )
    )  # fmt: skip


def events_as_of(events: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    return events.filter(pl.col("recorded_at") <= end_of(as_of))


def honors_as_of(honors: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    end = end_of(as_of)
    revoked = pl.col("revoked_at").is_not_null() & (pl.col("revoked_at") <= end)
    return honors.filter(pl.col("award_updated_at") <= end).select(
        "honor_id", "honor_type", "level", "member_id", "union_id", "team_name", "awarded_on",
        revoked.alias("revoked"),
        pl.when(revoked).then(pl.col("revoked_at")).otherwise(pl.col("award_updated_at"))
        .alias("updated_at"),
    )  # fmt: skip
