"""Membership system (relational DB): unions, members, membership events, honors."""

import dagster as dg

from orchestration.defs.membership.assets import membership_raw

defs = dg.Definitions(assets=[membership_raw])
