"""Schedules, the landing-zone sensor (complete files only, each version once) and run-failure alerts."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from pipeline import alerts, landing_watch, orchestration
from pipeline.dbt import partition_env, stored_relations, vars_arguments


def _listing(landing: Path):
    return landing_watch.listing(landing)


def test_a_file_is_ready_once_it_stops_changing_and_only_once(tmp_path):
    landing = tmp_path / "landing"
    (landing / "crm").mkdir(parents=True)
    state = landing_watch.WatchState()
    (landing / "crm" / "accounts_20261031.csv").write_text("account_id\nA1\n")
    (landing / "crm" / "accounts_20261101.csv.part").write_text("account_id\n")  # still being copied
    (landing / "crm" / ".~lock.accounts.csv#").write_text("x")
    ready, state = landing_watch.ready_files(state, _listing(landing))
    assert ready == [], "a file seen for the first time may still be growing"
    ready, state = landing_watch.ready_files(state, _listing(landing))
    assert ready == ["crm/accounts_20261031.csv"]
    ready, state = landing_watch.ready_files(state, _listing(landing))
    assert ready == [], "a delivered file is not delivered again"
    # A file still growing between two looks is not ready; once it stops, it is.
    growing = landing / "crm" / "contacts_20261031.csv"
    growing.write_text("contact_id\n")
    _, state = landing_watch.ready_files(state, _listing(landing))
    with open(growing, "a") as handle:
        handle.write("C1\n")
    ready, state = landing_watch.ready_files(state, _listing(landing))
    assert ready == []
    ready, state = landing_watch.ready_files(state, _listing(landing))
    assert ready == ["crm/contacts_20261031.csv"]
    # The same name dropped again with different content is a new version: delivered again.
    (landing / "crm" / "accounts_20261031.csv").write_text("account_id\nA1\nA2\n")
    os.utime(landing / "crm" / "accounts_20261031.csv", (time.time() + 5, time.time() + 5))
    _, state = landing_watch.ready_files(state, _listing(landing))
    ready, state = landing_watch.ready_files(state, _listing(landing))
    assert ready == ["crm/accounts_20261031.csv"]
    # The state survives the sensor's cursor.
    assert landing_watch.WatchState.from_cursor(state.to_cursor()) == state


def test_the_sensor_requests_one_ingest_run_per_set_of_new_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_HOME", str(tmp_path))
    from pipeline.definitions import defs

    sensor = defs.resolve_sensor_def("landing_zone_sensor")
    (tmp_path / "landing" / "finance").mkdir(parents=True)
    (tmp_path / "landing" / "finance" / "payments_20261031.csv").write_text("invoice_id;paid_date;amount_eur\n")
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance, cursor=None))
        assert isinstance(first, dg.SkipReason)
        cursor = json.loads(landing_watch.WatchState.from_cursor(None).to_cursor())  # shape check
        assert set(cursor) == {"seen", "delivered"}
        context = dg.build_sensor_context(instance=instance, cursor=None)
        sensor(context)
        second = sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
        assert isinstance(second, dg.RunRequest) and second.run_key.startswith("landing-")


def test_schedules_and_sensors_are_defined():
    from pipeline.definitions import defs

    schedules = {s.name: defs.resolve_schedule_def(s.name) for s in defs.schedules}
    assert schedules["daily_refresh_schedule"].cron_schedule == "0 5 * * *"
    assert schedules["monthly_retrain_schedule"].job_name == "refresh_and_train"
    assert schedules["monthly_scoring_schedule"].job_name == "score_month"
    sensors = {s.name for s in defs.sensors}
    assert {"landing_zone_sensor", "run_failure_alert"} <= sensors
    jobs = {j.name: j for j in defs.resolve_all_job_defs()}
    assert jobs["score_month"].tags["dagster/max_retries"] == "2"
    # Publishing runs after scoring and after the daily refresh, never in the training run.
    assert "bi/release" in {k.to_user_string() for k in jobs["score_month"].asset_layer.executable_asset_keys}


def test_a_failed_run_becomes_an_alert_in_the_file(tmp_path):
    alert = alerts.Alert(
        run_id="r1",
        job="score_month",
        failed_at="2026-11-03T06:00:00+00:00",
        message="boom",
        steps_failed=["bi_release"],
    )
    sent = alerts.alerters_from_env(tmp_path, {"PIPELINE_ALERTERS": "file"})
    alerts.send(alert, sent)
    line = json.loads((tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()[0])
    assert line["job"] == "score_month" and "failed" in line["text"] and "bi_release" in line["text"]
    with pytest.raises(ValueError, match="pager"):
        alerts.alerters_from_env(tmp_path, {"PIPELINE_ALERTERS": "log,pager"})


def test_the_refresh_window_is_the_newest_months_and_refuses_nonsense():
    keys = [f"2026-{m:02d}-01" for m in range(1, 12)]
    assert orchestration.refresh_window(keys, 3) == ("2026-09-01", "2026-11-01")
    assert orchestration.refresh_window(keys, 40) == ("2026-01-01", "2026-11-01")  # all there is
    with pytest.raises(ValueError, match="at least one month"):
        orchestration.refresh_window(keys, 0)
    with pytest.raises(ValueError, match="no partitions"):
        orchestration.refresh_window([], 13)


def test_partition_env_hands_dbt_a_range_of_whole_months():
    assert partition_env(datetime(2026, 4, 1), datetime(2026, 6, 1)) == {
        "PIPELINE_PARTITION_MONTH_START": "2026-04-01",
        "PIPELINE_PARTITION_MONTH_END": "2026-06-01",
    }
    # An open end is empty: from the data's first month, or to its newest.
    assert partition_env(None, datetime(2026, 6, 1)) == {
        "PIPELINE_PARTITION_MONTH_START": "",
        "PIPELINE_PARTITION_MONTH_END": "2026-06-01",
    }
    assert set(partition_env(None, None).values()) == {""}
    args = vars_arguments({"churn_horizon_months": 6})
    assert args[0] == "--vars"
    assert json.loads(args[1]) == {"churn_horizon_months": 6}
    with pytest.raises(ValueError, match="whole months"):
        partition_env(datetime(2026, 4, 15), datetime(2026, 6, 1))
    with pytest.raises(ValueError, match="whole months"):
        partition_env(datetime(2026, 6, 1), datetime(2026, 6, 1))


FIRST, PARTITIONS_END = date(2023, 1, 1), date(2027, 1, 1)  # partitions 2023-01 .. 2026-12


def test_a_run_from_the_first_partition_rebuilds_from_the_data_first_month_and_says_so():
    rebuild = orchestration.months_to_rebuild(
        FIRST, PARTITIONS_END, FIRST, PARTITIONS_END, (date(2021, 7, 1), date(2026, 10, 1))
    )
    assert (rebuild.start, rebuild.end) == (None, None)  # nothing before 2023 is skipped
    (note,) = rebuild.notes
    assert "2021-07" in note and "PIPELINE_FIRST_SNAPSHOT_MONTH=2021-07-01" in note
    # A backfill of a few months rebuilds exactly those.
    backfill = orchestration.months_to_rebuild(
        date(2024, 3, 1), date(2024, 6, 1), FIRST, PARTITIONS_END, (date(2021, 7, 1), date(2026, 10, 1))
    )
    assert (backfill.start, backfill.end, backfill.notes) == (date(2024, 3, 1), date(2024, 6, 1), ())


def test_a_scheduled_refresh_follows_the_data_when_it_ends_before_the_wall_clock_window():
    # The wall clock's window is 2025-12..2026-12, the data ends in 2025-03: its last 13 months are rebuilt.
    rebuild = orchestration.months_to_rebuild(
        date(2025, 12, 1), PARTITIONS_END, FIRST, PARTITIONS_END, (date(2023, 1, 1), date(2025, 3, 1)), 13
    )
    assert (rebuild.start, rebuild.end) == (date(2024, 3, 1), None)
    assert "2025-03" in rebuild.notes[0]
    # Data that is current: the window stands.
    current = orchestration.months_to_rebuild(
        date(2025, 12, 1), PARTITIONS_END, FIRST, PARTITIONS_END, (date(2023, 1, 1), date(2026, 12, 1)), 13
    )
    assert (current.start, current.notes) == (date(2025, 12, 1), ())


def test_data_that_ends_before_the_first_partition_stops_the_run_naming_the_setting_and_value():
    with pytest.raises(orchestration.DataOutsidePartitions) as refused:
        orchestration.months_to_rebuild(
            FIRST, PARTITIONS_END, FIRST, PARTITIONS_END, (date(1998, 4, 1), date(1999, 6, 1))
        )
    message = str(refused.value)
    assert "1998-04..1999-06" in message
    assert "PIPELINE_FIRST_SNAPSHOT_MONTH=1998-04-01" in message


def test_the_daily_and_monthly_schedules_ask_for_one_run_over_the_months_that_can_change(monkeypatch):
    from pipeline.definitions import defs

    monkeypatch.setenv("PIPELINE_REFRESH_MONTHS", "13")
    with dg.instance_for_test() as instance:
        tick = datetime(2026, 11, 23, 3, tzinfo=UTC)
        for name in ("daily_refresh_schedule", "monthly_retrain_schedule"):
            schedule = defs.resolve_schedule_def(name)
            context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
            (request,) = schedule.evaluate_tick(context).run_requests
            # The open month (November) and the twelve closed months before it, as one range run.
            assert request.tags[orchestration.PARTITION_RANGE_START] == "2025-11-01"
            assert request.tags[orchestration.PARTITION_RANGE_END] == "2026-11-01"
            # ... and says how many months it keeps current, so the window can follow the data.
            assert request.tags[orchestration.REFRESH_MONTHS_TAG] == "13"
            assert request.partition_key is None


def test_the_monthly_scoring_schedule_asks_for_the_month_just_closed_on_the_third():
    from pipeline.definitions import defs

    schedule = defs.resolve_schedule_def("monthly_scoring_schedule")
    assert schedule.job_name == "score_month" and schedule.cron_schedule == "0 6 3 * *"
    with dg.instance_for_test() as instance:
        tick = datetime(2026, 12, 3, 4, tzinfo=UTC)  # 06:00 in Helsinki
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-11-01"


def test_monthly_facts_and_features_are_partitioned_and_a_range_is_one_run():
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert {"marts/fct_account_month", "marts/feat_account_snapshot", "ml/churn_scores"} <= partitioned
    assert not {"marts/mart_account_360", "marts/dim_account", "ml/churn_model"} & partitioned
    feature_table = graph.get(dg.AssetKey(["marts", "feat_account_snapshot"]))
    assert feature_table.backfill_policy == dg.BackfillPolicy.single_run()
    jobs = {j.name: j for j in defs.resolve_all_job_defs()}
    assert jobs["daily_refresh"].partitions_def == feature_table.partitions_def


def test_row_counts_are_taken_of_stored_tables_only():
    # A view's count runs its query (a scan of raw for the staging views); ephemeral models have no relation.
    manifest = {
        "nodes": {
            "model.p.stg_crm__activities": {"relation_name": '"staging"."stg"', "config": {"materialized": "view"}},
            "model.p.int_accounts": {"relation_name": '"intermediate"."int"', "config": {"materialized": "table"}},
            "model.p.fct_account_month": {"relation_name": '"marts"."fct"', "config": {"materialized": "incremental"}},
            "model.p.int_ephemeral": {"relation_name": None, "config": {"materialized": "ephemeral"}},
            "test.p.not_null_x": {"relation_name": None, "config": {"materialized": "test"}},
        }
    }
    assert stored_relations(manifest) == {
        "model.p.int_accounts": '"intermediate"."int"',
        "model.p.fct_account_month": '"marts"."fct"',
    }


@pytest.mark.parametrize(
    "argv", [[], ["ingest", "--job", "daily_refresh"], ["ingest", "nonsense"]], ids=["nothing", "both", "unknown"]
)
def test_the_runner_refuses_an_unclear_command_before_touching_anything(argv, capsys):
    from pipeline import runner

    with pytest.raises(SystemExit) as refused:
        runner.main(argv)
    assert refused.value.code == 2
    assert "stage" in capsys.readouterr().err
