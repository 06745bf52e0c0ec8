"""Great Expectations suites for the published tables, derived from the dbt manifest.

One suite per table, named after it. Each expectation carries ``meta.check`` (what kind of rule it is:
columns, type, not_null, unique, unique_combination, accepted_values, value_between, row_count,
freshness), ``meta.source`` (the dbt test or contract it comes from) and a one-line ``description`` in plain
words, which Data Docs show instead of GX's template.

Freshness compares the newest value of a freshness column with a date the caller gives (the data's own
reporting date, never the wall clock). Its bound is a suite parameter (``$PARAMETER``) filled at
validation time, because GX compares ``column.max`` with the bound as Python values: a pandas
``datetime64`` column gives a ``Timestamp``, a PostgreSQL DATE a ``datetime.date``, and the two do not
compare. The suite's ``meta.freshness`` holds the bound; :mod:`pipeline.quality.validation` turns it
into the value each backend needs.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
import pyarrow as pa
from great_expectations.expectations.metadata_types import FailureSeverity

from pipeline.catalog import load_manifest
from pipeline.quality.expectations import ExpectTableColumnsToHaveContractTypes, contract_type_list
from pipeline.quality.manifest import ColumnRule, TableSpec, table_specs
from pipeline.quality.settings import QualityThresholds


def build_suites(
    manifest_path: Path | str,
    previous_row_counts: dict[str, int] | None = None,
    freshness_reference: datetime.date | None = None,
    thresholds: QualityThresholds | None = None,
) -> dict[str, gx.ExpectationSuite]:
    """Table name -> its expectation suite, for every published mart in the manifest.

    ``previous_row_counts`` (table -> rows in the previous release) adds a row-count check to each table
    it names (none for a table that had no rows: no ratio can be taken). ``freshness_reference`` (the
    reporting date of the data being published) adds a freshness check on every table with a freshness
    column. The suites are not bound to any GX context.
    """
    thresholds = thresholds or QualityThresholds()
    specs = table_specs(load_manifest(manifest_path))
    return {
        name: suite_for(spec, (previous_row_counts or {}).get(name), freshness_reference, thresholds)
        for name, spec in specs.items()
    }


def suite_for(
    spec: TableSpec,
    previous_rows: int | None,
    freshness_reference: datetime.date | None,
    thresholds: QualityThresholds,
) -> gx.ExpectationSuite:
    expectations: list[gxe.Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=list(spec.columns),
            exact_match=False,
            catch_exceptions=True,
            description=f"{spec.name} has every column of its contract ({len(spec.columns)} columns)",
            meta={"check": "columns", "source": "dbt contract"},
        )
    ]
    expectations.append(
        ExpectTableColumnsToHaveContractTypes(
            column_types={column: contract_type_list(data_type) for column, data_type in spec.columns.items()},
            catch_exceptions=True,
            description=f"every column of {spec.name} has its contract type ({len(spec.columns)} columns)",
            meta={"check": "type", "source": "dbt contract", "data_types": dict(spec.columns)},
        )
    )
    expectations.extend(_rule_expectation(rule) for rule in spec.rules)
    if previous_rows:
        low = math.ceil(previous_rows * thresholds.min_row_ratio)
        high = math.floor(previous_rows * thresholds.max_row_ratio)
        expectations.append(
            gxe.ExpectTableRowCountToBeBetween(
                min_value=low,
                max_value=high,
                catch_exceptions=True,
                description=(
                    f"the row count stays within {thresholds.min_row_ratio:g}x-{thresholds.max_row_ratio:g}x of "
                    f"the previous release's {previous_rows}: {low} to {high} rows"
                ),
                meta={"check": "row_count", "source": "previous release", "previous_rows": previous_rows},
            )
        )
    freshness = {}
    if freshness_reference is not None:
        not_before = freshness_reference - datetime.timedelta(days=thresholds.max_age_days)
        for column in thresholds.freshness_columns:
            if column not in spec.columns:
                continue
            parameter = freshness_parameter(column)
            freshness[column] = {
                "parameter": parameter,
                "not_before": not_before.isoformat(),
                "reference": freshness_reference.isoformat(),
                "max_age_days": thresholds.max_age_days,
                "data_type": spec.columns[column],
            }
            expectations.append(
                gxe.ExpectColumnMaxToBeBetween(
                    column=column,
                    min_value={"$PARAMETER": parameter},
                    catch_exceptions=True,
                    description=(
                        f"the newest {column} is on or after {not_before.isoformat()}, at most "
                        f"{thresholds.max_age_days} days before the reporting date {freshness_reference.isoformat()}"
                    ),
                    meta={"check": "freshness", "source": "reporting date", **freshness[column]},
                )
            )
    return gx.ExpectationSuite(
        name=spec.name,
        expectations=expectations,
        meta={"table": spec.name, "schema": spec.schema, "dbt_unique_id": spec.unique_id, "freshness": freshness},
    )


# The code that turns a suite into a verdict: a change to it validates every table again.
_CHECKING_CODE = ("expectations.py", "inputs.py", "suites.py", "validation.py")


@functools.cache
def _checker_digest() -> str:
    """The versions of what reads the tables into frames and judges them (pandas 3's str dtype changed
    verdicts) and the source of this package's reading and checking code: read once per process."""
    here = Path(__file__).parent
    parts = [gx.__version__, pd.__version__, pa.__version__, np.__version__]
    parts += [hashlib.sha256((here / name).read_bytes()).hexdigest() for name in _CHECKING_CODE]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# Checks of a table against the release being made rather than its content: the row-count bounds (from the
