"""dbt glue that is not Dagster wiring: the project location and the environment dbt runs with."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
# dbt as the pipeline runs it (pipeline/dbt_command.py): its partial parse survives a new warehouse path.
DBT_COMMAND = Path(sys.executable).parent / "pipeline-dbt"
# Parses of the project shared by every pipeline home on this machine, one per target and vars (below).
PARSE_CACHE_DIR = DBT_PROJECT_DIR / "target" / "partial_parse"
# The pipeline's builds test the data; dbt's unit tests (fixed input rows, fixed expected rows) test the
# project's SQL and give the same answer every day. CI runs them (`make test`, on DuckDB and PostgreSQL);
# the scheduled builds leave them out, as dbt advises for production: a daily refresh saved 4 s of its dbt
# time at 20,000 accounts, whatever the company's size.
SCHEDULED_BUILD_FLAGS = ("--exclude-resource-type", "unit_test")
DBT_LOG_LEVEL_FILE = "info"


@contextlib.contextmanager
def dbt_environment(
    warehouse_path: str, target: str | None = None, extra: dict[str, str] | None = None
) -> Iterator[None]:
    """dbt reads paths from the environment (profiles.yml); give it the absolute warehouse path, and any
    ``extra`` variables (the monthly models' window).

    A relative PIPELINE_HOME would otherwise resolve against dbt's own working directory. dbt's own log
    file (``dbt.log`` beside the run's artefacts) is kept at info level unless DBT_LOG_LEVEL_FILE says
    otherwise: at debug, dbt's default, it writes every statement and adapter call of every node, about a
    tenth of a warehouse build's time here (0.9 s of 9 s, measured back to back), and the compiled SQL is in
    the artefacts already.
    """
    overrides = {"PIPELINE_WAREHOUSE_PATH": str(Path(warehouse_path).resolve())}
    if not os.environ.get("DBT_LOG_LEVEL_FILE"):
        overrides["DBT_LOG_LEVEL_FILE"] = DBT_LOG_LEVEL_FILE
    if target:
        overrides["DBT_TARGET"] = target
    overrides.update(extra or {})
    with environment_set(overrides):
        yield


@contextlib.contextmanager
def environment_set(overrides: Mapping[str, str]) -> Iterator[None]:
    """``overrides`` in this process's environment for the block's length; the previous values (or their
    absence) restored after it."""
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def shared_partial_parse(
    target_dir: Path, dbt_vars: dict, target: str | None = None, warehouse_path: str | None = None
) -> Iterator[None]:
    """Start a dbt invocation whose ``target_dir`` has never parsed from the project's last parse with the
    same target, database and vars, and keep its newest parse for the next such folder.

    A new pipeline home (a test's, a benchmark tier's, a company copied elsewhere) otherwise parses the
    whole project on each of its four dbt assets: about 4 s each, against 1.5 s to load a parse. dbt checks
    the copied parse as it checks its own (its version, the vars, the profile, every file's checksum) and
    re-parses what differs, so a stale copy costs time, never correctness. The cache is an optimisation: a
    read-only project folder only loses the saving.
    """
    target = target or os.environ.get("DBT_TARGET", "duckdb")
    if target != "duckdb":  # other profiles hash their host and port: a throwaway server's parse serves no other
        yield
        return
    # What dbt's own check compares and may differ between homes: the vars and the database name (the
    # DuckDB file's stem, in every relation name). The path itself does not count (pipeline/dbt_command.py).
    cached = shared_parse_path(Path(warehouse_path or os.environ.get("PIPELINE_WAREHOUSE_PATH", "w.duckdb")), dbt_vars)
    own = Path(target_dir) / "partial_parse.msgpack"
    with contextlib.suppress(OSError):
        if not own.exists() and cached.exists():
            own.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, own)
    yield
    with contextlib.suppress(OSError):
        if own.exists() and (not cached.exists() or own.stat().st_mtime > cached.stat().st_mtime):
            PARSE_CACHE_DIR.mkdir(parents=True, exist_ok=True)
            staged = cached.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(own, staged)
            os.replace(staged, cached)  # readers see the whole file or none


def run_dbt(args: list[str], env: dict[str, str] | None, work: Path) -> subprocess.CompletedProcess:
    """The pipeline's dbt command on the project outside Dagster (a CLI, a test), with its target and logs
    in ``work``, starting from the shared parse for its vars. ``env`` is added to this process's."""
    env = {**os.environ, **(env or {})}
    dbt_vars = json.loads(args[args.index("--vars") + 1]) if "--vars" in args else {}
    with shared_partial_parse(work / "target", dbt_vars, env.get("DBT_TARGET"), env.get("PIPELINE_WAREHOUSE_PATH")):
        return subprocess.run(
            [
                str(DBT_COMMAND),
                *args,
                "--profiles-dir",
                env.get("DBT_PROFILES_DIR") or ".",
                "--target-path",
                str(work / "target"),
                "--log-path",
                str(work / "logs"),
            ],
            cwd=DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )


def shared_parse_path(warehouse_path: Path, dbt_vars: dict) -> Path:
    """Where the shared DuckDB parse for a warehouse file's name and these vars is kept."""
    key = json.dumps({"target": "duckdb", "database": warehouse_path.stem, "vars": dbt_vars}, sort_keys=True)
    return PARSE_CACHE_DIR / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.msgpack"


def manifest_is_current(project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """Whether target/manifest.json is newer than every model, macro, test and the project file: then the
    `dg` and `dagster dev` commands need not parse the project again (a parse costs seconds and rewrites
    the manifest other processes may be reading)."""
    manifest = project_dir / "target" / "manifest.json"
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    sources = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "tests"):
        sources += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return all(p.stat().st_mtime <= built for p in sources)


def stored_relations(manifest: dict) -> dict[str, str]:
    """dbt node id -> the relation it builds (e.g. "marts"."dim_account"), for the models stored as tables.

    Views are left out: counting a view's rows runs its query, and the staging views over the raw tables
    cost about 6 s of scans at 100,000 accounts on every dbt run, for a count that repeats raw's."""
    return {
        unique_id: node["relation_name"]
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("relation_name") and node.get("config", {}).get("materialized") in ("table", "incremental")
    }


# The monthly models' run window (macro within_partition_months): environment variables read when a model
# runs, not dbt vars, whose every change re-parses the whole project.
PARTITION_MONTH_START_ENV = "PIPELINE_PARTITION_MONTH_START"
PARTITION_MONTH_END_ENV = "PIPELINE_PARTITION_MONTH_END"


def partition_env(start: date | datetime | None, end: date | datetime | None) -> dict[str, str]:
    """The environment that limits the monthly models to the months in [start, end).

    ``start`` and ``end`` are first days of months (the first month, the month after the last); None is
    open (an empty value): from the data's first month, or to its last. Both are always set, so a value
    left in the environment by someone else never narrows a run.
    """
    if (start is not None and start.day != 1) or (end is not None and end.day != 1):
        raise ValueError(f"a range of whole months is needed, got {start} .. {end}")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"a range of whole months is needed, got {start} .. {end}")
    return {
        PARTITION_MONTH_START_ENV: f"{start:%Y-%m-%d}" if start is not None else "",
        PARTITION_MONTH_END_ENV: f"{end:%Y-%m-%d}" if end is not None else "",
    }


def vars_arguments(*var_sets: dict) -> list[str]:
    """``--vars`` for a dbt invocation: the business rules of the environment, and any others."""
    merged = {k: v for var_set in var_sets for k, v in var_set.items()}
    return ["--vars", json.dumps(merged, sort_keys=True)] if merged else []


def data_month_range(conn) -> tuple[date, date] | None:
    """(first month, newest month) of the account-month spine the monthly facts are built on; None before the
    warehouse models have been built or while there are no accounts."""
    try:
        row = conn.execute(
            "select min(spine.month_start), max(period.as_of_month) from intermediate.int_account_months spine "
            "cross join intermediate.int_reporting_period period"
        ).fetchone()
    except Exception:  # the intermediate tables do not exist before the first build
        return None
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def newest_snapshot_month(conn) -> str:
    """The month the data reaches (the reporting period's month, 'YYYY-MM-01'): the month scored next."""
    return str(conn.execute("select as_of_month from intermediate.int_reporting_period").fetchall()[0][0])
