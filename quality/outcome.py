"""What a suite run found, in a form Dagster metadata and tests can read: never record values,
only counts, observed aggregates and a few example keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_EXAMPLES = 5


@dataclass(slots=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    element_count: int | None = None
    missing_count: int | None = None
    unexpected_count: int | None = None
    observed_value: Any = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    mostly: float = 1.0

    @property
    def label(self) -> str:
        return f"{self.expectation}({self.column})" if self.column else self.expectation

    def absorb(self, other: ExpectationOutcome) -> None:
        """Add another chunk's counts of the same per-row expectation, re-judging success
        against ``mostly`` over the whole batch rather than per chunk."""
        self.element_count = (self.element_count or 0) + (other.element_count or 0)
        self.missing_count = (self.missing_count or 0) + (other.missing_count or 0)
        self.unexpected_count = (self.unexpected_count or 0) + (other.unexpected_count or 0)
        room = MAX_EXAMPLES - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])
        self.judge()

    def judge(self) -> None:
        """Success from the counts, as great-expectations judges a per-row expectation: at
        least ``mostly`` of the values that are not missing are expected."""
        nonmissing = (self.element_count or 0) - (self.missing_count or 0)
        self.success = nonmissing == 0 or (
            (nonmissing - (self.unexpected_count or 0)) / nonmissing >= self.mostly
        )

    @property
    def unexpected_share(self) -> float | None:
        if self.element_count is None or self.unexpected_count is None:
            return None
        nonmissing = self.element_count - (self.missing_count or 0)
        return self.unexpected_count / nonmissing if nonmissing else 0.0


@dataclass(slots=True)
class SuiteOutcome:
    suite: str
    check: str
    asset: tuple[str, ...]
    severity: str
    rows: int
    chunks: int
    seconds: float
    expectations: list[ExpectationOutcome]
    # the batch itself when it is one pre-aggregated row (volumes, shares, ages)
    observed: dict[str, Any] = field(default_factory=dict)
    # of ``rows``, those great-expectations validated when it was handed only the rows whose
    # verdict is news (``Suite.load_column``, ``Suite.expected_rows``; the others were counted
    # by an aggregate); None when it validated every row
    gx_rows: int | None = None

    @property
    def passed(self) -> bool:
        return all(e.success for e in self.expectations)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    def metadata(self) -> dict[str, Any]:
        """Dagster check metadata: observed values, unexpected counts and example keys."""
        meta: dict[str, Any] = {
            "suite": self.suite,
            "rows_validated": self.rows,
            "chunks": self.chunks,
            **({} if self.gx_rows is None else {"rows_validated_by_gx": self.gx_rows}),
            "seconds": round(self.seconds, 3),
            "expectations_failed": [e.label for e in self.failed],
        }
        if self.observed:
            meta["observed"] = self.observed
        for e in self.expectations:
            entry: dict[str, Any] = {"success": e.success}
            if e.unexpected_count is not None:
                entry["unexpected_count"] = e.unexpected_count
                entry["unexpected_share"] = round(e.unexpected_share or 0.0, 6)
            if e.observed_value is not None:
                entry["observed_value"] = e.observed_value
            if e.examples:
                entry["example_keys"] = e.examples
            meta[e.label] = entry
        return meta
