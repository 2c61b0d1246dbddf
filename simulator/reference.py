"""Reference data the simulator draws codes from: the project's dbt seeds, so the simulator and
the warehouse agree on every code by construction."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


def _read(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class Reference:
    districts: dict[str, str]  # code -> Chinese name
    industries: dict[str, str]  # code -> Chinese name
    unit_categories: list[str]
    ethnicities: list[str]


@cache
def load_reference() -> Reference:
    return Reference(
        districts={r["district_code"]: r["name_zh"] for r in _read("districts")},
        industries={r["industry_code"]: r["name_zh"] for r in _read("industries")},
        unit_categories=[r["unit_category"] for r in _read("unit_categories")],
        ethnicities=[r["ethnicity_code"] for r in _read("ethnicities")],
    )


EVENT_TYPES = (
    "JOIN", "TRANSFER_IN", "TRANSFER_OUT", "RETAIN", "RETIRE", "WITHDRAW",
    "DEEMED_WITHDRAW", "EXPEL", "DECEASED", "REINSTATE",
)  # fmt: skip
IN_UNION_EVENTS = ("JOIN", "TRANSFER_IN", "REINSTATE", "RETAIN", "RETIRE")
EDUCATION = (
    "PRIMARY", "JUNIOR_HIGH", "SENIOR_HIGH", "VOCATIONAL", "JUNIOR_COLLEGE",
    "BACHELOR", "MASTER", "DOCTOR",
)  # fmt: skip
NEW_FORM_TYPES = ("RIDER", "COURIER", "RIDE_HAILING", "TRUCK_DRIVER", "OTHER_PLATFORM")
PLATFORMS = {
    "RIDER": ("美团", "饿了么", "闪送"),
    "COURIER": ("顺丰速运", "京东物流", "中通快递", "圆通速递"),
    "RIDE_HAILING": ("滴滴出行", "曹操出行", "首汽约车"),
    "TRUCK_DRIVER": ("货拉拉", "满帮", "快狗打车"),
    "OTHER_PLATFORM": ("58到家", "达达快送", "美团优选"),
}
NEW_FORM_TYPE_INDUSTRY = {
    "RIDER": "6242", "COURIER": "6020", "RIDE_HAILING": "5413",
    "TRUCK_DRIVER": "5431", "OTHER_PLATFORM": "6242",
}  # fmt: skip
PROGRAM_CATEGORIES = (
    "WINTER_WARMTH", "SUMMER_COOLNESS", "MUTUAL_AID", "PSYCH_CARE", "SINGLES_SOCIAL",
    "MATERNAL_ROOM", "EMPLOYMENT", "STATION_SERVICE", "APP_SERVICE", "LEGAL_SERVICE",
    "HEALTH_CHECK", "CHILDCARE", "CULTURE_SPORTS", "SKILLS_COMPETITION", "VOLUNTEER", "OTHER",
)  # fmt: skip
PROGRAM_NAMES = {
    "WINTER_WARMTH": ("冬送温暖", "Winter warmth"),
    "SUMMER_COOLNESS": ("夏送清凉", "Summer coolness"),
    "MUTUAL_AID": ("职工互助保障", "Mutual aid"),
    "PSYCH_CARE": ("职工心理关爱", "Psychological care"),
    "SINGLES_SOCIAL": ("单身职工联谊", "Singles social"),
    "MATERNAL_ROOM": ("母婴关爱室", "Maternal room"),
    "EMPLOYMENT": ("就业帮扶", "Employment assistance"),
    "STATION_SERVICE": ("工会驿站服务", "Rest station service"),
    "APP_SERVICE": ("12351APP服务", "12351 APP service"),
    "LEGAL_SERVICE": ("职工法律服务", "Legal service"),
    "HEALTH_CHECK": ("移动体检", "Mobile health check"),
    "CHILDCARE": ("职工托育", "Childcare"),
    "CULTURE_SPORTS": ("职工文体活动", "Culture and sports"),
    "SKILLS_COMPETITION": ("职工技能竞赛", "Skills competition"),
    "VOLUNTEER": ("职工志愿服务", "Volunteer service"),
    "OTHER": ("其他服务", "Other service"),
}
BENEFICIARY_GROUPS = (
    "MEMBER", "NEW_FORM_WORKER", "OUTDOOR_WORKER", "MIGRANT_WORKER", "HARDSHIP_FAMILY", "OTHER",
)  # fmt: skip
CLAIM_TYPES = (
    "LABOUR_RELATIONSHIP", "WAGE_ARREARS", "OVERTIME_PAY", "ECONOMIC_COMPENSATION",
    "UNLAWFUL_DISMISSAL", "NO_WRITTEN_CONTRACT", "SOCIAL_INSURANCE", "WORK_INJURY",
    "HOURS_AND_LEAVE", "CONTRACT_CHANGE", "NON_COMPETE", "OTHER",
)  # fmt: skip
SOURCE_CHANNELS = (
    "HOTLINE_REFERRAL", "WALK_IN", "ONLINE", "PRE_ARBITRATION", "COURT_REFERRAL",
    "ENTERPRISE_COMMITTEE",
)  # fmt: skip
HOTLINE_TOPICS = (
    "WAGES", "CONTRACT", "SOCIAL_INSURANCE", "WORK_INJURY", "MEMBERSHIP", "MUTUAL_AID",
    "HARDSHIP", "PSYCH", "PLATFORM_RULES", "OTHER",
)  # fmt: skip
