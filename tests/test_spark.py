"""The same dbt models on Apache Spark (issue 23): the shared company's DuckDB warehouse gives Spark the tables
Python writes (raw from ingest, ml from the churn model, insight from the statistics) as Parquet tables, dbt
builds every model and data test on the `spark` target (local mode, dbt-spark's session method) and runs the
unit tests there, and the marts must be DuckDB's: every mart's rows, its money to the cent, the churn events,
the labels, the tiers, every text and date.

Marked `spark` (needs `make spark`: the extra and Java) and `slow` (about 8 minutes: each dbt command starts
a JVM, and Spark's fixed cost per model dominates a small company); `make test-spark` runs it, and so does
CI after `make test`. Spark that cannot start fails the test, never skips it.

Spark's tables are read back through their Parquet files with DuckDB: Derby's metastore admits one process at
a time, and a second JVM only to read would add another start. The files are the tables (plain Parquet, no
Delta log), partitions as folders (month_start=2024-01-01/).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.dbt import DBT_PROJECT_DIR
from tests.dbt_cli import run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.spark]

# The schemas Python writes and dbt's sources read.
PYTHON_SCHEMAS = ("raw", "ml", "insight")
CENT = Decimal("0.01")


def _export_python_tables(warehouse: Path, folder: Path) -> list[dict[str, str]]:
    """Each table of the Python-written schemas as a Parquet file in a folder of its own, for
    register_parquet_tables (macros/parquet_tables.sql)."""
    tables = []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        found = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {PYTHON_SCHEMAS} order by 1, 2"
        ).fetchall()
        for schema, table in found:
            target = folder / schema / table
            target.mkdir(parents=True)
            conn.execute(f"copy {schema}.{table} to '{target / 'part-0.parquet'}' (format parquet)")
            tables.append({"schema": schema, "name": table, "path": str(target)})
    assert {t["schema"] for t in tables} == set(PYTHON_SCHEMAS)
    return tables


@pytest.fixture(scope="module")
def spark(scheduled_month, tmp_path_factory):
    """The shared company's models built on Spark: a DuckDB connection with the company's warehouse attached
    as ``duck`` and a view ``spark_<mart>`` over each mart Spark wrote."""
    home = scheduled_month["home"]
    work = tmp_path_factory.mktemp("spark")
    spark_dir = work / "spark"
    tables = _export_python_tables(home / "warehouse.duckdb", work / "files")
    env = {"DBT_TARGET": "spark", "PIPELINE_SPARK_DIR": str(spark_dir), "PIPELINE_HOME": str(work)}

    registered = run_dbt(
        ["run-operation", "register_parquet_tables", "--args", json.dumps({"tables": tables})], env, work
    )
    assert registered.returncode == 0, registered.stdout[-6000:] + registered.stderr[-3000:]
    assert registered.stdout.count("registered ") == len(tables)
    # The models and data tests first: a unit test of an incremental model reads its table's columns.
    build = run_dbt(["build", "--exclude-resource-type", "unit_test"], env, work)
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-3000:]
    assert "ERROR=0" in build.stdout and "WARN=0" in build.stdout
    unit = run_dbt(["test", "--select", "test_type:unit"], env, work)
    # Nothing of Spark's lands in the project folder (Derby's metastore_db/ and derby.log, spark-warehouse/).
    leftovers = [
        p.name for p in DBT_PROJECT_DIR.iterdir() if p.name in ("metastore_db", "spark-warehouse", "derby.log")
    ]

    conn = duckdb.connect()
    conn.execute(f"attach '{home / 'warehouse.duckdb'}' as duck (read_only)")
    marts = [
        t
        for (t,) in conn.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'duck' and table_schema = 'marts' order by 1"
        ).fetchall()
    ]
    written = spark_dir / "spark-warehouse" / "marts.db"
    for mart in marts:
        files = written / mart
        # An empty mart may be written as a folder without a data file: DuckDB's columns, no rows.
        source = (
            f"read_parquet('{files}/**/*.parquet', hive_partitioning = true)"
            if any(files.rglob("*.parquet"))
            else f"(select * from duck.marts.{mart} limit 0)"
        )
        conn.execute(f"create view spark_{mart} as select * from {source}")
    yield {"conn": conn, "marts": marts, "build": build, "unit": unit, "leftovers": leftovers, "spark_dir": spark_dir}
    conn.close()


def _columns(conn, mart: str) -> list[tuple[str, str]]:
    return conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = 'duck' and table_schema = 'marts' and table_name = ? order by ordinal_position",
        [mart],
    ).fetchall()


def _both(conn, sql: str) -> tuple[list[tuple], list[tuple]]:
    """``sql`` over DuckDB's marts and over Spark's: ``{mart}`` stands for the table."""
    duck = conn.execute(re.sub(r"\{(\w+)\}", r"duck.marts.\1", sql)).fetchall()
    spark = conn.execute(re.sub(r"\{(\w+)\}", r"spark_\1", sql)).fetchall()
    return duck, spark


def test_every_model_data_test_and_unit_test_passes_on_spark_and_nothing_lands_in_the_project(spark):
    assert "PASS=" in spark["build"].stdout and "ERROR=0" in spark["build"].stdout
    unit = spark["unit"]
    assert unit.returncode == 0, unit.stdout[-6000:]
    units = sum(
        len(yaml.safe_load(p.read_text()).get("unit_tests") or []) for p in (DBT_PROJECT_DIR / "models").rglob("*.yml")
    )
    assert units >= 10 and f"PASS={units}" in unit.stdout and "ERROR=0" in unit.stdout
    assert spark["leftovers"] == []
    assert (spark["spark_dir"] / "metastore_db").is_dir() and (spark["spark_dir"] / "derby.log").is_file()


def test_every_mart_has_duckdbs_row_count(spark):
    conn = spark["conn"]
    assert len(spark["marts"]) >= 25
    counts = {mart: _both(conn, f"select count(*) from {{{mart}}}") for mart in spark["marts"]}
    assert {m: s for m, (_, s) in counts.items()} == {m: d for m, (d, _) in counts.items()}
    assert counts["fct_account_month"][0][0][0] > 1000 and counts["fct_invoice_lines"][0][0][0] > 1000


def test_money_agrees_to_the_cent_in_every_mart(spark):
    """Every money column's sum (decimal(18, 2)) in every mart, to the cent. A mean of money
    (..._per_account_...) is rounded to the cent from a double: where the exact mean ends in half a cent the
    two engines' summation orders may round it either way, so a mean may differ by a cent a row, no more."""
    conn = spark["conn"]
    checked = 0
    for mart in spark["marts"]:
        money = [name for name, data_type in _columns(conn, mart) if data_type == "DECIMAL(18,2)"]
        if not money:
            continue
        sums = ", ".join(f'coalesce(sum("{name}"), 0), count("{name}")' for name in money)
        duck, spark_rows = _both(conn, f"select {sums} from {{{mart}}}")
        for index, name in enumerate(money):
            duck_sum, duck_count = duck[0][2 * index], duck[0][2 * index + 1]
            spark_sum, spark_count = spark_rows[0][2 * index], spark_rows[0][2 * index + 1]
            assert spark_count == duck_count, (mart, name)
            tolerance = CENT * duck_count if "_per_account" in name else Decimal(0)
            assert abs(Decimal(spark_sum) - Decimal(duck_sum)) <= tolerance, (mart, name, duck_sum, spark_sum)
            checked += 1
    assert checked >= 40
    duck, spark_rows = _both(conn, "select sum(revenue_eur), sum(gross_margin_eur) from {fct_account_month}")
    assert spark_rows == duck and duck[0][0] > 0


