"""Dagster's SQLite event log commits with synchronous=NORMAL once the definitions are loaded, and only
where the database is in WAL mode (pipeline/event_log.py)."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

import pipeline.definitions  # noqa: F401  # loading the definitions installs the setting
from pipeline.event_log import relax_sqlite_wal_commits

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def test_a_runs_event_log_commits_without_waiting_for_the_disk_at_every_event():
    @dg.asset
    def tiny() -> int:
        return 1

    with dg.instance_for_test() as instance:
        result = dg.materialize([tiny], instance=instance)
        assert result.success
        storage = instance.event_log_storage
        with storage.run_connection(result.run_id) as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        assert (str(mode).lower(), SYNCHRONOUS[synchronous]) == ("wal", "NORMAL")
        # Every event of the run was stored.
        assert len(instance.all_logs(result.run_id)) > 5


def test_a_sqlite_database_not_in_wal_mode_keeps_full_commits(tmp_path):
    relax_sqlite_wal_commits()
    relax_sqlite_wal_commits()  # idempotent: one listener
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    with engine.connect() as conn:
        assert str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower() == "delete"
        assert SYNCHRONOUS[conn.exec_driver_sql("PRAGMA synchronous").scalar()] == "FULL"
    engine.dispose()


def test_a_runs_events_are_stored_through_a_few_pooled_connections_not_one_per_event(tmp_path):
    """Dagster's SQLite event log built an engine and a connection for every event (two or three for an
    asset event); the definitions make it reuse one engine per file (pipeline/event_log.py). Counted here by
    the new database connections a run with a hundred check results opens, and every event still stored."""
    checks = [dg.AssetCheckSpec(f"check_{n}", asset="checked") for n in range(100)]

    @dg.multi_asset(specs=[dg.AssetSpec("checked")], check_specs=checks)
    def checked():
        yield dg.MaterializeResult(asset_key="checked")
        for n in range(100):
            yield dg.AssetCheckResult(check_name=f"check_{n}", asset_key="checked", passed=n % 2 == 0)

    opened: list[object] = []

    def count(dbapi_connection, _record):
        opened.append(dbapi_connection)

    sa.event.listen(sa.engine.Engine, "connect", count)
    try:
        with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
            result = dg.materialize([checked], instance=instance, raise_on_error=False)
            stored = instance.all_logs(result.run_id)
            evaluations = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [dg.AssetCheckKey(dg.AssetKey("checked"), f"check_{n}") for n in range(100)]
            )
    finally:
        sa.event.remove(sa.engine.Engine, "connect", count)
    assert len(stored) > 300  # planned, output and evaluation of each check, the run's own events
    assert len(evaluations) == 100
    assert sum(1 for e in evaluations.values() if e.status.value == "SUCCEEDED") == 50
    # Dagster's own way opened nearly one connection per event (274 for 312 events); pooled, the event log
    # opens a few per file and what remains is the run storage's own (74 in all).
    assert len(opened) < len(stored) / 3, f"{len(opened)} connections opened for {len(stored)} events"
