"""Data-quality suites: great-expectations suites over Arrow/pandas batches of the warehouse,
and the quarantine summary, run as Dagster asset checks that gate publication."""
