"""Membership system (relational database, any SQLAlchemy URL): unions, members, membership
events, honors. ``load`` is one incremental load of all four (``loader``)."""

from ingestion.contract import HONOR, MEMBER, MEMBERSHIP_EVENT, UNION_ORG
from ingestion.membership.loader import (
    ENTITIES,
    RECONCILED_BY_KEY,
    SOURCE,
    MembershipLoad,
    config_from,
    empty_rows,
    load,
)

__all__ = [
    "ENTITIES",
    "HONOR",
    "MEMBER",
    "MEMBERSHIP_EVENT",
    "RECONCILED_BY_KEY",
    "SOURCE",
    "UNION_ORG",
    "MembershipLoad",
    "config_from",
    "empty_rows",
    "load",
]
