"""Dispute & 12351 hotline system: cases and hotline requests, via REST API or JSONL export."""

import dagster as dg

defs = dg.Definitions()
