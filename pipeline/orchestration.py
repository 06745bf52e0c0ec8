"""Jobs, schedules and sensors: when each part of the graph runs.

- ``daily_refresh`` (every day 05:00): ingest, the warehouse, the insight statistics, the marts with the
  latest scores, and publishing. No training, no scoring. The monthly facts and features are rebuilt for
  the months that can still change (``refresh_window``); older months change only through a backfill.
- ``refresh_and_train`` (3rd of the month 02:00): everything but scoring, including training the churn
  model (a challenger replaces the champion only when at least as good).
- ``score_month`` (3rd of the month 06:00, for the month just closed; backfill other months from the UI):
  scores, the marts fed by them, and publishing.
- ``landing_zone_sensor``: starts ``ingest`` when new files are complete in the landing zone.
- ``run_failure_alert``: every failed run becomes an alert (log + file by default; pipeline/alerts.py).

Retries: each job retries a failed run twice (``dagster/max_retries``; needs the daemon) and each step
once after 30 s. One writer at a time: every asset that writes DuckDB is in the ``duckdb_warehouse`` pool,
limited to 1 by dagster.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg

from pipeline import alerts, landing_watch
from pipeline.config import Settings

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"
# A scheduled refresh says how many months it keeps current, so the monthly models can anchor that window on
# the data's newest month rather than the wall clock (a history that ends years ago is refreshed too).
REFRESH_MONTHS_TAG = "pipeline/refresh_months"
RUN_RETRIES = {"dagster/max_retries": "2", "dagster/retry_strategy": "FROM_FAILURE"}
STEP_RETRY = dg.RetryPolicy(max_retries=1, delay=30)


def build_jobs(churn_model, churn_scores) -> dict[str, dg.UnresolvedAssetJobDefinition]:
    scoring = dg.AssetSelection.assets(churn_scores).downstream()
    return {
        "ingest": dg.define_asset_job(
            "ingest", selection=dg.AssetSelection.groups("ingest"), tags=RUN_RETRIES, op_retry_policy=STEP_RETRY
        ),
        "daily_refresh": dg.define_asset_job(
            "daily_refresh",
            selection=dg.AssetSelection.all() - dg.AssetSelection.assets(churn_model, churn_scores),
            tags=RUN_RETRIES,
            op_retry_policy=STEP_RETRY,
        ),
        "refresh_and_train": dg.define_asset_job(
            "refresh_and_train", selection=dg.AssetSelection.all() - scoring, tags=RUN_RETRIES
        ),
        # Partitioned by snapshot month (inferred from ml/churn_scores).
        "score_month": dg.define_asset_job("score_month", selection=scoring, tags=RUN_RETRIES),
    }


def partition_range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags for one run over the partitions start..end (inclusive): the monthly dbt models and the
    scores have BackfillPolicy.single_run, so a range is one dbt invocation, not one run per month."""
    return {PARTITION_RANGE_START: start, PARTITION_RANGE_END: end}


def refresh_window(partition_keys: Sequence[str], months: int) -> tuple[str, str]:
    """The newest ``months`` partitions: the open month and the closed months whose rows can still change.

    A six-month churn label becomes final up to six months (plus the silent-churn confirmation, six more)
    after its snapshot month, so the default of 13 keeps every label that can still move up to date.
    """
    if not partition_keys:
        raise ValueError("no partitions yet: the first month is in the future")
    if months < 1:
        raise ValueError(f"the refresh window must hold at least one month, not {months}")
    window = partition_keys[-months:]
    return window[0], window[-1]


def scheduled_refresh_tags(start: str, end: str, months: int) -> dict[str, str]:
    """Tags of a scheduled refresh over start..end that keeps the data's newest ``months`` months current."""
    return {**partition_range_tags(start, end), REFRESH_MONTHS_TAG: str(months)}


@dataclass(frozen=True)
class MonthlyRebuild:
    """The months a run of the monthly models rebuilds: [start, end), None = open (the data's first month,
    or its last). ``notes`` say in words what differs from the run's partitions and why."""

    start: date | None
    end: date | None
    notes: tuple[str, ...] = ()


class DataOutsidePartitions(ValueError):
    """The data's newest month is before the first monthly partition: nothing of it could be scored."""


def require_data_within_partitions(first_partition: date, data_months: tuple[date, date]) -> None:
    """Refuse, naming the setting and its value, data whose newest month is before the first partition."""
    first, newest = data_months
    if newest < first_partition:
        raise DataOutsidePartitions(
            f"The data covers {first:%Y-%m}..{newest:%Y-%m}, but the monthly partitions start at "
            f"{first_partition:%Y-%m} (PIPELINE_FIRST_SNAPSHOT_MONTH): no month of it could be scored or "
            f"refreshed. Set PIPELINE_FIRST_SNAPSHOT_MONTH={first:%Y-%m-01} (the first month found) and run again."
        )


