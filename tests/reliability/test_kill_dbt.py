"""A run killed with SIGKILL in the middle of the dbt build leaves a usable warehouse and the previous
release, and the next run completes where an uninterrupted one ends (tests/reliability/kills.py)."""

from __future__ import annotations

from tests.reliability.kills import kill_trial


def test_a_run_killed_mid_dbt_build_leaves_everything_usable_and_the_next_run_completes(built, tmp_path):
    kill_trial(built, "dbt", seed=2, tmp_path=tmp_path)
