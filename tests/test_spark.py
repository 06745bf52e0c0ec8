"""The whole pipeline on Apache Spark (issue 23): the shared company's landing zone run through the same two
scheduled jobs with ``PIPELINE_ENGINE=spark`` (ingest, dbt on the `spark` target in local mode, the churn
model, the analyses, the gate and the publish), and the release and the marts must be DuckDB's: every
published table's rows, its money to the cent, the churn events, the labels, the tiers, every text and date;
the unit tests pass on Spark too.

Marked `spark` (needs `make spark`: the extra and Java) and `slow` (each dbt command starts a JVM, and Spark's
fixed cost per model dominates a small company); `make test-spark` runs it, and so does CI after `make test`.
Spark that cannot start fails the test, never skips it.

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
from pipeline.engine import SparkLake
from pipeline.publish.tables import LINEAGE_COLUMNS
from tests.companies import generate_scheduled_company, run_job
from tests.dbt_cli import run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.spark]

CENT = Decimal("0.01")
JOBS = ("refresh_and_train", "score_month")
# What says which run wrote a row, not what the row is: the two companies ran at different times, so their
# run ids, timestamps and model versions (a hash of the model and its training time) differ.
RUN_COLUMNS = {*LINEAGE_COLUMNS, "run_id", "computed_at", "trained_at", "model_version", "churn_model_version"}
MODEL_VERSION = re.compile(r"\b[0-9a-f]{12}\b")
# Money computed from the churn probability (probability x revenue), rounded to the cent: each engine's run
# trains its own model on features equal to the sixth decimal (next tests), so a probability may differ in
# its sixth decimal and such an amount by a cent a row.
MONEY_FROM_PROBABILITY = {"expected_revenue_at_risk_eur"}


def _comparable(rows: list[tuple]) -> list[tuple]:
    """Rows as a sorted multiset, with the model versions named in texts ("by model 0ab8f1d74e97") blanked."""
    return sorted(
        (tuple(MODEL_VERSION.sub("<version>", v) if isinstance(v, str) else v for v in row) for row in rows), key=repr
    )


def _exact_columns(columns) -> list[str]:
    return [
        f'cast("{name}" as varchar)'
        for name, data_type, *_ in columns
        if name not in RUN_COLUMNS and data_type in ("VARCHAR", "DATE", "BOOLEAN", "INTEGER", "BIGINT")
    ]


@pytest.fixture(scope="module")
def spark(scheduled_month, tmp_path_factory):
    """The shared company run on Spark: a DuckDB connection with DuckDB's warehouse attached as ``duck``, a
    view ``spark_<mart>`` over each mart Spark wrote, and both releases' folders."""
    duck_home = scheduled_month["home"]
    work = tmp_path_factory.mktemp("spark")
    home = work / "company"
    generate_scheduled_company(home)
    runs = {job: run_job(home, job, timeout=2400, env={"PIPELINE_ENGINE": "spark"}) for job in JOBS}
    lake = SparkLake(home / "spark")

    env = {"DBT_TARGET": "spark", "PIPELINE_SPARK_DIR": str(lake.spark_dir), "PIPELINE_HOME": str(work)}
    unit = run_dbt(["test", "--select", "test_type:unit"], env, work)
    # Nothing of Spark's lands in the project folder (Derby's metastore_db/ and derby.log, spark-warehouse/).
    leftovers = [
        p.name for p in DBT_PROJECT_DIR.iterdir() if p.name in ("metastore_db", "spark-warehouse", "derby.log")
    ]

    conn = duckdb.connect()
    conn.execute(f"attach '{duck_home / 'warehouse.duckdb'}' as duck (read_only)")
    marts = [
        t
        for (t,) in conn.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'duck' and table_schema = 'marts' order by 1"
        ).fetchall()
    ]
    for mart in marts:
        files = lake.model_folder("marts", mart)
        # An empty mart may be written as a folder without a data file: DuckDB's columns, no rows.
        source = (
            f"read_parquet('{files}/**/*.parquet', hive_partitioning = true)"
            if any(files.rglob("*.parquet"))
            else f"(select * from duck.marts.{mart} limit 0)"
        )
        conn.execute(f"create view spark_{mart} as select * from {source}")
    yield {
        "conn": conn,
        "marts": marts,
        "runs": runs,
        "unit": unit,
        "leftovers": leftovers,
        "lake": lake,
        "home": home,
        "releases": (duck_home / "bi" / "current", home / "bi" / "current"),
    }
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


