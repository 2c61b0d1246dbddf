"""`target` for sqlfluff's jinja templater: the DuckDB target, whose SQL sqlfluff lints (a
model's config may depend on ``target.type``)."""

name = "duckdb"
type = "duckdb"  # noqa: A001 - dbt's attribute name
