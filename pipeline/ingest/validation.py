"""Compile the pandera contract into DuckDB SQL: typing, checks and key uniqueness in one engine.

Why not ``schema.validate(df)``: the 100,000-account company has tens of millions of event rows, and
row-wise validation in pandas would take many times DuckDB's own load time and memory. The schemas in
:mod:`pipeline.contract` stay the single source of truth; this module translates each column's logical
type, ``nullable`` flag and checks (by their pandera name and statistics) into SQL predicates. A check
this module cannot translate is an error at compile time, never silently skipped, and
``tests/test_contract_equivalence.py`` checks that the SQL flags exactly what pandera flags.

Parsing text exports is part of typing: decimal comma or point (decided per file from the values),
thousands separators, dates in ISO, Finnish (D.M.YYYY) or D/M/YYYY form (an ISO instant with its zone as
its Helsinki date), booleans in English, Finnish or Swedish.
A non-empty value that does not parse is a failure of check ``dtype``, never a silent null.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandera.pandas as pa

from pipeline.contract import BUSINESS_ID_WEIGHTS, EntityContract

DATE_FORMATS = (
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",  # fractions of a second, any number of digits up to six
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d",
)
# An instant written with its zone (Salesforce's 2024-03-05T10:22:00.000Z, an ISO offset +02:00): read as
# the Helsinki date it falls on, as a Parquet timestamp with a time zone is.
INSTANT_WITH_ZONE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"  # date and time
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)"  # the zone
)
# Yes and no as English, Finnish and Swedish exports write them (any case).
TRUE_WORDS = ("true", "t", "1", "yes", "y", "kyllä", "k", "tosi", "ja", "sant", "x")
FALSE_WORDS = ("false", "f", "0", "no", "n", "ei", "e", "epätosi", "nej", "falskt")
LOCAL_TIME_ZONE = "Europe/Helsinki"  # DESIGN.md: months and dates are Helsinki dates

SQL_TYPE = {
    "text": "varchar",
    "enum": "varchar",
    "date": "date",
    "month": "date",
    "integer": "bigint",
    "money": "decimal(18,2)",
    "bool": "boolean",
}
TYPE_WORDS = {
    "date": "not a date (YYYY-MM-DD, D.M.YYYY or D/M/YYYY)",
    "month": "not a month (YYYY-MM or a date)",
    "integer": "not a whole number (or too large to store)",
    "money": "not an amount",
    "bool": "not a yes/no value",
}


@dataclass(frozen=True)
class ColumnPlan:
    """One contract column as it appears (or not) in one file."""

    name: str
    logical: str
    required: bool
    checks: tuple[pa.Check, ...]
    default: str | None
    case: str | None
    physical_type: str | None  # None: the file does not have this column

    @property
    def present(self) -> bool:
        return self.physical_type is not None

    @property
    def sql_type(self) -> str:
        return SQL_TYPE[self.logical]


@dataclass(frozen=True)
class FilePlan:
    columns: tuple[ColumnPlan, ...]
    extras: tuple[str, ...]  # columns outside the contract: kept as text
    missing_required: tuple[str, ...]
    key: tuple[str, ...]


def plan_file(contract: EntityContract, extract_date: dt.date, file_columns: dict[str, str]) -> FilePlan:
    schema = contract.schema(extract_date)
    plans: list[ColumnPlan] = []
    claimed: set[str] = set()
    for name, col in schema.columns.items():
        meta = col.metadata or {}
        matches = [c for c in file_columns if re.fullmatch(name, c)] if col.regex else [name]
        for match in matches:
            claimed.add(match)
            plans.append(
                ColumnPlan(
                    name=match,
                    logical=meta["logical"],
                    required=not col.nullable,
                    checks=tuple(col.checks),
                    default=meta.get("default"),
                    case=meta.get("case"),
                    physical_type=file_columns.get(match),
                )
            )
    missing = tuple(p.name for p in plans if p.required and not p.present)
    extras = tuple(c for c in file_columns if c not in claimed)
    return FilePlan(tuple(plans), extras, missing, contract.key)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


# --- typing -----------------------------------------------------------------------------------------


def decimal_evidence_sql(table: str, columns: list[str]) -> str:
    """Counts of values that can only be decimal-comma, and only decimal-point, numbers."""
    comma = r"^[+-]?[0-9]+(\.[0-9]{3})*,([0-9]{1,2}|[0-9]{4,})$|^[+-]?[0-9]{1,3}(\.[0-9]{3})+,[0-9]+$"
    point = r"^[+-]?[0-9]+(,[0-9]{3})*\.([0-9]{1,2}|[0-9]{4,})$|^[+-]?[0-9]{1,3}(,[0-9]{3})+\.[0-9]+$"
    parts = [
        f"count(*) filter (where regexp_matches(trim({quote(c)}), {literal(pattern)}))"
        for pattern in (comma, point)
        for c in columns
    ]
    half = len(columns)
    return f"select {' + '.join(parts[:half]) or '0'} as comma, {' + '.join(parts[half:]) or '0'} as point from {table}"


# Names of the working columns of the checked table; a file's own column must not look like one.
WORKING_PREFIXES = ("_raw_", "_compact_", "_number_")


def _raw(col: ColumnPlan) -> str:
    return quote("_raw_" + col.name)


def _compact(col: ColumnPlan) -> str:
    return quote("_compact_" + col.name)


def _number(col: ColumnPlan) -> str:
    return quote("_number_" + col.name)


def raw_value_expression(col: ColumnPlan) -> str:
    """The value as the file had it: blank text counts as empty. Typed columns (Parquet) stay typed:
    turning millions of values into text only to report the few failures would dominate the cost."""
    if (col.physical_type or "").upper() == "VARCHAR":
        return f"nullif(trim({quote(col.name)}), '')"
    return quote(col.name)


def _raw_is_typed(col: ColumnPlan) -> bool:
    """Plain text read as text: the typed value is the raw value, so it is not stored twice."""
    return (
        col.present
        and col.logical == "text"
        and col.case is None
        and not col.default
        and (col.physical_type or "").upper() == "VARCHAR"
    )


def _parses_numbers(col: ColumnPlan) -> bool:
    return col.present and col.logical in ("integer", "money") and (col.physical_type or "").upper() == "VARCHAR"


def number_text_expression(col: ColumnPlan, decimal: str) -> str:
    """SQL turning an export's number text into a plain ``-1234.5`` text, or null when it is not one."""
    compact = _compact(col)
    if decimal == "comma":
        return (
            f"case when regexp_full_match({compact}, '[+-]?[0-9]+(,[0-9]+)?') then replace({compact}, ',', '.') "
            f"when regexp_full_match({compact}, '[+-]?[0-9]{{1,3}}(\\.[0-9]{{3}})+(,[0-9]+)?') "
            f"then replace(replace({compact}, '.', ''), ',', '.') end"
        )
    return (
        f"case when regexp_full_match({compact}, '[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?') "
        f"then {compact} "
        f"when regexp_full_match({compact}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?') "
        f"then replace({compact}, ',', '') end"
    )


