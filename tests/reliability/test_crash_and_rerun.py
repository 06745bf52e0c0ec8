"""Crash and re-run safety: the same data twice gives the same marts and release; a process killed with
SIGKILL at a random point of ingest, the dbt build or publishing leaves a usable warehouse and a complete
release (the previous or the new one), and the next run completes; two runs at once corrupt nothing.

`make test` runs 5 kill trials (ingest, dbt, publish); `make test-slow` (pytest -m slow) runs 21, seven
per stage.
"""

from __future__ import annotations

import random
import subprocess
import sys

import duckdb
import pytest

from pipeline.publish.parquet import complete_releases, current_release
from tests.reliability.safety import (
    REPO,
    STAGES,
    assert_release_complete,
    assert_warehouse_usable,
    copy_home,
    release_hashes,
    run_stages,
    stage_env,
    warehouse_hashes,
)

WAREHOUSE_FILES = ("warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.lock")


def test_materialising_everything_twice_gives_identical_marts_and_release(built, tmp_path):
    home = copy_home(built["home"], tmp_path / "home")
    run = run_stages(home, *STAGES)
    assert run.returncode == 0, run.log[-4000:]
    assert warehouse_hashes(home / "warehouse.duckdb") == built["warehouse"]
    assert release_hashes(home / "bi") == built["release"]
    # A new release was published (same content, new run), and it is complete.
    assert assert_release_complete(home / "bi") != built["release_id"]


def _trial_home(built: dict, stage: str, target) -> object:
    home = copy_home(built["home"], target)
    if stage == "ingest":  # ingest has work to do only on an empty warehouse
        for name in WAREHOUSE_FILES:
            (home / name).unlink(missing_ok=True)
    return home


def _kill_trial(built: dict, stage: str, seed: int, tmp_path) -> None:
    home = _trial_home(built, stage, tmp_path / f"{stage}-{seed}")
    before = current_release(home / "bi").release_id
    # A random moment of the stage's own work (measured on the same data), after its imports.
    moment = random.Random(seed).uniform(0.05, 0.95) * built["seconds"][stage]
    run = run_stages(home, stage, kill_after=moment)
    assert run.killed or run.returncode == 0, f"the stage failed before the kill:\n{run.log[-4000:]}"

    # Right after the kill: the warehouse opens and reads, the BI layer is a complete release, the
    # previous one or a new one.
    if (home / "warehouse.duckdb").exists():
        assert_warehouse_usable(home / "warehouse.duckdb")
    after_kill = assert_release_complete(home / "bi")
    assert after_kill == before or after_kill in complete_releases(home / "bi")
    if after_kill == before:
        assert release_hashes(home / "bi") == built["release"]

    # The next run completes and ends where an uninterrupted run ends.
    rerun = run_stages(home, stage)
    assert rerun.returncode == 0, f"killed at {moment:.1f} s; the re-run failed:\n{rerun.log[-4000:]}"
    schemas = {"ingest": ("raw",), "dbt": ("raw", "marts"), "publish": ("marts",)}[stage]
    expected = {name: value for name, value in built["warehouse"].items() if name.split(".")[0] in schemas}
    assert warehouse_hashes(home / "warehouse.duckdb", schemas) == expected
    assert_release_complete(home / "bi")
    assert release_hashes(home / "bi") == built["release"]
    assert not list((home / "bi" / "releases").glob(".tmp-*")), "a crashed publish left its folder behind"


# Five trials in `make test`: each stage, at different moments (seeded, so a failure can be replayed).
@pytest.mark.parametrize(("stage", "seed"), [("ingest", 1), ("dbt", 2), ("publish", 3), ("ingest", 4), ("publish", 5)])
def test_a_run_killed_mid_stage_leaves_everything_usable_and_the_next_run_completes(built, stage, seed, tmp_path):
    _kill_trial(built, stage, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 107))
@pytest.mark.parametrize("stage", ["ingest", "dbt", "publish"])
def test_twenty_one_kill_trials(built, stage, seed, tmp_path):
    _kill_trial(built, stage, seed, tmp_path)


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