# previous release's count) and freshness (from the reporting date). They move with every release, so they
# stay out of the validation key and are judged afresh on every gate (release_relative_checks_pass).
RELEASE_RELATIVE_CHECKS = frozenset({"row_count", "freshness"})


def validation_key(content_fingerprint: str, suite: gx.ExpectationSuite) -> str:
    """What a table's verdict on its content is a function of: its content (``tables.content_fingerprint``,
    which holds DuckDB's version), every expectation on the content with its parameters, the versions of
    GX, pandas, pyarrow and numpy, and this package's reading and checking code. Equal keys, equal verdicts:
    a table whose key equals the one its last release recorded was validated on exactly this, and need not
    be read again if its release-relative checks pass too (:func:`release_relative_checks_pass`)."""
    payload = {
        "content": content_fingerprint,
        "checker": _checker_digest(),
        "expectations": [
            [type(e).__name__, e.dict(exclude={"id", "rendered_content"})]
            for e in suite.expectations
            if (e.meta or {}).get("check") not in RELEASE_RELATIVE_CHECKS
        ],
        "meta": {key: value for key, value in (suite.meta or {}).items() if key != "freshness"},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def release_relative_checks_pass(suite: gx.ExpectationSuite, rows: int, newest: Mapping[str, Any]) -> bool:
    """Whether the suite's row-count bounds and freshness surely hold for a table of ``rows`` rows whose
    freshness columns' newest values are ``newest``: without reading the table, for one whose content the
    key says was validated before. Anything this cannot judge for certain is False, and the table is then
    validated by Great Expectations, whose report says what failed."""
    for expectation in suite.expectations:
        check = (expectation.meta or {}).get("check")
        if check == "row_count":
            low, high = getattr(expectation, "min_value", None), getattr(expectation, "max_value", None)
            if not (isinstance(low, int) and isinstance(high, int) and low <= rows <= high):
                return False
        elif check == "freshness":
            column = getattr(expectation, "column", None)
            if not isinstance(column, str) or column not in newest:
                return False
            value = newest[column]
            if value is None:  # a column without a value: validation leaves its freshness out as well
                continue
            if isinstance(value, datetime.datetime):
                value = value.date()
            if not isinstance(value, datetime.date):
                return False
            if value < datetime.date.fromisoformat(expectation.meta["not_before"]):
                return False
    return True


def freshness_parameter(column: str) -> str:
    return f"newest_{column}_not_before"


def _rule_expectation(rule: ColumnRule) -> gxe.Expectation:
    meta = {"check": rule.check, "source": rule.source}
    # Any: keyword arguments of every expectation class alike.
    common: dict[str, Any] = {
        "catch_exceptions": True,
        "severity": FailureSeverity.CRITICAL if rule.severity == "error" else FailureSeverity.WARNING,
        "meta": meta,
    }
    column = rule.columns[0]
    if rule.check == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=column, description=f"{column} is never null", **common)
    if rule.check == "unique":
        return gxe.ExpectColumnValuesToBeUnique(column=column, description=f"{column} is unique", **common)
    if rule.check == "unique_combination":
        columns = list(rule.columns)
        return gxe.ExpectCompoundColumnsToBeUnique(
            column_list=columns, description=f"({', '.join(columns)}) identifies a row", **common
        )
    if rule.check == "accepted_values":
        values = list(rule.values)
        return gxe.ExpectColumnValuesToBeInSet(
            column=column,
            value_set=values,
            description=f"{column} is one of {', '.join(map(str, values))} (or null)",
            **common,
        )
    if rule.check == "value_between":
        return gxe.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=rule.min_value,
            max_value=rule.max_value,
            description=f"{column} is {range_words(rule.min_value, rule.max_value)} (or null)",
            **common,
        )
    raise ValueError(f"no expectation for the rule {rule.check!r}")


def range_words(low, high) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if low is not None:
        return f"at least {low:g}"
    return f"at most {high:g}"
