"""Which engine builds the dbt models: DuckDB on this machine (the default) or Apache Spark (issue 23).

On Spark the models are Spark's tables, as Parquet files under the Spark warehouse folder, and nothing of
them is in a DuckDB file. The Python stages keep their own small local store (``warehouse.duckdb``: the
ingest's raw layer with its ledger and quarantine, the churn model's and the analyses' tables, the audit
of dbt's test results) and meet Spark only at two points, both in the dbt asset (assets/warehouse.py):

- **before dbt runs**, every dbt source (the tables Python writes: raw, ml, insight) whose content changed
  since it was last pushed is written as Parquet into the lake folder; those that are new to Spark, or whose
  columns changed, are (re)registered in its metastore as external Parquet tables (``dbt run-operation
  register_parquet_tables``: one more dbt command, so a JVM start, only on the first build and when a
  source's columns change; Spark lists a registered table's files anew on every command);
- **after dbt runs**, every table Spark built is mounted in the local store as a view over its Parquet
  files (read as Arrow by DuckDB's Parquet reader), with the columns and types of the model's contract, so
  the features, training, scoring, analyses and publishing read Spark's rows with the SQL they run on
  DuckDB: the view is Spark's table, never a copy.

Why not a Spark session in the Python stages: Derby's metastore admits one process at a time, and each
session costs a JVM start (15-20 s) per stage; the files are the tables (plain Parquet, no Delta log).
docs/decisions.md, "Spark (issue 23)".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

ENGINE_ENV = "PIPELINE_ENGINE"
ENGINES = ("duckdb", "spark")
# The dbt output of the Spark engine in profiles.yml (local mode); DBT_TARGET may name a cluster's instead.
SPARK_TARGET = "spark"
# The other engines' outputs, which DBT_TARGET may name for a dbt command of its own but never the Spark engine.
OTHER_TARGETS = ("duckdb", "postgres")
# Spark's tables are read as Parquet files: a Delta table's folder also holds files it has removed.
SPARK_FILE_FORMAT_ENV = "PIPELINE_SPARK_FILE_FORMAT"
# Characters a Spark folder may not contain: it reaches SQL as a quoted path and a glob.
UNSAFE_PATH = re.compile(r"['\\*?\[\]{}]")
SPARK_DIR_ENV = "PIPELINE_SPARK_DIR"
# What was last pushed to the lake: each source's fingerprint and columns.
PUSHED_FILE = "_pushed.json"


def spark_target() -> str:
    """The dbt output the Spark engine builds on: ``spark`` (local mode, profiles.yml), or a cluster's output
    named by DBT_TARGET in a profiles.yml of one's own (README, "On Apache Spark")."""
    chosen = os.environ.get("DBT_TARGET", "")
    return chosen if chosen and chosen not in OTHER_TARGETS else SPARK_TARGET


def engine_from(env: dict[str, str]) -> str:
    value = env.get(ENGINE_ENV, "duckdb").strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_ENV} must be one of {', '.join(ENGINES)}, not {value!r}")
    if value == "spark" and env.get(SPARK_FILE_FORMAT_ENV, "parquet") != "parquet":
        raise ValueError(
            f"{ENGINE_ENV}=spark reads Spark's tables as Parquet files: {SPARK_FILE_FORMAT_ENV} must be parquet"
        )
    return value


@dataclass(frozen=True)
class SparkLake:
    """Spark's folder (``PIPELINE_SPARK_DIR``, by default ``$PIPELINE_HOME/spark``): Derby's metastore, the
    warehouse of the tables dbt builds, and the lake of the tables Python writes."""

    spark_dir: Path

    @property
    def warehouse_dir(self) -> Path:
        return self.spark_dir / "spark-warehouse"

    @property
    def lake_dir(self) -> Path:
        return self.spark_dir / "lake"

    def model_folder(self, schema: str, name: str) -> Path:
        """A managed table's files: Spark's default location, ``<warehouse>/<schema>.db/<table>``."""
        return self.warehouse_dir / f"{schema}.db" / name

    def source_folder(self, schema: str, name: str) -> Path:
        return self.lake_dir / schema / name

    def __post_init__(self) -> None:
        if not self.spark_dir.is_absolute() or UNSAFE_PATH.search(str(self.spark_dir)):
            raise ValueError(
                f"the Spark folder must be an absolute path without quotes or glob characters: {self.spark_dir}"
            )

    def dbt_environment(self) -> dict[str, str]:
        """What a dbt command on Spark needs: the target and the folder."""
        return {"DBT_TARGET": spark_target(), SPARK_DIR_ENV: str(self.spark_dir)}


