"""Run the suites on pandas DataFrames (before publishing) or on PostgreSQL tables (after), with Data Docs.

Each call uses its own ephemeral GX context: nothing is read from or written to the working directory,
analytics and progress bars are off, and the only files written are the Data Docs site in the folder the
caller names. The Data Docs index lists every validation page in that folder, so runs accumulate there
(one page per table and run, named by the run).

GX has no DuckDB datasource (it fails through SQLAlchemy), so the warehouse is validated as DataFrames.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import great_expectations as gx
import pandas as pd
import pyarrow as pa
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier
from great_expectations.execution_engine import pandas_execution_engine

from pipeline.quality.inputs import sqlalchemy_url
from pipeline.quality.report import Failure, QualityReport, TableResult
from pipeline.quality.suites import range_words

SITE = "data_quality"
RESULTS_FOLDER = ".results"
KEEP_RUNS = 20
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
EXAMPLES = 3

# GX hashes every frame under this many bytes (1 GB by default) into a "pandas_data_fingerprint" batch marker,
# row by row: 5 of the 10 s that 10 million invoice lines took to validate. Nothing reads the marker (the
# publisher fingerprints each table's content itself, in DuckDB); 0 turns the hash off.
pandas_execution_engine.HASH_THRESHOLD = 0


def validate_frames(
    frames: Mapping[str, pd.DataFrame],
    suites: Mapping[str, gx.ExpectationSuite],
    data_docs_dir: Path | str | None = None,
    *,
    run_name: str | None = None,
    keep_runs: int = KEEP_RUNS,
) -> QualityReport:
    """Validate each DataFrame with the suite of the same name; render Data Docs when a folder is given.

    Every frame must have a suite (a frame without one is a programming error). ``run_name`` (a Dagster
    run id, say) names the run in Data Docs.
    """
    unknown = sorted(set(frames) - set(suites))
    if unknown:
        raise KeyError(f"no data quality suite for {', '.join(unknown)}")
    context = _context(data_docs_dir)
    source = context.data_sources.add_pandas("frames")
    run_id = _run_id(run_name)
    results = {}
    for table, frame in frames.items():
        suite = context.suites.add(_copy(suites[table], without_freshness_of=_columns_without_values(frame)))
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("whole frame")
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch, suite=suite))
        parameters = _freshness_parameters(suite, lambda column, frame=frame: _frame_dtype(frame, column))
        outcome = definition.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=parameters,
            result_format=RESULT_FORMAT,
            run_id=run_id,
        )
        results[table] = _table_result(table, outcome, len(frame))
    return _finish(context, results, data_docs_dir, run_id, keep_runs)


def validate_postgres(
    url: str,
    schema: str,
    tables: list[str],
    suites: Mapping[str, gx.ExpectationSuite],
    data_docs_dir: Path | str | None = None,
    *,
    run_name: str | None = None,
    keep_runs: int = KEEP_RUNS,
) -> QualityReport:
    """Validate published PostgreSQL tables (``schema.table``) with their suites, through GX's SQL datasource.

    ``url`` is a PostgreSQL URL (``postgresql://user:password@host:port/database``); without an explicit
    driver it is opened with psycopg 3. A table that does not exist fails with that message.
    """
    unknown = sorted(set(tables) - set(suites))
    if unknown:
        raise KeyError(f"no data quality suite for {', '.join(unknown)}")
    context = _context(data_docs_dir)
    source = context.data_sources.add_postgres("published", connection_string=sqlalchemy_url(url))
    run_id = _run_id(run_name)
    try:
        existing = _postgres_tables(source, schema)
        results = {}
        for table in tables:
            if table not in existing:
                problem = f"table {schema}.{table} does not exist in PostgreSQL"
                results[table] = TableResult(table, False, 0, (Failure(table, "exists", "table", None, problem),))
                continue
            suite = context.suites.add(_copy(suites[table]))
            with warnings.catch_warnings():
                # GX 1.14+ deprecates schema_name, but its PostgreSQL datasource has no other way to name one.
                warnings.filterwarnings("ignore", message="`schema_name` is deprecated", category=DeprecationWarning)
                asset = source.add_table_asset(table, table_name=table, schema_name=schema)
            batch = asset.add_batch_definition_whole_table("whole table")
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=table, data=batch, suite=suite)
            )
            parameters = _freshness_parameters(suite, lambda column: None)
            outcome = definition.run(expectation_parameters=parameters, result_format=RESULT_FORMAT, run_id=run_id)
            results[table] = _table_result(table, outcome, _postgres_row_count(source, schema, table))
    finally:
        source.get_engine().dispose()
    return _finish(context, results, data_docs_dir, run_id, keep_runs)


# --- the GX context --------------------------------------------------------------------------------------------


def _context(data_docs_dir: Path | str | None):
    """An ephemeral context; with a Data Docs folder, the validation results are kept in ``<folder>/.results``
    (so the site's index lists earlier runs too) and the site is written to the folder itself."""
    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = copy.deepcopy(defaults.stores)
    sites = {}
    if data_docs_dir is not None:
        # absolute: an ephemeral context would resolve a relative folder against the working directory
        root = Path(data_docs_dir).expanduser().resolve()
        stores[defaults.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(root / RESULTS_FOLDER),
        }
        sites[SITE] = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(root)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites=sites,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _copy(suite: gx.ExpectationSuite, without_freshness_of: frozenset[str] = frozenset()) -> gx.ExpectationSuite:
    """A fresh suite with the same expectations: adding a suite to a context gives the object itself ids there,
    so the caller's suites are left untouched and can be validated again (on another backend, say).

    Freshness is left out for the columns in ``without_freshness_of``: a column with no value at all (the
    table of an analysis withheld for lack of data, which mart_analysis_status explains) is not stale."""
    expectations = [
        e
        for e in suite.expectations
        if not ((e.meta or {}).get("check") == "freshness" and getattr(e, "column", None) in without_freshness_of)
    ]
    return gx.ExpectationSuite(
        name=suite.name,
        expectations=[type(e)(**e.dict(exclude={"id", "rendered_content"})) for e in expectations],
        meta=copy.deepcopy(suite.meta),
    )


def _columns_without_values(frame: pd.DataFrame) -> frozenset[str]:
    return frozenset(column for column in frame.columns if not frame[column].notna().any())


def _run_id(run_name: str | None) -> RunIdentifier:
    return RunIdentifier(run_name=run_name or "quality", run_time=datetime.datetime.now(datetime.UTC))


def _finish(context, results: dict[str, TableResult], data_docs_dir, run_id: RunIdentifier, keep_runs: int):
    if data_docs_dir is None:
        return QualityReport(results)
    store = context.validation_results_store
    keys = store.list_keys()
    runs = sorted({key.run_id.to_tuple()[1] for key in keys}, reverse=True)
    expired = set(runs[max(keep_runs, 1) :])
    for key in keys:
        if key.run_id.to_tuple()[1] in expired:
            for url in context.get_docs_sites_urls(resource_identifier=key, site_name=SITE, only_if_exists=False):
                _path_of(url["site_url"]).unlink(missing_ok=True)
            store.remove_key(key)
    _remove_empty_folders(Path(data_docs_dir).expanduser().resolve())
    current = [key for key in keys if key.run_id.to_tuple() == run_id.to_tuple()]
    # Render this run's pages (earlier runs' pages exist already); the index lists every kept run.
    suites = [ExpectationSuiteIdentifier(name=table) for table, result in results.items() if result.expectations]
    if not current and not suites:
        # Nothing validated (every table unchanged since its last validation): GX would read an empty list
        # as "build everything" and redraw every kept page. The site stays as it is.
        index = Path(data_docs_dir).expanduser().resolve() / "index.html"
        return QualityReport(results, index if index.is_file() else None)
    built = context.build_data_docs(site_names=[SITE], resource_identifiers=[*current, *suites])
    pages = {}
    for key in current:
        urls = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE)
        if urls and urls[0].get("site_url"):
            pages[key.expectation_suite_identifier.name] = _path_of(urls[0]["site_url"])
    results = {
        table: TableResult(r.table, r.success, r.expectations, r.failures, pages.get(table), r.row_count)
        for table, r in results.items()
    }
    return QualityReport(results, _path_of(built[SITE]))


def _remove_empty_folders(root: Path) -> None:
    for folder in (root / "validations", root / RESULTS_FOLDER):
        if folder.is_dir():
            for path, _dirs, _files in os.walk(folder, topdown=False):  # children before parents
                with contextlib.suppress(OSError):
                    Path(path).rmdir()  # only succeeds when empty


def _path_of(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


# --- freshness bounds per backend ------------------------------------------------------------------------------


def _freshness_parameters(suite: gx.ExpectationSuite, dtype_of) -> dict[str, Any]:
    """The freshness bounds as the values GX must compare with ``column.max`` on this backend."""
    parameters = {}
    for column, spec in (suite.meta or {}).get("freshness", {}).items():
        day = datetime.date.fromisoformat(spec["not_before"])
        dtype = dtype_of(column)
        if dtype is not None and _is_timestamp_dtype(dtype):
            value: Any = pd.Timestamp(day)
            tz = getattr(dtype, "tz", None) or getattr(getattr(dtype, "pyarrow_dtype", None), "tz", None)
            if tz is not None:
                value = value.tz_localize(tz)
        elif spec["data_type"].strip().lower() == "date":
            value = day
        else:
            value = datetime.datetime.combine(day, datetime.time())
            if "with time zone" in spec["data_type"].lower() or spec["data_type"].lower() == "timestamptz":
                value = value.replace(tzinfo=datetime.UTC)
        parameters[spec["parameter"]] = value
    return parameters


def _frame_dtype(frame: pd.DataFrame, column: str):
    return frame[column].dtype if column in frame.columns else None


def _is_timestamp_dtype(dtype) -> bool:
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_timestamp(dtype.pyarrow_dtype)
    return pd.api.types.is_datetime64_any_dtype(dtype)


# --- PostgreSQL helpers ----------------------------------------------------------------------------------------


def _postgres_tables(source, schema: str) -> set[str]:
    import sqlalchemy as sa

    return set(sa.inspect(source.get_engine()).get_table_names(schema=schema))


def _postgres_row_count(source, schema: str, table: str) -> int:
    import sqlalchemy as sa

    relation = sa.table(table, schema=schema)
    with source.get_engine().connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(relation)).scalar_one())