def typed_expression(col: ColumnPlan) -> str:
    """The typed value, from the columns the earlier steps of the checked table computed."""
    if not col.present:
        return f"cast({literal(col.default) if col.default else 'null'} as {col.sql_type})"
    raw = _raw(col)
    is_text = (col.physical_type or "").upper() == "VARCHAR"
    logical = col.logical
    if logical in ("text", "enum"):
        text = raw if is_text else f"nullif(trim(cast({raw} as varchar)), '')"
        if col.case == "lower":
            text = f"lower({text})"
        elif col.case == "upper":
            text = f"upper({text})"
        return f"coalesce({text}, {literal(col.default)})" if col.default else text
    if logical in ("date", "month"):
        if (col.physical_type or "").upper() == "TIMESTAMP WITH TIME ZONE":
            # An instant: its date is the Helsinki date (DESIGN.md), not the server's time zone's.
            return f"cast(timezone({literal(LOCAL_TIME_ZONE)}, {raw}) as date)"
        if not is_text:
            return f"try_cast({raw} as date)"
        formats = "[" + ", ".join(literal(f) for f in DATE_FORMATS) + "]"
        instant = (
            f"case when length({raw}) > 16 and regexp_full_match({raw}, {literal(INSTANT_WITH_ZONE)}) "
            f"then cast(timezone({literal(LOCAL_TIME_ZONE)}, try_cast({raw} as timestamptz)) as date) end"
        )
        parsed = f"coalesce({instant}, cast(try_strptime({raw}, {formats}) as date))"
        if logical == "month":
            parsed = f"coalesce({parsed}, cast(try_strptime({raw}, '%Y-%m') as date))"
        return parsed
    if logical == "integer":
        number = f"try_cast({_number(col)} as double)" if is_text else f"try_cast({raw} as double)"
        # try_cast: NaN, infinities and values beyond 64 bits are a dtype failure, not a crash of the run.
        return f"case when {number} = trunc({number}) then try_cast({number} as bigint) end"
    if logical == "money":
        if not is_text:
            return f"try_cast({raw} as decimal(18,2))"
        number = _number(col)
        # Exact decimal text first; exponent notation (1e3) through double.
        return f"coalesce(try_cast({number} as decimal(18,2)), try_cast(try_cast({number} as double) as decimal(18,2)))"
    if logical == "bool":
        if not is_text:
            return f"try_cast({raw} as boolean)"
        words = f"lower({raw})"
        return (
            f"case when {words} in ({', '.join(map(literal, TRUE_WORDS))}) then true "
            f"when {words} in ({', '.join(map(literal, FALSE_WORDS))}) then false end"
        )
    raise NotImplementedError(f"no SQL typing for logical type {logical}")


