"""Running suites with great-expectations over Arrow batches of the warehouse.

GX's SQL datasource fails over duckdb-engine (an upstream ``IndexError`` in
``resolve_metric_bundle``), so DuckDB runs each suite's query, selecting only the columns the
suite needs, and hands the result to GX's pandas datasource as a dataframe. Per-row suites
are streamed in chunks of ``CHUNK_ROWS`` and their counts summed, which keeps memory bounded
whatever the scale; aggregate suites validate one small batch. Every run is stored in a file
GX context beside the warehouse, from which the Data Docs site is built.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from core.crash_points import crash_point
from core.warehouse import connect
from ingestion.sql_literals import sql_list
from quality import loads_seen
from quality.config import Thresholds, load_thresholds
from quality.data_docs import ExternalResourceError, make_offline
from quality.outcome import MAX_EXAMPLES, ExpectationOutcome, SuiteOutcome
from quality.suite import Suite, gxe

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1_000_000
# Stored validation results kept per suite; Data Docs show these.
KEEP_RESULTS = 5
DATASOURCE = "unionwh_warehouse"


def quality_dir(warehouse: Path) -> Path:
    """Where the GX project (suites, results, Data Docs) of a warehouse lives."""
    return warehouse.with_name(f"{warehouse.stem}_quality")


def docs_index(warehouse: Path) -> Path:
    return quality_dir(warehouse) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _jsonable(value: Any) -> Any:
    """Plain JSON types for Dagster metadata: NaN and NaT become None, dates strings."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if not isinstance(value, (list, tuple)) and pd.isna(value):
        return None
    return json.loads(json.dumps(value, default=str))


def _counted_outcome(
    expectation: Expectation,
    rows: int,
    missing: int = 0,
    unexpected: int = 0,
    examples: list[dict[str, Any]] | None = None,
) -> ExpectationOutcome:
    """What GX reports for a per-row ``expectation`` over rows counted in DuckDB."""
    outcome = ExpectationOutcome(
        expectation=expectation.expectation_type,
        column=getattr(expectation, "column", None),
        success=True,
        element_count=rows,
        missing_count=missing,
        unexpected_count=unexpected,
        examples=examples or [],
        mostly=float(getattr(expectation, "mostly", None) or 1.0),
    )
    outcome.judge()
    return outcome


def _frames(
    con: duckdb.DuckDBPyConnection, sql: str, chunk_rows: int | None
) -> Iterator[pd.DataFrame]:
    """The query's rows as dataframes of about ``chunk_rows`` rows (all at once when None).

    DuckDB's reader hands out batches of its own sizing, so they are regrouped here: an
    aggregate batch must never be split, and tiny chunks would each pay GX's overhead.
    """
    relation = con.sql(sql)
    if chunk_rows is None:
        yield relation.to_arrow_table().to_pandas()
        return
    reader = relation.to_arrow_reader(chunk_rows)
    pending: list[pa.RecordBatch] = []
    size = 0
    yielded = False
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= chunk_rows:
            yield pa.Table.from_batches(pending, schema=reader.schema).to_pandas()
            pending, size, yielded = [], 0, True
    if pending or not yielded:
        yield pa.Table.from_batches(pending, schema=reader.schema).to_pandas()


def expected_counts(
    con: duckdb.DuckDBPyConnection, suite: Suite, thresholds: Thresholds
) -> tuple[int, int]:
    """How many rows of the batch of a suite with ``expected_rows`` that predicate holds for,
    and how many it does not (the news GX validates). DuckDB alone: no GX needed. A suite
    whose two sides agree (``Suite.agreement``) has no news, and its batch is not read."""
    if suite.agreement is not None:
        left, right = (con.sql(side).fetchall()[0] for side in suite.agreement)
        if left == right:
            return left[0], 0
    expected = f"coalesce({suite.expected_rows}, false)"
    ((held, news),) = con.sql(
        # count_if over no rows is null in DuckDB, count(*) zero
        f"select count(*) filter ({expected}), count(*) filter (not {expected}) "
        f"from ({suite.query(thresholds)})"
    ).fetchall()
    return held, news


