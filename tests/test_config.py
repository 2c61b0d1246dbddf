"""``UNIONWH_*`` environment variables map onto PipelineSettings as documented."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import yaml

from core.settings import DEMO_PII_KEY, DemoPiiKeyWarning, PipelineSettings
from ingestion.spark_catalog import session_conf

REAL_KEY = "a-real-secret-key-from-the-vault"


def test_defaults_point_at_the_embedded_demo() -> None:
    with pytest.warns(DemoPiiKeyWarning):
        settings = PipelineSettings.from_env({})

    assert settings.membership_db_url == "sqlite:///data/demo/membership.db"
    assert settings.disputes_api_url is None
    assert settings.disputes_api_token is None
    assert not settings.disputes_use_api
    assert settings.disputes_export_dir == Path("data/demo/disputes")
    assert settings.services_landing_dir == "data/demo/landing"
    assert settings.warehouse_path == Path("data/warehouse.duckdb")
    assert settings.serving_path == Path("data/serving.duckdb")
    assert settings.pii_key == DEMO_PII_KEY
    assert settings.pii_key_is_demo


def test_overrides() -> None:
    env = {
        "UNIONWH_MEMBERSHIP_DB_URL": "postgresql+psycopg://u:p@127.0.0.1:5432/membership",
        "UNIONWH_DISPUTES_API_URL": "http://127.0.0.1:8000",
        "UNIONWH_DISPUTES_API_TOKEN": "tok",
        "UNIONWH_DISPUTES_EXPORT_DIR": "/srv/disputes",
        "UNIONWH_SERVICES_LANDING_DIR": "s3://bucket/landing",
        "UNIONWH_WAREHOUSE_PATH": "/tmp/wh.duckdb",
        "UNIONWH_SERVING_PATH": "/tmp/serving.duckdb",
        "UNIONWH_PII_KEY": REAL_KEY,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error", DemoPiiKeyWarning)
        settings = PipelineSettings.from_env(env)

    assert settings.membership_db_url == env["UNIONWH_MEMBERSHIP_DB_URL"]
    assert settings.disputes_api_url == "http://127.0.0.1:8000"
    assert settings.disputes_api_token == "tok"
    assert settings.disputes_use_api
    assert settings.disputes_export_dir == Path("/srv/disputes")
    # An fsspec URL must survive unchanged (a Path would collapse "s3://" to "s3:/").
    assert settings.services_landing_dir == "s3://bucket/landing"
    assert settings.warehouse_path == Path("/tmp/wh.duckdb")
    assert settings.serving_path == Path("/tmp/serving.duckdb")
    assert settings.pii_key == REAL_KEY
    assert not settings.pii_key_is_demo
    assert settings.pii_key_bytes == REAL_KEY.encode()


def test_reads_os_environ_by_default(clean_unionwh_env: pytest.MonkeyPatch) -> None:
    clean_unionwh_env.setenv("UNIONWH_WAREHOUSE_PATH", "/tmp/from-env.duckdb")
    clean_unionwh_env.setenv("UNIONWH_PII_KEY", REAL_KEY)

    settings = PipelineSettings.from_env()

    assert settings.warehouse_path == Path("/tmp/from-env.duckdb")
    assert settings.serving_path == Path("data/serving.duckdb")


def test_empty_values_mean_unset() -> None:
    with pytest.warns(DemoPiiKeyWarning):
        settings = PipelineSettings.from_env(
            {"UNIONWH_PII_KEY": "", "UNIONWH_DISPUTES_API_URL": " ", "UNIONWH_WAREHOUSE_PATH": ""}
        )

    assert settings.pii_key_is_demo
    assert settings.disputes_api_url is None
    assert settings.warehouse_path == Path("data/warehouse.duckdb")


def test_demo_key_warning_is_loud(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.warns(DemoPiiKeyWarning, match="UNIONWH_PII_KEY"):
        PipelineSettings.from_env({"UNIONWH_WAREHOUSE_PATH": "/tmp/x.duckdb"})

    assert any(
        record.levelname == "WARNING" and "DEMO KEY" in record.getMessage()
        for record in caplog.records
    )


def test_api_url_without_token_is_rejected() -> None:
    with pytest.raises(ValueError, match="UNIONWH_DISPUTES_API_TOKEN"):
        PipelineSettings.from_env(
            {"UNIONWH_DISPUTES_API_URL": "http://127.0.0.1:8000", "UNIONWH_PII_KEY": REAL_KEY}
        )


def test_secrets_stay_out_of_repr() -> None:
    settings = PipelineSettings.from_env(
        {
            "UNIONWH_DISPUTES_API_URL": "http://127.0.0.1:8000",
            "UNIONWH_DISPUTES_API_TOKEN": "tok-should-not-leak",
            "UNIONWH_PII_KEY": REAL_KEY,
        }
    )

    assert "tok-should-not-leak" not in repr(settings)
    assert REAL_KEY not in repr(settings)


def test_settings_are_immutable() -> None:
    settings = PipelineSettings(pii_key=REAL_KEY)
    with pytest.raises(AttributeError):
        settings.warehouse_path = Path("elsewhere.duckdb")  # type: ignore[misc]


def test_spark_profile_and_session_conf_are_the_same_settings(tmp_path: Path) -> None:
    """dbt's ``spark`` target and ``ingestion.spark_catalog`` must open the same catalog with
    the same settings, or dbt would not see the registered raw layer."""
    profiles = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "dbt_project" / "profiles.yml").read_text("utf-8")
    )
    params = profiles["union_warehouse"]["outputs"]["spark"]["server_side_parameters"]
    env = {"UNIONWH_SPARK_DIR": str(tmp_path)}

    def render(value: str) -> str:
        return re.sub(
            r"\{\{ env_var\('(\w+)'(?:, '([^']*)')?\) \}\}",
            lambda m: env.get(m[1], m[2] or ""),
            str(value),
        )

    assert {key: render(value) for key, value in params.items()} == session_conf(tmp_path)


def test_engine_setting_is_checked() -> None:
    assert PipelineSettings.from_env({}, warn=False).engine == "duckdb"
    settings = PipelineSettings.from_env(
        {"UNIONWH_ENGINE": "Spark", "UNIONWH_WAREHOUSE_PATH": "/x/wh.duckdb"}, warn=False
    )
    assert (settings.engine, settings.spark_dir) == ("spark", Path("/x/wh_spark"))
    with pytest.raises(ValueError, match="UNIONWH_ENGINE='bigquery'"):
        PipelineSettings.from_env({"UNIONWH_ENGINE": "bigquery"}, warn=False)


def test_the_command_line_and_dagster_configure_each_load_alike() -> None:
    from ingestion import disputes, membership, services
    from orchestration.lib.resources import (
        DisputesSourceResource,
        MembershipDatabaseResource,
        PiiKeyResource,
        ServicesLandingResource,
        run_settings,
    )

    settings = PipelineSettings(
        membership_db_url="sqlite:///m.db",
        disputes_api_url="http://127.0.0.1:8000",
        disputes_api_token="tok",
        disputes_export_dir=Path("export"),
        services_landing_dir="landing",
        pii_key=REAL_KEY,
    )
    pii = PiiKeyResource(key=REAL_KEY)
    source = DisputesSourceResource(
        export_dir="export", api_url="http://127.0.0.1:8000", api_token="tok"
    )
    assert membership.config_from(
        run_settings(pii, membership_db=MembershipDatabaseResource(url="sqlite:///m.db"))
    ) == membership.config_from(settings)
    assert disputes.config_from(run_settings(pii, disputes_source=source)) == (
        disputes.config_from(settings)
    )
    assert services.config_from(
        run_settings(pii, services_landing=ServicesLandingResource(landing_dir="landing"))
    ) == services.config_from(settings)
