"""Great Expectations checks on the published marts (pipeline.quality): suites from the dbt manifest, the marts
of a small built warehouse (300 accounts x 24 months) passing them as DataFrames and as PostgreSQL tables,
corruptions failing with messages that name the table, the column and the problem, and Data Docs written.

A warehouse-only build has no churn scores or insight tables, so the marts built from them are absent:
the tests validate the marts that exist. The PostgreSQL tests start a throwaway cluster and fail (never
skip) when they cannot.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pytest

from pipeline.catalog import load_manifest
from pipeline.config import Settings
from pipeline.dbt import DBT_COMMAND, DBT_PROJECT_DIR
from pipeline.quality import DataQualityError, build_suites, validate_frames, validate_postgres
from pipeline.quality.expectations import contract_type_list
from pipeline.quality.inputs import existing_tables, postgres_row_counts, read_frames, reporting_date
from pipeline.quality.manifest import table_specs
from pipeline.quality.settings import QualityThresholds, default_data_docs_dir
from tests.postgres_server import ThrowawayCluster

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

# Marts a warehouse-only build always has (the rest need churn scores or insight tables).
CORE_MARTS = {
    "dim_account",
    "dim_date",
    "dim_segment",
    "fct_account_month",
    "fct_invoice_lines",
    "mart_survey_coverage",
}


@pytest.fixture(scope="module")
def warehouse(scheduled_month, tmp_path_factory) -> dict:
    """The shared company's marts (tests/companies.py), read; the suites come from a manifest parsed now
    from the project on disk (not a shared target/ another process may be rewriting)."""
    home = tmp_path_factory.mktemp("quality")
    parse = _start_dbt_parse(home / "dbt")
    settings = Settings.from_env({"PIPELINE_HOME": str(scheduled_month["home"])})
    _, errors = parse.communicate(timeout=600)
    assert parse.returncode == 0, errors
    manifest = home / "dbt" / "target" / "manifest.json"
    published = list(table_specs(load_manifest(manifest)))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        tables = existing_tables(conn, published)
        frames = read_frames(conn, tables)
        as_of = reporting_date(conn)
    return {"manifest": manifest, "published": published, "frames": frames, "as_of": as_of}


def _start_dbt_parse(work: Path) -> subprocess.Popen:
    command = [str(DBT_COMMAND), "parse", "--profiles-dir", ".", "--target-path", str(work / "target")]
    return subprocess.Popen(
        [*command, "--log-path", str(work / "logs")],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "PIPELINE_HOME": str(work)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def suites(warehouse) -> dict:
    """Suites with every check on: the row counts of the built marts as the previous release, the
    warehouse's reporting date as the freshness reference."""
    counts = {table: len(frame) for table, frame in warehouse["frames"].items()}
    return build_suites(warehouse["manifest"], previous_row_counts=counts, freshness_reference=warehouse["as_of"])


def _expectations(suite, check: str, column: str | None = None) -> list:
    return [
        e
        for e in suite.expectations
        if e.meta["check"] == check and (column is None or getattr(e, "column", None) == column)
    ]


# --- suites ----------------------------------------------------------------------------------------------------


def test_suites_cover_every_published_mart_and_follow_the_manifest(warehouse):
    manifest = json.loads(warehouse["manifest"].read_text())
    marts = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
        and node["name"].startswith(("dim_", "fct_", "mart_"))
    }
    suites = build_suites(warehouse["manifest"])
    assert set(suites) == marts
    assert "feat_account_snapshot" not in suites  # a feature table, not published

    facts = suites["fct_account_month"]
    node = manifest["nodes"]["model.account_intelligence.fct_account_month"]
    (columns,) = _expectations(facts, "columns")
    assert columns.column_set == list(node["columns"])
    # One type expectation per table, naming every column's contract type.
    (types,) = _expectations(facts, "type")
    assert list(types.column_types) == list(node["columns"])
    assert types.column_types["account_key"][0] == "BIGINT" and types.meta["data_types"]["account_key"] == "bigint"
    (combination,) = _expectations(facts, "unique_combination")
    assert combination.column_list == ["account_key", "month_date_key"]
    (considering,) = _expectations(facts, "value_between", "considering_alternatives")
    assert (considering.min_value, considering.max_value) == (0, 10)
    (cost,) = _expectations(facts, "value_between", "cost_to_serve_eur")
    assert (cost.min_value, cost.max_value) == (0, None)
    (churn_type,) = _expectations(facts, "accepted_values", "churn_type")
    assert set(churn_type.value_set) == {"closed", "silent"}
    assert _expectations(facts, "not_null", "account_key")
    assert _expectations(suites["mart_survey_coverage"], "unique", "account_id")
    # Without a previous release or a reporting date there is nothing to compare with.
    assert not any(_expectations(s, "row_count") or _expectations(s, "freshness") for s in suites.values())


