"""Dagster resources over the pipeline settings (``core.settings``): each reads its
``UNIONWH_*`` variable through ``dg.EnvVar`` when set."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import dagster as dg

from core.settings import (
    DEMO_PII_KEY,
    ENV_DISPUTES_API_TOKEN,
    ENV_DISPUTES_API_URL,
    ENV_DISPUTES_EXPORT_DIR,
    ENV_MEMBERSHIP_DB_URL,
    ENV_PII_KEY,
    ENV_RAW_DIR,
    ENV_SERVICES_LANDING_DIR,
    ENV_SERVING_PATH,
    ENV_SPARK_DIR,
    ENV_WAREHOUSE_PATH,
    PipelineSettings,
    _get,
    spark_dir,
)
from ingestion.raw_store import RawStore

logger = logging.getLogger(__name__)

# --- Dagster resources -----------------------------------------------------------------------
# Each resource reads its UNIONWH_* variable through dg.EnvVar when it is set, so the value is
# resolved at run time and never shown in the UI (URLs may hold passwords); when it is unset,
# the demo default is used, exactly as PipelineSettings documents.


def _env_or(name: str, default: str | None) -> Any:
    return dg.EnvVar(name) if _get(os.environ, name) is not None else default


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file and the Parquet raw directory beside it; ``engine`` is the
    engine dbt builds the models on (``duckdb``, or ``spark`` with its catalog and tables
    under ``spark_dir``)."""

    path: str
    raw_dir: str | None = None
    engine: str = "duckdb"
    spark_dir: str | None = None

    def spark_path(self) -> Path:
        return spark_dir(Path(self.path), self.spark_dir)

    def store(self) -> RawStore:
        return RawStore(Path(self.path), Path(self.raw_dir) if self.raw_dir else None)


class ServingResource(dg.ConfigurableResource):
    """The read-only DuckDB file the marts are published to for analysts and BI."""

    path: str


class PiiKeyResource(dg.ConfigurableResource):
    """The HMAC key that pseudonymises ID numbers and phones."""

    key: str

    def checked_key(self) -> str:
        """The key; the run's log warns when it is the public demo key."""
        if self.key == DEMO_PII_KEY:
            logger.warning("%s is not set: using the PUBLIC demo pseudonymisation key", ENV_PII_KEY)
        return self.key


class MembershipDatabaseResource(dg.ConfigurableResource):
    url: str


class DisputesSourceResource(dg.ConfigurableResource):
    """The dispute system: its REST API when ``api_url`` is set, else its export directory."""

    export_dir: str
    api_url: str | None = None
    api_token: str | None = None


class ServicesLandingResource(dg.ConfigurableResource):
    landing_dir: str


def run_settings(
    pii: PiiKeyResource,
    *,
    membership_db: MembershipDatabaseResource | None = None,
    disputes_source: DisputesSourceResource | None = None,
    services_landing: ServicesLandingResource | None = None,
) -> PipelineSettings:
    """The settings a run's resources hold, for a loader's ``config_from``; the inverse of
    ``resources_from_env``. A source whose resource is not given keeps the defaults."""
    fields: dict[str, Any] = {"pii_key": pii.checked_key()}
    if membership_db is not None:
        fields["membership_db_url"] = membership_db.url
    if disputes_source is not None:
        fields["disputes_export_dir"] = Path(disputes_source.export_dir)
        fields["disputes_api_url"] = disputes_source.api_url
        fields["disputes_api_token"] = disputes_source.api_token
    if services_landing is not None:
        fields["services_landing_dir"] = services_landing.landing_dir
    return PipelineSettings(**fields)


def resources_from_env() -> dict[str, dg.ConfigurableResource]:
    """The pipeline's resources, configured from ``UNIONWH_*`` with the demo defaults."""
    # The demo-key warning belongs to the run that uses the key, not to loading code.
    defaults = PipelineSettings.from_env(warn=False)
    return {
        "warehouse": WarehouseResource(
            path=_env_or(ENV_WAREHOUSE_PATH, str(defaults.warehouse_path)),
            raw_dir=_env_or(ENV_RAW_DIR, None),
            # Not secret, and checked (lowercase, a known engine) by PipelineSettings.
            engine=defaults.engine,
            spark_dir=_env_or(ENV_SPARK_DIR, None),
        ),
        "serving": ServingResource(
            path=_env_or(ENV_SERVING_PATH, str(defaults.serving_path)),
        ),
        "pii": PiiKeyResource(key=_env_or(ENV_PII_KEY, DEMO_PII_KEY)),
        "membership_db": MembershipDatabaseResource(
            url=_env_or(ENV_MEMBERSHIP_DB_URL, defaults.membership_db_url)
        ),
        "disputes_source": DisputesSourceResource(
            export_dir=_env_or(ENV_DISPUTES_EXPORT_DIR, str(defaults.disputes_export_dir)),
            api_url=_env_or(ENV_DISPUTES_API_URL, None),
            api_token=_env_or(ENV_DISPUTES_API_TOKEN, None),
        ),
        "services_landing": ServicesLandingResource(
            landing_dir=_env_or(ENV_SERVICES_LANDING_DIR, defaults.services_landing_dir)
        ),
    }