class GxWorkspace:
    """A file-backed GX context whose pandas datasource holds one dataframe asset per suite."""

    def __init__(self, root: Path) -> None:
        gxe()  # sets the no-analytics switch before GX is imported
        import great_expectations as gx

        self._gx = gx
        root.mkdir(parents=True, exist_ok=True)
        self.context = gx.get_context(mode="file", project_root_dir=str(root))
        self.context.variables.progress_bars = {"globally": False}
        # Replacing the datasource would drop its assets, and GX rewrites the project's YAML
        # on every asset added back: the one that exists is kept.
        try:
            self.datasource = self.context.data_sources.get(DATASOURCE)
        except KeyError:
            self.datasource = self.context.data_sources.add_pandas(DATASOURCE)
        self.root = root

    def _validation(self, suite: Suite, thresholds: Thresholds) -> Any:
        gx = self._gx
        try:
            asset = self.datasource.get_asset(suite.gx_name)
        except LookupError:
            asset = self.datasource.add_dataframe_asset(suite.gx_name)
        try:
            batch_definition = asset.get_batch_definition("whole")
        except KeyError:
            batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        expectation_suite = self.context.suites.add_or_update(
            gx.ExpectationSuite(
                name=suite.gx_name,
                expectations=list(suite.expectations(thresholds)),
                meta={
                    "severity": suite.effective_severity(thresholds).value,
                    "description": suite.description,
                },
            )
        )
        return self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(
                name=suite.gx_name, data=batch_definition, suite=expectation_suite
            )
        )

    def validate(
        self,
        con: duckdb.DuckDBPyConnection,
        suite: Suite,
        thresholds: Thresholds,
        chunk_rows: int = CHUNK_ROWS,
        seen: frozenset[str] | None = None,
        whole: bool = False,
        expected: tuple[int, int] | None = None,
    ) -> tuple[SuiteOutcome, frozenset[str]]:
        """The suite's outcome over its batch, and the loads whose rows it covered.

        Unless ``whole``, GX sees only the rows whose verdict is news, and the others are
        counted by one aggregate query over the warehouse as it is now, their counts merged as
        a chunk's: the same counts and verdict as GX over every row. With ``seen``, the loads a
        suite with a ``load_column`` validated before, the news are the rows of other loads
        (``_counted`` counts the rest, whatever changed since: a late key, a deleted target;
        the new rows' examples come first); for a suite with ``expected_rows``, the rows that
        predicate does not hold for; ``expected``, those counts (``expected_counts``) when
        they were taken already."""
        started = time.perf_counter()
        sql = suite.query(thresholds)
        counted: list[ExpectationOutcome] | None = None
        other_rows = 0
        if suite.load_column is not None and seen is not None and not whole:
            # a semi-join, not list_contains: a year of daily loads is a long list
            loads = f"cast({sql_list(sorted(seen))} as varchar[])"
            known = f"{suite.load_column} in (select unnest({loads}))"
            counted, other_rows = self._counted(
                con, suite, thresholds, f"select * from ({sql}) where {known}"
            )
            sql = f"select * from ({sql}) where not coalesce({known}, false)"
        elif suite.expected_rows is not None and not whole:
            other_rows, news = expected or expected_counts(con, suite, thresholds)
            counted = [_counted_outcome(e, other_rows) for e in suite.expectations(thresholds)]
            # GX still judges the empty batch (its Data Docs show the run), without a second
            # pass over the batch's join when nothing is news
            predicate = f"coalesce({suite.expected_rows}, false)"
            sql = f"select * from ({sql}) where not {predicate}{'' if news else ' limit 0'}"
        merged, rows, chunks, observed, loads = self._run(con, suite, thresholds, sql, chunk_rows)
        if counted is not None and merged is not None:
            for total, part in zip(merged, counted, strict=True):
                total.absorb(part)
        outcome = SuiteOutcome(
            suite=suite.gx_name,
            check=suite.name,
            asset=suite.asset,
            severity=suite.effective_severity(thresholds).value,
            rows=rows + other_rows,
            chunks=chunks,
            seconds=time.perf_counter() - started,
            expectations=merged or [],
            observed=observed,
            gx_rows=rows if counted is not None else None,
        )
        return outcome, loads | (seen or frozenset())

    def _run(
        self,
        con: duckdb.DuckDBPyConnection,
        suite: Suite,
        thresholds: Thresholds,
        sql: str,
        chunk_rows: int,
    ) -> tuple[list[ExpectationOutcome] | None, int, int, dict[str, Any], frozenset[str]]:
        """GX over the rows of ``sql``: merged outcomes (None when no batch was validated),
        rows, chunks, the observed aggregate row, and the loads of the rows."""
        validation = None
        result_format: dict[str, Any] = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": MAX_EXAMPLES,
        }
        if suite.key_columns:
            result_format["unexpected_index_column_names"] = list(suite.key_columns)
        merged: list[ExpectationOutcome] | None = None
        rows = chunks = 0
        observed: dict[str, Any] = {}
        loads: set[str] = set()
        # Aggregate suites must see their whole batch at once.
        size = chunk_rows if suite.row_level else None
        for frame in _frames(con, sql, size):
            if suite.load_column is not None:
                loads.update(str(load) for load in frame[suite.load_column].dropna().unique())
                frame = frame.drop(columns=[suite.load_column])
            chunks += 1
            rows += len(frame)
            if not suite.row_level and len(frame) == 1:
                observed = _jsonable(frame.iloc[0].to_dict())
            if len(frame) < suite.min_rows(thresholds):
                merged = self._not_judged(suite, thresholds)
                observed = {"records": len(frame), "judged_from": suite.min_rows(thresholds)}
                break
            validation = validation or self._validation(suite, thresholds)
            result = validation.run(
                batch_parameters={"dataframe": frame}, result_format=result_format
            )
            found = [self._outcome(r, suite) for r in result.results]
            if merged is None:
                merged = found
            else:
                for total, part in zip(merged, found, strict=True):
                    total.absorb(part)
        return merged, rows, chunks, observed, frozenset(loads)

    @staticmethod
    def _counted(
        con: duckdb.DuckDBPyConnection, suite: Suite, thresholds: Thresholds, sql: str
    ) -> tuple[list[ExpectationOutcome], int]:
        """The outcomes GX would give over the rows of ``sql`` for expectations that every
        value is true, counted by DuckDB, and the number of rows."""
        expectations = list(suite.expectations(thresholds))
        for e in expectations:
            value_set = list(getattr(e, "value_set", None) or [])
            if (e.expectation_type, value_set) != ("expect_column_values_to_be_in_set", [True]):
                raise ValueError(
                    f"{suite.gx_name}: a suite with a load_column may only expect values to be "
                    f"true, not {e.expectation_type}"
                )
        columns = [e.column for e in expectations]
        counts = ", ".join(
            f"count(*) filter ({c} is null), count(*) filter (not {c})" for c in columns
        )
        ((total, *found),) = con.sql(f"select count(*), {counts} from ({sql})").fetchall()
        keys = ", ".join(suite.key_columns)
        outcomes = []
        for e, column, missing, unexpected in zip(
            expectations, columns, found[::2], found[1::2], strict=True
        ):
            examples = []
            if unexpected and keys:
                failing = con.sql(
                    f"select {keys} from ({sql}) where not {column} limit {MAX_EXAMPLES}"
                ).fetchall()
                examples = [
                    {k: _jsonable(v) for k, v in zip(suite.key_columns, row, strict=True)}
                    for row in failing
                ]
            outcomes.append(_counted_outcome(e, total, missing, unexpected, examples))
        return outcomes, total

    @staticmethod
    def _not_judged(suite: Suite, thresholds: Thresholds) -> list[ExpectationOutcome]:
        """Passing outcomes for a batch too small to judge (``Suite.judged_from``)."""
        return [
            ExpectationOutcome(
                expectation=e.expectation_type,
                column=getattr(e, "column", None),
                success=True,
            )
            for e in suite.expectations(thresholds)
        ]

    @staticmethod
    def _outcome(result: Any, suite: Suite) -> ExpectationOutcome:
        config = result.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or (
            f"{kwargs['column_A']},{kwargs['column_B']}" if "column_A" in kwargs else None
        )
        found = dict(result.result or {})
        examples = [
            {k: _jsonable(row[k]) for k in suite.key_columns if k in row}
            for row in found.get("partial_unexpected_index_list") or []
            if isinstance(row, dict)
        ][:MAX_EXAMPLES]
        observed = found.get("observed_value")
        return ExpectationOutcome(
            expectation=config.type,
            column=column,
            success=bool(result.success),
            element_count=found.get("element_count"),
            missing_count=found.get("missing_count"),
            unexpected_count=found.get("unexpected_count"),
            observed_value=_jsonable(observed) if observed is not None else None,
            examples=examples,
            mostly=float(kwargs.get("mostly") or 1.0),
        )

    @property
    def site(self) -> Path:
        return self.root / "gx" / "uncommitted" / "data_docs" / "local_site"

    @property
    def _results(self) -> Path:
        return self.root / "gx" / "uncommitted" / "validations"

    def result_keys(self) -> set[Any]:
        """The identifiers of every stored validation result."""
        return set(self.context.validation_results_store.list_keys())

    def prune_results(self, keep: int = KEEP_RESULTS) -> None:
        """Keep only the newest ``keep`` stored runs of each suite; a pruned run's Data Docs
        page goes with it."""
        by_suite: dict[str, list[Path]] = {}
        for result in self._results.rglob("*.json"):
            by_suite.setdefault(result.name, []).append(result)
        for results in by_suite.values():
            results.sort(key=lambda p: p.stat().st_mtime, reverse=True)
            for old in results[keep:]:
                page = self.site / "validations" / old.relative_to(self._results)
                page.with_suffix(".html").unlink(missing_ok=True)
                old.unlink()
                # drop the run's now-empty directories up to the store
                parent = old.parent
                while parent != self._results and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent

    def build_docs(self, new_results: Iterable[Any] | None = None) -> Path:
        """Bring the Data Docs site up to date with the stored results; returns its index
        page. With ``new_results`` (the identifiers of the results stored since the site was
        last built), only their pages, their suites' pages and the index are rendered: GX
        renders every stored result otherwise, up to ``KEEP_RESULTS`` per suite, which took
        most of a run's check time. Without, or before the site exists, all are rendered."""
        self.prune_results()
        since = None
        if new_results is None or not (self.site / "index.html").exists():
            shutil.rmtree(self.site, ignore_errors=True)
            self.context.build_data_docs()
        else:
            # Pages written from here on: the file clock may lag time.time() by a tick, and
            # a page checked twice is left as it is.
            since = time.time() - 1
            kept = self.result_keys()  # a run in more chunks than are kept lost its oldest
            pages = [key for key in new_results if key in kept]
            if not pages:
                # no suite validated a row (no new loads): GX would render every page
                return self.site / "index.html"
            suites = {key.expectation_suite_identifier for key in pages}
            self.context.build_data_docs(resource_identifiers=[*pages, *suites])
        try:
            make_offline(self.site, since=since)  # vendored assets instead of CDNs
        except ExternalResourceError:
            # The docs only show results; they protect no published figure, so a page that
            # still calls out is reported, never a reason to fail the checks.
            logger.exception("Data Docs are not self-contained")
        return self.site / "index.html"


