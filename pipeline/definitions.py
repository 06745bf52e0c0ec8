"""The one Dagster ``Definitions`` object (loaded by workspace.yaml and ``-m pipeline.definitions``).

Loading it reads no data, parses no dbt project and trains nothing: it only wires assets to resources
configured from the environment.
"""

from __future__ import annotations

import dagster as dg

from assets.churn import churn_model, churn_scores, snapshot_months
from assets.ingest import ingest_assets, ingest_checks
from assets.insight import insight_assets
from assets.warehouse import scored_models, warehouse_models
from pipeline.config import Settings
from pipeline.resources import resources_from

settings = Settings.from_env()

ingest_job = dg.define_asset_job("ingest", selection=dg.AssetSelection.groups("ingest"))
# Everything up to and including training (unpartitioned): ingest, the warehouse, the churn model.
scoring = dg.AssetSelection.assets(churn_scores).downstream()
refresh_job = dg.define_asset_job("refresh_and_train", selection=dg.AssetSelection.all() - scoring)
# One snapshot month: score it, then rebuild the marts fed by the scores.
score_job = dg.define_asset_job("score_month", selection=scoring, partitions_def=snapshot_months)

defs = dg.Definitions(
    assets=[*ingest_assets, warehouse_models, *insight_assets, churn_model, churn_scores, scored_models],
    asset_checks=[*ingest_checks],
    jobs=[ingest_job, refresh_job, score_job],
    resources=resources_from(settings),
    # One process per run: DuckDB admits one writer, and it uses both cores inside each query anyway.
    executor=dg.in_process_executor,
)
