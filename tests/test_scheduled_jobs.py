"""The jobs themselves, each run in its own process as its schedule starts it (``python -m pipeline.runner
--job NAME``: the job's own selection, executor and partitions), on the shared company (tests/companies.py):
what each materialised, what it published, and that a daily refresh after a new day publishes exactly what
a rebuild of everything from the raw tables publishes."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.demo.new_day import drop_one_new_day
from pipeline.publish.parquet import current_release
from tests.companies import copy_company, recorded_runs, run_job
from tests.companies import job_selection as selection
from tests.reliability.safety import release_hashes, run_stages, warehouse_hashes

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")


def _one(conn: duckdb.DuckDBPyConnection, sql: str):
    return conn.execute(sql).fetchall()[0][0]


def test_refresh_and_train_builds_and_trains_everything_but_scoring_and_publishes_nothing(scheduled_month):
    materialised = set(scheduled_month["runs"]["refresh_and_train"]["materialised"])
    assert materialised == selection("refresh_and_train")
    assert "ml/churn_model" in materialised and "marts/fct_account_month" in materialised
    # What reads the scores (the account 360, the release) waits for score_month.
    assert not {key for key in materialised if key.startswith("bi/")}
    assert not {"ml/churn_scores", "marts/mart_account_360"} & materialised
    trained = scheduled_month["trained_home"]
    assert current_release(trained / "bi") is None
    with duckdb.connect(str(trained / "warehouse.duckdb"), read_only=True) as conn:
        assert _one(conn, "select count(*) from ml.churn_scores") == 0
        assert _one(conn, "select count(*) from ml.model_performance") > 0


def test_score_month_scores_the_newest_month_and_publishes_that_run(scheduled_month):
    home = scheduled_month["home"]
    materialised = set(scheduled_month["runs"]["score_month"]["materialised"])
    assert materialised == selection("score_month")
    assert {"ml/churn_scores", "bi/release", "bi/powerbi_project", "bi/brief"} <= materialised
    runs = recorded_runs(home / "dagster_home")
    assert runs["refresh_and_train"].success and runs["score_month"].success
    release = current_release(home / "bi")
    assert release is not None and release.manifest["run_id"] == runs["score_month"].run_id
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        months = conn.execute("select distinct snapshot_month from ml.churn_scores").fetchall()
        newest = _one(conn, "select as_of_month from intermediate.int_reporting_period")
        active = _one(conn, "select count(*) from marts.mart_account_360 where is_active_customer")
    assert months == [(newest,)]
    assert release.manifest["tables"]["mart_churn_scores"]["rows"] >= active > 0


def test_the_ingest_job_loads_a_new_day_and_nothing_twice(scheduled_month, tmp_path):
    home = copy_company(scheduled_month["trained_home"], tmp_path / "home")
    before = warehouse_hashes(home / "warehouse.duckdb", ("raw",))
    new_rows = drop_one_new_day(home)
    assert set(new_rows) == {"crm/activities", "finance/invoice_lines"}
    assert all(rows > 0 for rows in new_rows.values())
    run = run_job(home, "ingest")
    assert set(run.materialised) == selection("ingest")
    after = warehouse_hashes(home / "warehouse.duckdb", ("raw",))
    grown = {table: after[table][0] - before[table][0] for table in after if after[table] != before[table]}
    assert grown == {f"raw.{entity.replace('/', '__')}": rows for entity, rows in new_rows.items()}


def test_a_daily_refresh_after_a_new_day_publishes_what_a_rebuild_of_everything_publishes(scheduled_month, tmp_path):
    home = copy_company(scheduled_month["home"], tmp_path / "daily")
    previous = current_release(home / "bi").release_id
    scores_before = warehouse_hashes(home / "warehouse.duckdb", ("ml",))["ml.churn_scores"]
    new_rows = drop_one_new_day(home)
    run = run_job(home, "daily_refresh")
    assert set(run.materialised) == selection("daily_refresh")
    assert not {"ml/churn_model", "ml/churn_scores"} & set(run.materialised)  # no training, no scoring
    release = current_release(home / "bi")
    assert release.release_id != previous
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        newest_day = _one(conn, "select as_of_date from intermediate.int_reporting_period")
        lines = _one(conn, f"select count(*) from marts.fct_invoice_lines where invoice_date = date '{newest_day}'")
    assert lines == new_rows["finance/invoice_lines"]  # the new day reached the marts and is the newest
    assert warehouse_hashes(home / "warehouse.duckdb", ("ml",))["ml.churn_scores"] == scores_before

    # Everything dbt builds, rebuilt from the raw tables (the analyses and the scores as they are), then
    # published: the same release, table by table, row by row.
    full = copy_company(home, tmp_path / "full")
    with duckdb.connect(str(full / "warehouse.duckdb")) as conn:
        for schema in ("staging", "intermediate", "marts"):
            conn.execute(f"drop schema {schema} cascade")
    rebuilt = run_stages(full, "dbt", "analyses", "publish")
    assert rebuilt.returncode == 0, rebuilt.log[-4000:]
    assert release_hashes(full / "bi") == release_hashes(home / "bi")
