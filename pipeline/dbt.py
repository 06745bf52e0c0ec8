"""dbt glue that is not Dagster wiring: the project location and the environment dbt runs with."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


@contextlib.contextmanager
def dbt_environment(warehouse_path: str, target: str | None = None) -> Iterator[None]:
    """dbt reads paths from the environment (profiles.yml); give it the absolute warehouse path.

    A relative PIPELINE_HOME would otherwise resolve against dbt's own working directory.
    """
    overrides = {"PIPELINE_WAREHOUSE_PATH": str(Path(warehouse_path).resolve())}
    if target:
        overrides["DBT_TARGET"] = target
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def relation_names(manifest_path: Path) -> dict[str, str]:
    """dbt node id -> the relation it builds (e.g. "marts"."dim_account"), read from the manifest."""
    manifest = json.loads(Path(manifest_path).read_text())
    return {
        unique_id: node["relation_name"]
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("relation_name")
    }
