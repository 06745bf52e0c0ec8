"""Which engine builds the dbt models: DuckDB on this machine (the default) or Apache Spark (issue 23).

On Spark the models are Spark's tables, as Parquet files under the Spark warehouse folder, and nothing of
them is in a DuckDB file. The Python stages keep their own small local store (``warehouse.duckdb``: the
ingest's raw layer with its ledger and quarantine, the churn model's and the analyses' tables, the audit
of dbt's test results) and meet Spark only at two points, both in the dbt asset (assets/warehouse.py):

- **before dbt runs**, every dbt source (the tables Python writes: raw, ml, insight) whose content changed
  since it was last pushed is written as Parquet into the lake folder; those that are new, or whose columns
  changed, are (re)registered in Spark's metastore as external Parquet tables by dbt's own ``on-run-start``
  hook (macro ``register_parquet_tables``), inside the dbt command that reads them: no extra JVM start;
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
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

ENGINE_ENV = "PIPELINE_ENGINE"
ENGINES = ("duckdb", "spark")
# The dbt output (profiles.yml) of each engine.
DBT_TARGETS = {"duckdb": "duckdb", "spark": "spark"}
# The tables dbt's on-run-start hook (re)registers in Spark's metastore, as JSON (macro register_lake_tables).
SPARK_REGISTER_ENV = "PIPELINE_SPARK_REGISTER"
SPARK_DIR_ENV = "PIPELINE_SPARK_DIR"
# What was last pushed to the lake: each source's fingerprint and columns.
PUSHED_FILE = "_pushed.json"


def spark_target() -> str:
    """The dbt output the Spark engine builds on: ``spark`` (local mode, profiles.yml), or a cluster's output
    named by DBT_TARGET in a profiles.yml of one's own (README, "On Apache Spark")."""
    chosen = os.environ.get("DBT_TARGET", "")
    return chosen if chosen and chosen not in ("duckdb", "postgres") else DBT_TARGETS["spark"]


def engine_from(env: dict[str, str]) -> str:
    value = env.get(ENGINE_ENV, "duckdb").strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_ENV} must be one of {', '.join(ENGINES)}, not {value!r}")
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

    def dbt_environment(self, registered: list[dict[str, str]]) -> dict[str, str]:
        """What a dbt invocation on Spark needs: the target, the folder, the tables to (re)register."""
        return {
            "DBT_TARGET": spark_target(),
            SPARK_DIR_ENV: str(self.spark_dir),
            SPARK_REGISTER_ENV: json.dumps(registered),
        }


@dataclass(frozen=True)
class Pushed:
    """What one push wrote: the sources written again, and those Spark must (re)register."""

    written: list[str]
    registered: list[dict[str, str]]


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
    rows, hashed = conn.execute(f'select count(*), sum(hash(t)) from "{schema}"."{name}" t').fetchall()[0]
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
            conn.execute(f"""copy "{schema}"."{name}" to '{staged / "part-0.parquet"}' (format parquet)""")
            old = folder.with_name(f".{name}.old")
            shutil.rmtree(old, ignore_errors=True)
            if folder.exists():
                folder.rename(old)
            staged.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
            written.append(key)
        if before.get("columns") != columns or not before.get("registered"):
            registered.append({"schema": schema, "name": name, "path": str(folder)})
        state[key] = {"fingerprint": fingerprint, "columns": columns, "registered": before.get("registered", False)}
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(state, indent=1, sort_keys=True))
    return Pushed(written=written, registered=registered)


def mark_registered(lake: SparkLake, registered: list[dict[str, str]]) -> None:
    """After a dbt command on Spark has succeeded, the tables its hook registered need no registering again."""
    state_path = lake.lake_dir / PUSHED_FILE
    if not registered or not state_path.exists():
        return
    state = json.loads(state_path.read_text())
    for table in registered:
        state.get(f"{table['schema']}.{table['name']}", {})["registered"] = True
    state_path.write_text(json.dumps(state, indent=1, sort_keys=True))


def manifest_sources(manifest: dict) -> list[tuple[str, str]]:
    """(schema, table) of every dbt source: the tables Python writes and dbt reads."""
    sources = manifest.get("sources", {}).values()
    return sorted({(source["schema"], source.get("identifier") or source["name"]) for source in sources})


def _duckdb_type(contract_type: str) -> str:
    # The contracts' types are DuckDB's spelling but for text (Spark's string; macro spark__cast).
    return "varchar" if contract_type.strip().lower() in ("text", "string") else contract_type


def mount_models(conn: duckdb.DuckDBPyConnection, lake: SparkLake, manifest: dict) -> list[str]:
    """Each table or incremental model Spark has built, as a view in the local store over its Parquet
    files (partition folders read as columns), with its contract's columns in their order and types where
    the model declares them. A table with no file yet (Spark writes none for an empty result) is an empty
    view of its declared columns. Returns the relations mounted."""
    mounted = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("config", {}).get("materialized") not in (
            "table",
            "incremental",
        ):
            continue
        schema, name = node["schema"], node.get("alias") or node["name"]
        folder = lake.model_folder(schema, name)
        declared = {c: spec.get("data_type") for c, spec in (node.get("columns") or {}).items()}
        typed = bool(declared) and all(declared.values())
        has_files = folder.is_dir() and any(folder.rglob("*.parquet"))
        if has_files:
            source = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
            listed = (
                ", ".join(f'cast("{c}" as {_duckdb_type(t)}) as "{c}"' for c, t in declared.items()) if typed else "*"
            )
            body = f"select {listed} from {source}"
        elif typed:
            body = "select " + ", ".join(f'cast(null as {_duckdb_type(t)}) as "{c}"' for c, t in declared.items())
            body += " where false"
        else:
            continue  # not built yet, and no declared columns to stand for it
        conn.execute(f'create schema if not exists "{schema}"')
        conn.execute(f'create or replace view "{schema}"."{name}" as {body}')
        mounted.append(f"{schema}.{name}")
    return mounted


def read_arrow(lake: SparkLake, schema: str, name: str):
    """One of Spark's tables as an Arrow table, from its files (partition folders as columns)."""
    import pyarrow.dataset as ds

    return ds.dataset(lake.model_folder(schema, name), format="parquet", partitioning="hive").to_table()


def spark_dir_from(env: dict[str, str], home: Path) -> Path:
    value = env.get(SPARK_DIR_ENV)
    return Path(value).expanduser().resolve() if value else home / "spark"


def current_engine() -> str:
    return engine_from(dict(os.environ))