# --- checks -----------------------------------------------------------------------------------------


def _business_id_predicate(value: str) -> str:
    # try_cast: SQL does not short-circuit, so the checksum is computed even where the format fails.
    digits = [f"try_cast(substr({value}, {i + 1}, 1) as integer)" for i in range(7)]
    weighted = " + ".join(f"{w} * {d}" for w, d in zip(BUSINESS_ID_WEIGHTS, digits, strict=True))
    check_digit = f"try_cast(substr({value}, 9, 1) as integer)"
    remainder = f"(({weighted}) % 11)"
    return (
        f"(regexp_full_match({value}, '[0-9]{{7}}-[0-9]') and case {remainder} "
        f"when 0 then {check_digit} = 0 when 1 then false else {check_digit} = 11 - {remainder} end)"
    )


def check_predicate(check: pa.Check, value: str) -> tuple[str, str]:
    """(SQL predicate that holds for a valid non-null ``value``, the rule in words)."""
    stats = check.statistics or {}
    name = check.name
    if name == "in_range":
        low = ">=" if stats.get("include_min", True) else ">"
        high = "<=" if stats.get("include_max", True) else "<"
        return (
            f"({value} {low} {literal(stats['min_value'])} and {value} {high} {literal(stats['max_value'])})",
            f"outside {stats['min_value']}..{stats['max_value']}",
        )
    if name == "isin":
        allowed = stats["allowed_values"]
        return f"{value} in ({', '.join(map(literal, allowed))})", f"not one of: {', '.join(map(str, allowed))}"
    if name == "str_matches":
        pattern = stats["pattern"]
        anchored = pattern if pattern.startswith("^") else "^" + pattern  # pandera uses re.match
        return f"regexp_matches({value}, {literal(anchored)})", f"does not match {pattern}"
    comparisons = {
        "greater_than_or_equal_to": ">=",
        "greater_than": ">",
        "less_than_or_equal_to": "<=",
        "less_than": "<",
    }
    if name in comparisons:
        bound = stats.get("min_value", stats.get("max_value"))
        return f"{value} {comparisons[name]} {literal(bound)}", f"must be {comparisons[name]} {bound}"
    if name == "valid_business_id":
        return _business_id_predicate(value), check.error or name
    if name == "not_after_extract_date":
        return f"{value} <= {literal(stats['extract_date'])}", check.error or name
    if name == "first_day_of_month":
        return f"day({value}) = 1", check.error or name
    raise NotImplementedError(f"check {name!r} has no SQL translation: add one to pipeline.ingest.validation")


@dataclass(frozen=True)
class Failure:
    column: str
    check: str
    reason: str
    predicate: str  # holds for the failing rows of the typed table
    value: str  # SQL for the offending value as text


def failures(plan: FilePlan) -> list[Failure]:
    """Every way a row can break the contract, as predicates over the typed table."""
    found: list[Failure] = []
    for col in plan.columns:
        typed = quote(col.name)
        raw = typed if _raw_is_typed(col) else _raw(col)
        value = f"cast({raw} as varchar)"
        if col.present and col.logical not in ("text", "enum"):
            found.append(
                Failure(col.name, "dtype", TYPE_WORDS[col.logical], f"{raw} is not null and {typed} is null", value)
            )
        if col.required:
            found.append(Failure(col.name, "not_nullable", "required value is empty", f"{raw} is null", value))
        for check in col.checks:
            predicate, words = check_predicate(check, typed)
            # coalesce: a predicate that cannot be evaluated on a value does not pass it.
            found.append(
                Failure(
                    col.name,
                    check.name or "check",
                    words,
                    f"{typed} is not null and not coalesce({predicate}, false)",
                    value,
                )
            )
    return found


