"""Source mappings: a source system's exports read as the contract, declared in YAML instead of a script.

One file per source system (``$PIPELINE_MAPPINGS_DIR/*.yml``, by default ``<landing>/mappings/``) says
which of its exports are which contract entity and how their columns become the contract's: renames,
constants, simple derivations, value maps and per-column parsing. docs/ingest.md documents the format;
``mappings/presets/`` has examples to copy.

A mapping compiles into one DuckDB view between the reader and the contract's validation, so mapped files
are typed, checked, quarantined and counted exactly as contract-named files are (read = loaded +
quarantined), with no row-by-row Python. A transform that does not apply to a value (a date in another
format, a value the map does not list) passes the value on as it was: the contract's checks then judge it,
and the quarantine shows it as the file had it. The ledger records the mapping and its SHA-256 per file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.contract import CONTRACTS, EntityContract, contract_for
from pipeline.ingest.readers import ReadFile, ReadOptions, UnreadableFileError, normalise_column_name
from pipeline.ingest.validation import FALSE_WORDS, TRUE_WORDS, literal, quote

SOURCES = tuple(sorted({c.source for c in CONTRACTS}))
# A leading scale point with its label, as survey tools export them: "10 - Erittäin todennäköisesti".
SCALE_POINT = r"^\s*([+-]?[0-9]+)\s*([-–—:.)]|\s)\s*\D"


class MappingError(Exception):
    """An invalid mapping file: the message names the file, the line and the problem."""

    def __init__(self, file: str, line: int | None, problem: str):
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {problem}")
        self.file, self.line, self.problem = file, line, problem


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class ColumnRule(BaseModel):
    """How one contract column is filled. In the file, ``account_id: Record ID`` is short for
    ``account_id: {from: Record ID}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: str | None = Field(None, alias="from", description="the export's column, as its header spells it")
    constant: str | int | float | bool | None = Field(None, description="the same value on every row")
    strip: tuple[str, ...] = Field((), description="text removed first, any case: currency and percent signs")
    scale_labels: bool = Field(False, description="'10 - Very likely' reads as 10")
    values: dict[str, str | int | bool] | None = Field(None, description="export value -> contract value")
    date_format: tuple[str, ...] = Field((), description="strptime formats tried before the contract's own")
    when_present: str | int | bool | None = Field(None, description="the value where the column is not empty")
    when_empty: str | int | bool | None = Field(None, description="the value where it is empty")

    _as_tuples = field_validator("strip", "date_format", mode="before")(_as_list)

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnRule:
        if (self.source is None) == (self.constant is None):
            raise ValueError("give exactly one of `from` (a column of the export) and `constant`")
        if self.constant is not None and (
            self.strip or self.scale_labels or self.values or self.date_format or self.has_derivation
        ):
            raise ValueError("a `constant` takes no parsing, value map or derivation")
        if self.has_derivation and self.values:
            raise ValueError("use either `values` or `when_present`/`when_empty`, not both")
        return self

    @property
    def has_derivation(self) -> bool:
        return self.when_present is not None or self.when_empty is not None

    @property
    def transforms(self) -> bool:
        return bool(self.strip or self.scale_labels or self.values or self.date_format or self.has_derivation)


