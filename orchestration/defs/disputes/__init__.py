"""Dispute & hotline system (REST API or JSON-lines export): cases and 12351 requests."""

import dagster as dg

from orchestration.defs.disputes.assets import disputes_raw

defs = dg.Definitions(assets=[disputes_raw])
