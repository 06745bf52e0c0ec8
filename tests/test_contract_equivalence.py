"""The SQL that ingest compiles from the pandera schemas flags exactly what pandera itself flags.

For every contract entity, hypothesis draws tables of typed values, valid and invalid alike; the table
goes through the real ingest (CSV -> DuckDB -> compiled checks) and, separately, through
``schema.validate(lazy=True)``. The two sets of (row, column, check) failures must be equal.

The same holds for a file exported by another system and read through a source mapping: every column
renamed, coded values in the export's spelling mapped back, dates in a US layout, amounts with a euro
sign and ratings with their scale labels (pipeline.ingest.mapping).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.contract import CONTRACTS, EntityContract
from pipeline.ingest.loader import ingest_entity
from tests.conftest import Landing

EXTRACT = dt.date(2025, 3, 31)
REGEX_EXAMPLES = {"driver_.+": ["driver_quality", "driver_ease"]}


def _values(name: str, column: pa.Column) -> st.SearchStrategy:
    """Typed values for one column: mostly plausible, often broken, sometimes empty."""
    logical = column.metadata["logical"]
    checks = {c.name: c for c in column.checks}
    empty = st.none()
    if name.endswith("_id") or name in ("line_no",):
        pool = st.sampled_from(["K1", "K2", "K3", "K4", "K5"]) if logical == "text" else st.integers(0, 6)
        return st.one_of(pool, empty) if logical == "text" else pool
    if "isin" in checks:
        return st.one_of(st.sampled_from([*checks["isin"].statistics["allowed_values"], "other"]), empty)
    if "str_matches" in checks:
        return st.one_of(st.sampled_from(["FI", "SE", "fin", "X1"]), empty)
    if "valid_business_id" in checks:
        return st.one_of(st.sampled_from(["0112038-9", "0737546-2", "1234567-8", "0112038-8", "abc"]), empty)
    if logical == "text":
        return st.one_of(st.sampled_from(["Oy Ab", "Äänekoski", "x"]), empty)
    if logical in ("date", "month"):
        day = st.sampled_from([1, 15]) if logical == "month" else st.integers(1, 28)
        return st.one_of(st.builds(lambda m, d: dt.date(2025, m, d), st.integers(1, 6), day), empty)
    if logical == "integer":
        return st.one_of(st.integers(-2, 12), st.sampled_from([100_001, 20_000_000]), empty)
    if logical == "money":
        return st.one_of(
            st.sampled_from([-20_000_000.0, -12.5, 0.0, 99.99, 123456.78, 2_000_000_000.0, 20_000_000.0]), empty
        )
    if logical == "bool":
        return st.one_of(st.booleans(), empty)
    raise AssertionError(f"no strategy for {logical}")


def _columns(contract: EntityContract) -> dict[str, pa.Column]:
    columns = {}
    for name, column in contract.schema(EXTRACT).columns.items():
        for concrete in REGEX_EXAMPLES.get(name, [name]):
            columns[concrete] = column
    return columns


@st.composite
def tables(draw, contract: EntityContract) -> list[dict[str, object]]:
    columns = _columns(contract)
    n = draw(st.integers(1, 12))
    return [{name: draw(_values(name, col)) for name, col in columns.items()} for _ in range(n)]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _typed_frame(contract: EntityContract, rows: list[dict[str, object]]) -> pd.DataFrame:
    columns = _columns(contract)
    frame = pd.DataFrame(rows, index=range(1, len(rows) + 1))
    for name, column in columns.items():
        logical = column.metadata["logical"]
        if logical in ("date", "month"):
            frame[name] = pd.to_datetime(frame[name])
        elif logical == "integer":
            frame[name] = frame[name].astype("Int64")
        elif logical == "money":
            frame[name] = frame[name].astype(float)
        elif logical == "bool":
            frame[name] = frame[name].astype("boolean")
        else:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        default = column.metadata.get("default")
        if default:
            frame[name] = frame[name].fillna(default)
    return frame


def _pandera_failures(contract: EntityContract, frame: pd.DataFrame) -> set[tuple[int, str, str]]:
    schema = contract.schema(EXTRACT)
    names_by_label: dict[str, str] = {}
    for column in schema.columns.values():
        for check in column.checks:
            names_by_label[check.error or str(check)] = check.name
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return set()
    found = set()
    for case in cases.itertuples():
        if case.index is None or (isinstance(case.index, float) and math.isnan(case.index)):
            continue  # frame-level notes (e.g. dtype of a whole column) carry no row
        label = str(case.check)
        name = names_by_label.get(label, re.sub(r"\(.*$", "", label))
        if name in ("multiple_fields_uniqueness", "field_uniqueness"):
            name, column = "duplicate_key", ", ".join(contract.key)
        else:
            column = case.column
        found.add((int(case.index), column, name))
    return found


def _expected(contract: EntityContract, rows: list[dict[str, object]]) -> set[tuple[int, str, str]]:
    frame = _typed_frame(contract, rows)
    found = {f for f in _pandera_failures(contract, frame) if f[2] != "duplicate_key"}
    # Uniqueness is judged among rows that pass every other check (see pipeline.ingest.validation).
    failing_rows = {f[0] for f in found}
    clean = frame.drop(index=sorted(failing_rows))
    if len(clean):
        found |= {f for f in _pandera_failures(contract, clean) if f[2] == "duplicate_key"}
    return found


def _exported(name: str, column: pa.Column, value: object) -> str:
    """A value as another system exports it: the form the mapping of ``_mapping`` reads back."""
    logical = column.metadata["logical"]
    if value is None:
        return ""
    if logical in ("date", "month"):
        return value.strftime("%m/%d/%Y")  # type: ignore[attr-defined]
    if logical == "money":
        return f"{value:.2f} €"
    if logical == "enum":
        return str(value).title()
    if logical == "integer" and any(c.name == "in_range" for c in column.checks) and name != "line_no":
        return f"{value} - label"
    return _text(value)


def _mapping(contract: EntityContract) -> str:
    columns: dict[str, object] = {}
    for name, column in _columns(contract).items():
        logical = column.metadata["logical"]
        rule: dict[str, object] = {"from": f"Export {name}"}
        if logical in ("date", "month"):
            rule["date_format"] = "%m/%d/%Y"
        elif logical == "money":
            rule["strip"] = ["€"]
        elif logical == "enum":
            allowed = next(c for c in column.checks if c.name == "isin").statistics["allowed_values"]
            rule["values"] = {value.title(): value for value in allowed}
        elif logical == "integer" and name != "line_no" and any(c.name == "in_range" for c in column.checks):
            rule["scale_labels"] = True
        columns[name] = rule
    document = {
        "system": "property test",
        "source": contract.source,
        "files": [{"match": f"export-{contract.entity}-*.csv", "entity": contract.entity, "columns": columns}],
    }
    return yaml.safe_dump(document, allow_unicode=True)


def _ingested_failures(
    contract: EntityContract, rows: list[dict[str, object]], *, mapped: bool = False
) -> set[tuple[int, str, str]]:
    with tempfile.TemporaryDirectory() as root:
        zone = Landing(Path(root))
        columns = _columns(contract)
        header = list(columns)
        if mapped:
            zone.write_mapping("export.yml", _mapping(contract))
            zone.write_csv(
                f"{contract.source}/export-{contract.entity}-{EXTRACT:%Y-%m-%d}.csv",
                [[f"Export {c}" for c in header]]
                + [[_exported(c, columns[c], row[c]) for c in header] for row in rows],
            )
        else:
            zone.write_csv(
                f"{contract.source}/{contract.entity}_{EXTRACT:%Y%m%d}.csv",
                [header] + [[_text(row[c]) for c in header] for row in rows],
            )
        ingest_entity(
            zone.conn,
            contract,
            zone.landing,
            "run",
            max_quarantine_share=1.0,
            tmp_dir=Path(root),
            mappings_dir=zone.landing / "mappings",
        )
        found = set(zone.rows("select row_number, column_name, check_name from quarantine.rejected_rows"))
        zone.conn.close()
    return found


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: f"{c.source}/{c.entity}")
def test_compiled_sql_flags_exactly_what_pandera_flags(contract):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=tables(contract))
    def check(rows):
        assert _ingested_failures(contract, rows) == _expected(contract, rows)

    check()


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: f"{c.source}/{c.entity}")
def test_a_mapped_export_is_flagged_exactly_as_pandera_flags_the_values_it_carries(contract):
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=tables(contract))
    def check(rows):
        assert _ingested_failures(contract, rows, mapped=True) == _expected(contract, rows)

    check()


def test_every_check_in_the_contract_compiles_to_sql():
    from pipeline.ingest.validation import SQL_TYPE, check_predicate

    for contract in CONTRACTS:
        for column in contract.schema(EXTRACT).columns.values():
            sql_type = SQL_TYPE[column.metadata["logical"]]
            for check in column.checks:
                predicate, words = check_predicate(check, '"value"')
                duckdb.sql(f"select {predicate} from (select cast(null as {sql_type}) as value)").fetchall()
                assert words
