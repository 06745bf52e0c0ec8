"""The DuckDB warehouse: one writing process at a time, enforced by an OS file lock.

DuckDB allows one writing process or many read-only ones, never both. Dagster can run two jobs at once
(a schedule and an analyst's backfill; the pool limit holds only within one Dagster instance), so every
writer takes an exclusive ``flock`` on ``<warehouse>.lock`` and every reader a shared one, each waiting
for the other: a second run waits its turn instead of failing on DuckDB's own lock or corrupting anything.
The kernel drops a dead process's locks, so a run killed mid-write blocks nobody.

Within one process the locks are re-entrant: a reader inside a writer's lock needs no lock of its own (the
process already excludes everyone else). A writer inside a reader's lock would wait for itself, so it is
refused at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb


class WarehouseBusyError(RuntimeError):
    pass


# Locks this process holds: lock file -> [mode, depth]. Guarded: Dagster may run hooks in threads.
_held: dict[Path, list] = {}
_held_guard = threading.Lock()


@contextlib.contextmanager
def writer_lock(warehouse_path: Path, timeout_seconds: float) -> Iterator[None]:
    """Exclusive: no other process reads or writes the warehouse while this is held."""
    with _file_lock(warehouse_path, fcntl.LOCK_EX, timeout_seconds):
        yield


@contextlib.contextmanager
def reader_lock(warehouse_path: Path, timeout_seconds: float) -> Iterator[None]:
    """Shared: other readers may read too; a writer waits until every reader is done."""
    with _file_lock(warehouse_path, fcntl.LOCK_SH, timeout_seconds):
        yield


@contextlib.contextmanager
def _file_lock(warehouse_path: Path, mode: int, timeout_seconds: float) -> Iterator[None]:
    lock_path = warehouse_path.resolve().with_name(warehouse_path.name + ".lock")
    with _held_guard:
        held = _held.get(lock_path)
        if held is not None:
            if held[0] == fcntl.LOCK_SH and mode == fcntl.LOCK_EX:
                raise RuntimeError(
                    f"a writer of {warehouse_path} was opened while this process reads it: close the reader first"
                )
            held[1] += 1
    if held is not None:
        try:
            yield
        finally:
            with _held_guard:
                held[1] -= 1
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    action = "writing" if mode == fcntl.LOCK_SH else "using"
                    raise WarehouseBusyError(
                        f"another run has been {action} {warehouse_path} for over {timeout_seconds:.0f} s"
                    ) from None
                time.sleep(0.2)
        with _held_guard:
            _held[lock_path] = [mode, 1]
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(lock_path, None)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def connect(
    warehouse_path: Path,
    *,
    read_only: bool = False,
    memory_limit: str = "2GB",
    threads: int | None = None,
    lock_timeout_seconds: float = 3600,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; writers hold the writer lock for the connection's whole life."""
    config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit}
    if threads:
        config["threads"] = threads
    if read_only:
        with (
            reader_lock(warehouse_path, lock_timeout_seconds),
            contextlib.closing(duckdb.connect(str(warehouse_path), read_only=True, config=config)) as conn,
        ):
            yield conn
        return
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(warehouse_path, lock_timeout_seconds):
        conn = duckdb.connect(str(warehouse_path), config=config)
        try:
            yield conn
        finally:
            conn.close()