def test_the_jobs_run_on_spark_with_no_mart_in_the_local_store_and_the_unit_tests_pass(spark):
    """Every model was built by Spark: the local store holds the Python stages' tables and, for the models,
    only views over Spark's files; Spark's metastore knows the tables the pipeline pushed to its lake."""
    trained, scored = (spark["runs"][job].materialised for job in JOBS)
    assert {"ml/churn_model", "marts/feat_account_snapshot", "marts/fct_account_month"} <= set(trained)
    assert {"ml/churn_scores", "marts/mart_churn_scores", "bi/release"} <= set(scored)
    with duckdb.connect(str(spark["home"] / "warehouse.duckdb"), read_only=True) as local:
        kinds = dict(
            local.execute(
                "select table_type, count(*) from information_schema.tables where table_schema = 'marts' group by 1"
            ).fetchall()
        )
        assert kinds.get("VIEW", 0) >= 25 and "BASE TABLE" not in kinds
        views = local.execute(
            "select sql from duckdb_views() where schema_name = 'marts' and view_name = 'mart_account_360'"
        ).fetchall()
        assert str(spark["lake"].model_folder("marts", "mart_account_360")) in views[0][0]
    pushed = json.loads((spark["lake"].lake_dir / "_pushed.json").read_text())
    assert {"raw.crm__accounts", "ml.churn_scores", "insight.segments"} <= set(pushed)
    assert all(entry["registered"] for entry in pushed.values())
    assert any((spark["lake"].source_folder("ml", "churn_scores")).glob("*.parquet"))
    unit = spark["unit"]
    assert unit.returncode == 0, unit.stdout[-6000:]
    units = sum(
        len(yaml.safe_load(p.read_text()).get("unit_tests") or []) for p in (DBT_PROJECT_DIR / "models").rglob("*.yml")
    )
    assert units >= 10 and f"PASS={units}" in unit.stdout and "ERROR=0" in unit.stdout
    assert spark["leftovers"] == []
    assert (spark["lake"].spark_dir / "metastore_db").is_dir() and (spark["lake"].spark_dir / "derby.log").is_file()


def _release(folder: Path) -> dict:
    return json.loads((folder / "_manifest.json").read_text())


def test_the_release_is_duckdbs_table_by_table(spark):
    """The published release: the same tables with the same columns and types, row counts, money to the
    cent and every whole number, text, date and flag as a multiset (the lineage columns aside)."""
    duck_folder, spark_folder = spark["releases"]
    duck_manifest, spark_manifest = _release(duck_folder), _release(spark_folder)
    tables = sorted(duck_manifest["tables"])
    assert tables == sorted(spark_manifest["tables"]) and len(tables) >= 20
    conn = duckdb.connect()
    try:
        checked_money = 0
        for table in tables:
            duck_file, spark_file = duck_folder / f"{table}.parquet", spark_folder / f"{table}.parquet"
            columns = conn.execute(f"describe select * from '{duck_file}'").fetchall()
            assert [c[:2] for c in conn.execute(f"describe select * from '{spark_file}'").fetchall()] == [
                c[:2] for c in columns
            ], table
            exact = _exact_columns(columns)
            money = [name for name, data_type, *_ in columns if data_type == "DECIMAL(18,2)"]
            for name in money:
                (duck_sum,) = conn.execute(f"select coalesce(sum(\"{name}\"), 0) from '{duck_file}'").fetchall()[0]
                (spark_sum,) = conn.execute(f"select coalesce(sum(\"{name}\"), 0) from '{spark_file}'").fetchall()[0]
                (rows,) = conn.execute(f"select count(\"{name}\") from '{duck_file}'").fetchall()[0]
                tolerance = CENT * rows if "_per_account" in name or name in MONEY_FROM_PROBABILITY else Decimal(0)
                assert abs(Decimal(spark_sum) - Decimal(duck_sum)) <= tolerance, (table, name, duck_sum, spark_sum)
                checked_money += 1
            listed = ", ".join(exact) or "1"
            duck_rows = conn.execute(f"select {listed}, count(*) from '{duck_file}' group by all").fetchall()
            spark_rows = conn.execute(f"select {listed}, count(*) from '{spark_file}' group by all").fetchall()
            assert _comparable(spark_rows) == _comparable(duck_rows), table
            assert spark_manifest["tables"][table]["rows"] == duck_manifest["tables"][table]["rows"], table
        assert checked_money >= 20
    finally:
        conn.close()


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
            per_row = "_per_account" in name or name in MONEY_FROM_PROBABILITY
            tolerance = CENT * duck_count if per_row else Decimal(0)
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
        exact = _exact_columns(_columns(conn, mart))
        if not exact:
            continue
        listed = ", ".join(exact)
        duck, spark_rows = _both(conn, f"select {listed}, count(*) from {{{mart}}} group by all")
        assert _comparable(spark_rows) == _comparable(duck), mart


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


def test_a_process_whose_main_has_no_file_survives_importing_gx_beside_pyspark():
    """pyspark's Spark Connect module exits a process whose ``__main__`` has no file (``python -c``, an xdist
    worker) when GX imports it; pipeline.quality imports it first as an interactive session would (a
    benchmark's publish stage died of it)."""
    import subprocess
    import sys

    code = "import pipeline.quality.suites, sys; print('alive', sys.modules['pyspark.sql.connect'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0 and "alive" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    bare = "import sys, pyspark.sql.connect; print('alive')"
    unguarded = subprocess.run([sys.executable, "-c", bare], capture_output=True, text=True, check=False, timeout=300)
    assert "alive" not in unguarded.stdout  # what the guard is for: pyspark exits such a process
