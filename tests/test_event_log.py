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
