"""How dbt nodes become Dagster assets: keys by schema, groups by layer."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.lib.automation import on_arrival

_LAYERS = {"staging", "intermediate", "marts"}


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Models and seeds are keyed ``<schema>/<name>`` (``marts/kpi_values``) and grouped by
    layer; sources keep the ingestion asset keys their ``meta.dagster.asset_key`` names.
    Models and their tests refresh when what they read arrives (``on_arrival``); seeds change
    with the project's code, not with the sources, and have none."""

    def get_asset_spec(
        self,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: Any | None,
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest.get("nodes", {}).get(unique_id)
        if node is None or node["resource_type"] not in ("model", "seed", "snapshot"):
            return spec
        layer = next((part for part in node["fqn"][1:-1] if part in _LAYERS), "reference")
        return spec.replace_attributes(
            key=dg.AssetKey([node["schema"], node["name"]]),
            group_name=f"warehouse_{layer}",
            automation_condition=on_arrival() if node["resource_type"] == "model" else None,
        )

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: Any | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        # The default spec with only the condition changed: every other field (and any that a
        # later Dagster adds) carries over. AssetCheckSpec is a named tuple; _replace is its API.
        return spec._replace(automation_condition=on_arrival())


translator = WarehouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
