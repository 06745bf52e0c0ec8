"""Running the pipeline's dbt command on the project, with target and logs in a test's temporary folder."""

from __future__ import annotations

from pipeline.dbt import run_dbt

__all__ = ["run_dbt"]
