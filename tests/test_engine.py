"""The Spark engine's two meeting points with the Python stages, without Spark (pipeline/engine.py): dbt's
sources pushed to the lake as Parquet (written again only when changed, registered when new or reshaped),
and Spark's tables mounted in the local store as typed views over their files. tests/test_spark.py runs the
whole pipeline on Spark."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.config import Settings
from pipeline.engine import (
    SparkBuildError,
    SparkLake,
    engine_from,
    local_model_tables,
    manifest_sources,
    mark_registered,
    mount_models,
    push_and_register,
    push_sources,
)


@pytest.fixture
def store(tmp_path: Path):
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    conn.execute("create schema raw; create schema ml")
    conn.execute("create table raw.crm__accounts as select 'A' || i as account_id, i as employees from range(50) t(i)")
    conn.execute("create table ml.churn_scores as select 'A1' as account_id, 0.25::double as churn_probability")
    yield conn, SparkLake(tmp_path / "spark")
    conn.close()


SOURCES = [("raw", "crm__accounts"), ("ml", "churn_scores"), ("insight", "segments")]


def test_sources_are_pushed_once_registered_once_and_again_when_their_columns_change(store):
    conn, lake = store
    first = push_sources(conn, lake, SOURCES)
    # insight.segments is not in the store: left to dbt, whose staging model then fails as on DuckDB.
    assert first.written == ["ml.churn_scores", "raw.crm__accounts"]
    assert [t["name"] for t in first.registered] == ["churn_scores", "crm__accounts"]
    assert first.registered[1]["path"] == str(lake.source_folder("raw", "crm__accounts"))
    pushed = duckdb.sql(
        f"select count(*), sum(employees) from '{lake.source_folder('raw', 'crm__accounts')}/*.parquet'"
    )
    assert pushed.fetchall() == [(50, sum(range(50)))]

    # Until Spark has registered them, they are registered again; then, unchanged, nothing to do.
    assert len(push_sources(conn, lake, SOURCES).registered) == 2
    mark_registered(lake, first.registered)
    again = push_sources(conn, lake, SOURCES)
    assert again.written == [] and again.registered == []

    # New rows: the files only (Spark lists them anew). A new column: the files and the registration.
    conn.execute("insert into raw.crm__accounts values ('A50', 7)")
    rows_changed = push_sources(conn, lake, SOURCES)
    assert rows_changed.written == ["raw.crm__accounts"] and rows_changed.registered == []
    conn.execute("alter table ml.churn_scores add column risk_band varchar default 'high'")
    reshaped = push_sources(conn, lake, SOURCES)
    assert reshaped.written == ["ml.churn_scores"] and [t["name"] for t in reshaped.registered] == ["churn_scores"]
    # Its registration failed (never marked): the next push, with the same columns, registers it again.
    retried = push_sources(conn, lake, SOURCES)
    assert retried.written == [] and [t["name"] for t in retried.registered] == ["churn_scores"]
    folder = lake.source_folder("ml", "churn_scores")
    assert duckdb.sql(f"select risk_band from '{folder}/*.parquet'").fetchall() == [("high",)]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["churn_scores"]  # no staged or old folder left


def test_spark_tables_are_mounted_as_views_in_contract_order_and_types(store, tmp_path):
    conn, lake = store
    # As Spark writes a table partitioned by month: the partition column as folders, moved to the end, and
    # money summed into a wider decimal.
    for month in ("2024-01-01", "2024-02-01"):
        folder = lake.model_folder("marts", "fct_account_month") / f"month_start={month}"
        folder.mkdir(parents=True)
        duckdb.sql(
            f"copy (select 'A1' as account_id, 12.5::decimal(28, 2) as revenue_eur) to '{folder}/part-0.parquet'"
        )
    lake.model_folder("marts", "mart_retention_effect").mkdir(parents=True)  # empty: no file at all
    manifest = {
        "nodes": {
            "model.x.fct_account_month": {
                "resource_type": "model",
                "schema": "marts",
                "name": "fct_account_month",
                "config": {"materialized": "incremental"},
                "columns": {
                    "account_id": {"data_type": "text"},
                    "month_start": {"data_type": "date"},
                    "revenue_eur": {"data_type": "decimal(18, 2)"},
                },
            },
            "model.x.mart_retention_effect": {
                "resource_type": "model",
                "schema": "marts",
                "name": "mart_retention_effect",
                "config": {"materialized": "table"},
                "columns": {"cohort_month": {"data_type": "date"}, "contacted": {"data_type": "integer"}},
            },
            "model.x.stg_crm__accounts": {
                "resource_type": "model",
                "schema": "staging",
                "name": "stg_crm__accounts",
                "config": {"materialized": "view"},
                "columns": {},
            },
            "model.x.int_not_built_yet": {
                "resource_type": "model",
                "schema": "intermediate",
                "name": "int_not_built_yet",
                "config": {"materialized": "table"},
                "columns": {"account_id": {"data_type": "text"}},
            },
        },
        "sources": {
            "source.x.crm.accounts": {"schema": "raw", "name": "accounts", "identifier": "crm__accounts"},
        },
    }
    assert manifest_sources(manifest) == [("raw", "crm__accounts")]
    assert local_model_tables(conn, manifest) == []
    assert mount_models(conn, lake, manifest) == ["marts.fct_account_month", "marts.mart_retention_effect"]
    described = conn.execute("describe marts.fct_account_month").fetchall()
    assert [(c[0], c[1]) for c in described] == [
        ("account_id", "VARCHAR"),
        ("month_start", "DATE"),
        ("revenue_eur", "DECIMAL(18,2)"),
    ]
    assert conn.execute("select count(*), sum(revenue_eur) from marts.fct_account_month").fetchall()[0][0] == 2
    assert conn.execute("select count(*) from marts.mart_retention_effect").fetchall() == [(0,)]
    assert [c[1] for c in conn.execute("describe marts.mart_retention_effect").fetchall()] == ["DATE", "INTEGER"]
    # A view reads the files at query time: a month Spark adds later is there without mounting again.
    folder = lake.model_folder("marts", "fct_account_month") / "month_start=2024-03-01"
    folder.mkdir()
    duckdb.sql(f"copy (select 'A2' as account_id, 1.0::decimal(28, 2) as revenue_eur) to '{folder}/part-0.parquet'")
    assert conn.execute("select count(*) from marts.fct_account_month").fetchall() == [(3,)]
    # A build that failed and left no folder: the view stays and fails when read, as a missing table would.
    shutil.rmtree(lake.model_folder("marts", "fct_account_month"))
    assert "marts.fct_account_month" not in mount_models(conn, lake, manifest)
    with pytest.raises(duckdb.IOException):
        conn.execute("select count(*) from marts.fct_account_month").fetchall()
    # A home whose models DuckDB built is not mounted over.
    conn.execute("create schema intermediate; create table intermediate.int_not_built_yet (account_id varchar)")
    assert local_model_tables(conn, manifest) == ["intermediate.int_not_built_yet"]
    with pytest.raises(SparkBuildError, match="a home is on one engine"):
        push_and_register(lambda: contextlib.nullcontext(conn), lake, manifest, tmp_path / "dbt")


def test_the_engine_setting(tmp_path, monkeypatch):
    assert engine_from({}) == "duckdb" and engine_from({"PIPELINE_ENGINE": "Spark"}) == "spark"
    with pytest.raises(ValueError, match="PIPELINE_ENGINE must be one of duckdb, spark"):
        engine_from({"PIPELINE_ENGINE": "snowflake"})
    with pytest.raises(ValueError, match="PIPELINE_SPARK_FILE_FORMAT must be parquet"):
        engine_from({"PIPELINE_ENGINE": "spark", "PIPELINE_SPARK_FILE_FORMAT": "delta"})
    settings = Settings.from_env({"PIPELINE_HOME": str(tmp_path), "PIPELINE_ENGINE": "spark"})
    assert settings.engine == "spark" and settings.spark_dir == tmp_path / "spark"
    monkeypatch.delenv("DBT_TARGET", raising=False)
    environment = SparkLake(settings.spark_dir).dbt_environment()
    assert environment == {"DBT_TARGET": "spark", "PIPELINE_SPARK_DIR": str(tmp_path / "spark")}
    # A cluster's output of one's own profiles.yml; never the other engines' outputs.
    monkeypatch.setenv("DBT_TARGET", "spark_thrift")
    assert SparkLake(settings.spark_dir).dbt_environment()["DBT_TARGET"] == "spark_thrift"
    monkeypatch.setenv("DBT_TARGET", "duckdb")
    assert SparkLake(settings.spark_dir).dbt_environment()["DBT_TARGET"] == "spark"
    for unsafe in ("relative/spark", "/srv/o'neil/spark", "/srv/spark*"):
        with pytest.raises(ValueError, match="absolute path without quotes or glob"):
            SparkLake(Path(unsafe))
