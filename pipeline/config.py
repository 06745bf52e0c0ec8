"""Settings from the environment only: one place that knows the variable names and defaults.

``PIPELINE_HOME`` (default ``./data``) holds ``landing/``, ``warehouse.duckdb``, ``bi/``, ``models/`` and
``truth/``; each path can be overridden by its own variable. Nothing here reads data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.dbt import DBT_PROJECT_DIR
from pipeline.engine import engine_from, spark_dir_from


def _path(env: dict[str, str], name: str, default: Path) -> Path:
    value = env.get(name)
    return Path(value).expanduser().resolve() if value else default


# Names that reach SQL as identifiers (schema, role) must be plain: checked when the settings are read.
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _identifier(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name, default)
    if not IDENTIFIER.match(value):
        raise ValueError(f"{name} must be a plain lowercase SQL identifier (letters, digits, _), not {value!r}")
    return value


def _months(env: dict[str, str], name: str, default: int) -> int:
    value = env.get(name, str(default))
    if not value.isdigit() or not 1 <= int(value) <= 24:
        raise ValueError(f"{name} must be a whole number of months from 1 to 24, not {value!r}")
    return int(value)


def _quality(env: dict[str, str]) -> dict[str, Any]:
    from pipeline.quality.settings import QualityThresholds

    thresholds = QualityThresholds.from_env(env)
    return {
        "quality_min_row_ratio": thresholds.min_row_ratio,
        "quality_max_row_ratio": thresholds.max_row_ratio,
        "quality_max_age_days": thresholds.max_age_days,
    }


def _business_rules(env: dict[str, str]) -> dict[str, Any]:
    from pipeline.rules import BusinessRules, overrides_from_environment

    overrides = overrides_from_environment(env)
    BusinessRules.load(overrides)  # an unknown rule or a wrong value stops here, when the settings are read
    return overrides


@dataclass(frozen=True)
class Settings:
    home: Path
    landing_dir: Path
    warehouse_path: Path
    bi_dir: Path
    models_dir: Path
    truth_dir: Path
    max_quarantine_share: float
    duckdb_memory_limit: str
    duckdb_threads: int | None
    lock_timeout_seconds: float
    first_snapshot_month: str
    churn_promotion_margin: float
    churn_seed: int
    bi_keep_releases: int = 5
    # Great Expectations' folder (suites, validations, Data Docs): PIPELINE_GX_DIR, by default $PIPELINE_HOME/gx.
    gx_dir: Path = Path("data/gx")
    # The release checks not in the manifest (pipeline.quality.QualityThresholds): PIPELINE_QUALITY_*.
    quality_min_row_ratio: float = 0.5
    quality_max_row_ratio: float = 2.0
    quality_max_age_days: int = 35
    # The business rules this environment changes (pipeline/rules.py); the rest are dbt_project.yml's.
    business_rules: dict[str, Any] = field(default_factory=dict)
    refresh_months: int = 13
    bi_postgres_schema: str = "bi"
    bi_reader_role: str = "bi_reader"
    # Whether PIPELINE_BI_POSTGRES_URL is set; the URL itself (a secret) is read by Dagster's EnvVar only.
    bi_postgres_enabled: bool = False
    # Source mappings (pipeline/ingest/mapping.py): PIPELINE_MAPPINGS_DIR, by default <landing>/mappings.
    mappings_dir: Path = Path("data/landing/mappings")
    # dbt runs inside the run's process (pipeline/dbt_in_process.py); PIPELINE_DBT_IN_PROCESS=0 starts a dbt
    # process per invocation instead.
    dbt_in_process: bool = True
    # The engine that builds the dbt models (pipeline/engine.py): duckdb, or spark with its folder
    # (PIPELINE_SPARK_DIR, by default $PIPELINE_HOME/spark: Derby's metastore, Spark's tables, the lake).
    engine: str = "duckdb"
    spark_dir: Path = Path("data/spark")
    # dbt's profiles (DBT_PROFILES_DIR): the project's own by default; a cluster's output lives in one's own.
    dbt_profiles_dir: Path = DBT_PROJECT_DIR

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = _path(env, "PIPELINE_HOME", Path("data").resolve())
        threads = env.get("PIPELINE_DUCKDB_THREADS")
        landing_dir = _path(env, "PIPELINE_LANDING_DIR", home / "landing")
        return cls(
            home=home,
            landing_dir=landing_dir,
            mappings_dir=_path(env, "PIPELINE_MAPPINGS_DIR", landing_dir / "mappings"),
            warehouse_path=_path(env, "PIPELINE_WAREHOUSE_PATH", home / "warehouse.duckdb"),
            bi_dir=_path(env, "PIPELINE_BI_DIR", home / "bi"),
            models_dir=_path(env, "PIPELINE_MODELS_DIR", home / "models"),
            truth_dir=_path(env, "PIPELINE_TRUTH_DIR", home / "truth"),
            # A file whose rejected share passes this fails its asset (and loads nothing).
            max_quarantine_share=float(env.get("PIPELINE_MAX_QUARANTINE_SHARE", "0.05")),
            duckdb_memory_limit=env.get("PIPELINE_DUCKDB_MEMORY_LIMIT", "2GB"),
            duckdb_threads=int(threads) if threads else None,
            # How long a writer waits for another writer of the same warehouse before failing.
            lock_timeout_seconds=float(env.get("PIPELINE_WAREHOUSE_LOCK_TIMEOUT", "3600")),
            # The first month of the monthly snapshot partitions (scores, and later facts and features).
            first_snapshot_month=env.get("PIPELINE_FIRST_SNAPSHOT_MONTH", "2023-01-01"),
            # A challenger becomes champion if its out-of-time ROC-AUC >= the champion's minus this margin.
            churn_promotion_margin=float(env.get("PIPELINE_CHURN_PROMOTION_MARGIN", "0.0")),
            churn_seed=int(env.get("PIPELINE_CHURN_SEED", "0")),
            # PIPELINE_BUSINESS_RULES (a YAML file of rule overrides) and the rules' own variables, e.g.
            # PIPELINE_CHURN_HORIZON_MONTHS: dbt gets them as vars and Python applies the same (pipeline/rules.py).
            business_rules=_business_rules(env),
            gx_dir=_path(env, "PIPELINE_GX_DIR", home / "gx"),
            **_quality(env),
            # Monthly partitions the daily refresh rebuilds: the open month and the 12 before it, whose churn
            # labels can still change. Older months change only through a backfill (a correction drop).
            refresh_months=int(env.get("PIPELINE_REFRESH_MONTHS", "13")),
            # Complete Parquet releases kept beside the current one (older ones are deleted).
            bi_keep_releases=int(env.get("PIPELINE_BI_KEEP_RELEASES", "5")),
            bi_postgres_schema=_identifier(env, "PIPELINE_BI_POSTGRES_SCHEMA", "bi"),
            bi_reader_role=_identifier(env, "PIPELINE_BI_READER_ROLE", "bi_reader"),
            bi_postgres_enabled=bool(env.get("PIPELINE_BI_POSTGRES_URL")),
            engine=engine_from(env),
            spark_dir=spark_dir_from(env, home),
            dbt_profiles_dir=_path(env, "DBT_PROFILES_DIR", DBT_PROJECT_DIR),
            dbt_in_process=env.get("PIPELINE_DBT_IN_PROCESS", "1").strip().lower() not in ("0", "false", "no"),
        )
