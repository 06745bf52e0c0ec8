"""A demo company built once per test process for the crash, re-run and late-data trials."""

from __future__ import annotations

import re

import pytest

from pipeline.demo.generator import generate_demo_company
from tests.reliability.safety import STAGES, assert_release_complete, release_hashes, run_stages, warehouse_hashes


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict:
    """The demo company (400 accounts x 36 months) through every stage once, each stage timed."""
    home = tmp_path_factory.mktemp("reliability") / "home"
    generate_demo_company(home / "landing", home / "truth", accounts=400, months=36, seed=7)
    # One process for every stage (imports once); each stage's own time is in the runner's log.
    run = run_stages(home, *STAGES)
    assert run.returncode == 0, run.log[-4000:]
    seconds = {
        stage: float(re.search(rf"stage {stage} succeeded in ([0-9.]+) s", run.log).group(1)) for stage in STAGES
    }
    return {
        "home": home,
        "seconds": seconds,
        "warehouse": warehouse_hashes(home / "warehouse.duckdb"),
        "release": release_hashes(home / "bi"),
        "release_id": assert_release_complete(home / "bi"),
    }