def months_to_rebuild(
    window_start: date,
    window_end: date,
    first_partition: date,
    partitions_end: date,
    data_months: tuple[date, date] | None,
    refresh_months: int | None = None,
) -> MonthlyRebuild:
    """Which months the monthly facts and features rebuild for a run over [window_start, window_end).

    No month of data is skipped silently: a run from the first partition rebuilds from the data's first
    month, however early (``start`` None); a scheduled refresh (``refresh_months``) also rebuilds the data's
    newest ``refresh_months`` months, whose labels can still change, when the data ends before the
    wall-clock window; data that ends before the first partition stops the run, naming the setting.
    ``data_months`` is (first month, newest month) of the data, None before any data.
    """
    start: date | None = None if window_start <= first_partition else window_start
    end: date | None = None if window_end >= partitions_end else window_end
    notes: list[str] = []
    if data_months is None:
        return MonthlyRebuild(start, end, ("no data yet",))
    first, newest = data_months
    require_data_within_partitions(first_partition, data_months)
    if start is None and first < first_partition:
        notes.append(
            f"the data starts at {first:%Y-%m}, before the first monthly partition {first_partition:%Y-%m}: "
            f"those months are built too, but only PIPELINE_FIRST_SNAPSHOT_MONTH={first:%Y-%m-01} makes them "
            "partitions to score or backfill one by one"
        )
    if refresh_months is not None and start is not None:
        anchored = _add_months(date(newest.year, newest.month, 1), -(refresh_months - 1))
        if anchored < start:
            notes.append(
                f"the data's newest month is {newest:%Y-%m}: its last {refresh_months} months (from "
                f"{anchored:%Y-%m}) are rebuilt, whose labels can still change"
            )
            start = anchored
    return MonthlyRebuild(start, end, tuple(notes))


def _add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def full_range_tags(partitions_def: dg.PartitionsDefinition) -> dict[str, str]:
    """Tags for a run over every partition (the first build, or a rebuild of all history)."""
    keys = partitions_def.get_partition_keys()
    return partition_range_tags(keys[0], keys[-1])


def build_schedules(jobs: dict, account_months: dg.PartitionsDefinition) -> list:
    def refresh_request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        keys = account_months.get_partition_keys(current_time=context.scheduled_execution_time)
        months = Settings.from_env().refresh_months
        start, end = refresh_window(keys, months)
        return dg.RunRequest(tags=scheduled_refresh_tags(start, end, months))

    return [
        dg.ScheduleDefinition(
            name="daily_refresh_schedule",
            job=jobs["daily_refresh"],
            cron_schedule="0 5 * * *",
            execution_timezone="Europe/Helsinki",
            execution_fn=refresh_request,
        ),
        dg.ScheduleDefinition(
            name="monthly_retrain_schedule",
            job=jobs["refresh_and_train"],
            cron_schedule="0 2 3 * *",
            execution_timezone="Europe/Helsinki",
            execution_fn=refresh_request,
        ),
        # The month just closed, on the 3rd (late invoices and CRM snapshots are in by then).
        dg.build_schedule_from_partitioned_job(
            jobs["score_month"], name="monthly_scoring_schedule", day_of_month=3, hour_of_day=6
        ),
    ]


def build_landing_sensor(ingest_job) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_zone_sensor",
        job=ingest_job,
        minimum_interval_seconds=60,
        description="Starts ingest when new files are complete in the landing zone: temporary names "
        "(.tmp, .part, ...) are ignored, and a file must keep its size and time for one tick.",
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext):
        settings = Settings.from_env()
        state = landing_watch.WatchState.from_cursor(context.cursor)
        current = landing_watch.listing(settings.landing_dir)
        ready, state = landing_watch.ready_files(state, current)
        context.update_cursor(state.to_cursor())
        if not ready:
            return dg.SkipReason(f"No new complete files ({len(current)} files in the landing zone).")
        return dg.RunRequest(
            run_key=landing_watch.run_key(ready, current),
            tags={"landing_files": str(len(ready))},
        )

    return landing_zone_sensor


@dg.run_failure_sensor(name="run_failure_alert", description="Every failed run becomes an alert (log and file).")
def run_failure_alert(context: dg.RunFailureSensorContext):
    settings = Settings.from_env()
    steps = [event.step_key for event in context.get_step_failure_events() if event.step_key]
    alert = alerts.Alert(
        run_id=context.dagster_run.run_id,
        job=context.dagster_run.job_name,
        failed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        message=context.failure_event.message or "run failed",
        steps_failed=steps,
    )
    alerts.send(alert, alerts.alerters_from_env(settings.home))
