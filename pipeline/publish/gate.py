"""What must hold before anything is published. A failing check means nothing is written and the previous
release stays current.

- dbt tests on the published marts: the result of every test from the newest dbt build is recorded in
  ``audit.dbt_test_results`` (by :func:`record_dbt_results`, called after each build), so a publish in a
  later run still knows that a mart was built while one of its tests failed. Dagster does not reliably
  block a Python asset downstream of a failing dbt test; this gate does, explicitly.
- pandera on the churn scores as published (``mart_churn_scores``).
- Great Expectations suites on every published table (:mod:`pipeline.quality`), run by the asset.
- The personal-data scan (:mod:`pipeline.publish.tables`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

if TYPE_CHECKING:
    import great_expectations as gx

    from pipeline.publish.tables import PublishedTable
    from pipeline.quality.report import QualityReport
    from pipeline.quality.settings import QualityThresholds

AUDIT_SCHEMA = "audit"
DBT_RESULTS_DDL = """
create table if not exists audit.dbt_test_results (
    unique_id varchar primary key,
    test_name varchar not null,
    model varchar,
    status varchar not null,
    failures bigint,
    message varchar,
    run_id varchar,
    recorded_at timestamp not null
)
"""
PASSING = {"pass", "warn", "skipped"}


def test_results(run_results: dict, manifest: dict) -> pd.DataFrame:
    """One row per dbt data test in ``run_results.json``, with the model it tests."""
    nodes = manifest.get("nodes", {})
    rows = []
    for result in run_results.get("results", []):
        unique_id = result.get("unique_id", "")
        if not unique_id.startswith("test."):
            continue
        node = nodes.get(unique_id, {})
        attached = node.get("attached_node") or next(
            (n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("model.")), None
        )
        rows.append(
            {
                "unique_id": unique_id,
                "test_name": node.get("name", unique_id.split(".")[-2] if "." in unique_id else unique_id),
                "model": attached.split(".")[-1] if attached else None,
                "status": str(result.get("status")),
                "failures": result.get("failures"),
                "message": result.get("message"),
            }
        )
    return pd.DataFrame(rows, columns=["unique_id", "test_name", "model", "status", "failures", "message"]).astype(
        {"failures": "Int64"}
    )


def record_dbt_results(conn: duckdb.DuckDBPyConnection, results: pd.DataFrame, run_id: str) -> int:
    """Upsert the newest result of each test (a test not run this time keeps its last result)."""
    conn.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    conn.execute(DBT_RESULTS_DDL)
    if results.empty:
        return 0
    frame = results.assign(run_id=run_id, recorded_at=pd.Timestamp.now(tz="UTC").tz_convert(None))
    conn.register("new_results", frame)
    try:
        conn.execute("begin transaction")
        conn.execute("delete from audit.dbt_test_results where unique_id in (select unique_id from new_results)")
        conn.execute(
            "insert into audit.dbt_test_results "
            "select unique_id, test_name, model, status, failures, message, run_id, recorded_at from new_results"
        )
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_results")
    return len(frame)


def failing_dbt_tests(conn: duckdb.DuckDBPyConnection, tables: list[str]) -> list[str]:
    """``model: test (status)`` for every recorded test of a published table whose newest result failed."""
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'audit' and table_name = 'dbt_test_results'"
    ).fetchall()[0][0]
    if not exists or not tables:
        return []
    placeholders = ", ".join("?" for _ in tables)
    rows = conn.execute(
        f"select model, test_name, status from audit.dbt_test_results where model in ({placeholders}) "
        "order by model, test_name",
        list(tables),
    ).fetchall()
    return [f"{model}: {test} ({status})" for model, test, status in rows if status not in PASSING]


# Types and nullability are pandera's; ranges and accepted values are mart_churn_scores.yml's dbt tests.
_SCORES_COLUMNS = {
    "account_key": pa.Column("int64", nullable=False),
    # coerce: an empty table (no model yet) reads back as object columns
    "account_id": pa.Column(str, nullable=False, coerce=True),
    "snapshot_month": pa.Column("datetime64[us]", nullable=False, coerce=True),
    "churn_probability": pa.Column(float, nullable=False, coerce=True),
    "risk_decile": pa.Column("int64", nullable=False, coerce=True),
    "risk_band": pa.Column(str, nullable=False, coerce=True),
    "expected_revenue_at_risk_eur": pa.Column(float, nullable=True, coerce=True),
    "model_version": pa.Column(str, nullable=False, coerce=True),
}


def scores_schema(manifest_path=None) -> pa.DataFrameSchema:
    from pipeline.quality.pandera_checks import dbt_checks, with_dbt_checks

    checks = {c: v for c, v in dbt_checks("mart_churn_scores", manifest_path).items() if c in _SCORES_COLUMNS}
    return pa.DataFrameSchema(
        with_dbt_checks(_SCORES_COLUMNS, checks),
        unique=["account_id", "snapshot_month"],
        strict=False,
        name="mart_churn_scores",
    )


def validate_scores(frame: pd.DataFrame) -> list[str]:
    """pandera on the published churn scores: every failure, in words (empty when valid)."""
    try:
        scores_schema().validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        return [
            f"mart_churn_scores.{row.column}: {row.check} (e.g. {row.failure_case!r})"
            for row in cases.drop_duplicates(subset=["column", "check"]).itertuples()
        ]
    return []


# The blocking checks, in the order they are reported, with what each promises.
BLOCKING_CHECKS = {
    "dbt_tests_passed": "The newest dbt test result of every published mart passed",
    "churn_scores_valid": "pandera: the published churn scores are probabilities, deciles and bands, "
    "one per account and month",
    "great_expectations": "Great Expectations suites (keys, types, ranges, accepted values, row-count change, "
    "freshness) on every published table",
    "no_personal_data": "No published column looks like personal data (emails, names, notes, comments)",
}


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    # What failed, by check: failing tests, pandera problems, personal-data columns (empty when passed).
    problems: list[str] = field(default_factory=list)
    summary: str | None = None  # Markdown, for the checks that have a report
    data_docs: Path | None = None


@dataclass(frozen=True)
class ReleaseGate:
    """Every blocking check on what would be published, evaluated before anything is written."""

    tables: list[PublishedTable]
    checks: dict[str, CheckOutcome]
    data_as_of: datetime.date
    # The suites, to run again on PostgreSQL after publishing.
    suites: dict[str, gx.ExpectationSuite]
    quality: QualityReport
    # Each table's content fingerprint (tables.content_fingerprint, with the Parquet writer's settings).
    fingerprints: dict[str, str] = field(default_factory=dict)
    # For the release manifest, per table that met every expectation (not even a warning): the validation
    # key and the release it was validated in ("" for this one).
    validations: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [name for name, outcome in self.checks.items() if not outcome.passed]

    @property
    def passed(self) -> bool:
        return not self.failed

    def blocked_message(self, current_release_id: str | None) -> str:
        return (
            f"Not published: blocking checks failed: {', '.join(self.failed)}. "
            f"The current release ({current_release_id or 'none'}) stays."
        )


def evaluate_release(
    conn: duckdb.DuckDBPyConnection,
    published: list[str],
    manifest_path: Path | str,
    previous_rows: dict[str, int] | None,
    thresholds: QualityThresholds | None = None,
    data_docs_dir: Path | None = None,
    run_name: str | None = None,
    previous_validations: Mapping[str, Mapping[str, str]] | None = None,
) -> ReleaseGate:
    """The gate on the published models named in ``published`` (the catalog's): the newest dbt test
    results, pandera on the churn scores, the Great Expectations suites (row-count change against
    ``previous_rows``, the previous release's) and the personal-data scan.

    ``previous_validations`` (table -> ``{"key", "release"}``, from the previous release's manifest): a table
    whose validation key (:func:`pipeline.quality.suites.validation_key`: its content, its suite with every
    parameter, GX and the checking code) is the one recorded there met every expectation on exactly this
    content, and is not read or validated again; the report says in which release it was."""
    from pipeline import quality
    from pipeline.publish.parquet import PARQUET_OPTIONS
    from pipeline.publish.tables import content_fingerprint, personal_data_columns, published_tables
    from pipeline.quality import inputs as quality_inputs
    from pipeline.quality.report import QualityReport, TableResult
    from pipeline.quality.suites import release_relative_checks_pass, validation_key

    tables = published_tables(conn, published)
    names = [t.name for t in tables]
    failing_tests = failing_dbt_tests(conn, names)
    scores = conn.sql("select * from marts.mart_churn_scores").df() if "mart_churn_scores" in names else None
    as_of = quality_inputs.reporting_date(conn)
    suites = quality.build_suites(manifest_path, previous_rows, as_of, thresholds)
    fingerprints = {t.name: content_fingerprint(conn, t, PARQUET_OPTIONS) for t in tables}
    keys = {name: validation_key(fingerprints[name], suites[name]) for name in names if name in suites}
    previous = previous_validations or {}
    rows = {t.name: t.rows for t in tables}
    # Validated before on this very content: skipped if the row-count bounds and freshness of this release
    # hold too (the newest values, one aggregate query per table, instead of the table read into pandas).
    unchanged = {
        name: previous[name]["release"]
        for name in keys
        if previous.get(name, {}).get("key") == keys[name]
        and release_relative_checks_pass(suites[name], rows[name], quality_inputs.newest_values(conn, suites[name]))
    }
    frames = quality_inputs.read_frames(conn, [name for name in keys if name not in unchanged])
    validated = quality.validate_frames(frames, suites, data_docs_dir, run_name=run_name)
    report = QualityReport(
        {
            name: validated.tables[name]
            if name in validated.tables
            else TableResult(name, True, len(suites[name].expectations), row_count=rows.get(name), checked_in=release)
            for name, release in [(n, unchanged.get(n)) for n in keys]
        },
        validated.data_docs_index,
    )
    validations = {
        name: {"key": keys[name], "release": result.checked_in or ""}
        for name, result in report.tables.items()
        if not result.failures
    }
    score_problems = validate_scores(scores) if scores is not None else ["mart_churn_scores is missing"]
    personal = personal_data_columns(tables)
    checks = {
        "dbt_tests_passed": CheckOutcome(not failing_tests, failing_tests),
        "churn_scores_valid": CheckOutcome(not score_problems, score_problems),
        "great_expectations": CheckOutcome(report.success, summary=report.summary(), data_docs=report.data_docs_index),
        "no_personal_data": CheckOutcome(not personal, personal),
    }
    return ReleaseGate(
        tables=tables,
        checks=checks,
        data_as_of=as_of,
        suites=suites,
        quality=report,
        fingerprints=fingerprints,
        validations=validations,
    )
