"""Service system (file drops in a landing directory): catalogue, stations, deliveries,
station visits. ``files`` reads the landing directory, ``revisions`` measures delivery
revisions; ``load`` is one load of every new file (``loader``)."""

from ingestion.contract import DELIVERY
from ingestion.services.loader import (
    ENTITIES,
    SOURCE,
    ServicesLoad,
    config_from,
    empty_rows,
    load,
    unloaded_files,
)

__all__ = [
    "DELIVERY",
    "ENTITIES",
    "SOURCE",
    "ServicesLoad",
    "config_from",
    "empty_rows",
    "load",
    "unloaded_files",
]
