"""Volumes at scale factor 1, calibrated so that 2024 reproduces the federation's 2024 work
report (see KPIS.md). Other years follow the same shape with growth. Every volume is
multiplied by the scale factor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

HISTORY_START = dt.date(2020, 1, 1)
BASE_AS_OF = dt.date(2024, 12, 31)
# The plan extends past the base date so that `advance` only reveals what was already decided.
HORIZON_END = dt.date(2025, 12, 31)
YEARS = (2020, 2021, 2022, 2023, 2024, 2025)

# District weights: the size of each district's workforce, roughly.
DISTRICT_WEIGHTS = {
    "110101": 0.050, "110102": 0.070, "110105": 0.170, "110106": 0.080,
    "110107": 0.030, "110108": 0.150, "110109": 0.015, "110111": 0.035,
    "110112": 0.060, "110113": 0.055, "110114": 0.070, "110115": 0.070,
    "110116": 0.020, "110117": 0.015, "110118": 0.015, "110119": 0.010,
}  # fmt: skip
# Outer districts whose delivery systems still export GB18030.
GB18030_DISTRICTS = frozenset({"110109", "110111", "110117", "110119"})
NEW_FORM_INDUSTRIES = ("6020", "6242", "5413", "5431")


@dataclass(frozen=True)
class YearTargets:
    new_single_unions: int
    new_joint_unions: int
    joins: int
    joins_new_form: int
    cases_accepted: int
    cases_mediated: int
    cases_legal_aid: int
    recovered_yuan: float
    hotline_requests: int
    honors_certificates: int
    honors_medals: int
    honors_pioneers: int
    care_person_times: int
    care_new_form_person_times: int
    new_form_person_times: int
    culture_person_times: int
    skills_person_times: int
    app_person_times: int
    other_person_times: int
    app_programs_started: int


TARGETS: dict[int, YearTargets] = {
    2020: YearTargets(900, 220, 205_000, 30_000, 12_000, 4_300, 3_000, 180e6, 38_000,
                      80, 400, 160, 2_500_000, 8_000, 40_000, 14_000_000, 60_000,
                      496_800, 700_000, 250),
    2021: YearTargets(960, 235, 218_000, 36_000, 13_000, 4_800, 3_400, 200e6, 42_000,
                      82, 410, 170, 2_700_000, 9_000, 45_000, 15_500_000, 70_000,
                      807_300, 760_000, 330),
    2022: YearTargets(1_010, 245, 230_000, 42_000, 14_200, 5_400, 3_900, 230e6, 46_000,
                      84, 415, 175, 2_850_000, 10_000, 50_000, 17_000_000, 80_000,
                      1_179_900, 820_000, 400),
    2023: YearTargets(1_045, 255, 241_000, 48_000, 15_300, 5_900, 4_400, 260e6, 50_000,
                      85, 420, 180, 3_000_000, 11_000, 54_000, 18_500_000, 90_000,
                      1_552_500, 880_000, 450),
    2024: YearTargets(1_073, 262, 252_700, 54_100, 16_480, 6_367, 4_971, 289e6, 53_480,
                      87, 429, 183, 3_125_000, 12_000, 57_500, 20_000_000, 100_000,
                      2_173_500, 950_000, 485),
    2025: YearTargets(1_100, 270, 260_000, 58_000, 17_000, 6_600, 5_200, 300e6, 55_000,
                      88, 430, 185, 3_200_000, 12_500, 59_000, 20_500_000, 105_000,
                      2_300_000, 1_000_000, 500),
}  # fmt: skip

LEGACY_UNIONS = 30_000
LEGACY_MEMBERS = 1_500_000
STATIONS = 1_000
DISTRICT_UNION_COUNT = 16


def scaled(value: float, scale: float) -> int:
    return int(round(value * scale))
