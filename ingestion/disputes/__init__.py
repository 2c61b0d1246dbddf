"""Dispute & 12351 hotline system: cases and hotline requests, from its REST API (``api``) or
its JSON-lines export (``export``), each record checked by ``records``; ``load`` is one load
of both (``loader``)."""

from ingestion.contract import CASE, HOTLINE_REQUEST
from ingestion.disputes.loader import ENTITIES, SOURCE, DisputesLoad, config_from, empty_rows, load

__all__ = [
    "CASE",
    "ENTITIES",
    "HOTLINE_REQUEST",
    "SOURCE",
    "DisputesLoad",
    "config_from",
    "empty_rows",
    "load",
]
