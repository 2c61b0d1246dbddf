"""Membership system (relational DB): unions, members, membership events, honors."""

import dagster as dg

defs = dg.Definitions()
