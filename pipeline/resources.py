"""Dagster resources: configured once, from the environment (see :mod:`pipeline.config`)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from pipeline import warehouse
from pipeline.config import Settings
from pipeline.dbt import DBT_PROJECT_DIR

# Every asset that writes the DuckDB file runs in this pool; dagster.yaml gives pools a limit of 1.
WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Writers are serialised by a file lock (see pipeline.warehouse)."""

    path: str
    memory_limit: str = "2GB"
    threads: int | None = None
    lock_timeout_seconds: float = 3600

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


class ModelStoreResource(dg.ConfigurableResource):
    """Where trained models live (a local folder by default): see pipeline.churn.store."""

    path: str
    promotion_margin: float = 0.0
    seed: int = 0

    def store(self):
        from pipeline.churn.store import ModelStore

        return ModelStore(self.path)


def resources_from(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Every resource, configured from the environment once."""
    return {
        "warehouse": WarehouseResource(
            path=str(settings.warehouse_path),
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
            lock_timeout_seconds=settings.lock_timeout_seconds,
        ),
        "landing_zone": LandingZoneResource(
            path=str(settings.landing_dir), max_quarantine_share=settings.max_quarantine_share
        ),
        "model_store": ModelStoreResource(
            path=str(settings.models_dir), promotion_margin=settings.churn_promotion_margin, seed=settings.churn_seed
        ),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            # The dbt installed beside this interpreter, whether or not the venv is on PATH.
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
    }