def test_row_count_and_freshness_checks_use_the_given_release_and_reporting_date(warehouse):
    suites = build_suites(
        warehouse["manifest"],
        previous_row_counts={"dim_account": 100, "dim_segment": 0},
        freshness_reference=datetime.date(2026, 10, 31),
        thresholds=QualityThresholds(min_row_ratio=0.5, max_row_ratio=2.0, max_age_days=10),
    )
    (rows,) = _expectations(suites["dim_account"], "row_count")
    assert (rows.min_value, rows.max_value) == (50, 200)
    assert not _expectations(suites["dim_segment"], "row_count")  # no ratio of an empty release
    (fresh,) = _expectations(suites["mart_survey_coverage"], "freshness", "as_of_date")
    assert fresh.meta["not_before"] == "2026-10-21"
    assert _expectations(suites["mart_driver_analysis"], "freshness", "computed_at")
    assert not _expectations(suites["dim_account"], "freshness")


def test_thresholds_and_the_data_docs_folder_come_from_the_environment(tmp_path):
    thresholds = QualityThresholds.from_env(
        {"PIPELINE_QUALITY_MIN_ROW_RATIO": "0.8", "PIPELINE_QUALITY_MAX_ROW_RATIO": "1.5"}
        | {"PIPELINE_QUALITY_MAX_AGE_DAYS": "7"}
    )
    assert (thresholds.min_row_ratio, thresholds.max_row_ratio, thresholds.max_age_days) == (0.8, 1.5, 7)
    assert QualityThresholds.from_env({}) == QualityThresholds()
    assert default_data_docs_dir({"PIPELINE_HOME": str(tmp_path)}) == tmp_path / "gx" / "data_docs"
    other = tmp_path / "elsewhere"
    assert default_data_docs_dir({"PIPELINE_HOME": "x", "PIPELINE_GX_DIR": str(other)}) == other / "data_docs"


def test_an_unknown_contract_type_is_an_error_not_an_unchecked_column():
    assert contract_type_list("decimal(18,2)") == ["NUMERIC(18, 2)", "float", "Decimal"]
    assert contract_type_list("timestamp")[0] == "TIMESTAMP WITHOUT TIME ZONE"
    with pytest.raises(ValueError, match="geometry"):
        contract_type_list("geometry")


# --- DataFrames before publishing ------------------------------------------------------------------------------


def test_every_built_mart_passes_and_data_docs_are_written(warehouse, suites, tmp_path, monkeypatch):
    frames = warehouse["frames"]
    assert set(frames) >= CORE_MARTS
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    docs = tmp_path / "gx" / "data_docs"
    report = validate_frames(frames, suites, docs, run_name="test-run")
    assert report.success, report.summary()
    assert set(report.tables) == set(frames)
    for table, result in report.tables.items():
        assert result.expectations == len(suites[table].expectations) > 0
        assert result.row_count == len(frames[table])
        assert result.data_docs is not None and result.data_docs.is_file()
        assert "test-run" in result.data_docs.parts
        metadata = result.check_metadata()
        assert metadata["failed"] == 0 and metadata["failures"] == "none"
        assert all(isinstance(v, str | int | type(None)) for v in metadata.values())
    assert report.data_docs_index == docs / "index.html" and report.data_docs_index.is_file()
    index = report.data_docs_index.read_text()
    assert all(table in index for table in frames)
    assert list(workdir.iterdir()) == []  # GX wrote nothing into the working directory
    # Every check kind ran somewhere, freshness and row counts included.
    kinds = {e.meta["check"] for table in frames for e in suites[table].expectations}
    assert kinds == {"columns", "type", "not_null", "unique", "unique_combination"} | {
        "accepted_values",
        "value_between",
        "row_count",
        "freshness",
    }
    report.raise_for_failures()  # nothing to raise


def _null_key(frames):
    frame = frames["fct_account_month"].copy()
    frame.loc[frame.index[5], "account_key"] = None
    return "fct_account_month", frame


def _duplicate_key(frames):
    frame = frames["mart_survey_coverage"].copy()
    frame.loc[frame.index[1], "account_id"] = frame["account_id"].iloc[0]
    return "mart_survey_coverage", frame


