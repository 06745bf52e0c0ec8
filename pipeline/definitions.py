"""The one Dagster ``Definitions`` object (loaded by workspace.yaml and ``-m pipeline.definitions``).

Loading it reads no data, parses no dbt project and trains nothing: it only wires assets to resources
configured from the environment.
"""

from __future__ import annotations

import dagster as dg

from assets.ingest import ingest_assets, ingest_checks
from assets.warehouse import warehouse_models
from pipeline.config import Settings
from pipeline.resources import resources_from

settings = Settings.from_env()

ingest_job = dg.define_asset_job("ingest", selection=dg.AssetSelection.groups("ingest"))

defs = dg.Definitions(
    assets=[*ingest_assets, warehouse_models],
    asset_checks=[*ingest_checks],
    jobs=[ingest_job],
    resources=resources_from(settings),
    # One process per run: DuckDB admits one writer, and it uses both cores inside each query anyway.
    executor=dg.in_process_executor,
)
