"""What a suite is: the batch it validates (a SQL query over the warehouse selecting only the
columns it needs), the expectations it holds that batch to, and how much a failure matters."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

    from quality.config import Thresholds


def gxe() -> ModuleType:
    """``great_expectations.expectations``, imported on first use: the import takes seconds,
    and Dagster loads these suite definitions in every step process that never validates."""
    # No usage analytics: the pipeline must not call out, and this machine cannot.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    return importlib.import_module("great_expectations.expectations")


class Severity(StrEnum):
    """ERROR blocks publication (the analysts keep the last good serving file); WARN is
    reported with counts where the numbers are read and never blocks."""

    ERROR = "ERROR"
    WARN = "WARN"


@dataclass(frozen=True, slots=True)
class Suite:
    """One great-expectations suite and the Dagster asset check that runs it.

    ``row_level`` suites hold only per-row (column-map) expectations, so their batch may be
    streamed in chunks and the counts summed; the others validate one small, pre-aggregated
    batch in one piece.
    """

    name: str
    asset: tuple[str, ...]
    severity: Severity
    description: str
    sql: str | Callable[[Thresholds], str]
    expectations: Callable[[Thresholds], Sequence[Expectation]]
    key_columns: tuple[str, ...] = ()
    row_level: bool = True
    severity_setting: tuple[str, str] | None = None
    # measure (the validated column) -> (English, Chinese) finding, formatted with ``n`` (the
    # failing records), ``records`` (``nouns``, singular or plural by ``n``), ``total`` and
    # ``share``; shown where the numbers are read
    findings: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    nouns: tuple[str, str] = ("record", "records")
    # a thresholds setting: the batch is judged only from that many rows on (a statistical
    # expectation over a handful of records says nothing); below it the suite passes, noted
    judged_from: tuple[str, str] | None = None
    # Rows whose verdict is no news are counted in DuckDB, not handed to GX (gx_runner):
    # the batch's column naming the load that wrote each row, for suites over an entity's
    # current rows whose expectations are all "true" (GX sees the rows of loads it has not
    # validated yet, quality/loads_seen.py) ...
    load_column: str | None = None
    # ... or a predicate true only of rows that meet every expectation (GX sees the others)
    expected_rows: str | None = None
    # Two queries of one row each, (rows, digest), for a suite with ``expected_rows``: when
    # they return the same row, every row of the batch meets the predicate and the batch has
    # that many rows, so a cheap aggregate of each side stands in for the batch's join
    # (gx_runner.expected_counts); when they differ, the batch is read to find the rows.
    agreement: tuple[str, str] | None = None

    @property
    def gx_name(self) -> str:
        """The suite's name in great-expectations and Data Docs: asset and check."""
        return ".".join((*self.asset, self.name))

    @property
    def asset_path(self) -> str:
        return "/".join(self.asset)

    def query(self, thresholds: Thresholds) -> str:
        return self.sql(thresholds) if callable(self.sql) else self.sql

    def min_rows(self, thresholds: Thresholds) -> int:
        return int(thresholds.get(*self.judged_from)) if self.judged_from else 0

    def effective_severity(self, thresholds: Thresholds) -> Severity:
        """The configured severity where the config may override it, else the default."""
        if self.severity_setting is None:
            return self.severity
        return Severity(thresholds.get(*self.severity_setting))