@dataclass(frozen=True)
class Pushed:
    """What one push wrote: the sources written again, and those Spark must (re)register."""

    written: list[str]
    registered: list[dict[str, str]]


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation(schema: str, name: str) -> str:
    return f"{_identifier(schema)}.{_identifier(name)}"


def _fingerprint(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> tuple[str, list[list[str]]]:
    columns = [
        [c, t]
        for c, t in conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
    ]
    # An order-free sum of the rows' hashes with the count: one scan, far cheaper than writing the file.
    rows, hashed = conn.execute(f"select count(*), sum(hash(t)) from {_relation(schema, name)} t").fetchall()[0]
    payload = json.dumps([duckdb.__version__, columns, int(rows), str(hashed)])
    return hashlib.sha256(payload.encode()).hexdigest(), columns


def push_sources(conn: duckdb.DuckDBPyConnection, lake: SparkLake, sources: Iterable[tuple[str, str]]) -> Pushed:
    """Write each of dbt's sources (schema, table) present in the local store to the lake, unless its content
    is what was pushed last; a source absent here is left to dbt (its staging model fails, as on DuckDB).

    Each table is one folder of Parquet files, replaced whole: written beside it, then renamed into place (the
    writer lock keeps Spark away meanwhile)."""
    state_path = lake.lake_dir / PUSHED_FILE
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.exists() else {}
    present = set(conn.execute("select table_schema, table_name from information_schema.tables").fetchall())
    written, registered = [], []
    for schema, name in sorted(set(sources)):
        if (schema, name) not in present:
            continue
        key = f"{schema}.{name}"
        fingerprint, columns = _fingerprint(conn, schema, name)
        folder = lake.source_folder(schema, name)
        before = state.get(key, {})
        if before.get("fingerprint") != fingerprint or not folder.is_dir():
            staged = folder.with_name(f".{name}.new")
            shutil.rmtree(staged, ignore_errors=True)
            staged.mkdir(parents=True)
            conn.execute(f"copy {_relation(schema, name)} to '{staged / 'part-0.parquet'}' (format parquet)")
            old = folder.with_name(f".{name}.old")
            shutil.rmtree(old, ignore_errors=True)
            if folder.exists():
                folder.rename(old)
            staged.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
            written.append(key)
        # Registered again until a registration of these columns has succeeded (mark_registered).
        pending = before.get("columns") != columns or not before.get("registered")
        if pending:
            registered.append({"schema": schema, "name": name, "path": str(folder)})
        state[key] = {"fingerprint": fingerprint, "columns": columns, "registered": not pending}
    _write_state(state_path, state)
    return Pushed(written=written, registered=registered)


def _write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(staged, path)  # whole or not at all


def mark_registered(lake: SparkLake, registered: list[dict[str, str]]) -> None:
    """After Spark has registered these tables, they need no registering again while their columns hold."""
    state_path = lake.lake_dir / PUSHED_FILE
    if not registered or not state_path.exists():
        return
    state = json.loads(state_path.read_text())
    for table in registered:
        state.get(f"{table['schema']}.{table['name']}", {})["registered"] = True
    _write_state(state_path, state)


class SparkBuildError(RuntimeError):
    """A dbt build on Spark cannot start: a home whose models DuckDB built, or Spark refused a registration."""


def push_and_register(connect: Callable[[], Any], lake: SparkLake, manifest: dict, dbt_target_dir: Path) -> Pushed:
    """What precedes every dbt build on Spark: refuse a home whose models DuckDB built (one engine per home:
    mounting over them would lose them), push the changed sources to the lake, register the new or reshaped
    ones (dbt's artefacts of that command under ``dbt_target_dir/register``). ``connect()`` opens the local
    store for writing."""
    with connect() as conn:
        built_here = local_model_tables(conn, manifest)
        if built_here:
            raise SparkBuildError(
                f"the local store holds models DuckDB built ({', '.join(built_here[:3])}, ...): a home is on one "
                "engine; give Spark a new PIPELINE_HOME (or PIPELINE_WAREHOUSE_PATH)"
            )
        pushed = push_sources(conn, lake, manifest_sources(manifest))
    register_in_spark(lake, pushed.registered, dbt_target_dir / "register")
    return pushed


def register_in_spark(lake: SparkLake, registered: list[dict[str, str]], work: Path) -> None:
    """Register new or reshaped lake tables in Spark's metastore (macro register_parquet_tables, which checks
    every name and path), then record them as registered. Raises with dbt's output if Spark refuses."""
    if not registered:
        return
    from pipeline.dbt import run_dbt

    args = ["run-operation", "register_parquet_tables", "--args", json.dumps({"tables": registered})]
    done = run_dbt(args, lake.dbt_environment(), work)
    if done.returncode != 0:
        raise SparkBuildError(
            f"Spark did not register {len(registered)} lake tables:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
        )
    mark_registered(lake, registered)


def manifest_sources(manifest: dict) -> list[tuple[str, str]]:
    """(schema, table) of every dbt source: the tables Python writes and dbt reads."""
    sources = manifest.get("sources", {}).values()
    return sorted({(source["schema"], source.get("identifier") or source["name"]) for source in sources})


# A contract's type as it may reach SQL: a name with an optional precision and scale.
CONTRACT_TYPE = re.compile(r"^[a-z ]+(\(\d+(, ?\d+)?\))?$")


def _duckdb_type(contract_type: str) -> str:
    # The contracts' types are DuckDB's spelling but for text (Spark's string; macro spark__cast).
    return "varchar" if contract_type.strip().lower() in ("text", "string") else contract_type


def local_model_tables(conn: duckdb.DuckDBPyConnection, manifest: dict) -> list[str]:
    """Models stored as tables in the local store: a home whose models DuckDB built (its engine switched to
    Spark). Spark's models are views here; mounting over the tables would lose them without a word."""
    models = {
        (n["schema"], n.get("alias") or n["name"])
        for n in manifest.get("nodes", {}).values()
        if n.get("resource_type") == "model"
    }
    tables = conn.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    return sorted(f"{schema}.{name}" for schema, name in tables if (schema, name) in models)


def mount_models(conn: duckdb.DuckDBPyConnection, lake: SparkLake, manifest: dict) -> list[str]:
    """Each table or incremental model Spark has built, as a view in the local store over its Parquet
    files (partition folders read as columns), with its contract's columns in their order and types where
    the model declares them. A table Spark created without a file (an empty result) is an empty view of its
    declared columns; a model with no folder (not built, or dropped by a build that failed) is not mounted,
    and a view left from before then fails when read, as a missing table would. Returns the relations
    mounted."""
    mounted = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("config", {}).get("materialized") not in (
            "table",
            "incremental",
        ):
            continue
        schema, name = node["schema"], node.get("alias") or node["name"]
        folder = lake.model_folder(schema, name)
        if not folder.is_dir():
            continue
        declared = {c: spec.get("data_type") for c, spec in (node.get("columns") or {}).items()}
        typed = bool(declared) and all(t and CONTRACT_TYPE.match(t.strip().lower()) for t in declared.values())
        if any(folder.rglob("*.parquet")):
            source = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
            listed = (
                ", ".join(
                    f"cast({_identifier(c)} as {_duckdb_type(t)}) as {_identifier(c)}" for c, t in declared.items()
                )
                if typed
                else "*"
            )
            body = f"select {listed} from {source}"
        elif typed:
            body = "select " + ", ".join(
                f"cast(null as {_duckdb_type(t)}) as {_identifier(c)}" for c, t in declared.items()
            )
            body += " where false"
        else:
            continue  # no file and no declared columns to stand for it
        conn.execute(f"create schema if not exists {_identifier(schema)}")
        conn.execute(f"create or replace view {_relation(schema, name)} as {body}")
        mounted.append(f"{schema}.{name}")
    return mounted


def spark_dir_from(env: dict[str, str], home: Path) -> Path:
    value = env.get(SPARK_DIR_ENV)
    return Path(value).expanduser().resolve() if value else home / "spark"
