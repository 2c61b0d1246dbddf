"""Serving area: publication of the marts for analysts and BI tools."""

import dagster as dg

from orchestration.defs.serving.assets import serving_dashboard, serving_warehouse

defs = dg.Definitions(assets=[serving_warehouse, serving_dashboard])
