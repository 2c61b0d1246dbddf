"""Service system file drops: programs, stations, deliveries and station visits."""

import dagster as dg

defs = dg.Definitions()