class FileRule(BaseModel):
    """Which exports are one contract entity, and how they are laid out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: tuple[str, ...] = Field(description="file-name patterns (shell style, any case): companies-export-*.csv")
    entity: str = Field(description="the contract entity of the source, e.g. accounts")
    extract_date: Literal["file_name", "modified"] = Field(
        "file_name", description="where the extract date comes from: a date in the file name, or its mtime"
    )
    file_name_date_format: str | None = Field(
        None, description="the layout of the date in the file name when it is none of the four read by default"
    )
    header_row: int = Field(1, ge=1, description="the header's line (CSV) or row (XLSX, from the first non-empty)")
    rows_after_header: int = Field(0, ge=0, description="rows under the header that are not data")
    sheet: str | None = Field(None, description="the XLSX sheet to read (default: every sheet that has the columns)")
    decimal_separator: Literal["comma", "point"] | None = Field(None, description="default: detected per file")
    drop_columns: tuple[str, ...] = Field((), description="export columns not to keep (patterns, any case)")
    keep_other_columns: bool = Field(True, description="keep unmapped columns in raw, as text")
    columns: dict[str, ColumnRule] = Field(default_factory=dict, description="contract column -> rule")

    _as_tuples = field_validator("match", "drop_columns", mode="before")(_as_list)

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"from": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    def read_options(self) -> ReadOptions:
        return ReadOptions(header_row=self.header_row, rows_after_header=self.rows_after_header, sheet=self.sheet)

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name.lower(), pattern.lower()) for pattern in self.match)


class SourceMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(description="the exporting system, as people call it: HubSpot, Netvisor")
    source: Literal["crm", "survey", "finance"] = Field(description="the landing folder its exports arrive in")
    files: tuple[FileRule, ...] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedMapping:
    path: Path
    sha256: str
    mapping: SourceMapping

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class MappedFile:
    """The rule a landing file was matched by, and the mapping file it comes from (for the ledger)."""

    rule: FileRule
    mapping: LoadedMapping


# --- loading and checking ---------------------------------------------------------------------------


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (a pydantic error location), or its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, _ in node.value if k.value == str(part)), None)
            if child is None:
                return line
            node, line = child, (key or child).start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _contract_problems(mapping: SourceMapping) -> list[tuple[tuple[int | str, ...], str]]:
    """What the schema cannot know: the entities and columns of the contract, and its allowed values."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    entities = sorted(c.entity for c in CONTRACTS if c.source == mapping.source)
    for i, rule in enumerate(mapping.files):
        if rule.entity not in entities:
            problems.append(
                (("files", i, "entity"), f"{mapping.source} has no entity {rule.entity!r} ({', '.join(entities)})")
            )
            continue
        schema = contract_for(mapping.source, rule.entity).schema(dt.date.today())
        for target, column_rule in rule.columns.items():
            loc: tuple[int | str, ...] = ("files", i, "columns", target)
            column = schema.columns.get(target) or next(
                (c for name, c in schema.columns.items() if c.regex and re.fullmatch(name, target)), None
            )
            if column is None:
                close = difflib.get_close_matches(target, list(schema.columns), n=3)
                problems.append(
                    (
                        loc,
                        f"{target!r} is not a column of {mapping.source}/{rule.entity}"
                        + (f" (did you mean {', '.join(close)}?)" if close else ""),
                    )
                )
                continue
            meta = column.metadata or {}
            outputs: list[str | int | float | bool | None] = [*(column_rule.values or {}).values()]
            outputs += [column_rule.when_present, column_rule.when_empty, column_rule.constant]
            for value in (v for v in outputs if v is not None):
                text = canonical(value)
                if meta.get("logical") == "enum":
                    isin = [c.statistics["allowed_values"] for c in column.checks if c.name == "isin"]
                    allowed: list[str] = isin[0] if isin else []
                    if text.lower() not in allowed:
                        problems.append((loc, f"{value!r} is not one of {target}'s values: {', '.join(allowed)}"))
                elif meta.get("logical") == "bool" and text not in ("true", "false"):
                    problems.append((loc, f"{target} is yes/no: map to true or false, not {value!r}"))
    return problems


def canonical(value: str | int | float | bool) -> str:
    """A mapped value as the contract's text reading expects it (YAML's true is 'true', 7 is '7')."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_mapping(text: str, name: str) -> SourceMapping:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise MappingError(name, mark.line + 1 if mark else None, f"not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise MappingError(name, 1, "a mapping file is a YAML mapping with system, source and files")
    try:
        mapping = SourceMapping.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(part for part in first["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        where = ".".join(str(part) for part in loc) or "the file"
        more = f" (and {error.error_count() - 1} more problem(s))" if error.error_count() > 1 else ""
        raise MappingError(name, _line_of(node, loc), f"{where}: {first['msg']}{more}") from error
    problems = _contract_problems(mapping)
    if problems:
        loc, problem = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise MappingError(name, _line_of(node, loc), problem + more)
    return mapping


def load_mappings(folder: Path | None, source: str | None = None) -> list[LoadedMapping]:
    """Every mapping file of the folder (of one source, when given), in name order. None or a missing folder:
    no mappings, today's contract names only."""
    if folder is None or not folder.is_dir():
        return []
    loaded = []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        raw = path.read_bytes()
        mapping = parse_mapping(raw.decode("utf-8-sig"), str(path))
        if source is None or mapping.source == source:
            loaded.append(LoadedMapping(path, hashlib.sha256(raw).hexdigest(), mapping))
    return loaded


def match_file(mappings: list[LoadedMapping], file_name: str) -> MappedFile | None:
    """The first rule (mapping files in name order, rules in file order) whose pattern the name matches."""
    for loaded in mappings:
        for rule in loaded.mapping.files:
            if rule.matches(file_name):
                return MappedFile(rule, loaded)
    return None


# --- compiling to DuckDB ----------------------------------------------------------------------------


def _source_name(rule: ColumnRule) -> str:
    return normalise_column_name(rule.source, 0)


def required_source_columns(rule: FileRule, contract: EntityContract, extract_date: dt.date) -> set[str]:
    """The export's columns (as read) the contract's required columns come from: what marks a data sheet."""
    required = set()
    for name, column in contract.schema(extract_date).columns.items():
        if column.nullable or column.regex:
            continue
        column_rule = rule.columns.get(name)
        if column_rule is None:
            required.add(name)
        elif column_rule.source is not None:
            required.add(_source_name(column_rule))
    return required


