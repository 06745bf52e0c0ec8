"""How Dagster's SQLite storage commits and connects in a pipeline process.

Dagster writes every event of a run (each dbt model's materialisation, each dbt test's check result: about
1,500 in a daily refresh) in its own transaction, and its SQLite event log builds a new SQLAlchemy engine
and a new connection for each of them, twice or three times for an asset event (the run's file and the
index file). Two settings here, both for processes that load the definitions:

- ``synchronous=NORMAL`` where a database is in WAL mode. With SQLite's default, FULL, every commit waits
  for the disk: a daily refresh at 20,000 accounts spent about 7 s of its 68 s waiting (docs/decisions.md).
  NORMAL is what SQLite recommends for WAL: the database stays consistent after any crash, a process crash
  loses nothing, and only a power cut or kernel crash may roll back the last commits, i.e. the last events
  of a run in progress, which a rerun writes again. Databases not in WAL mode keep FULL: there NORMAL could
  corrupt on a power cut.
- **One engine per database file, its connections pooled**, instead of an engine built and disposed per
  event: 912 events of one step took 7.1-7.6 s to store on this machine's disk with Dagster's own connect
  and 2.0-2.3 s pooled (docs/decisions.md; tests/test_event_log.py counts the connections). A pooled connection holds no
  lock between transactions (WAL), so other processes (the UI, the daemon) read and write as before; the
  engines of the few newest files are kept, older ones disposed, and all of them when the storage is.

A deployment that needs every event on disk at every commit runs its Dagster storage on PostgreSQL
(docs/operations.md). Both settings reach into Dagster's SQLite storage class (``_connect``), pinned by
constraints.txt; tests/test_event_log.py checks both on the installed version.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

WAL_SYNCHRONOUS = "NORMAL"
# Engines kept per storage: the index file, the run being written and a few runs read back (the UI's).
POOLED_ENGINES_PER_STORAGE = 8
# Dagster's own busy timeout for its SQLite files (dagster._core.storage.sqlite.SQLITE_BUSY_TIMEOUT_SECONDS).
BUSY_TIMEOUT_SECONDS = 30


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


_POOLED_ATTRIBUTE = "_pipeline_pooled_engines"


# Guards the engines of every storage; re-entrant, since Dagster may look up a table inside a transaction.
_ENGINES_LOCK = threading.RLock()


def _pooled_engine(storage: Any, conn_string: str) -> Engine:
    with _ENGINES_LOCK:
        engines: OrderedDict[str, Engine] = storage.__dict__.setdefault(_POOLED_ATTRIBUTE, OrderedDict())
        engine = engines.get(conn_string)
        if engine is None:
            engine = create_engine(conn_string, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
            engines[conn_string] = engine
            while len(engines) > POOLED_ENGINES_PER_STORAGE:
                _, oldest = engines.popitem(last=False)
                oldest.dispose()
        else:
            engines.move_to_end(conn_string)
        return engine


@contextlib.contextmanager
def _pooled_connect(self: Any, shard: str) -> Iterator[Connection]:
    # Dagster's _connect, but the engine of the shard's file is reused (its lock and lazy init kept).
    with self._db_lock:
        engine = _pooled_engine(self, self.conn_string_for_shard(shard))
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
            # _initdb may have just turned a new file to WAL: connections made before keep FULL commits.
            engine.dispose()
        with engine.connect() as conn, conn.begin():
            yield conn


def _pooled_has_table(self: Any, table_name: str) -> bool:
    # Dagster asks this of the index file before storing each check result, with an engine of its own.
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME

    engine = _pooled_engine(self, self.conn_string_for_shard(INDEX_SHARD_NAME))
    with engine.connect() as conn:
        return bool(engine.dialect.has_table(conn, table_name))


def _dispose_pooled(storage: Any) -> None:
    with _ENGINES_LOCK:
        engines = storage.__dict__.pop(_POOLED_ATTRIBUTE, {})
    for engine in engines.values():
        engine.dispose()


def pool_sqlite_event_log_connections() -> None:
    """Dagster's run-sharded SQLite event log, in this process, reuses one engine per database file
    (idempotent; loading the definitions calls it)."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    if getattr(SqliteEventLogStorage, "_pipeline_pooled", False):
        return
    original_dispose = SqliteEventLogStorage.dispose

    def dispose(self: Any) -> None:
        original_dispose(self)
        _dispose_pooled(self)

    SqliteEventLogStorage._connect = _pooled_connect  # type: ignore[method-assign]
    SqliteEventLogStorage.has_table = _pooled_has_table  # type: ignore[method-assign]
    SqliteEventLogStorage.dispose = dispose  # type: ignore[method-assign]
    SqliteEventLogStorage._pipeline_pooled = True  # type: ignore[attr-defined]