def test_churn_events_labels_tiers_and_care_models_are_duckdbs(spark):
    conn = spark["conn"]
    queries = {
        "churn events": "select account_id, cast(month_start as date), churn_type from {fct_account_month} "
        "where is_churn_month",
        "labels": "select account_id, cast(snapshot_month as date), churned_within_6m from {feat_account_snapshot}",
        "tiers and care": "select account_id, value_tier, risk_band, care_model, recommended_action "
        "from {mart_account_360}",
    }
    for what, sql in queries.items():
        duck, spark_rows = _both(conn, sql)
        assert sorted(spark_rows, key=repr) == sorted(duck, key=repr), what
        assert duck, what
    duck, spark_rows = _both(
        conn, "select value_tier, count(*) from {mart_account_360} group by 1 order by 1 nulls last"
    )
    assert spark_rows == duck and {tier for tier, _ in duck} >= {"A", "B", "C"}
    duck, _ = _both(
        conn, "select count(*), count(churned_within_6m), sum(churned_within_6m) from {feat_account_snapshot}"
    )
    assert duck[0][2] > 0


def test_every_text_date_whole_number_and_flag_of_every_mart_is_duckdbs(spark):
    """Beyond the figures: each mart's rows, every column but the fractional numbers (compared above to the
    cent or left to the next test) and the model's timestamps, as a multiset."""
    conn = spark["conn"]
    for mart in spark["marts"]:
        exact = [
            f'cast("{name}" as varchar)'
            for name, data_type in _columns(conn, mart)
            if data_type in ("VARCHAR", "DATE", "BOOLEAN", "INTEGER", "BIGINT")
        ]
        if not exact:
            continue
        listed = ", ".join(exact)
        duck, spark_rows = _both(conn, f"select {listed}, count(*) from {{{mart}}} group by all")
        assert sorted(spark_rows, key=repr) == sorted(duck, key=repr), mart


def test_fractions_agree_to_five_decimals(spark):
    """Shares, scores and intervals (double and decimal(18, 6)): Spark computes a division of decimals in
    decimals, rounded to six places at each step where DuckDB divides in doubles, so the sixth decimal may
    differ; the fifth may not. Each column's values are compared in order, row by row."""
    conn = spark["conn"]
    checked = 0
    for mart in spark["marts"]:
        for name, data_type in _columns(conn, mart):
            if data_type not in ("DOUBLE", "DECIMAL(18,6)"):
                continue
            duck, spark_rows = _both(
                conn, f'select cast("{name}" as double) as v from {{{mart}}} order by v nulls last'
            )
            assert len(duck) == len(spark_rows), (mart, name)
            for (d,), (s,) in zip(duck, spark_rows, strict=True):
                assert (d is None) == (s is None), (mart, name)
                assert d is None or abs(d - s) <= 1e-5 * max(1.0, abs(d)), (mart, name, d, s)
            checked += 1
    assert checked >= 100
