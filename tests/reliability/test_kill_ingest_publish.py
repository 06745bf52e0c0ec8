"""A run killed with SIGKILL in the middle of ingest or publishing leaves a usable warehouse and a complete
release, exactly the previous or the new one, and the next run completes where an uninterrupted one ends
(tests/reliability/kills.py).

`make test` runs the dbt trial (test_kill_dbt.py: a kill mid-build, then everything materialised again must
equal the uninterrupted build); `make test-slow` (pytest -m slow, which CI runs after `make test`: .ci/run)
runs these two and 21 more, seven per stage, at other moments (seeded, so a failure can be replayed).
"""

from __future__ import annotations

import pytest

from tests.reliability.kills import kill_trial


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "seed"), [("ingest", 1), ("publish", 3)])
def test_a_run_killed_mid_stage_leaves_everything_usable_and_the_next_run_completes(built, stage, seed, tmp_path):
    kill_trial(built, stage, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 107))
@pytest.mark.parametrize("stage", ["ingest", "dbt", "publish"])
def test_twenty_one_kill_trials(built, stage, seed, tmp_path):
    kill_trial(built, stage, seed, tmp_path)
