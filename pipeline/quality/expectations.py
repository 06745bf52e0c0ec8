"""Contract types as a Great Expectations expectation that holds on pandas frames and on PostgreSQL tables.

One expectation per table (:class:`ExpectTableColumnsToHaveContractTypes`), not one per column: GX spends
about 5 ms of Python on each expectation it plans and evaluates whatever the table's size, and a column-by-
column type check was two thirds of the published tables' 710 expectations (2.5 s of a 6 s validation of
the demo's tables). It still reports each column whose type is wrong, as one failure per column.

GX's ``expect_column_values_to_be_in_type_list`` compares a pandas column's dtype with numpy/pandas type
names, which cannot name pandas 3's default string dtype (``str``), Arrow-backed dtypes or an object
column of ``Decimal``; on PostgreSQL it compares the reflected type's text (``NUMERIC(18, 6)``,
``TIMESTAMP WITHOUT TIME ZONE``) case-insensitively. ``ExpectTableColumnsToHaveContractTypes`` keeps the
PostgreSQL behaviour (exact type, precision included) and judges a pandas column by its type family
(integer, float or decimal, string, date, timestamp, boolean), because the width a reader gives an integer
(DuckDB: int32 for INTEGER; pandas from PostgreSQL: int64) says nothing about the data.

Its ``type_list`` holds both vocabularies: the PostgreSQL type names (upper case) and the Python names of
the family (``int``, ``float``, ``Decimal``, ``str``, ``date``, ``datetime``, ``bool``). Each backend ignores
the other's names.
"""

from __future__ import annotations

import datetime
import decimal
import re

import numpy as np
import pandas as pd
import pyarrow as pa
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine, SqlAlchemyExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider
from great_expectations.expectations.type_comparison import compare_column_type_list
from great_expectations.validator.metric_configuration import MetricConfiguration

PYTHON_FAMILIES = ("int", "float", "Decimal", "str", "date", "datetime", "bool")


def contract_type_list(data_type: str) -> list[str]:
    """The type_list for a dbt contract data_type: PostgreSQL's rendering of it, then the pandas family.

    An unknown type is an error (like a pandera check without a SQL translation): map it here on purpose.
    """
    text = re.sub(r"\s+", " ", data_type.strip().lower())
    text = re.sub(r"\s*\(\s*", "(", re.sub(r"\s*,\s*", ", ", text)).replace(" )", ")")
    if text in ("bigint", "int8"):
        return ["BIGINT", "int"]
    if text in ("integer", "int", "int4"):
        return ["INTEGER", "int"]
    if text in ("smallint", "int2"):
        return ["SMALLINT", "int"]
    match = re.fullmatch(r"(?:decimal|numeric)(\((\d+)(?:, (\d+))?\))?", text)
    if match:
        precision, scale = match.group(2), match.group(3) or "0"
        name = f"NUMERIC({precision}, {scale})" if precision else "NUMERIC"
        return [name, "float", "Decimal"]
    if text in ("double", "double precision", "float8"):
        return ["DOUBLE PRECISION", "float"]
    if text in ("real", "float4", "float"):
        return ["REAL", "float"]
    if text in ("text", "string"):
        return ["TEXT", "str"]
    match = re.fullmatch(r"(?:varchar|character varying)(\((\d+)\))?", text)
    if match:
        return [f"VARCHAR({match.group(2)})" if match.group(2) else "VARCHAR", "str"]
    if text == "date":
        return ["DATE", "date"]
    if text in ("timestamp", "timestamp without time zone"):
        return ["TIMESTAMP WITHOUT TIME ZONE", "datetime"]
    if text in ("timestamptz", "timestamp with time zone"):
        return ["TIMESTAMP WITH TIME ZONE", "datetime"]
    if text in ("boolean", "bool"):
        return ["BOOLEAN", "bool"]
    raise ValueError(f"no data quality mapping for the contract type {data_type!r}: add it to contract_type_list")


def _families(type_list: list[str]) -> set[str]:
    return {name for name in type_list if name in PYTHON_FAMILIES}


