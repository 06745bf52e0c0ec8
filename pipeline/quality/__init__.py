"""Data quality of the published marts with Great Expectations (GX Core 1.x): suites derived from the dbt
manifest, validated on DataFrames before publishing and on PostgreSQL tables after, rendered as Data Docs.

The API, all plain functions that Dagster assets and asset checks call (docs/data_quality.md):

- :func:`build_suites` (``pipeline.quality.suites``): table -> ``great_expectations.ExpectationSuite``.
- :func:`validate_frames` / :func:`validate_postgres` (``pipeline.quality.validation``): a
  :class:`QualityReport` with, per table, success, the number of expectations, the failures in words and
  the Data Docs page.
- ``pipeline.quality.inputs``: the marts as DataFrames, the reporting date, the published row counts.
- :class:`QualityThresholds` and :func:`default_data_docs_dir` (``pipeline.quality.settings``): the
  configurable limits and the Data Docs folder, from the environment.

Great Expectations takes seconds to import, so it is imported only when one of its functions is first
used; ``pipeline.quality.report`` (the result types) and ``pipeline.quality.manifest`` never import it.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# Before GX is imported anywhere through this package: no usage statistics leave the machine.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from pipeline.quality.report import DataQualityError, Failure, QualityReport, TableResult
from pipeline.quality.settings import QualityThresholds, default_data_docs_dir

_LAZY = {
    "build_suites": "pipeline.quality.suites",
    "validate_frames": "pipeline.quality.validation",
    "validate_postgres": "pipeline.quality.validation",
}

__all__ = [
    "DataQualityError",
    "Failure",
    "QualityReport",
    "QualityThresholds",
    "TableResult",
    "default_data_docs_dir",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
