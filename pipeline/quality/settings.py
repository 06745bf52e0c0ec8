"""The data quality thresholds and the Data Docs folder, from the environment like the rest of the pipeline
(:mod:`pipeline.config`). No Great Expectations import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FRESHNESS_COLUMNS = ("as_of_date", "computed_at", "scored_at")


@dataclass(frozen=True)
class QualityThresholds:
    """The checks that are not in the manifest: how far the row count may move and how old data may be."""

    # The row count must lie within [min_row_ratio, max_row_ratio] x the previous release's count.
    min_row_ratio: float = 0.5
    max_row_ratio: float = 2.0
    # The newest value of a freshness column may be at most this many days before the reporting date.
    max_age_days: int = 35
    freshness_columns: tuple[str, ...] = FRESHNESS_COLUMNS

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> QualityThresholds:
        env = dict(os.environ if env is None else env)
        default = cls()
        return cls(
            min_row_ratio=float(env.get("PIPELINE_QUALITY_MIN_ROW_RATIO", default.min_row_ratio)),
            max_row_ratio=float(env.get("PIPELINE_QUALITY_MAX_ROW_RATIO", default.max_row_ratio)),
            max_age_days=int(env.get("PIPELINE_QUALITY_MAX_AGE_DAYS", default.max_age_days)),
        )


def default_data_docs_dir(env: dict[str, str] | None = None) -> Path:
    """``$PIPELINE_GX_DIR/data_docs``; PIPELINE_GX_DIR defaults to ``$PIPELINE_HOME/gx`` (PIPELINE_HOME: ./data)."""
    from pipeline.config import Settings

    return Settings.from_env(dict(os.environ if env is None else env)).gx_dir / "data_docs"
