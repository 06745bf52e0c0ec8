"""The code location: one Definitions object that loads fast and touches no data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.contract import CONTRACTS

PROBE = """
import json, sys, dagster as dg
from pipeline.definitions import defs
graph = defs.resolve_asset_graph()
print(json.dumps({
    "assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
    "parents": {k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
                for k in graph.get_all_asset_keys()},
    "groups": {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()},
    "checks": len(list(graph.asset_check_keys)),
    "jobs": sorted(j.name for j in defs.resolve_all_job_defs()),
    "resources": sorted(defs.resources),
    "modelling_modules": sorted(m for m in ("sklearn", "skops", "matplotlib") if m in sys.modules),
}))
"""


def _run(code: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIPELINE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    return subprocess.run(code, env=env, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[1])


def test_loading_the_definitions_reads_and_writes_no_data(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    result = _run([sys.executable, "-c", PROBE], home)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    raw = {f"raw/{c.table}" for c in CONTRACTS}
    assert raw <= set(loaded["assets"])
    assert {"warehouse", "landing_zone", "dbt"} <= set(loaded["resources"])
    # One graph: dbt staging models hang off the ingest assets, marts off staging.
    assert loaded["parents"]["staging/stg_crm__accounts"] == ["raw/crm__accounts"]
    assert "intermediate/int_churn_events" in loaded["parents"]["marts/mart_lost_customers"]
    assert {loaded["groups"][k] for k in loaded["assets"] if k.startswith("marts/")} == {"marts"}
    assert all(loaded["groups"][k] == "ingest" for k in raw)
    # The statistics in Python sit between dbt models: read from intermediate models, read back by staging.
    assert "intermediate/int_relationship_respondents" in loaded["parents"]["insight/driver_analysis"]
    assert loaded["parents"]["staging/stg_insight__nps_adjusted"] == ["insight/nps_adjusted"]
    assert "staging/stg_insight__nps_adjusted" in loaded["parents"]["marts/mart_nps_summary"]
    assert loaded["groups"]["insight/driver_analysis"] == "insight"
    assert loaded["checks"] > 100  # dbt tests and the ingest reconciliation checks
    assert "ingest" in loaded["jobs"]
    # Every run, sensor tick and UI reload loads the definitions: the modelling libraries load when an asset runs.
    assert loaded["modelling_modules"] == []
    # No warehouse, no landing zone, no scratch folder: only the empty DAGSTER_HOME we made.
    assert sorted(p.name for p in home.iterdir()) == ["dagster"]


def test_dagster_validates_the_code_location(tmp_path):
    result = _run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr
