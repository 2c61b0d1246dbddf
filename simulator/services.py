"""The service platform's world: the programme catalogue, union rest stations, service
deliveries (calibrated per KPI stratum) and daily station visits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator import calibration as cal
from simulator.disputes import UnionsByDistrict
from simulator.membership import _district_choice, _ids, _pick, opt_str
from simulator.randomness import (
    DAY,
    SECOND,
    calibrate_sum,
    d64,
    entry_lag,
    office_time,
    stream,
    uniform_dates,
)
from simulator.reference import PROGRAM_CATEGORIES, PROGRAM_NAMES, load_reference

REGULAR_CATEGORIES = tuple(
    c for c in PROGRAM_CATEGORIES if c not in ("WINTER_WARMTH", "SUMMER_COOLNESS", "APP_SERVICE")
)
REMARKS = (
    "", "", "", "", "", "", "", "", "", "", "", "",
    "集中走访慰问", "送清凉物资：防暑药品、饮品", "困难职工家庭，已登记", "活动圆满完成",
    "职工反映\"服务很贴心\"，建议常态化", "含外卖骑手、快递员等新就业形态劳动者",
    "分两批发放,第二批下周补发", "现场签到表见附件\n共两页", "雨天改为室内举办",
)  # fmt: skip
ANNOUNCE_LEAD_DAYS = 35


def build_programs(seed: int, scale: float, unions: pl.DataFrame) -> pl.DataFrame:
    rng = stream(seed, "programs")
    federations = unions.filter(pl.col("parent_union_id").is_null())["union_id"].to_numpy()
    rows: list[tuple[str, dt.date, dt.date | None, str]] = []
    for year in cal.YEARS:
        feb_end = dt.date(year, 3, 1) - dt.timedelta(days=1)
        rows += [("WINTER_WARMTH", dt.date(year - 1, 12, 1), feb_end, "ONSITE")] * 4
        rows += [("SUMMER_COOLNESS", dt.date(year, 6, 1), dt.date(year, 8, 31), "ONSITE")] * 4
        for category in REGULAR_CATEGORIES:
            channel = "MIXED" if category in ("LEGAL_SERVICE", "PSYCH_CARE") else "ONSITE"
            rows += [(category, dt.date(year, 1, 1), dt.date(year, 12, 31), channel)] * 3
        k = cal.scaled(cal.TARGETS[year].app_programs_started, scale)
        if year == cal.YEARS[0]:
            k = max(k, 1)  # APP deliveries need a programme at every scale
        starts = uniform_dates(rng, dt.date(year, 1, 1), dt.date(year, 12, 31), k)
        if year == cal.YEARS[0] and k:
            starts[0] = d64(cal.HISTORY_START)  # deliveries through the APP start on day one
        rows += [("APP_SERVICE", s.astype(dt.date), None, "APP") for s in starts]
    last = cal.YEARS[-1]
    rows.append(("WINTER_WARMTH", dt.date(last, 12, 1), dt.date(last + 1, 2, 28), "ONSITE"))
    frame = pl.DataFrame(
        rows, schema=["category", "start_on", "end_on", "channel"], orient="row"
    ).with_row_index("k")
    frame = frame.sort("start_on", "k").drop("k")
    n = frame.height
    zh = pl.col("category").replace_strict({c: v[0] for c, v in PROGRAM_NAMES.items()})
    en = pl.col("category").replace_strict({c: v[1] for c, v in PROGRAM_NAMES.items()})
    seq = pl.int_range(1, pl.len() + 1).over("category", "start_on").cast(pl.String)
    year = pl.col("start_on").dt.year().cast(pl.String)
    return frame.with_columns(
        program_code=pl.Series(_ids("P", 1, n, 6)),
        name_zh=year + "年" + zh + "（第" + seq + "期）",
        name_en=en + " " + year + " #" + seq,
        owner_union_id=pl.Series(federations[rng.integers(0, len(federations), n)]),
        announced_on=pl.col("start_on") - pl.duration(days=ANNOUNCE_LEAD_DAYS),
    ).select(
        "program_code", "name_zh", "name_en", "category", "channel", "start_on", "end_on",
        "owner_union_id", "announced_on",
    )  # fmt: skip


def build_stations(
    seed: int, scale: float, weights: Mapping[str, float] | None = None
) -> pl.DataFrame:
    rng = stream(seed, "stations")
    ref = load_reference()
    weights = weights or cal.DISTRICT_WEIGHTS
    covered = len(weights)  # every covered district has a station from the start
    n = max(covered, cal.scaled(cal.STATIONS, scale))
    district = _district_choice(rng, n, weights)
    district[:covered] = list(weights)
    legacy = rng.random(n) < 0.7
    opened = np.where(
        legacy,
        uniform_dates(rng, dt.date(2015, 1, 1), dt.date(2019, 12, 31), n),
        uniform_dates(rng, dt.date(2020, 1, 1), cal.HORIZON_END, n),
    )
    opened[:covered] = np.datetime64("2016-05-01")
    closed = uniform_dates(
        rng,
        np.maximum(opened + 400 * DAY, d64(cal.HISTORY_START)),
        np.full(n, d64(cal.HORIZON_END) + 800 * DAY),
        n,
    )
    closed = np.where(
        (rng.random(n) < 0.05) & (closed <= d64(cal.HORIZON_END)), closed, np.datetime64("NaT", "D")
    )
    closed[:covered] = np.datetime64("NaT", "D")
    district_name = np.array([ref.districts[c] for c in district])
    street = np.char.add(
        _pick(rng, list("东西南北中新和平安永兴福"), n),
        _pick(rng, ("华", "园", "桥", "门", "里", "苑", "坊"), n),
    )
    centroid = {
        "110101": (116.416, 39.928), "110102": (116.366, 39.912), "110105": (116.443, 39.921),
        "110106": (116.286, 39.858), "110107": (116.223, 39.906), "110108": (116.298, 39.959),
        "110109": (116.102, 39.940), "110111": (116.143, 39.747), "110112": (116.657, 39.909),
        "110113": (116.654, 40.130), "110114": (116.231, 40.220), "110115": (116.341, 39.726),
        "110116": (116.632, 40.316), "110117": (117.121, 40.141), "110118": (116.843, 40.377),
        "110119": (115.975, 40.457),
    }  # fmt: skip
    lon = np.array([centroid[c][0] for c in district]) + rng.normal(0, 0.03, n)
    lat = np.array([centroid[c][1] for c in district]) + rng.normal(0, 0.02, n)
    return pl.DataFrame(
        {
            "station_id": _ids("S", 1, n, 6),
            "name": np.char.add(np.char.add(district_name, street), "街道工会驿站"),
            "district_code": district,
            "address": np.char.add(
                np.char.add(np.char.add("北京市", district_name), street),
                np.char.add(np.char.add("路", rng.integers(1, 300, n).astype(str)), "号"),
            ),
            "longitude": np.round(lon, 6),
            "latitude": np.round(lat, 6),
            "is_24h": rng.random(n) < 0.2,
            "is_smart": rng.random(n) < 0.3,
            "opened_on": opened,
            "closed_on": closed,
        }
    )


@dataclass(frozen=True)
class Stratum:
    name: str
    target: str  # YearTargets attribute, or "a-b" for a difference of two
    mean: float
    p_single: float
    categories: dict[str, float]
    groups: dict[str, float]
    channels: dict[str, float]


CARE = {"WINTER_WARMTH": 0.5, "SUMMER_COOLNESS": 0.5}
STRATA = (
    Stratum("care", "care_person_times-care_new_form_person_times", 10, 0.5, CARE,
            {"MEMBER": .35, "OUTDOOR_WORKER": .25, "MIGRANT_WORKER": .15, "HARDSHIP_FAMILY": .2,
             "OTHER": .05}, {"VISIT": .6, "ONSITE": .4}),
    Stratum("care_new_form", "care_new_form_person_times", 3, 0.6, CARE,
            {"NEW_FORM_WORKER": 1}, {"ONSITE": .7, "VISIT": .3}),
    Stratum("new_form", "new_form_person_times-care_new_form_person_times", 3, 0.6,
            {"STATION_SERVICE": .4, "PSYCH_CARE": .15, "LEGAL_SERVICE": .15, "HEALTH_CHECK": .15,
             "EMPLOYMENT": .15}, {"NEW_FORM_WORKER": 1}, {"ONSITE": 1}),
    Stratum("culture", "culture_person_times", 80, 0.05, {"CULTURE_SPORTS": 1},
            {"MEMBER": .8, "OTHER": .2}, {"ONSITE": 1}),
    Stratum("skills", "skills_person_times", 25, 0.1, {"SKILLS_COMPETITION": 1},
            {"MEMBER": 1}, {"ONSITE": 1}),
    Stratum("app", "app_person_times", 4, 0.6,
            {"APP_SERVICE": .85, "LEGAL_SERVICE": .08, "PSYCH_CARE": .07},
            {"MEMBER": .7, "OTHER": .3}, {"APP": 1}),
    Stratum("other", "other_person_times", 5, 0.5,
            dict.fromkeys(("MUTUAL_AID", "SINGLES_SOCIAL", "MATERNAL_ROOM", "EMPLOYMENT",
                           "STATION_SERVICE", "LEGAL_SERVICE", "HEALTH_CHECK", "CHILDCARE",
                           "VOLUNTEER", "OTHER", "PSYCH_CARE"), 1.0),
            {"MEMBER": .5, "OUTDOOR_WORKER": .1, "MIGRANT_WORKER": .15, "HARDSHIP_FAMILY": .15,
             "OTHER": .1}, {"ONSITE": .7, "VISIT": .3}),
)  # fmt: skip
BENEFIT_PER_PERSON = {
    "WINTER_WARMTH": (200, 600), "SUMMER_COOLNESS": (30, 120), "MUTUAL_AID": (500, 5000),
    "HEALTH_CHECK": (100, 300), "MATERNAL_ROOM": (0, 50), "CHILDCARE": (50, 200),
}  # fmt: skip


def _target(year: int, spec: str, scale: float) -> int:
    t = cal.TARGETS[year]
    if "-" in spec:
        a, b = spec.split("-")
        return cal.scaled(getattr(t, a), scale) - cal.scaled(getattr(t, b), scale)
    return cal.scaled(getattr(t, spec), scale)


def _season_days(year: int, category: str) -> np.ndarray:
    days = np.arange(d64(dt.date(year, 1, 1)), d64(dt.date(year + 1, 1, 1)), DAY)
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    if category == "WINTER_WARMTH":
        return days[(month <= 2) | (month == 12)]
    if category == "SUMMER_COOLNESS":
        return days[(month >= 6) & (month <= 8)]
    return days


class ProgramPicker:
    """Draws a programme of a category that runs on a given date."""

    def __init__(self, programs: pl.DataFrame) -> None:
        self.by_cat: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for (cat,), grp in programs.sort("start_on", "program_code").group_by("category"):
            self.by_cat[str(cat)] = (
                grp["program_code"].to_numpy(),
                grp["start_on"].to_numpy(),
                grp["end_on"].to_numpy(),
            )

    def pick(self, rng: np.random.Generator, category: str, dates: np.ndarray) -> np.ndarray:
        codes, starts, _ = self.by_cat[category]
        hi = np.maximum(np.searchsorted(starts, dates, side="right"), 1)
        if category == "APP_SERVICE":
            lo = np.zeros_like(hi)  # open-ended: every started programme runs
        else:
            lo = np.searchsorted(starts, starts[hi - 1], side="left")
        return codes[lo + (rng.random(len(dates)) * (hi - lo)).astype(np.int64)]


def build_deliveries(
    seed: int,
    scale: float,
    unions: pl.DataFrame,
    members: pl.DataFrame,
    programs: pl.DataFrame,
    stations: pl.DataFrame,
    weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    rng = stream(seed, "deliveries")
    ref_unions = UnionsByDistrict(unions, weights)
    programs_pick = ProgramPicker(programs)
    legacy = members.filter(pl.col("legacy"))
    member_ids = legacy["member_id"].to_numpy()
    nf_ids = legacy.filter(pl.col("employment_form") == "NEW_FORM")["member_id"].to_numpy()
    old_stations = stations.filter(pl.col("opened_on") < d64(cal.HISTORY_START)).sort(
        "district_code"
    )
    st_codes = old_stations["district_code"].to_numpy()
    st_ids = old_stations["station_id"].to_numpy()

    parts = []
    for year in cal.YEARS:
        for stratum in STRATA:
            target = _target(year, stratum.target, scale)
            if target <= 0:
                continue
            n = min(target, max(1, round(target / stratum.mean)))
            single = rng.random(n) < stratum.p_single
            raw = np.where(
                single, 1, 2 + rng.lognormal(np.log(stratum.mean), 0.9, n).astype(np.int64)
            )
            person_times = calibrate_sum(raw, target, rng)
            category = _pick(rng, list(stratum.categories), n, list(stratum.categories.values()))
            delivered = np.empty(n, dtype="datetime64[D]")
            program = np.empty(n, dtype=object)
            for cat in np.unique(category):
                sel = category == cat
                days = _season_days(year, str(cat))
                delivered[sel] = days[rng.integers(0, len(days), int(sel.sum()))]
                program[sel] = programs_pick.pick(rng, str(cat), delivered[sel])
            group = _pick(rng, list(stratum.groups), n, list(stratum.groups.values()))
            channel = _pick(rng, list(stratum.channels), n, list(stratum.channels.values()))
            district = _district_choice(rng, n, weights)
            uidx = ref_unions.pick(rng, district)
            personal = (person_times == 1) & np.isin(group, ("MEMBER", "NEW_FORM_WORKER"))
            pool = nf_ids if stratum.groups.get("NEW_FORM_WORKER") and len(nf_ids) else member_ids
            member = np.where(
                personal & (rng.random(n) < 0.9), pool[rng.integers(0, len(pool), n)], None
            )
            ds = np.searchsorted(st_codes, district, "left")
            de = np.searchsorted(st_codes, district, "right")
            sidx = ds + (rng.random(n) * np.maximum(de - ds, 1)).astype(np.int64)
            station = np.where(
                (category == "STATION_SERVICE") & (de > ds),
                st_ids[np.minimum(sidx, len(st_ids) - 1)],
                None,
            )
            low, high = np.zeros(n), np.zeros(n)
            for cat, (a, b) in BENEFIT_PER_PERSON.items():
                low[category == cat], high[category == cat] = a, b
            per_person = rng.uniform(low, high)
            recorded = office_time(rng, delivered + entry_lag(rng, delivered))
            recorded = np.minimum(
                recorded, d64(cal.HORIZON_END).astype("datetime64[us]") + 86399 * SECOND
            )
            parts.append(
                pl.DataFrame(
                    {
                        "program_code": program.astype(str),
                        "member_id": opt_str(member),
                        "beneficiary_group": group,
                        "union_id": ref_unions.ids[np.maximum(uidx, 0)],
                        "union_name": ref_unions.names[np.maximum(uidx, 0)],
                        "station_id": opt_str(station),
                        "district_code": district,
                        "delivered_on": delivered,
                        "person_times": person_times,
                        "benefit_cents": np.round(per_person * person_times * 100).astype(np.int64),
                        "channel": channel,
                        "recorded_at": recorded,
                        "remark": _pick(rng, REMARKS, n),
                        "stratum": np.full(n, stratum.name),
                    }
                )
            )
    deliveries = pl.concat(parts).sort(
        "recorded_at", "district_code", "delivered_on", "program_code"
    )
    return deliveries.with_columns(
        delivery_id=pl.lit("D") + pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(12)
    )


def build_station_visits(
    seed: int, stations: pl.DataFrame, weights: Mapping[str, float] | None = None
) -> pl.DataFrame:
    rng = stream(seed, "station_visits")
    covered = list(weights or cal.DISTRICT_WEIGHTS)
    # The district federations are the first unions, in district order (build_unions).
    federation_of = {code: f"U{i + 1:08d}" for i, code in enumerate(covered)}
    start = np.maximum(stations["opened_on"].to_numpy(), d64(cal.HISTORY_START))
    end = stations["closed_on"].fill_null(cal.HORIZON_END).to_numpy()
    end = np.minimum(end, d64(cal.HORIZON_END))
    days = np.maximum((end - start).astype(np.int64) + 1, 0)
    idx = np.repeat(np.arange(stations.height), days)
    offset = np.arange(len(idx)) - np.repeat(np.cumsum(days) - days, days)
    date = start[idx] + offset * DAY
    rate = rng.lognormal(np.log(20), 0.6, stations.height)[idx]
    weekday = (date.astype(np.int64) + 3) % 7
    visits = rng.poisson(rate * np.where(weekday >= 5, 0.6, 1.0))
    new_form = rng.binomial(visits, 0.3)
    keep = visits > 0
    district = stations["district_code"].to_numpy()[idx]
    return pl.DataFrame(
        {
            "station_id": stations["station_id"].to_numpy()[idx][keep],
            "date": date[keep],
            "visits": visits[keep],
            "new_form_visits": new_form[keep],
            "reporting_union_id": np.array([federation_of[d] for d in covered])[
                np.searchsorted(np.array(covered), district[keep])
            ],
        }
    )
