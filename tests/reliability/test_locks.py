"""The OS locks that keep two runs from using the warehouse at once (docs/reliability.md, "Two runs at once"),
each held by a real second process. The long trial, two whole runs started at once, is in `make test-slow`
(test_rerun.py); these hold the locks it relies on in `make test`."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.warehouse import WarehouseBusyError, reader_lock, writer_lock
from tests.reliability.safety import REPO

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipeline.warehouse import reader_lock, writer_lock

    lock = writer_lock if sys.argv[1] == "writer" else reader_lock
    with lock(Path(sys.argv[2]), 30):
        print("held", flush=True)
        time.sleep(float(sys.argv[3]))
    """
)


@contextlib.contextmanager
def _held_by_another_process(kind: str, warehouse: Path, seconds: float) -> Iterator[subprocess.Popen]:
    """A second process holding the warehouse's ``kind`` lock for ``seconds``; killed at the end if still
    running."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, kind, str(warehouse), str(seconds)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_writer_waits_for_another_process_writing_and_then_writes(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with _held_by_another_process("writer", warehouse, 2.0) as holder:
        asked = time.monotonic()
        with writer_lock(warehouse, 60):
            waited = time.monotonic() - asked
        assert holder.wait(timeout=30) == 0
    assert waited >= 1.0  # it had to wait for the other writer (2 s), not barge in


def test_a_writer_gives_up_after_its_timeout_naming_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with _held_by_another_process("writer", warehouse, 5.0):
        busy = r"another run has been using .*warehouse\.duckdb"
        with pytest.raises(WarehouseBusyError, match=busy), writer_lock(warehouse, 0.5):
            pass
        # A reader waits for a writer too.
        with pytest.raises(WarehouseBusyError, match="another run has been writing"), reader_lock(warehouse, 0.5):
            pass


def test_readers_share_the_warehouse_and_a_writer_waits_for_them(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with _held_by_another_process("reader", warehouse, 5.0):
        with reader_lock(warehouse, 0.5):  # another reader at the same time: no wait
            pass
        with pytest.raises(WarehouseBusyError), writer_lock(warehouse, 0.5):
            pass


def test_a_killed_writer_releases_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with _held_by_another_process("writer", warehouse, 60.0) as holder:
        holder.kill()  # SIGKILL: no finally runs; the kernel drops the flock with the process
        holder.wait(timeout=30)
        with writer_lock(warehouse, 5):
            pass
