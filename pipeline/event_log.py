"""How Dagster's SQLite storage commits in a pipeline process.

Dagster writes every event of a run (each dbt model's materialisation, each dbt test's check result) in
its own transaction, and SQLite in WAL mode with its default ``synchronous=FULL`` waits for the disk at
every commit: a daily refresh at 20,000 accounts stores a few thousand events and spent about 7 s of its
68 s waiting (measured back to back, docs/decisions.md). ``synchronous=NORMAL`` is what SQLite recommends
for WAL: the database stays consistent after any crash, a process crash loses nothing, and only a power
cut or kernel crash may roll back the last commits, i.e. the last events of a run in progress, which
a rerun writes again. Databases not in WAL mode keep FULL: there NORMAL could corrupt on a power cut.
A deployment that needs every event on disk runs its Dagster storage on PostgreSQL (docs/operations.md).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

WAL_SYNCHRONOUS = "NORMAL"


def _relax_wal_commits(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() == "wal":
            cursor.execute(f"PRAGMA synchronous={WAL_SYNCHRONOUS}")
    finally:
        cursor.close()


def relax_sqlite_wal_commits() -> None:
    """Every SQLAlchemy connection this process opens to a SQLite database in WAL mode commits with
    ``synchronous=NORMAL`` (idempotent; loading the definitions calls it)."""
    if not event.contains(Engine, "connect", _relax_wal_commits):
        event.listen(Engine, "connect", _relax_wal_commits)
