"""Quality area: great-expectations suites and quarantine summaries as asset checks."""
