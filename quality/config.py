"""The bands the suites hold the data to: ``quality/thresholds.yml``, or the file that
``UNIONWH_QUALITY_CONFIG`` names."""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ENV_QUALITY_CONFIG = "UNIONWH_QUALITY_CONFIG"
DEFAULT_CONFIG = Path(__file__).with_name("thresholds.yml")
# The date the sources are current to, when they are a replay or a simulation that ended
# before today (the demo ends on 2024-12-31): freshness then measures the newest record's lag
# against the end of that day instead of the load time. Unset for live sources.
ENV_SOURCES_AS_OF = "UNIONWH_SOURCES_AS_OF"


def sources_as_of() -> dt.date | None:
    """``UNIONWH_SOURCES_AS_OF`` as a date, None when unset."""
    value = os.environ.get(ENV_SOURCES_AS_OF, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{ENV_SOURCES_AS_OF}={value!r}: expected a date, YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class KpiBand:
    max_change: float
    floor: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Parsed ``thresholds.yml``; ``raw`` keeps the document for metadata."""

    raw: dict[str, Any]
    kpi_bands: dict[str, KpiBand]
    kpi_explanations: dict[tuple[str, str, str], str]

    def get(self, section: str, name: str) -> Any:
        try:
            return self.raw[section][name]
        except KeyError as exc:
            raise KeyError(f"quality config has no {section}.{name}") from exc


def load_thresholds(path: Path | None = None) -> Thresholds:
    """Read the config; ``path`` wins over ``UNIONWH_QUALITY_CONFIG`` over the default."""
    path = path or Path(os.environ.get(ENV_QUALITY_CONFIG) or DEFAULT_CONFIG)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    jumps = raw["kpi_jumps"]
    bands = {
        code: KpiBand(float(spec["max_change"]), float(spec.get("floor", 1)))
        for code, spec in jumps["bands"].items()
    }
    explanations: dict[tuple[str, str, str], str] = {}
    explained = path.parent / jumps["explanations"]
    with explained.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["kpi_code"], row["period_start"], row.get("district_code") or "ALL")
            explanations[key] = row["explanation"]
    return Thresholds(raw=raw, kpi_bands=bands, kpi_explanations=explanations)
