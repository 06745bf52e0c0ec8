"""Helpers for the crash, re-run and concurrency trials: a built demo home, content hashes of the
warehouse and of the published release, and a stage run that can be killed with SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.publish.parquet import complete_releases, current_release

REPO = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "dbt", "train", "score", "publish")

# Columns that say which run wrote a row and when: they differ between two runs by design. Everything
# else must be identical when the same data is materialised twice.
RUN_IDENTITY_COLUMNS = frozenset(
    {"run_id", "computed_at", "recorded_at", "scored_at", "trained_at", "processed_at", "code_version"}
    | {"published_run_id", "published_at"}
)


def _table_hash(conn: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> tuple[int, str]:
    kept = ", ".join(f'"{c}"' for c in columns if c not in RUN_IDENTITY_COLUMNS)
    rows, digest = conn.execute(
        f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) "
        f"from (select cast(row({kept}) as varchar) as r from {relation})"
    ).fetchall()[0]
    return int(rows), digest


def warehouse_hashes(warehouse: Path, schemas: tuple[str, ...] = ("raw", "marts")) -> dict[str, tuple[int, str]]:
    """Rows and a content hash of every table in ``schemas`` (order of rows does not matter)."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        listing = conn.execute(
            "select table_schema, table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns where table_schema in (select unnest(?)) group by all order by all",
            [list(schemas)],
        ).fetchall()
        return {f"{s}.{t}": _table_hash(conn, f'"{s}"."{t}"', cols) for s, t, cols in listing}


def release_hashes(bi_dir: Path) -> dict[str, tuple[int, str]]:
    """Rows and a content hash of every table in the current Parquet release."""
    release = current_release(bi_dir)
    assert release is not None, f"no current release in {bi_dir}"
    hashes = {}
    with duckdb.connect() as conn:
        for path in sorted(release.path.glob("*.parquet")):
            relation = f"read_parquet('{path}')"
            columns = [r[0] for r in conn.execute(f"describe select * from {relation}").fetchall()]
            hashes[path.stem] = _table_hash(conn, relation, columns)
    return hashes


def assert_release_complete(bi_dir: Path) -> str:
    """CURRENT and the ``current`` symlink name the same complete release whose files match its manifest."""
    release = current_release(bi_dir)
    assert release is not None, "no current release"
    assert (release.path / "_COMPLETE").exists(), f"current release {release.release_id} is not marked complete"
    assert (bi_dir / "current").resolve() == release.path.resolve(), "CURRENT and the current symlink disagree"
    manifest = json.loads((release.path / "_manifest.json").read_text())
    for table in manifest["tables"].values():
        path = release.path / table["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == table["sha256"], f"{path} differs from its manifest"
    assert release.release_id in complete_releases(bi_dir)
    return release.release_id


def assert_warehouse_usable(warehouse: Path) -> None:
    """The file opens for writing (DuckDB replays its write-ahead log) and every table can be read."""
    with duckdb.connect(str(warehouse)) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            conn.execute(f'select count(*) from "{schema}"."{table}"').fetchall()
        conn.execute("checkpoint")


def copy_home(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("dagster_home", "*.log"))
    return target


def stage_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "DAGSTER_"))}
    env.update({"PIPELINE_HOME": str(home), "TMPDIR": str(_tmp(home)), "PYTHONUNBUFFERED": "1"})
    return env


def _tmp(home: Path) -> Path:
    path = home.parent / f"{home.name}-tmp"
    path.mkdir(exist_ok=True)
    return path


@dataclass
class StageRun:
    returncode: int | None
    killed: bool
    seconds: float
    log: str


def _wait_for_group_to_exit(pgid: int, timeout: float = 60) -> None:
    """Wait until every process of the killed group is gone: the leader's exit says nothing of its
    children (dbt), and a process killed in the middle of a write releases its file locks only when it
    has exited, which a busy disk can delay."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of the killed group {pgid} were still running {timeout:.0f} s after SIGKILL")


def run_stages(home: Path, *stages: str, kill_after: float | None = None, timeout: float = 900) -> StageRun:
    """``python -m pipeline.runner <stages>`` on ``home``; with ``kill_after``, SIGKILL the whole process
    group (the Dagster process and dbt under it) that many seconds after the stage started working.

    A run that is not killed is forked from a warm interpreter (tests/warm_runner.py); a killed one is a new
    interpreter in a session of its own, whose whole process group the kill reaches."""
    if kill_after is None:
        from tests.warm_runner import run_module

        started = time.monotonic()
        done = run_module("pipeline.runner", list(stages), env=stage_env(home), cwd=REPO, timeout=timeout)
        return StageRun(done.returncode, False, time.monotonic() - started, done.stdout + done.stderr)
    log_path = _tmp(home) / f"run-{time.monotonic_ns()}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.runner", *stages],
            cwd=REPO,
            env=stage_env(home),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = time.monotonic()
    killed = False
    if kill_after is not None:
        # The clock starts when the runner has imported everything and begins the stage.
        while process.poll() is None and "starting" not in log_path.read_text():
            time.sleep(0.05)
        began = time.monotonic()
        while process.poll() is None and time.monotonic() - began < kill_after:
            time.sleep(0.02)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    if killed:
        _wait_for_group_to_exit(process.pid)
    return StageRun(process.returncode, killed, time.monotonic() - started, log_path.read_text())
