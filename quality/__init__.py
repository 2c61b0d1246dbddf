"""Data-quality checks (great-expectations suites and helpers) run against the warehouse."""
