"""The DuckDB warehouse: one writing process at a time, enforced by an OS file lock.

DuckDB allows one writing process or many read-only ones, never both. Dagster can run two jobs at once
(a schedule and an analyst's backfill), so every writer takes an exclusive ``flock`` on
``<warehouse>.lock`` first and waits for it: a second run waits its turn instead of failing on DuckDB's
own lock or corrupting anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb


class WarehouseBusyError(RuntimeError):
    pass


@contextlib.contextmanager
def writer_lock(warehouse_path: Path, timeout_seconds: float) -> Iterator[None]:
    lock_path = warehouse_path.with_name(warehouse_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        f"another run has been writing {warehouse_path} for over {timeout_seconds:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
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
    config: dict[str, object] = {"memory_limit": memory_limit}
    if threads:
        config["threads"] = threads
    if read_only:
        with contextlib.closing(duckdb.connect(str(warehouse_path), read_only=True, config=config)) as conn:
            yield conn
        return
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(warehouse_path, lock_timeout_seconds):
        conn = duckdb.connect(str(warehouse_path), config=config)
        try:
            yield conn
        finally:
            conn.close()