def dtype_in_families(dtype, families: set[str]) -> bool:
    """Whether a (non-object) pandas dtype belongs to one of the Python type families."""
    arrow = dtype.pyarrow_dtype if isinstance(dtype, pd.ArrowDtype) else None
    api = pd.api.types
    checks = {
        "int": lambda: api.is_integer_dtype(dtype) and not api.is_bool_dtype(dtype),
        "float": lambda: api.is_float_dtype(dtype),
        "Decimal": lambda: arrow is not None and pa.types.is_decimal(arrow),
        "str": lambda: api.is_string_dtype(dtype) and (arrow is None or pa.types.is_string(arrow)),
        "date": lambda: (
            api.is_datetime64_dtype(dtype)
            or (arrow is not None and (pa.types.is_date(arrow) or pa.types.is_timestamp(arrow)))
        ),
        "datetime": lambda: api.is_datetime64_any_dtype(dtype) or (arrow is not None and pa.types.is_timestamp(arrow)),
        "bool": lambda: api.is_bool_dtype(dtype),
    }
    return any(checks[family]() for family in families)


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int, np.integer),
    "float": (float, np.floating),
    "Decimal": (decimal.Decimal,),
    "str": (str,),
    "date": (datetime.date,),  # a datetime is a date too: pandas gives Timestamps for dates
    "datetime": (datetime.datetime,),
    "bool": (bool, np.bool_),
}


# What a table-level type check reports for each column that fails it (a plain dict: GX stores it as JSON).
EXAMPLE_VALUES = 3


def _object_column_problem(column: pd.Series, families: set[str]) -> dict | None:
    """Row by row, for an object column: the values not of the families' Python types (nulls pass)."""
    allowed = tuple(t for family in families for t in _PYTHON_TYPES[family])
    excluded = (bool, np.bool_) if "bool" not in families else ()
    values = column[column.notna()]
    wrong = values[[not (isinstance(v, allowed) and not isinstance(v, excluded)) for v in values]]
    if wrong.empty:
        return None
    return {
        "observed": None,
        "unexpected_count": len(wrong),
        "element_count": len(column),
        "examples": [str(v) for v in wrong.head(EXAMPLE_VALUES)],
    }


class TableContractTypeProblems(TableMetricProvider):
    """Each column of ``column_types`` (column -> type list) that does not have its type: what was found.
    A column the table lacks is reported as missing (the columns check says so too)."""

    metric_name = "table.contract_type_problems"
    value_keys = ("column_types",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration):
        frame, _, _ = execution_engine.get_compute_domain(metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
        problems: dict[str, dict] = {}
        for column, type_list in metric_value_kwargs["column_types"].items():
            if column not in frame.columns:
                problems[column] = {"missing": True}
                continue
            families = _families(type_list)
            dtype = frame[column].dtype
            if pd.api.types.is_object_dtype(dtype):
                problem = _object_column_problem(frame[column], families)
                if problem is not None:
                    problems[column] = problem
            elif not dtype_in_families(dtype, families):
                problems[column] = {"observed": str(dtype)}
        return problems

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration):
        found = {str(c["name"]): c["type"] for c in metrics["table.column_types"]}
        problems: dict[str, dict] = {}
        for column, type_list in metric_value_kwargs["column_types"].items():
            if column not in found:
                problems[column] = {"missing": True}
                continue
            success, observed = compare_column_type_list(execution_engine, found[column], type_list)
            if not success:
                problems[column] = {"observed": str(observed)}
        return problems

    @classmethod
    def _get_evaluation_dependencies(
        cls, metric, configuration=None, execution_engine=None, runtime_configuration=None
    ) -> dict:
        dependencies = super()._get_evaluation_dependencies(
            metric=metric,
            configuration=configuration,
            execution_engine=execution_engine,
            runtime_configuration=runtime_configuration,
        )
        if isinstance(execution_engine, SqlAlchemyExecutionEngine):
            dependencies["table.column_types"] = MetricConfiguration(
                metric_name="table.column_types",
                metric_domain_kwargs={k: v for k, v in metric.metric_domain_kwargs.items() if k != "column"},
                metric_value_kwargs={"include_nested": True},
            )
        return dependencies


class ExpectTableColumnsToHaveContractTypes(BatchExpectation):
    """Every column has the type its dbt contract declares: exactly on PostgreSQL, by family on pandas.

    ``column_types``: column -> :func:`contract_type_list` of its contract type. The result's
    ``observed_value`` maps each failing column to what was found.
    """

    column_types: dict[str, list[str]]

    metric_dependencies = ("table.contract_type_problems",)
    success_keys = ("column_types",)
    args_keys = ("column_types",)

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        problems = metrics["table.contract_type_problems"]
        return {"success": not problems, "result": {"observed_value": problems}}
