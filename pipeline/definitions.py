"""The one Dagster ``Definitions`` object (loaded by workspace.yaml and ``-m pipeline.definitions``).

Loading it reads no data, parses no dbt project and trains nothing: it only wires assets to resources
configured from the environment.
"""

from __future__ import annotations

import dagster as dg

from assets.bi import bi_assets
from assets.churn import churn_model, churn_scores
from assets.ingest import ingest_assets, ingest_checks
from assets.insight import insight_assets
from assets.partitions import account_months
from assets.warehouse import DBT_ASSETS
from pipeline import orchestration
from pipeline.config import Settings
from pipeline.event_log import pool_sqlite_event_log_connections, relax_sqlite_wal_commits
from pipeline.resources import resources_from

settings = Settings.from_env()
# The process that loads the definitions runs the steps and writes their events (pipeline/event_log.py).
relax_sqlite_wal_commits()
pool_sqlite_event_log_connections()

jobs = orchestration.build_jobs(churn_model, churn_scores)

defs = dg.Definitions(
    assets=[
        *ingest_assets,
        *DBT_ASSETS,
        *insight_assets,
        churn_model,
        churn_scores,
        *bi_assets,
    ],
    asset_checks=[*ingest_checks],
    jobs=list(jobs.values()),
    schedules=orchestration.build_schedules(jobs, account_months),
    sensors=[orchestration.build_landing_sensor(jobs["ingest"]), orchestration.run_failure_alert],
    resources=resources_from(settings),
    # One process per run: DuckDB admits one writer, and it uses both cores inside each query anyway.
    executor=dg.in_process_executor,
)
