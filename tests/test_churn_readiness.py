"""Too little history for the churn model: what is missing, and when the data will be enough."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.churn import lifecycle, training
from pipeline.churn.features import LABEL


def _frame(months: int, final: int) -> pd.DataFrame:
    """Twenty accounts over ``months`` snapshot months from 2025-01, the first ``final`` of them labelled."""
    snapshots = pd.date_range("2025-01-01", periods=months, freq="MS")
    rows = [
        {"account_id": f"A{a}", "snapshot_month": m, LABEL: (float(a % 5 == 0) if i < final else None)}
        for i, m in enumerate(snapshots)
        for a in range(20)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("horizon", "final", "needed", "short"),
    [(6, 4, 12, 8), (6, 11, 12, 1), (3, 4, 9, 5)],
    ids=["four-of-twelve", "one-short", "shorter-horizon-needs-fewer"],
)
def test_the_split_says_how_many_labelled_months_it_has_and_needs(horizon, final, needed, short):
    config = training.TrainingConfig(horizon_months=horizon)
    assert training.labelled_months_needed(config) == needed
    with pytest.raises(training.NotEnoughHistory) as refused:
        training.out_of_time_split(_frame(final + horizon + 6, final), config)
    error = refused.value
    assert (error.labelled_months, error.labelled_months_needed, error.months_short) == (final, needed, short)
    assert f"at least {needed} are needed" in str(error)


def test_with_enough_labelled_months_the_split_is_made():
    config = training.TrainingConfig()
    split = training.out_of_time_split(_frame(24, 12), config)
    assert len(split.evaluation_months) == 3 and len(split.calibration_months) == 3


def test_the_withheld_status_names_the_month_the_data_will_be_enough_and_the_settings():
    config = training.TrainingConfig()
    with pytest.raises(training.NotEnoughHistory) as refused:
        training.out_of_time_split(_frame(16, 4), config)
    newest = pd.Timestamp("2026-04-01")
    status = lifecycle.withheld_status(refused.value, newest, config, silent_churn_months=6, champion_version=None)
    assert status["status"] == "withheld"
    assert status["reason"].startswith("churn model: 4 snapshot months have final labels; at least 12")
    # Eight more months of data: 2026-04 + 8 = 2026-12.
    assert "wait until the data reaches 2026-12" in status["enable_hint"]
    assert "PIPELINE_CHURN_HORIZON_MONTHS (now 6)" in status["enable_hint"]
    kept = lifecycle.withheld_status(refused.value, newest, config, silent_churn_months=6, champion_version="abc")
    assert kept["status"] == "kept_champion" and "champion abc" in kept["reason"]


def test_too_few_churners_says_so_without_promising_a_month():
    error = training.NotEnoughHistory(
        "the evaluation months hold 5 churners; at least 30 are needed", labelled_months=14, labelled_months_needed=12
    )
    status = lifecycle.withheld_status(error, pd.Timestamp("2026-04-01"), training.TrainingConfig(), 6, None)
    assert "wait until" not in status["enable_hint"]
    assert "more churn events" in status["enable_hint"]