def _duplicate_combination(frames):
    frame = frames["fct_account_month"]
    return "fct_account_month", pd.concat([frame, frame.iloc[[10]]], ignore_index=True)


def _out_of_range(frames):
    frame = frames["fct_survey_responses"].copy()
    frame.loc[frame.index[0], "nps_score"] = 11
    return "fct_survey_responses", frame


def _wrong_accepted_value(frames):
    frame = frames["dim_segment"].copy()
    frame.loc[frame.index[2], "size_band"] = "Huge"
    return "dim_segment", frame


def _three_times_the_rows(frames):
    frame = frames["fct_invoice_lines"]
    return "fct_invoice_lines", pd.concat([frame] * 3, ignore_index=True)


def _stale(frames):
    frame = frames["mart_crm_data_quality"].copy()
    frame["as_of_date"] = frame["as_of_date"] - pd.Timedelta(days=120)
    return "mart_crm_data_quality", frame


def _missing_column(frames):
    return "dim_account", frames["dim_account"].drop(columns=["segment_key"])


def _wrong_type(frames):
    return "dim_product_line", frames["dim_product_line"].astype({"product_line_key": "float64"})


@pytest.mark.parametrize(
    ("corrupt", "check", "column", "words"),
    [
        (_null_key, "not_null", "account_key", "rows are null; it must never be null"),
        (_duplicate_key, "unique", "account_id", "must be unique"),
        (_duplicate_combination, "unique_combination", "account_key, month_date_key", "repeat a combination"),
        (_out_of_range, "value_between", "nps_score", "not between 0 and 10 (e.g. 11)"),
        (_wrong_accepted_value, "accepted_values", "size_band", "not among the accepted values"),
        (_three_times_the_rows, "row_count", None, "3x the previous release's"),
        (_stale, "freshness", "as_of_date", "stale: the newest value is"),
        (_missing_column, "columns", None, "columns missing: segment_key"),
        (_wrong_type, "type", "product_line_key", "has type float64, the contract says integer"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_a_corrupted_mart_fails_with_the_table_the_column_and_the_problem(
    warehouse, suites, corrupt, check, column, words
):
    table, frame = corrupt(warehouse["frames"])
    others = {name: f for name, f in warehouse["frames"].items() if name in ("dim_date", "dim_segment")}
    report = validate_frames({**others, table: frame}, suites, None)
    assert not report.success
    assert report.failed_tables == [table]
    matching = [f for f in report.failures if f.check == check]
    assert matching, report.summary()
    failure = matching[0]
    assert failure.table == table and failure.column == column and failure.severity == "critical"
    where = f"{table}.{column}" if column else f"{table}:"
    assert failure.message.startswith(where) and words in failure.message, failure.message
    assert report.tables[table].data_docs is None  # no Data Docs folder given
    with pytest.raises(DataQualityError, match=table):
        report.raise_for_failures()


def test_a_missing_column_is_reported_once_per_check_not_as_gx_errors(warehouse, suites):
    _, frame = _missing_column(warehouse["frames"])
    report = validate_frames({"dim_account": frame}, suites, None)
    messages = [f.message for f in report.failures]
    assert "dim_account.segment_key: the column is missing (type not checked)" in messages
    assert all("segment_key" in m for m in messages)


def test_freshness_of_a_timestamp_column(warehouse):
    manifest = warehouse["manifest"]
    spec = table_specs(load_manifest(manifest))["mart_driver_analysis"]
    row = {column: None for column in spec.columns}
    row |= {"scope_type": "overall", "scope": "all", "outcome": "recommendation", "driver": "quality", "summary": "x"}
    frame = pd.DataFrame([row]).assign(computed_at=pd.Timestamp("2026-11-02 08:15:00"))
    for reference, fresh in ((datetime.date(2026, 10, 31), True), (datetime.date(2027, 2, 1), False)):
        suites = build_suites(manifest, freshness_reference=reference)
        report = validate_frames({"mart_driver_analysis": frame}, suites, None)
        stale = [f for f in report.failures if f.check == "freshness"]
        assert report.success is fresh, report.summary()
        assert bool(stale) is not fresh
    assert stale[0].message.startswith("mart_driver_analysis.computed_at: stale: the newest value is 2026-11-02 08:15")


def test_a_frame_is_validated_without_gx_hashing_its_every_row(warehouse, suites, monkeypatch):
    """GX would hash each frame under 1 GB row by row for a batch marker nobody reads (5 s of 10 million
    invoice lines); the validation turns it off, and still finds a corrupted row."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(frame):
        raise AssertionError("GX hashed a whole frame")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    frames = {"dim_segment": warehouse["frames"]["dim_segment"]}
    assert validate_frames(frames, suites, None).success
    table, corrupted = _null_key(warehouse["frames"])
    assert validate_frames({table: corrupted}, suites, None).failed_tables == [table]


def test_contract_types_hold_for_every_pandas_representation(warehouse):
    suites = build_suites(warehouse["manifest"])
    base = warehouse["frames"]["dim_product_line"]
    keys = base["product_line_key"]
    names = base["product_line"]
    representations = {
        "int32 and pandas 3 str": base,
        "nullable Int64 and object": base.assign(
            product_line_key=keys.astype("Int64"), product_line=names.astype(object)
        ),
        "Arrow": base.assign(
            product_line_key=keys.astype(pd.ArrowDtype(pa.int64())),
            product_line=names.astype(pd.ArrowDtype(pa.string())),
        ),
    }
    for name, frame in representations.items():
        report = validate_frames({"dim_product_line": frame}, suites, None)
        assert report.success, f"{name}: {report.summary()}"
    wrong = base.assign(product_line=np.arange(len(base)))
    report = validate_frames({"dim_product_line": wrong}, suites, None)
    assert [f.message for f in report.failures] == [
        "dim_product_line.product_line: has type int64, the contract says text"
    ]
    # Decimals as Python objects (Arrow's to_pandas) are a decimal type too.
    months = warehouse["frames"]["fct_account_month"].head(50)
    revenue = [None if pd.isna(v) else decimal.Decimal(f"{v:.2f}") for v in months["revenue_eur"]]
    as_objects = months.assign(revenue_eur=pd.Series(revenue, index=months.index, dtype=object))
    report = validate_frames({"fct_account_month": as_objects}, build_suites(warehouse["manifest"]), None)
    assert report.success, report.summary()


def test_data_docs_keep_the_latest_runs(warehouse, suites, tmp_path):
    frames = {"dim_segment": warehouse["frames"]["dim_segment"]}
    docs = tmp_path / "docs"
    pages = [validate_frames(frames, suites, docs, run_name=f"run-{i}", keep_runs=2) for i in range(3)]
    kept = sorted(p.name for p in (docs / "validations" / "dim_segment").iterdir())
    assert kept == ["run-1", "run-2"]
    index = (docs / "index.html").read_text()
    assert "run-2" in index and "run-1" in index and "run-0" not in index
    assert pages[-1].tables["dim_segment"].data_docs.is_file()


# --- PostgreSQL after publishing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres(warehouse):
    cluster = ThrowawayCluster()
    server = cluster.start()  # raises (the test fails) when PostgreSQL cannot start
    specs = table_specs(load_manifest(warehouse["manifest"]))
    frames = warehouse["frames"]
    try:
        with psycopg.connect(server.url, autocommit=True) as conn:
            for schema in ("marts", "corrupt"):
                conn.execute(f"create schema {schema}")
            for table in ("dim_segment", "mart_survey_coverage"):
                _copy_into(conn, "marts", table, specs[table].columns, frames[table])
            coverage = frames["mart_survey_coverage"].copy()
            coverage.loc[coverage.index[1], "account_id"] = coverage["account_id"].iloc[0]
            coverage.loc[coverage.index[2], "share_of_revenue"] = 1.5
            coverage["as_of_date"] = coverage["as_of_date"] - pd.Timedelta(days=90)
            _copy_into(conn, "corrupt", "mart_survey_coverage", specs["mart_survey_coverage"].columns, coverage)
            # A publisher that let the type drift: integer became bigint.
            wrong = {**specs["dim_segment"].columns, "segment_key": "bigint"}
            _copy_into(conn, "corrupt", "dim_segment", wrong, frames["dim_segment"])
        yield server
    finally:
        cluster.stop()


def _copy_into(conn, schema: str, table: str, columns: dict[str, str], frame: pd.DataFrame) -> None:
    """The table with the contract's column types (valid on PostgreSQL too), filled by COPY."""
    conn.execute(f"create table {schema}.{table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    values = frame[list(columns)].astype(object)
    values = values.where(values.notna(), None)
    with conn.cursor().copy(f"copy {schema}.{table} ({', '.join(columns)}) from stdin") as copy:
        for row in values.itertuples(index=False):
            copy.write_row(row)


def test_published_postgres_tables_pass(warehouse, postgres, tmp_path):
    tables = ["dim_segment", "mart_survey_coverage"]
    previous = postgres_row_counts(postgres.url, "marts", [*tables, "mart_account_360"])
    assert previous == {table: len(warehouse["frames"][table]) for table in tables}
    suites = build_suites(warehouse["manifest"], previous_row_counts=previous, freshness_reference=warehouse["as_of"])
    docs = tmp_path / "docs"
    report = validate_postgres(postgres.url, "marts", tables, suites, docs, run_name="after-publish")
    assert report.success, report.summary()
    for table in tables:
        result = report.tables[table]
        assert result.row_count == previous[table]
        assert result.expectations == len(suites[table].expectations)
        assert result.data_docs.is_file() and "published-" in result.data_docs.name
    assert report.data_docs_index.is_file()


def test_postgres_corruptions_and_missing_tables_fail_in_words(warehouse, postgres):
    counts = {table: len(warehouse["frames"][table]) for table in ("dim_segment", "mart_survey_coverage")}
    suites = build_suites(warehouse["manifest"], previous_row_counts=counts, freshness_reference=warehouse["as_of"])
    report = validate_postgres(
        postgres.url, "corrupt", ["dim_segment", "mart_survey_coverage", "mart_nps_summary"], suites, None
    )
    assert report.failed_tables == ["dim_segment", "mart_survey_coverage", "mart_nps_summary"]
    messages = [f.message for f in report.failures]
    assert "dim_segment.segment_key: has type BIGINT, the contract says integer" in messages
    assert any(m.startswith("mart_survey_coverage.account_id: 2 of") and "must be unique" in m for m in messages)
    assert any(
        m.startswith("mart_survey_coverage.share_of_revenue: 1 of") and "not between 0 and 1 (e.g. 1.5" in m
        for m in messages
    )
    assert any(m.startswith("mart_survey_coverage.as_of_date: stale: the newest value is") for m in messages)
    assert "mart_nps_summary: table corrupt.mart_nps_summary does not exist in PostgreSQL" in messages
    assert report.tables["mart_nps_summary"].description().startswith("mart_nps_summary: not validated")


def test_the_quality_thresholds_and_the_gx_folder_come_from_the_environment(tmp_path):
    from pipeline.config import Settings
    from pipeline.quality import default_data_docs_dir
    from pipeline.resources import resources_from

    env = {
        "PIPELINE_HOME": str(tmp_path / "home"),
        "PIPELINE_GX_DIR": str(tmp_path / "gx-elsewhere"),
        "PIPELINE_QUALITY_MIN_ROW_RATIO": "0.8",
        "PIPELINE_QUALITY_MAX_ROW_RATIO": "1.25",
        "PIPELINE_QUALITY_MAX_AGE_DAYS": "10",
    }
    bi = resources_from(Settings.from_env(env))["bi"]
    thresholds = bi.quality_thresholds()
    assert (thresholds.min_row_ratio, thresholds.max_row_ratio, thresholds.max_age_days) == (0.8, 1.25, 10)
    assert (
        bi.data_docs_dir == str(tmp_path / "gx-elsewhere")
        and default_data_docs_dir(env).parent == tmp_path / "gx-elsewhere"
    )
    default = resources_from(Settings.from_env({"PIPELINE_HOME": str(tmp_path / "home")}))["bi"]
    assert default.quality_thresholds().max_age_days == 35 and default.data_docs_dir == str(tmp_path / "home" / "gx")
    with pytest.raises(ValueError):
        Settings.from_env({**env, "PIPELINE_QUALITY_MAX_AGE_DAYS": "a month"})


def test_the_release_gate_passes_the_shared_company_and_names_each_blocking_failure(
    scheduled_month, warehouse, tmp_path
):
    """pipeline.publish.gate.evaluate_release, without Dagster: the scheduled company's release passes every
    blocking check; a failing dbt test and an out-of-range score then block it, each check saying why."""
    import shutil

    from pipeline.publish import gate

    source = Settings.from_env({"PIPELINE_HOME": str(scheduled_month["home"])}).warehouse_path
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(source, copy)
    with duckdb.connect(str(copy)) as conn:
        checked = gate.evaluate_release(conn, warehouse["published"], warehouse["manifest"], None)
        assert checked.passed, {n: c for n, c in checked.checks.items() if not c.passed}
        assert list(checked.checks) == list(gate.BLOCKING_CHECKS)
        assert {t.name for t in checked.tables} == set(warehouse["frames"])
        assert checked.data_as_of == warehouse["as_of"]

        failing = pd.DataFrame(
            [["test.x.not_null_mart_account_360_account_key", "not_null_mart_account_360_account_key",
              "mart_account_360", "fail", 3, "3 nulls"]],
            columns=["unique_id", "test_name", "model", "status", "failures", "message"],
        )  # fmt: skip
        gate.record_dbt_results(conn, failing, "run-1")
        conn.execute("update marts.mart_churn_scores set churn_probability = 1.5 where risk_decile = 1")
        blocked = gate.evaluate_release(conn, warehouse["published"], warehouse["manifest"], None)
    assert {"dbt_tests_passed", "churn_scores_valid"} <= set(blocked.failed)
    assert "no_personal_data" not in blocked.failed
    assert blocked.checks["dbt_tests_passed"].problems == [
        "mart_account_360: not_null_mart_account_360_account_key (fail)"
    ]
    assert any("churn_probability" in p for p in blocked.checks["churn_scores_valid"].problems)
    message = blocked.blocked_message("20261101T000000Z-abc")
    assert "dbt_tests_passed" in message and "20261101T000000Z-abc" in message


def test_a_table_with_the_content_and_suite_of_the_last_release_is_not_validated_again(
    scheduled_month, warehouse, tmp_path, monkeypatch
):
    """The gate records each table's validation key (content, suite with its parameters, GX, the checking
    code) and the release keeps it; the next gate validates only the tables whose key differs."""
    import shutil

    from pipeline.publish import gate
    from pipeline.publish.parquet import publish_parquet
    from pipeline.quality import validation

    source = Settings.from_env({"PIPELINE_HOME": str(scheduled_month["home"])}).warehouse_path
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(source, copy)
    validated: list[list[str]] = []
    real = validation.validate_frames

    def recording(frames, *args, **kwargs):
        validated.append(sorted(frames))
        return real(frames, *args, **kwargs)

    monkeypatch.setattr(validation, "validate_frames", recording)
    published, manifest = warehouse["published"], warehouse["manifest"]
    with duckdb.connect(str(copy)) as conn:
        first = gate.evaluate_release(conn, published, manifest, None)
        assert first.passed and not any(r.checked_in for r in first.quality.tables.values())
        assert set(first.validations) == set(first.quality.tables)  # not even a warning on the shared company
        release = publish_parquet(
            conn, first.tables, tmp_path / "bi", "run-1", validations=first.validations, fingerprints=first.fingerprints
        )
        recorded = {n: e["validation"] for n, e in release.manifest["tables"].items()}
        assert {v["release"] for v in recorded.values()} == {release.release_id}

        again = gate.evaluate_release(conn, published, manifest, None, previous_validations=recorded)
        assert again.passed and validated[-1] == []
        assert {r.checked_in for r in again.quality.tables.values()} == {release.release_id}
        assert "unchanged since the release that validated them" in again.quality.summary()

        # A changed row: that table alone is read and validated again, and what is wrong with it is found.
        conn.execute(
            "update marts.fct_account_month set churn_type = 'vanished' "
            "where rowid = (select min(rowid) from marts.fct_account_month)"
        )
        changed = gate.evaluate_release(conn, published, manifest, None, previous_validations=recorded)
        assert validated[-1] == ["fct_account_month"]
        assert changed.quality.failed_tables == ["fct_account_month"] and "fct_account_month" not in changed.validations
        # The row-count bounds and freshness move with every release and stay out of the key: a table whose
        # count is within the new bounds is still not read, one outside them is, and fails on its count.
        rows = changed.quality.tables["dim_segment"].row_count
        within = gate.evaluate_release(conn, published, manifest, {"dim_segment": rows}, previous_validations=recorded)
        assert validated[-1] == ["fct_account_month"] and within.quality.tables["dim_segment"].checked_in
        outside = gate.evaluate_release(
            conn, published, manifest, {"dim_segment": rows * 10}, previous_validations=recorded
        )
        assert validated[-1] == ["dim_segment", "fct_account_month"]
        assert "dim_segment" in outside.quality.failed_tables
        # A reporting date that leaves the newest values too old: every table with a freshness column is read.
        stale = gate.evaluate_release(
            conn,
            published,
            manifest,
            None,
            QualityThresholds(max_age_days=-3650),
            previous_validations=recorded,
        )
        with_freshness = {name for name, suite in stale.suites.items() if suite.meta["freshness"]}
        assert with_freshness and with_freshness <= set(validated[-1])
        assert with_freshness <= set(stale.quality.failed_tables)
