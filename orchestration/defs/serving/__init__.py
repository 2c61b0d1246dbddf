"""Serving area: publication of the marts for analysts and BI tools."""

import dagster as dg

from orchestration.defs.serving.assets import serving_warehouse

defs = dg.Definitions(assets=[serving_warehouse])