def checked_table_sql(plan: FilePlan, stage: str, target: str, decimal: str) -> str:
    """The typed table: contract columns typed, their raw values kept for the quarantine, extras as text.

    Built in steps (raw value, compacted text, number text, typed value) so that each parse runs once
    per value: written as one nested expression, the number parsing would be repeated many times.
    """
    numeric = [col for col in plan.columns if _parses_numbers(col)]
    raw_values = (
        ["_sheet", "_row_number"]
        + [f"{raw_value_expression(col)} as {_raw(col)}" for col in plan.columns if col.present]
        + [f"cast({quote(e)} as varchar) as {quote(e)}" for e in plan.extras]
    )
    compacted = ["*"] + [
        f"replace(replace(replace({_raw(col)}, ' ', ''), chr(160), ''), chr(8239), '') as {_compact(col)}"
        for col in numeric
    ]
    numbers = ["*"] + [f"{number_text_expression(col, decimal)} as {_number(col)}" for col in numeric]
    typed = ["_sheet", "_row_number"]
    for col in plan.columns:
        typed.append(f"{typed_expression(col)} as {quote(col.name)}")
        if not _raw_is_typed(col):
            typed.append(f"{_raw(col) if col.present else 'cast(null as varchar)'} as {_raw(col)}")
    typed += [quote(e) for e in plan.extras]
    return (
        f"create temp table {target} as "
        f"with raw_values as (select {', '.join(raw_values)} from {stage}), "
        f"compacted as (select {', '.join(compacted)} from raw_values), "
        f"numbers as (select {', '.join(numbers)} from compacted) "
        f"select {', '.join(typed)} from numbers"
    )


def failures_sql(plan: FilePlan, checked: str, target: str) -> list[str]:
    """Statements that fill ``target`` with one row per (row, column, check) failure.

    Every check is evaluated in one pass over the rows (a list of the row's failures, unnested), not
    one pass per check. Key uniqueness is judged among rows that pass every other check: a broken
    later copy must not push out a good earlier one. Among those, the later row wins, as a later drop
    would.
    """
    found = failures(plan)
    if found:
        items = ", ".join(
            f"case when {f.predicate} then {{'column_name': {literal(f.column)}, 'check_name': {literal(f.check)}, "
            f"'reason': {literal(f.reason)}, 'value': {f.value}}} end"
            for f in found
        )
        any_failure = " or ".join(f"({f.predicate})" for f in found)
        first = f"""
            create temp table {target} as
            select _sheet, _row_number, failure.column_name, failure.check_name, failure.reason, failure.value
            from (
                select _sheet, _row_number, unnest(list_filter([{items}], lambda item: item is not null)) as failure
                from {checked}
                where {any_failure}
            )
        """
    else:
        first = (
            f"create temp table {target} as select _sheet, _row_number, '' as column_name, '' as check_name, "
            f"'' as reason, '' as value from {checked} where false"
        )
    keys = [quote(k) for k in plan.key]
    key_text = " || '|' || ".join(f"cast({k} as varchar)" for k in keys)
    passing = f"""
        {" and ".join(f"{k} is not null" for k in keys)}
        and not exists (select 1 from {target} as f where {same_row("f", "c")})
    """
    # Find the repeated keys with a hash aggregate first; only their rows need ordering.
    duplicates = f"""
        insert into {target}
        with repeated_keys as (
            select {", ".join(keys)} from {checked} as c where {passing}
            group by all having count(*) > 1
        )
        select _sheet, _row_number, {literal(", ".join(plan.key))}, 'duplicate_key',
               'the same key comes again later in the file; the later row is kept', {key_text}
        from (
            select c.*, row_number() over (
                partition by {", ".join(f"c.{k}" for k in keys)} order by c._sheet desc nulls last, c._row_number desc
            ) as copy_from_the_end
            from {checked} as c
            semi join repeated_keys as r on {" and ".join(f"c.{k} = r.{k}" for k in keys)}
            where {passing}
        )
        where copy_from_the_end > 1
    """
    return [first, duplicates]


def same_row(left: str, right: str) -> str:
    """Join condition for "the same row of the file"; equality on both parts keeps it a hash join."""
    return f"{left}._row_number = {right}._row_number and coalesce({left}._sheet, '') = coalesce({right}._sheet, '')"


def raw_table_columns(plan: FilePlan) -> dict[str, str]:
    """Columns the raw table needs for this file: contract columns typed, extras as text."""
    columns = {col.name: col.sql_type for col in plan.columns}
    columns.update({extra: "varchar" for extra in plan.extras})
    return columns
