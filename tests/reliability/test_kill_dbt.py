"""A run killed with SIGKILL in the middle of the dbt build leaves a usable warehouse and the previous
release; the next run materialises everything again (ingest to publish) and ends exactly where the
uninterrupted scheduled runs ended: the same marts, the same release content, published as a new release
(tests/reliability/kills.py). This is also the re-run trial: materialising everything a second time gives
identical marts and release."""

from __future__ import annotations

from tests.reliability.kills import kill_trial
from tests.reliability.safety import STAGES


def test_a_run_killed_mid_dbt_build_leaves_everything_usable_and_everything_materialised_again_is_identical(
    built, tmp_path
):
    kill_trial(built, "dbt", seed=2, tmp_path=tmp_path, rerun=STAGES)
