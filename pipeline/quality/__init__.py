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
import importlib.util
import os
import sys
from typing import Any

# Before GX is imported anywhere through this package: no usage statistics leave the machine.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from pipeline.quality.report import DataQualityError, Failure, QualityReport, TableResult
from pipeline.quality.settings import QualityThresholds, default_data_docs_dir


def spark_connect_unavailable_not_fatal() -> None:
    """With the spark extra installed (``make spark``), GX imports pyspark's Spark Connect module, which exits
    the whole process when ``__main__`` has no file (``python -c``, an xdist worker, a benchmark's wrapper),
    taking it for a doctest run without Spark Connect's own dependencies (grpc, not installed): a publish
    stage died of it. Import it once as an interactive session would: where its dependencies are missing it
    is then simply unavailable, as GX expects, and the process lives."""
    if "pyspark.sql.connect" in sys.modules or hasattr(sys, "ps1") or importlib.util.find_spec("pyspark") is None:
        return
    sys.ps1 = ">>> "
    try:
        importlib.import_module("pyspark.sql.connect")  # by name: the default install has no pyspark
    except ImportError:
        sys.modules["pyspark.sql.connect"] = None  # type: ignore[assignment]  # later imports: ImportError
    finally:
        del sys.ps1


spark_connect_unavailable_not_fatal()

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
