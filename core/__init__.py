"""What every part of the pipeline shares: its settings, the warehouse connection, crash
points and process helpers. Imports none of ingestion, quality, serving, orchestration or
simulator, and no Dagster, so each of them can import it."""