# --- results in plain words ------------------------------------------------------------------------------------


def _table_result(table: str, outcome, rows: int | None) -> TableResult:
    failures = [failure for r in outcome.results if not r.success for failure in _failures(table, r)]
    missing = {c for f in failures if f.check == "columns" and f.observed for c in f.observed.split(", ")}
    # A missing column fails every expectation on it with GX's own error: say once why.
    failures = [
        Failure(
            f.table,
            f.check,
            f.expectation,
            f.column,
            f"the column is missing ({f.check} not checked)",
            None,
            f.severity,
        )
        if f.check != "columns" and f.column and missing & set(f.column.split(", "))
        else f
        for f in failures
    ]
    failures.sort(key=lambda f: (_CHECK_ORDER.get(f.check, len(_CHECK_ORDER)), f.column or ""))
    critical = any(f.severity == "critical" for f in failures)
    return TableResult(table, not critical, len(outcome.results), tuple(failures), None, rows)


_CHECK_ORDER = {
    name: i
    for i, name in enumerate(
        [
            "columns",
            "type",
            "not_null",
            "unique",
            "unique_combination",
            "accepted_values",
            "value_between",
            "row_count",
            "freshness",
        ]
    )
}


def _failures(table: str, result) -> list[Failure]:
    """A failed expectation in words: one failure, or one per column for the table's contract types."""
    config = result.expectation_config
    meta = config.meta or {}
    problems = (result.result or {}).get("observed_value")
    if meta.get("check") != "type" or not isinstance(problems, dict) or not problems:
        return [_failure(table, result)]
    severity = getattr(config.severity, "value", str(config.severity))
    failures = []
    for column, problem in problems.items():
        contract = meta.get("data_types", {}).get(column)
        if problem.get("missing"):
            message, observed = "the column is missing (type not checked)", None
        elif problem.get("observed") is not None:
            message, observed = f"has type {problem['observed']}, the contract says {contract}", problem["observed"]
        else:
            observed = ", ".join(problem.get("examples") or [])
            message = (
                f"{problem.get('unexpected_count')} of {problem.get('element_count')} values are not of the "
                f"contract type {contract} (e.g. {observed})"
            )
        failures.append(Failure(table, "type", config.type, column, message, observed, severity))
    return failures


