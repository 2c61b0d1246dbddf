"""Pipeline settings: where the sources are and where the warehouse goes (``UNIONWH_*``).

Free of Dagster, so the command lines (``python -m ingestion`` …) start without importing it
(about 2 s a process); ``orchestration.lib.resources`` builds the Dagster resources on top.

Relative paths are kept relative, i.e. they resolve against the working directory; the
pipeline is meant to be run from the project root (``make run``, ``dagster dev``).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

ENV_MEMBERSHIP_DB_URL = "UNIONWH_MEMBERSHIP_DB_URL"
ENV_DISPUTES_API_URL = "UNIONWH_DISPUTES_API_URL"
ENV_DISPUTES_API_TOKEN = "UNIONWH_DISPUTES_API_TOKEN"
ENV_DISPUTES_EXPORT_DIR = "UNIONWH_DISPUTES_EXPORT_DIR"
ENV_SERVICES_LANDING_DIR = "UNIONWH_SERVICES_LANDING_DIR"
ENV_WAREHOUSE_PATH = "UNIONWH_WAREHOUSE_PATH"
ENV_SERVING_PATH = "UNIONWH_SERVING_PATH"
ENV_PII_KEY = "UNIONWH_PII_KEY"
# The engine dbt builds the models on (the one switch: README, "Scale-out on Spark").
ENV_ENGINE = "UNIONWH_ENGINE"
ENGINES = ("duckdb", "spark")
# The local Spark's catalog and tables (default: <warehouse dir>/<warehouse stem>_spark).
ENV_SPARK_DIR = "UNIONWH_SPARK_DIR"

DEFAULT_MEMBERSHIP_DB_URL = "sqlite:///data/demo/membership.db"
DEFAULT_DISPUTES_EXPORT_DIR = Path("data/demo/disputes")
DEFAULT_SERVICES_LANDING_DIR = "data/demo/landing"
DEFAULT_WAREHOUSE_PATH = Path("data/warehouse.duckdb")
DEFAULT_SERVING_PATH = Path("data/serving.duckdb")
# Public on purpose: it only makes demo runs reproducible. Pseudonyms made with it are
# reversible by anyone who has this source, so it must never protect real personal data.
DEMO_PII_KEY = "union-warehouse-DEMO-pii-key--not-for-real-data"


class DemoPiiKeyWarning(UserWarning):
    """The public demo pseudonymisation key is in use instead of ``UNIONWH_PII_KEY``."""


def _get(environ: Mapping[str, str], name: str) -> str | None:
    # An exported-but-empty variable (`UNIONWH_X=`) means "unset", as in most shells' tooling.
    value = environ.get(name, "").strip()
    return value or None


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """Typed view of the ``UNIONWH_*`` environment variables, with the demo defaults."""

    membership_db_url: str = DEFAULT_MEMBERSHIP_DB_URL
    disputes_api_url: str | None = None
    disputes_api_token: str | None = field(default=None, repr=False)
    disputes_export_dir: Path = DEFAULT_DISPUTES_EXPORT_DIR
    # A string, not a Path: in production this may be any fsspec URL (s3://..., sftp://...).
    services_landing_dir: str = DEFAULT_SERVICES_LANDING_DIR
    warehouse_path: Path = DEFAULT_WAREHOUSE_PATH
    serving_path: Path = DEFAULT_SERVING_PATH
    pii_key: str = field(default=DEMO_PII_KEY, repr=False)
    engine: str = "duckdb"
    spark_dir_setting: Path | None = None

    @property
    def spark_dir(self) -> Path:
        """Where the local Spark keeps its catalog and tables."""
        return spark_dir(self.warehouse_path, self.spark_dir_setting)

    @property
    def disputes_use_api(self) -> bool:
        """Disputes come from the REST API when its URL is set, else from the export dir."""
        return self.disputes_api_url is not None

    @property
    def pii_key_is_demo(self) -> bool:
        return self.pii_key == DEMO_PII_KEY

    @property
    def pii_key_bytes(self) -> bytes:
        """The key as HMAC-SHA256 expects it."""
        return self.pii_key.encode("utf-8")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, warn: bool = True
    ) -> PipelineSettings:
        """Read settings from ``environ`` (default: ``os.environ``).

        Warns with :class:`DemoPiiKeyWarning` (and logs) when the demo PII key is in effect,
        unless ``warn`` is False.
        Raises ``ValueError`` when the disputes API URL is set without its token.
        """
        env = os.environ if environ is None else environ

        api_url = _get(env, ENV_DISPUTES_API_URL)
        api_token = _get(env, ENV_DISPUTES_API_TOKEN)
        if api_url is not None and api_token is None:
            raise ValueError(f"{ENV_DISPUTES_API_URL} is set but {ENV_DISPUTES_API_TOKEN} is not")

        pii_key = _get(env, ENV_PII_KEY) or DEMO_PII_KEY
        if pii_key == DEMO_PII_KEY and warn:
            message = (
                f"{ENV_PII_KEY} is not set: pseudonymising PII with the PUBLIC DEMO KEY. "
                "Pseudonyms are reversible by anyone; use this only for simulator data."
            )
            warnings.warn(message, DemoPiiKeyWarning, stacklevel=2)
            logger.warning(message)

        engine = (_get(env, ENV_ENGINE) or "duckdb").lower()
        if engine not in ENGINES:
            raise ValueError(f"{ENV_ENGINE}={engine!r}: expected one of {', '.join(ENGINES)}")
        spark_setting = _get(env, ENV_SPARK_DIR)

        return cls(
            membership_db_url=_get(env, ENV_MEMBERSHIP_DB_URL) or DEFAULT_MEMBERSHIP_DB_URL,
            disputes_api_url=api_url,
            disputes_api_token=api_token,
            disputes_export_dir=Path(
                _get(env, ENV_DISPUTES_EXPORT_DIR) or DEFAULT_DISPUTES_EXPORT_DIR
            ),
            services_landing_dir=(
                _get(env, ENV_SERVICES_LANDING_DIR) or DEFAULT_SERVICES_LANDING_DIR
            ),
            warehouse_path=Path(_get(env, ENV_WAREHOUSE_PATH) or DEFAULT_WAREHOUSE_PATH),
            serving_path=Path(_get(env, ENV_SERVING_PATH) or DEFAULT_SERVING_PATH),
            pii_key=pii_key,
            engine=engine,
            spark_dir_setting=Path(spark_setting) if spark_setting else None,
        )


def spark_dir(warehouse_path: Path, setting: str | Path | None = None) -> Path:
    """``setting`` (UNIONWH_SPARK_DIR) if given, else ``<warehouse dir>/<stem>_spark``;
    absolute, because dbt resolves it from dbt_project/."""
    if setting:
        return Path(setting).resolve()
    return warehouse_path.resolve().parent / f"{warehouse_path.stem}_spark"


# Where the raw Parquet files go when not beside the warehouse.
ENV_RAW_DIR = "UNIONWH_RAW_DIR"
