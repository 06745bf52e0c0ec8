"""Contract types as a Great Expectations expectation that holds on pandas frames and on PostgreSQL tables.

GX's ``expect_column_values_to_be_in_type_list`` compares a pandas column's dtype with numpy/pandas type
names, which cannot name pandas 3's default string dtype (``str``), Arrow-backed dtypes or an object
column of ``Decimal``; on PostgreSQL it compares the reflected type's text (``NUMERIC(18, 6)``,
``TIMESTAMP WITHOUT TIME ZONE``) case-insensitively. ``ExpectColumnValuesToHaveContractType`` keeps the
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
from typing import ClassVar

import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
import pyarrow as pa
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

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


class ColumnValuesOfContractType(ColumnMapMetricProvider):
    """Row by row, for pandas object columns: is each non-null value of one of the families' Python types?"""

    condition_metric_name = "column_values.of_contract_type"
    condition_value_keys = ("type_list",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, type_list, **kwargs):
        families = _families(type_list)
        allowed = tuple(t for family in families for t in _PYTHON_TYPES[family])
        excluded = (bool, np.bool_) if "bool" not in families else ()

        def ok(value) -> bool:
            return isinstance(value, allowed) and not isinstance(value, excluded)

        return column.map(ok)


class ExpectColumnValuesToHaveContractType(gxe.ExpectColumnValuesToBeInTypeList):
    """The column has the type its dbt contract declares: exactly on PostgreSQL, by family on pandas."""

    map_metric: ClassVar[str] = "column_values.of_contract_type"

    def _validate_pandas(self, actual_column_type, expected_types_list):
        families = _families(expected_types_list or [])
        return {
            "success": dtype_in_families(actual_column_type, families),
            "result": {"observed_value": str(actual_column_type)},
        }
