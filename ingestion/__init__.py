"""Extract the three source systems, pseudonymise PII and land raw tables in DuckDB."""
