"""The shared demo company (tests/companies.py, built once per session) as the crash, re-run and late-data
trials see it: content hashes of its warehouse and release, and how long each stage's work took in its
scheduled runs (the kill trials kill at a random moment of that)."""

from __future__ import annotations

import pytest

from tests.reliability.safety import assert_release_complete, release_hashes, warehouse_hashes

# A stage of the runner and the job steps that do its work.
STAGE_STEPS = {
    "ingest": lambda step: step.startswith("raw__") and not step.endswith("_rows_reconcile_with_ledger"),
    "dbt": lambda step: step in {"warehouse_models", "monthly_models", "models_on_monthly_facts"},
    "publish": lambda step: step.startswith("bi__"),
}


@pytest.fixture(scope="session")
def built(scheduled_month) -> dict:
    home = scheduled_month["home"]
    steps = {**scheduled_month["runs"]["refresh_and_train"]["steps"], **scheduled_month["runs"]["score_month"]["steps"]}
    seconds = {stage: sum(s for step, s in steps.items() if belongs(step)) for stage, belongs in STAGE_STEPS.items()}
    assert all(seconds.values()), seconds
    return {
        "home": home,
        "seconds": seconds,
        "warehouse": warehouse_hashes(home / "warehouse.duckdb"),
        "release": release_hashes(home / "bi"),
        "release_id": assert_release_complete(home / "bi"),
    }