def run_suites(
    warehouse: Path,
    suites: Iterable[Suite],
    thresholds: Thresholds | None = None,
    chunk_rows: int = CHUNK_ROWS,
    build_docs: bool = True,
    whole: bool = False,
) -> list[SuiteOutcome]:
    """Validate ``suites`` against the warehouse (opened read-only) and rebuild Data Docs.

    A suite with a ``load_column`` validates with GX only the rows of loads it has not
    validated before (``quality.loads_seen``), one with ``expected_rows`` only the rows that
    may fail, and both count the others in DuckDB; ``whole`` validates every row with GX (the
    weekly full refresh)."""
    thresholds = thresholds or load_thresholds()
    suites = list(suites)
    # GX's import takes seconds of one core, and the counts of the suites with expected_rows
    # (whole facts against the raw layer) need no GX: DuckDB takes them meanwhile, without
    # holding the GIL the import needs.
    importer = threading.Thread(target=gxe, name="gx-import", daemon=True)
    importer.start()
    outcomes = []
    with connect(warehouse, read_only=True) as con:
        counts: dict[str, tuple[int, int]] = {}
        counting: dict[str, float] = {}  # seconds, added to the suite's own
        for suite in suites:
            if suite.expected_rows is not None and suite.load_column is None and not whole:
                started = time.perf_counter()
                counts[suite.gx_name] = expected_counts(con, suite, thresholds)
                counting[suite.gx_name] = time.perf_counter() - started
        importer.join()
        workspace = GxWorkspace(quality_dir(warehouse))
        stored = workspace.result_keys()
        for suite in suites:
            seen = None
            if suite.load_column is not None and not whole:
                seen = loads_seen.read(workspace.root, suite.gx_name)
            outcome, loads = workspace.validate(
                con, suite, thresholds, chunk_rows, seen, whole, counts.get(suite.gx_name)
            )
            outcome.seconds += counting.get(suite.gx_name, 0.0)
            if suite.load_column is not None:
                loads_seen.write(workspace.root, suite.gx_name, loads)
            logger.info(
                "%s: %s over %d rows in %.2f s",
                suite.gx_name,
                "passed" if outcome.passed else f"FAILED {[e.label for e in outcome.failed]}",
                outcome.rows,
                outcome.seconds,
            )
            outcomes.append(outcome)
            crash_point("quality.suite")
    if build_docs:
        workspace.build_docs(new_results=workspace.result_keys() - stored)
    return outcomes
