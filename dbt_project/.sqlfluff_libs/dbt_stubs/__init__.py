"""Stand-ins for the few dbt context members the project's macros use, for sqlfluff's jinja templater.

sqlfluff lints the SQL rendered from the templates; dbt itself is not run. Everything here is exported into
the jinja context (see library_path in dbt_project/.sqlfluff) and wins over sqlfluff's own dbt builtins:

- ``env_var``: its default (within_partition_months reads the monthly window from the environment; the
  linter renders the open window whatever the shell it runs in has set);
- ``var``: the real values from dbt_project.yml (sqlfluff's stand-in returns the string "item", which
  breaks macros that compute with a var, e.g. size_band_labels);
- ``dbt``: the cross-database macros the models call (date_trunc, dateadd, datediff, hash, type_*) rendered
  as DuckDB SQL;
- ``execute``, ``adapter``: stg_survey__driver_ratings's column discovery (two made-up driver columns) and
  ``adapter.dispatch`` (the dispatched macros of macros/engines.sql, retention.sql and portable_dates.sql);
- ``modules``, ``exceptions``, ``target``: what within_partition_months and generate_schema_name touch.

Linting only: nothing of this reaches dbt.
"""

import re as _re
from pathlib import Path as _Path

import yaml as _yaml

_PROJECT = _Path(__file__).resolve().parents[2] / "dbt_project.yml"
_VARS = (_yaml.safe_load(_PROJECT.read_text()) or {}).get("vars", {}) or {}


def env_var(name, default=""):
    """dbt's env_var(), as if the variable were unset: the same rendering on every machine."""
    return default


def var(name, default=None):
    """dbt's var(): the value from dbt_project.yml, else the default."""
    return _VARS.get(name, default)


class _Dbt:
    """The dbt namespace's cross-database date macros, as dbt-duckdb renders them (roughly)."""

    @staticmethod
    def date_trunc(datepart, date):
        return f"date_trunc('{datepart}', {date})"

    @staticmethod
    def dateadd(datepart, interval, from_date_or_timestamp):
        return f"({from_date_or_timestamp} + ({interval}) * interval 1 {datepart})"

    @staticmethod
    def datediff(first_date, second_date, datepart):
        return f"date_diff('{datepart}', {first_date}, {second_date})"

    @staticmethod
    def hash(field):
        return f"md5(cast({field} as varchar))"

    @staticmethod
    def type_string():
        return "varchar"

    @staticmethod
    def type_bigint():
        return "bigint"


class _Column:
    def __init__(self, name):
        self.name = name


class _Adapter:
    """get_columns_in_relation: two driver columns, so stg_survey__driver_ratings renders its loop."""

    @staticmethod
    def get_columns_in_relation(relation):
        return [_Column("response_id"), _Column("driver_price"), _Column("driver_service")]

    @staticmethod
    def dispatch(macro_name, macro_namespace=None):
        """A dispatched macro renders as its DuckDB value where it has no argument (macros/engines.sql: a
        type, a config) and otherwise as a cast of its first argument (macros/retention.sql,
        months_between): an expression of the same place in the SQL, which is all the linter needs."""
        if macro_name in _DUCKDB_VALUES:
            return lambda *args, **kwargs: _DUCKDB_VALUES[macro_name]
        return lambda *args, **kwargs: f"cast({args[0]} as varchar)"


_DUCKDB_VALUES = {
    "type_double": "double precision",
    "monthly_incremental_strategy": "delete+insert",
    "monthly_partition_by": None,
    "keyed_incremental_materialization": "incremental",
}


class _Modules:
    re = _re


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message):
        raise RuntimeError(message)


class _Target:
    schema = "main"
    name = "lint"
    type = "duckdb"


execute = True
adapter = _Adapter()
dbt = _Dbt()
modules = _Modules()
exceptions = _Exceptions()
target = _Target()