def _failure(table: str, result) -> Failure:
    config = result.expectation_config
    kwargs, meta = config.kwargs, config.meta or {}
    check = meta.get("check", config.type)
    column = kwargs.get("column") or (", ".join(kwargs["column_list"]) if kwargs.get("column_list") else None)
    severity = getattr(config.severity, "value", str(config.severity))
    info = result.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message") or "unknown error").strip().splitlines()[0]
        return Failure(table, check, config.type, column, f"could not be checked ({check}): {message}", None, severity)
    problem, observed = _problem(check, kwargs, meta, result.result or {})
    return Failure(table, check, config.type, column, problem, observed, severity)


def _problem(check: str, kwargs: dict, meta: dict, result: dict) -> tuple[str, str | None]:
    count = result.get("unexpected_count")
    total = result.get("element_count")
    examples = _examples(result.get("partial_unexpected_list") or [])
    of_rows = f" of {total}" if total is not None else ""
    eg = f" (e.g. {examples})" if examples else ""
    if check == "columns":
        missing = result.get("details", {}).get("mismatched", {}).get("missing") or []
        return f"columns missing: {', '.join(missing)}", ", ".join(missing)
    if check == "not_null":
        return f"{count}{of_rows} rows are null; it must never be null", str(count)
    if check == "unique":
        return f"{count}{of_rows} rows share their value with another row{eg}; it must be unique", examples
    if check == "unique_combination":
        return f"{count}{of_rows} rows repeat a combination{eg}; together these columns must be unique", examples
    if check == "accepted_values":
        allowed = ", ".join(map(str, kwargs.get("value_set") or []))
        return f"{count}{of_rows} values are not among the accepted values ({allowed}){eg}", examples
    if check == "value_between":
        words = range_words(kwargs.get("min_value"), kwargs.get("max_value"))
        return f"{count}{of_rows} values are not {words}{eg}", examples
    if check == "row_count":
        observed, previous = result.get("observed_value"), meta.get("previous_rows")
        ratio = f", {observed / previous:.2g}x" if observed is not None and previous else ""
        return (
            f"row count {observed}{ratio} the previous release's {previous}: outside the allowed "
            f"{kwargs.get('min_value')} to {kwargs.get('max_value')}",
            str(observed),
        )
    if check == "freshness":
        observed = result.get("observed_value")
        if observed is None or pd.isna(observed):
            return "has no values, so the data cannot be shown to be fresh", None
        newest = _day(observed)
        return (
            f"stale: the newest value is {newest}, older than {meta.get('not_before')} "
            f"({meta.get('max_age_days')} days before the reporting date {meta.get('reference')})",
            newest,
        )
    observed = result.get("observed_value")
    return f"failed {check}: observed {observed if observed is not None else examples}", str(observed)


def _examples(values: list) -> str:
    shown: list[str] = []
    for value in values:
        if isinstance(value, dict):
            text = "(" + ", ".join(f"{k}={_plain(v)}" for k, v in value.items()) + ")"
        else:
            text = _plain(value)
        if text not in shown:
            shown.append(text)
    return ", ".join(shown[:EXAMPLES])


def _plain(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.date):
        return _day(value)
    return str(value)


def _day(value) -> str:
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)
