"""Re-run safety: two runs at once corrupt nothing. (Materialising everything again after the scheduled
jobs gives the same marts and release: the dbt kill trial's next run, test_kill_dbt.py; the other kill
trials: test_kill_ingest_publish.py.) A long trial: `make test-slow`, which CI runs after `make test` (.ci/run)."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from pipeline.publish.parquet import complete_releases
from tests.reliability.safety import (
    REPO,
    assert_release_complete,
    assert_warehouse_usable,
    copy_home,
    release_hashes,
    stage_env,
)


@pytest.mark.slow
def test_two_runs_started_at_once_both_complete_and_corrupt_nothing(built, tmp_path):
    """Two processes (two Dagster instances, so no shared pool) ingest a new drop into the same warehouse
    and publish at once: the file locks make the second wait; both succeed, the new drop is loaded once,
    and the release is complete."""
    home = copy_home(built["home"], tmp_path / "home")
    newest = max((home / "landing" / "crm").glob("activities_*.csv"))
    resent = newest.with_name(f"{newest.stem}_resent.csv")
    resent.write_bytes(newest.read_bytes())  # the same rows again: a new version of each, same content
    command = [sys.executable, "-m", "pipeline.runner", "ingest", "publish"]
    runs = [
        subprocess.Popen(
            command, cwd=REPO, env=stage_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-4000:]
    assert_warehouse_usable(home / "warehouse.duckdb")
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        (loads,) = conn.execute(
            "select count(*) from meta.ingest_ledger where file = ? and status = 'loaded'",
            [f"crm/{resent.name}"],
        ).fetchall()[0]
        (rows,) = conn.execute(
            "select count(*) from raw.crm__activities where _file = ?", [f"crm/{resent.name}"]
        ).fetchall()[0]
    assert loads == 1 and rows > 0
    # The marts were not rebuilt, so both releases hold what the first one held.
    assert_release_complete(home / "bi")
    assert release_hashes(home / "bi") == built["release"]
    assert len(complete_releases(home / "bi")) == 3  # the first run's and one from each of the two
