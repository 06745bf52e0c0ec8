"""Settings from the environment only: one place that knows the variable names and defaults.

``PIPELINE_HOME`` (default ``./data``) holds ``landing/``, ``warehouse.duckdb``, ``bi/``, ``models/`` and
``truth/``; each path can be overridden by its own variable. Nothing here reads data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


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
    churn_horizon_months: int = 6
    silent_churn_months: int = 6
    refresh_months: int = 13
    bi_postgres_schema: str = "bi"
    bi_reader_role: str = "bi_reader"
    # Whether PIPELINE_BI_POSTGRES_URL is set; the URL itself (a secret) is read by Dagster's EnvVar only.
    bi_postgres_enabled: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = _path(env, "PIPELINE_HOME", Path("data").resolve())
        threads = env.get("PIPELINE_DUCKDB_THREADS")
        return cls(
            home=home,
            landing_dir=_path(env, "PIPELINE_LANDING_DIR", home / "landing"),
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
            # DESIGN.md's churn: the label looks this many months ahead; an account silent (no invoiced
            # revenue) this many months has churned. dbt gets both as vars (pipeline.dbt.dbt_vars) and the
            # training reads them here, so the labels and their finality agree everywhere.
            churn_horizon_months=_months(env, "PIPELINE_CHURN_HORIZON_MONTHS", 6),
            silent_churn_months=_months(env, "PIPELINE_SILENT_CHURN_MONTHS", 6),
            # Monthly partitions the daily refresh rebuilds: the open month and the 12 before it, whose churn
            # labels can still change. Older months change only through a backfill (a correction drop).
            refresh_months=int(env.get("PIPELINE_REFRESH_MONTHS", "13")),
            # Complete Parquet releases kept beside the current one (older ones are deleted).
            bi_keep_releases=int(env.get("PIPELINE_BI_KEEP_RELEASES", "5")),
            bi_postgres_schema=_identifier(env, "PIPELINE_BI_POSTGRES_SCHEMA", "bi"),
            bi_reader_role=_identifier(env, "PIPELINE_BI_READER_ROLE", "bi_reader"),
            bi_postgres_enabled=bool(env.get("PIPELINE_BI_POSTGRES_URL")),
        )
