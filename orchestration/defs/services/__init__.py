"""Service system (file drops): catalogue, stations, deliveries, station visits."""

import dagster as dg

from orchestration.defs.services.assets import services_raw
from orchestration.defs.services.sensors import services_landing_sensor

defs = dg.Definitions(assets=[services_raw], sensors=[services_landing_sensor])