def column_expression(column_rule: ColumnRule, source_type: str) -> str:
    """SQL for the contract column from the staged export column: text, in the form the contract reads."""
    if column_rule.constant is not None:
        return f"cast({literal(canonical(column_rule.constant))} as varchar)"
    value = quote(_source_name(column_rule))
    if not column_rule.transforms:
        return value  # a rename keeps the export's type (Parquet stays typed)
    if source_type.upper() != "VARCHAR":
        value = f"cast({value} as varchar)"
    for text in column_rule.strip:
        value = f"regexp_replace({value}, {literal(re.escape(text))}, '', 'gi')"
    if column_rule.scale_labels:
        value = f"coalesce(nullif(regexp_extract({value}, {literal(SCALE_POINT)}, 1), ''), {value})"
    if column_rule.values:
        cases = " ".join(
            f"when {literal(key.strip().lower())} then {literal(canonical(mapped))}"
            for key, mapped in column_rule.values.items()
        )
        value = f"case lower(trim({value})) {cases} else {value} end"
    if column_rule.date_format:
        formats = "[" + ", ".join(literal(f) for f in column_rule.date_format) + "]"
        value = f"coalesce(strftime(try_strptime(trim({value}), {formats}), '%Y-%m-%d'), {value})"
    if column_rule.has_derivation:
        present = literal(canonical(column_rule.when_present)) if column_rule.when_present is not None else value
        empty = literal(canonical(column_rule.when_empty)) if column_rule.when_empty is not None else "null"
        value = f"case when nullif(trim({value}), '') is not null then {present} else {empty} end"
    return value


def apply(
    conn: duckdb.DuckDBPyConnection,
    read: ReadFile,
    mapped: MappedFile,
    contract: EntityContract,
    file_name: str,
    extract_date: dt.date,
) -> ReadFile:
    """The staged export as the contract's columns: a view over ``read.table``."""
    rule = mapped.rule
    schema = contract.schema(extract_date)
    targets: dict[str, tuple[str, str]] = {}  # contract column -> (SQL, type)
    missing_optional: list[str] = []
    for target, column_rule in rule.columns.items():
        if column_rule.source is not None and _source_name(column_rule) not in read.columns:
            column = schema.columns.get(target)
            if column is not None and not column.nullable:
                close = difflib.get_close_matches(_source_name(column_rule), list(read.columns), n=3, cutoff=0.5)
                raise UnreadableFileError(
                    file_name,
                    f"the mapping {mapped.mapping.name} fills the required column {target} from "
                    f"{column_rule.source!r}, which the file does not have"
                    + (f" (closest: {', '.join(close)})" if close else f" (the file has: {', '.join(read.columns)})"),
                )
            missing_optional.append(column_rule.source)
            continue
        source_type = read.columns.get(_source_name(column_rule), "VARCHAR") if column_rule.source else "VARCHAR"
        sql_type = source_type if column_rule.source and not column_rule.transforms else "VARCHAR"
        targets[target] = (column_expression(column_rule, source_type), sql_type)

    used = {_source_name(r) for r in rule.columns.values() if r.source is not None}
    drop_patterns = [normalise_column_name(pattern, 0) for pattern in rule.drop_columns]
    dropped = {name for name in read.columns if any(fnmatch.fnmatch(name, p) for p in drop_patterns)}
    kept: dict[str, str] = {}
    for name, sql_type in read.columns.items():
        if name in used or name in dropped:
            continue
        if name in targets:
            source = rule.columns[name].source or "a constant"
            raise UnreadableFileError(
                file_name,
                f"the file's column {name} is also the contract column the mapping {mapped.mapping.name} fills "
                f"from {source!r}: map it to another column, or list it in drop_columns",
            )
        in_contract = name in schema.columns or any(
            c.regex and re.fullmatch(n, name) for n, c in schema.columns.items()
        )
        if in_contract or rule.keep_other_columns:
            kept[name] = sql_type
    selected = [f"{sql} as {quote(target)}" for target, (sql, _) in targets.items()]
    selected += [quote(name) for name in kept]
    view = f"{read.table}_mapped"
    conn.execute(f"create temp view {view} as select _sheet, _row_number, {', '.join(selected)} from {read.table}")
    read.detected["mapping"] = mapped.mapping.name
    if missing_optional:
        read.detected["mapped_columns_not_in_file"] = ", ".join(missing_optional)
    if dropped:
        read.detected["dropped_columns"] = ", ".join(sorted(dropped))
    return ReadFile(
        table=view,
        columns={**{t: sql_type for t, (_, sql_type) in targets.items()}, **kept},
        rows_parsed=read.rows_parsed,
        rejects=read.rejects,
        detected=read.detected,
        cleanup=[f"drop view if exists {view}", *read.cleanup],
        header={**read.header, **{t: t for t in targets}},
    )


# The words a yes/no column reads without a value map (validation.TRUE_WORDS / FALSE_WORDS): listed here
# so that docs and `pipeline inspect` say the same.
BOOLEAN_WORDS = {"true": TRUE_WORDS, "false": FALSE_WORDS}
