"""Model files are portable by construction: no engine-specific SQL outside the dispatched
macros of ``dbt_project/macros/cross_db/`` (dbt_project/README.md, "Three engines"). The
builds on Spark (tests/test_spark.py) and PostgreSQL (tests/test_postgres_peer.py) prove the
SQL runs; this catches a DuckDB-only construct in a model before any build does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"

# Each: DuckDB (or PostgreSQL) syntax another engine of the project rejects or reads otherwise.
NOT_PORTABLE = {
    "qualify": r"\bqualify\b",
    "group by all": r"\bgroup\s+by\s+all\b",
    "union by name": r"\bunion\s+(all\s+)?by\s+name\b",
    "select * exclude": r"\*\s*exclude\b",
    ":: cast": r"[\w)\]]::\w",
    "varchar": r"\bvarchar\b",
    "double precision": r"\bdouble\s+precision\b",
    "unnest": r"\bunnest\s*\(",
    "generate_series": r"\bgenerate_(series|subscripts)\s*\(",
    "list/struct functions": r"\b(list|struct|array)_\w+\s*\(",
    "strftime/printf": r"\b(strftime|printf|to_char)\s*\(",
    "date_diff/age": r"\b(date_diff|datediff|age)\s*\(",
    "interval without quotes": r"\binterval\s+\d",
    "string agg": r"\b(string_agg|listagg|group_concat)\s*\(",
    "->> json": r"->>",
}


def _sql_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)  # jinja comments
    text = re.sub(r"--[^\n]*", "", text)  # SQL comments
    # Arguments to macros are the macros' business (e.g. struct_field(..., 'varchar')).
    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", text, flags=re.S)


MODELS = sorted((PROJECT / "models").rglob("*.sql"))


def test_every_model_file_is_checked() -> None:
    assert len(MODELS) >= 50


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_model_holds_no_engine_specific_sql(model: Path) -> None:
    sql = _sql_of(model).lower()
    found = {name for name, pattern in NOT_PORTABLE.items() if re.search(pattern, sql)}
    assert not found, f"{model.relative_to(PROJECT)}: {sorted(found)}: use a cross_db macro"


def test_every_dispatched_macro_has_a_spark_implementation() -> None:
    """A cross_db macro dispatched without a spark__ version would fall back to the
    PostgreSQL default on Spark."""
    missing = []
    for path in sorted((PROJECT / "macros" / "cross_db").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"adapter\.dispatch\('(\w+)'", text):
            if f"spark__{name}" not in text:
                missing.append(name)
    assert missing == []


def test_the_checks_catch_what_they_name() -> None:
    samples = {
        "qualify": "select * from t qualify row_number() over () = 1",
        "group by all": "select a, count(*) from t group by all",
        ":: cast": "select a::date from t",
        "varchar": "select cast(a as varchar) from t",
        "unnest": "select unnest(xs) from t",
        "interval without quotes": "select d + interval 1 day from t",
    }
    for name, sample in samples.items():
        assert re.search(NOT_PORTABLE[name], sample), name
