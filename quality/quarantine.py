"""The ingestion quarantine summarised per entity: what the latest load rejected, by rule.

Any rejected record makes the check fail as WARN (somebody should look at the source); a
rejected share of the load above ``quarantine.error_rate`` fails it as ERROR, because the
marts built from what is left would be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.warehouse import connect
from ingestion.contract import Entity
from quality.config import Thresholds, load_thresholds
from quality.suite import Severity


@dataclass(frozen=True, slots=True)
class QuarantineOutcome:
    entity: Entity
    load_id: str | None
    rows_read: int
    rows_quarantined: int
    by_rule: dict[str, int]
    quarantined_to_date: int
    error_rate: float
    error_min_rows: int

    @property
    def rate(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def passed(self) -> bool:
        return self.rows_quarantined == 0

    @property
    def severity(self) -> Severity:
        too_many = self.rate > self.error_rate and self.rows_quarantined >= self.error_min_rows
        return Severity.ERROR if too_many else Severity.WARN

    def metadata(self) -> dict[str, Any]:
        return {
            "load_id": self.load_id or "",
            "rows_read": self.rows_read,
            "rows_quarantined": self.rows_quarantined,
            "quarantine_rate": round(self.rate, 6),
            "error_rate": self.error_rate,
            "error_min_rows": self.error_min_rows,
            "quarantined_by_rule": self.by_rule,
            "quarantined_to_date": self.quarantined_to_date,
        }


def summarise_quarantine(
    warehouse: Path, entities: list[Entity], thresholds: Thresholds | None = None
) -> list[QuarantineOutcome]:
    """One outcome per entity, from ``meta.loads`` and ``quarantine.records``."""
    thresholds = thresholds or load_thresholds()
    error_rate = float(thresholds.get("quarantine", "error_rate"))
    error_min_rows = int(thresholds.get("quarantine", "error_min_rows"))
    outcomes = []
    with connect(warehouse, read_only=True) as con:
        for entity in entities:
            latest = con.execute(
                """
                select load_id, rows_read, rows_quarantined
                from meta.loads
                where source = ? and entity = ?
                order by loaded_at desc, load_id desc
                limit 1
                """,
                [entity.source, entity.name],
            ).fetchall()
            load_id, rows_read, rows_quarantined = latest[0] if latest else (None, 0, 0)
            by_rule = dict(
                con.execute(
                    """
                    select rule, count(*)
                    from quarantine.records
                    where source = ? and entity = ? and _load_id = ?
                    group by rule
                    order by rule
                    """,
                    [entity.source, entity.name, load_id],
                ).fetchall()
            )
            to_date = con.execute(
                "select count(*) from quarantine.records where source = ? and entity = ?",
                [entity.source, entity.name],
            ).fetchall()[0][0]
            outcomes.append(
                QuarantineOutcome(
                    entity=entity,
                    load_id=load_id,
                    rows_read=rows_read or 0,
                    rows_quarantined=rows_quarantined or 0,
                    by_rule=by_rule,
                    quarantined_to_date=to_date,
                    error_rate=error_rate,
                    error_min_rows=error_min_rows,
                )
            )
    return outcomes
