"""Dagster resources: configured once, from the environment (see :mod:`pipeline.config`)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging import version

from pipeline import warehouse
from pipeline.config import Settings
from pipeline.dbt import DBT_COMMAND, DBT_PROJECT_DIR
from pipeline.rules import BusinessRules

# Every asset that writes the DuckDB file runs in this pool; dagster.yaml gives pools a limit of 1.
# Every asset takes a range of monthly partitions in one run (the monthly ones rebuild the range in one dbt
# invocation, the rest run once), so `dg launch --job ... --partition-range FIRST...LAST` runs a whole job.
ONE_RUN = dg.BackfillPolicy.single_run()
_CLI_SWAP = threading.Lock()
WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without the two things it does before every invocation that these
    assets never use: building a dbt adapter in this process (about 1 s per invocation, 2.6 s the first)
    for its optional row-count and column-metadata fetches (the dbt assets count rows themselves, from the
    warehouse, after dbt has released it), and running ``dbt --version`` (2 s) to tell dbt Core from the
    Fusion engine, where the installed dbt-core package says which it is. Together about 7 s of every daily
    refresh. Both hooks are dagster-dbt internals (pinned in constraints.txt); every job run in ``make test``
    goes through them, so an upgrade that changes them fails there, not in production."""

    # dbt runs in the run's own process (pipeline/dbt_in_process.py); False starts a dbt process per
    # invocation, as dagster-dbt does (PIPELINE_DBT_IN_PROCESS=0). Only on the DuckDB target: Spark's session
    # (a JVM and Derby's one-process metastore) and PostgreSQL keep a dbt process of their own.
    in_process: bool = True

    def cli(self, args: Sequence[str], **kwargs: Any) -> Any:
        if not self.in_process or os.environ.get("DBT_TARGET", "duckdb") != "duckdb" or "--target" in args:
            return super().cli(args, **kwargs)
        from dagster_dbt.core import resource as dagster_dbt_resource

        from pipeline.dbt_in_process import InProcessDbtCliInvocation

        # dagster-dbt builds the command, its selection and its environment as always, then starts it through
        # the class its module names: for this call, the one that runs dbt in this process.
        with _CLI_SWAP:
            started_by = dagster_dbt_resource.DbtCliInvocation
            dagster_dbt_resource.DbtCliInvocation = InProcessDbtCliInvocation  # type: ignore[misc]  # the hook
            try:
                return super().cli(args, **kwargs)
            finally:
                dagster_dbt_resource.DbtCliInvocation = started_by  # type: ignore[misc]

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]  # dagster-dbt's hook; args unused
        return None  # dagster-dbt then runs without an adapter, as it does for Fusion

    @cached_property
    def _cli_version(self) -> version.Version:
        from dbt.version import __version__

        return version.parse(__version__)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Writers are serialised by a file lock (see pipeline.warehouse)."""

    path: str
    memory_limit: str = "2GB"
    threads: int | None = None
    lock_timeout_seconds: float = 3600
    # The engine that builds the dbt models (pipeline/engine.py). On spark this file is the Python stages'
    # local store, with Spark's tables mounted in it as views over their Parquet files.
    engine: str = "duckdb"
    spark_dir: str = ""

    @property
    def spark_lake(self):
        from pipeline.engine import SparkLake

        return SparkLake(Path(self.spark_dir))

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(
            Path(self.path),
            read_only=read_only,
            memory_limit=self.memory_limit,
            threads=self.threads,
            lock_timeout_seconds=self.lock_timeout_seconds,
        ) as conn:
            yield conn

    @property
    def path_obj(self) -> Path:
        return Path(self.path)

    def dbt_target_dir(self, dbt_asset: str) -> Path:
        """dbt's artefacts of one dbt asset (manifest, run results, partial parse, log), beside the warehouse
        they describe and reused run after run: one folder per dbt asset rather than a new 12 MB folder in
        the project for every invocation, and the next run parses only what changed."""
        return Path(self.path).parent / ".dbt" / dbt_asset

    @property
    def scratch_dir(self) -> Path:
        """Temporary files (transcoded CSVs) live beside the warehouse, on the same disk."""
        path = Path(self.path).parent / ".scratch"
        path.mkdir(parents=True, exist_ok=True)
        return path


class LandingZoneResource(dg.ConfigurableResource):
    """The landing folder (``crm/``, ``survey/``, ``finance/``) and how much bad input a file may hold."""

    path: str
    max_quarantine_share: float = 0.05
    # The source mappings' folder (docs/ingest.md); a missing folder means contract-named files only.
    mappings_path: str | None = None


class ModelStoreResource(dg.ConfigurableResource):
    """Where trained models live (a local folder by default): see pipeline.churn.store."""

    path: str
    promotion_margin: float = 0.0
    seed: int = 0

    def store(self):
        from pipeline.churn.store import ModelStore

        return ModelStore(self.path)


class BusinessRulesResource(dg.ConfigurableResource):
    """The business rules this environment changes (pipeline/rules.py), as one JSON object: dbt gets them as
    vars on every invocation, and the Python steps apply the same rules through ``rules()``."""

    overrides_json: str = "{}"

    def dbt_vars(self) -> dict[str, Any]:
        return json.loads(self.overrides_json)

    def rules(self) -> BusinessRules:
        return BusinessRules.load(self.dbt_vars())

    @property
    def churn_horizon_months(self) -> int:
        return self.rules().churn_horizon_months

    @property
    def silent_churn_months(self) -> int:
        return self.rules().silent_churn_months


class BiLayerResource(dg.ConfigurableResource):
    """Where the BI layer is published: the Parquet release folder, and PostgreSQL when a URL is set.

    The URL carries the password, so it comes from the environment through ``dg.EnvVar`` and never
    appears in run config, logs or metadata.
    """

    path: str
    keep_releases: int = 5
    postgres_url: str | None = None
    postgres_schema: str = "bi"
    reader_role: str = "bi_reader"
    data_docs_dir: str = ""
    quality_min_row_ratio: float = 0.5
    quality_max_row_ratio: float = 2.0
    quality_max_age_days: int = 35

    def quality_thresholds(self):
        from pipeline.quality.settings import QualityThresholds

        return QualityThresholds(
            min_row_ratio=self.quality_min_row_ratio,
            max_row_ratio=self.quality_max_row_ratio,
            max_age_days=self.quality_max_age_days,
        )


def resources_from(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Every resource, configured from the environment once."""
    return {
        "warehouse": WarehouseResource(
            path=str(settings.warehouse_path),
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
            lock_timeout_seconds=settings.lock_timeout_seconds,
            engine=settings.engine,
            spark_dir=str(settings.spark_dir),
        ),
        "landing_zone": LandingZoneResource(
            path=str(settings.landing_dir),
            max_quarantine_share=settings.max_quarantine_share,
            mappings_path=str(settings.mappings_dir),
        ),
        "model_store": ModelStoreResource(
            path=str(settings.models_dir), promotion_margin=settings.churn_promotion_margin, seed=settings.churn_seed
        ),
        "rules": BusinessRulesResource(overrides_json=json.dumps(settings.business_rules, sort_keys=True)),
        "bi": BiLayerResource(
            path=str(settings.bi_dir),
            keep_releases=settings.bi_keep_releases,
            postgres_url=dg.EnvVar("PIPELINE_BI_POSTGRES_URL") if settings.bi_postgres_enabled else None,
            postgres_schema=settings.bi_postgres_schema,
            reader_role=settings.bi_reader_role,
            data_docs_dir=str(settings.gx_dir),
            quality_min_row_ratio=settings.quality_min_row_ratio,
            quality_max_row_ratio=settings.quality_max_row_ratio,
            quality_max_age_days=settings.quality_max_age_days,
        ),
        "dbt": WarehouseDbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(settings.dbt_profiles_dir),
            # dbt as installed beside this interpreter, whether or not the venv is on PATH, with its partial
            # parse kept across warehouse paths (pipeline/dbt_command.py).
            dbt_executable=str(DBT_COMMAND),
            in_process=settings.dbt_in_process,
        ),
    }
