"""A Power BI Project (PBIP) with a TMDL semantic model, generated from the dbt manifest.

The BI developer opens ``<name>.pbip`` in Power BI Desktop and gets the published star schema: every
published mart as a table with its dbt contract types and descriptions, the relationships the dbt
``relationships`` tests assert, ``dim_date`` marked as the date table, and the measures the models' yml
declare (pipeline/powerbi/measures.py), in DAX.
The tables read the BI layer's Parquet release folder or its PostgreSQL schema, chosen by a parameter.

Pure functions of the manifest (no Dagster, no warehouse): the same manifest gives byte-identical files.

TMDL written here (Microsoft's "Tabular Model Definition Language"): one object per line, children
indented one tab deeper than their parent, object names in single quotes when they are not plain
identifiers, descriptions as ``///`` lines right above the object, and multi-line expressions (M, DAX)
indented two tabs deeper than the line that ends in ``=``. Every table, column and measure carries a
``lineageTag`` derived from its name (a UUID 5), so the same manifest gives the same tags and Desktop has
none to add on save: a project kept in Git does not change on opening.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.catalog import PUBLISHED_FOLDER, load_manifest, published_models
from pipeline.powerbi.measures import Measure, declared_measures
from pipeline.powerbi.report import ModelFields, ReportResult, write_report
from pipeline.rules import BusinessRules

# --- what is published ------------------------------------------------------------------------------

DATE_TABLE = "dim_date"
MEASURES_TABLE = "_Measures"
# Row-level security by account owner: the customer's own table maps sign-in names to the marts'
# pseudonymous owner keys (the pipeline never publishes who signs in as whom); the role filters every table
# that carries the owner key, and through dim_account everything related to an account.
SECURITY_TABLE = "Owner access"
SECURITY_ROLE = "Account owner"
OWNER_KEY = "account_owner_key"
OWNER_ACCESS_PARAMETER = "OwnerAccessFile"
COMPATIBILITY_LEVEL = 1567
# Microsoft's published JSON schemas of the project files (github.com/microsoft/json-schemas, fabric/);
# each file must name its schema.
_SCHEMAS = "https://developer.microsoft.com/json-schemas/fabric"
PBIP_SCHEMA = f"{_SCHEMAS}/pbip/pbipProperties/1.0.0/schema.json"
PBISM_SCHEMA = f"{_SCHEMAS}/item/semanticModel/definitionProperties/1.0.0/schema.json"
PBIR_SCHEMA = f"{_SCHEMAS}/item/report/definitionProperties/2.0.0/schema.json"

# dbt data_type -> (TMDL dataType, Power Query type the partition casts to, formatString or None).
# decimal/numeric with at most 4 decimals fit Power BI's fixed decimal (Currency.Type); wider ones are doubles.
_TEXT = ("string", "type text", None)
_INT = ("int64", "Int64.Type", "0")
_FIXED = ("decimal", "Currency.Type", "#,0.00")
_DOUBLE = ("double", "type number", None)
_DATE = ("dateTime", "type date", "yyyy-mm-dd")
_TIMESTAMP = ("dateTime", "type datetime", "yyyy-mm-dd hh:nn:ss")
_BOOL = ("boolean", "type logical", None)
_SIMPLE_TYPES = {
    "text": _TEXT,
    "varchar": _TEXT,
    "string": _TEXT,
    "character varying": _TEXT,
    "integer": _INT,
    "int": _INT,
    "int4": _INT,
    "smallint": _INT,
    "bigint": _INT,
    "int8": _INT,
    "hugeint": _DOUBLE,
    "double": _DOUBLE,
    "double precision": _DOUBLE,
    "float": _DOUBLE,
    "float8": _DOUBLE,
    "real": _DOUBLE,
    "date": _DATE,
    "timestamp": _TIMESTAMP,
    "timestamp without time zone": _TIMESTAMP,
    "timestamptz": _TIMESTAMP,
    "timestamp with time zone": _TIMESTAMP,
    "datetime": _TIMESTAMP,
    "boolean": _BOOL,
    "bool": _BOOL,
}
_DECIMAL = re.compile(r"^(?:decimal|numeric)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")


@dataclass(frozen=True)
class ModelColumn:
    name: str
    data_type: str  # as dbt's contract declares it, e.g. "decimal(18, 2)"
    description: str


@dataclass(frozen=True)
class ModelTable:
    name: str
    description: str
    columns: tuple[ModelColumn, ...]

    def column(self, name: str) -> ModelColumn | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Relationship:
    name: str
    from_table: str
    from_column: str
    to_table: str
    to_column: str
    is_active: bool = True


def tmdl_type(dbt_type: str) -> tuple[str, str, str | None]:
    """(TMDL dataType, Power Query type, formatString) for a dbt contract data_type; unknown types raise."""
    normal = " ".join(dbt_type.strip().lower().split())
    if normal in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[normal]
    match = _DECIMAL.match(normal)
    if match:
        scale = int(match.group(2) or 0)
        if scale == 0:
            return _INT if int(match.group(1)) <= 18 else _DOUBLE
        return _FIXED if scale <= 4 else _DOUBLE
    if normal in ("decimal", "numeric"):
        return _DOUBLE
    raise ValueError(f"no Power BI type for dbt data_type {dbt_type!r}")


# --- reading the manifest ---------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    """A dbt description as one tidy text: trailing spaces and blank edges removed, line breaks kept."""
    lines = [line.rstrip() for line in (text or "").strip().splitlines()]
    return "\n".join(lines)


def model_tables(manifest: dict) -> list[ModelTable]:
    """The published marts with their contract columns, by name; a published model must declare its types."""
    tables = []
    for node in published_models(manifest):
        name = node["name"]
        if not ((node.get("config") or {}).get("contract") or {}).get("enforced"):
            raise ValueError(f"published model {name} has no enforced dbt contract: its types would be guesses")
        columns = []
        for column in (node.get("columns") or {}).values():
            if not column.get("data_type"):
                raise ValueError(f"published column {name}.{column['name']} has no data_type in its dbt contract")
            tmdl_type(column["data_type"])  # fail here, naming the column, on a type Power BI cannot take
            columns.append(ModelColumn(column["name"], column["data_type"], _clean(column.get("description"))))
        if not columns:
            raise ValueError(f"published model {name} declares no columns")
        tables.append(ModelTable(name, _clean(node.get("description")), tuple(columns)))
    return sorted(tables, key=lambda t: t.name)


def published_schema_from_manifest(manifest_path: Path) -> dict[str, dict[str, str]]:
    """Published table -> {column -> dbt data_type}, in contract column order: what the BI layer must publish.

    The BI publishing code compares this with the schema of the Parquet files it writes (and the Power BI
    model is generated from the same list), so a column dropped or retyped anywhere shows up as a difference.
    """
    return {
        table.name: {column.name: column.data_type for column in table.columns}
        for table in model_tables(load_manifest(manifest_path))
    }


_REF = re.compile(
    r"""^\s*ref\(\s*(?:['"][^'"]+['"]\s*,\s*)?['"]([^'"]+)['"]\s*(?:,\s*v(?:ersion)?\s*=\s*\S+\s*)?\)\s*$"""
)


def _relationship_tests(manifest: dict) -> list[tuple[str, str, str, str]]:
    """(from model, from column, to model, to column) of every dbt relationships test on a model."""
    nodes = manifest.get("nodes", {})
    found = []
    for node in nodes.values():
        metadata = node.get("test_metadata") or {}
        if node.get("resource_type") != "test" or metadata.get("name") != "relationships":
            continue
        kwargs = dict(metadata.get("kwargs") or {})
        kwargs.update(kwargs.pop("arguments", None) or {})
        column = kwargs.get("column_name") or node.get("column_name")
        to_field = kwargs.get("field")
        match = _REF.match(str(kwargs.get("to") or ""))
        attached = nodes.get(node.get("attached_node") or "")
        if not (column and to_field and match and attached and attached.get("resource_type") == "model"):
            continue
        to_model = match.group(1)
        depends = [nodes.get(uid, {}) for uid in (node.get("depends_on") or {}).get("nodes", [])]
        if not any(d.get("name") == to_model and d.get("resource_type") == "model" for d in depends):
            continue
        found.append((attached["name"], column, to_model, to_field))
    return found


def _reachable(edges: Mapping[str, set[str]], start: str) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def derive_relationships(manifest: dict, tables: list[ModelTable]) -> list[Relationship]:
    """Many-to-one relationships from the dbt relationships tests between published tables.

    Order: by the from-table's name, then by its contract column order (the yml author's order, so a
    fact's main date comes before its secondary dates). A relationship that would open a second active
    filter path between two tables (Power BI calls that ambiguous and refuses it) is not made active: the
    first one wins. Of the others, a second key to a table the from-table already joins directly (a
    role-playing date, such as an invoice's due date) stays, inactive, for DAX's USERELATIONSHIP; one to a
    table the from-table already reaches through another (a mart's segment, which dim_account carries) is
    left out: the active path filters the same rows, and an unused inactive relationship only confuses.
    """
    by_name = {t.name: t for t in tables}
    position = {(t.name, c.name): i for t in tables for i, c in enumerate(t.columns)}
    candidates = set()
    for from_table, from_column, to_table, to_column in _relationship_tests(manifest):
        if from_table == to_table or from_table not in by_name or to_table not in by_name:
            continue
        if by_name[from_table].column(from_column) is None or by_name[to_table].column(to_column) is None:
            raise ValueError(
                f"dbt relationships test {from_table}.{from_column} -> {to_table}.{to_column} names a column "
                "that is not in the contract"
            )
        candidates.add((from_table, from_column, to_table, to_column))
    ordered = sorted(candidates, key=lambda c: (c[0], position[(c[0], c[1])], c[2], c[3]))

    # Filters flow from the one side (to) to the many side (from); a path X -> ... -> Y along many-to-one
    # edges means Y filters X. With at most one such path per pair so far, adding a -> b creates a second
    # one exactly when some X reaching a already reaches some Y reachable from b (or b reaches a: a cycle).
    edges: dict[str, set[str]] = {}
    relationships = []
    for from_table, from_column, to_table, to_column in ordered:
        downstream = _reachable(edges, to_table)
        upstream = {x for x in by_name if from_table in _reachable(edges, x)}
        ambiguous = from_table in downstream or any(y in _reachable(edges, x) for x in upstream for y in downstream)
        if ambiguous and to_table not in edges.get(from_table, set()) and to_table in _reachable(edges, from_table):
            continue  # reached through another table already: left out (see above)
        if not ambiguous:
            edges.setdefault(from_table, set()).add(to_table)
        relationships.append(
            Relationship(
                name=f"{from_table}__{from_column}__{to_table}__{to_column}",
                from_table=from_table,
                from_column=from_column,
                to_table=to_table,
                to_column=to_column,
                is_active=not ambiguous,
            )
        )
    return relationships


# --- measures (declared in the models' yml: pipeline/powerbi/measures.py) -----------------------------


def measures_for(manifest: dict, tables: list[ModelTable], rules: BusinessRules | None = None) -> list[Measure]:
    """The declared measures whose tables are published; a missing column of a published table is an error."""
    by_name = {t.name: t for t in tables}
    kept = []
    for measure in declared_measures(manifest, rules):
        if any(table not in by_name for table, _ in measure.reads):
            continue
        for table, column in measure.reads:
            if by_name[table].column(column) is None:
                raise ValueError(
                    f"measure {measure.name!r} ({measure.model}.yml) reads {table}.{column}, which the contract "
                    "does not have"
                )
        kept.append(measure)
    return kept


# --- TMDL text --------------------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def tmdl_name(name: str) -> str:
    """An object name as TMDL wants it: plain identifiers bare, anything else in single quotes ('' escapes ').

    A leading underscore is quoted too, to be on the safe side of what counts as an identifier.
    """
    return name if _PLAIN_NAME.match(name) else "'" + name.replace("'", "''") + "'"


def _description(text: str, depth: int) -> list[str]:
    if not text:
        return []
    tabs = "\t" * depth
    return [f"{tabs}///" + (f" {line}" if line else "") for line in text.splitlines()]


def _expression(text: str, depth: int) -> list[str]:
    """A multi-line expression's lines, indented ``depth`` tabs (two deeper than the line ending in ``=``)."""
    tabs = "\t" * depth
    return [f"{tabs}{line}" if line.strip() else "" for line in text.splitlines()]


def _m_text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _partition_m(table: ModelTable, is_date_table: bool) -> str:
    names = ",\n".join(f"        {_m_text(c.name)}" for c in table.columns)
    types = ",\n".join(f"        {{{_m_text(c.name)}, {tmdl_type(c.data_type)[1]}}}" for c in table.columns)
    steps = [
        "let",
        '    Folder = Text.TrimEnd(ParquetFolder, {"\\", "/"}),',
        # Evaluated only when SourceType picks it (M is lazy); a step of its own so that the item lookup
        # reads as a step's, which every M tool parses.
        "    Database = PostgreSQL.Database(PostgresServer, PostgresDatabase),",
        "    Source =",
        '        if SourceType = "PostgreSQL" then',
        f"            Database{{[Schema = PostgresSchema, Item = {_m_text(table.name)}]}}[Data]",
        "        else",
        f'            Parquet.Document(File.Contents(Folder & "\\{table.name}.parquet")),',
        "    Selected = Table.SelectColumns(Source, {",
        names,
        "    }),",
        "    Typed = Table.TransformColumnTypes(Selected, {",
        types,
        "    })" + ("," if is_date_table else ""),
    ]
    if is_date_table:
        # A date table's key column may not be blank: the unknown date (-1) stays out of Power BI; facts on
        # date key -1 show under (Blank) in date slicers.
        key = _date_key_column(table)
        steps.append(f"    Dated = Table.SelectRows(Typed, each [{key}] <> null)")
        steps += ["in", "    Dated"]
    else:
        steps += ["in", "    Typed"]
    return "\n".join(steps)


def _date_key_column(table: ModelTable) -> str:
    dated = [c.name for c in table.columns if tmdl_type(c.data_type)[1] == "type date"]
    if not dated:
        raise ValueError(f"date table {table.name} has no column of dbt type date")
    return "calendar_date" if "calendar_date" in dated else dated[0]


_NO_SUMMARY = re.compile(r"(_key|_id|_year|_quarter|_month|decile|rank|_no|_order)$|^calendar_")
# How a column reads and adds up in Power BI, from its name (the marts name their columns so, see
# docs/warehouse.md): shares, rates and probabilities are fractions shown as percentages; scores, ratings,
# NPS figures, ages in days and model metrics are not summed (a sum of ratings means nothing).
PERCENT_COLUMN = re.compile(r"(_pct|_share|_rate|_coverage|_retention|_yoy|probability)$|^share_of_|_share_of_")
NON_ADDITIVE_COLUMN = re.compile(
    r"(^|_)(nps|rating|score|index|days|tenure|lift|auc|brier|probability|weight|performance|penalty|reward"
    r"|asymmetry|trend|margin_of_error|considering_alternatives|squared|respondents)(_|$)"
    r"|^mean_|_per_account"  # means and per-account figures (mart_segments) do not add up either
)
PERCENT_FORMAT, SCORE_FORMAT, NUMBER_FORMAT = "0.0%", "0.0", "#,0.00"
# A column <name>_order in the same table sorts <name> (the marts' size_band_order, risk_band_order: business
# order, not alphabetical; dbt_project/macros/band_order.sql).
SORT_ORDER_SUFFIX = "_order"


# The namespace of the model's lineage tags: a tag is uuid5(namespace, "<kind>:<table>[.<object>]").
LINEAGE_NAMESPACE = uuid.UUID("5b7a3d56-2f1e-4c51-9a8e-4f0c2d6b1e70")


def lineage_tag(kind: str, *names: str) -> str:
    return str(uuid.uuid5(LINEAGE_NAMESPACE, f"{kind}:{'.'.join(names)}"))


def format_string(column: ModelColumn) -> str | None:
    """The column's formatString: its type's, or by its name for the doubles (which have none by type)."""
    data_type, _, by_type = tmdl_type(column.data_type)
    if data_type != "double":
        return by_type
    if PERCENT_COLUMN.search(column.name):
        return PERCENT_FORMAT
    if NON_ADDITIVE_COLUMN.search(column.name):
        return SCORE_FORMAT
    return NUMBER_FORMAT


def _summarize_by(column: ModelColumn, is_key: bool) -> str:
    data_type = tmdl_type(column.data_type)[0]
    if is_key or _NO_SUMMARY.search(column.name) or data_type not in ("int64", "decimal"):
        return "none"
    if PERCENT_COLUMN.search(column.name) or NON_ADDITIVE_COLUMN.search(column.name):
        return "none"
    return "sum"


def table_tmdl(table: ModelTable, relationships: list[Relationship], is_date_table: bool) -> str:
    key_columns = {r.from_column for r in relationships if r.from_table == table.name} | {
        r.to_column for r in relationships if r.to_table == table.name
    }
    names = {c.name for c in table.columns}
    # Surrogate keys (the integer *_key columns) and sort orders are plumbing: hidden, so the field list
    # shows what people filter by. A text key such as the pseudonymous owner key is what they filter by.
    hidden = {
        c.name
        for c in table.columns
        if c.name.endswith(SORT_ORDER_SUFFIX) or (c.name.endswith("_key") and tmdl_type(c.data_type)[0] == "int64")
    }
    date_key = _date_key_column(table) if is_date_table else None
    lines = [*_description(table.description, 0), f"table {tmdl_name(table.name)}"]
    lines.append(f"\tlineageTag: {lineage_tag('table', table.name)}")
    if is_date_table:
        lines.append("\tdataCategory: Time")
    for column in table.columns:
        data_type = tmdl_type(column.data_type)[0]
        column_format = format_string(column)
        lines.append("")
        lines += _description(column.description, 1)
        lines.append(f"\tcolumn {tmdl_name(column.name)}")
        lines.append(f"\t\tdataType: {data_type}")
        lines.append(f"\t\tlineageTag: {lineage_tag('column', table.name, column.name)}")
        if column.name == date_key:
            lines.append("\t\tisKey")
        if column.name in hidden:
            lines.append("\t\tisHidden")
        if column_format:
            lines.append(f"\t\tformatString: {column_format}")
        lines.append(f"\t\tsummarizeBy: {_summarize_by(column, column.name in key_columns)}")
        lines.append(f"\t\tsourceColumn: {column.name}")
        if column.name + SORT_ORDER_SUFFIX in names:
            lines.append(f"\t\tsortByColumn: {tmdl_name(column.name + SORT_ORDER_SUFFIX)}")
        if tmdl_type(column.data_type)[1] == "type date":
            lines += ["", "\t\tannotation UnderlyingDateTimeDataType = Date"]
    lines += ["", f"\tpartition {tmdl_name(table.name)} = m", "\t\tmode: import", "\t\tsource ="]
    lines += _expression(_partition_m(table, is_date_table), 4)
    return "\n".join(lines) + "\n"


def measures_table_tmdl(measures: list[Measure]) -> str:
    lines = [
        "/// The headline measures (DAX). Descriptions say what each figure is and which mart it reads.",
        f"table {tmdl_name(MEASURES_TABLE)}",
        f"\tlineageTag: {lineage_tag('table', MEASURES_TABLE)}",
    ]
    for measure in measures:
        lines.append("")
        lines += _description(measure.description, 1)
        lines.append(f"\tmeasure {tmdl_name(measure.name)} =")
        lines += _expression(measure.expression, 3)
        lines.append(f"\t\tlineageTag: {lineage_tag('measure', measure.name)}")
        if measure.format_string:
            lines.append(f"\t\tformatString: {measure.format_string}")
        if measure.display_folder:
            lines.append(f"\t\tdisplayFolder: {measure.display_folder}")
    lines += [
        "",
        "\t/// Placeholder: a table needs a column; hidden so that the table shows as a measure table.",
        "\tcolumn Value",
        "\t\tdataType: string",
        f"\t\tlineageTag: {lineage_tag('column', MEASURES_TABLE, 'Value')}",
        "\t\tisHidden",
        "\t\tsummarizeBy: none",
        "\t\tsourceColumn: Value",
        "",
        f"\tpartition {tmdl_name(MEASURES_TABLE)} = m",
        "\t\tmode: import",
        "\t\tsource = #table(type table [Value = text], {})",
    ]
    return "\n".join(lines) + "\n"


def security_table_tmdl() -> str:
    """The owner-access table: read from the customer's file (parameter OwnerAccessFile), empty by default."""
    columns = ("user_principal_name", OWNER_KEY)
    csv = f'Csv.Document(File.Contents({OWNER_ACCESS_PARAMETER}), [Delimiter = ",", Encoding = 65001])'
    m = "\n".join(
        [
            "let",
            "    Columns = type table [" + ", ".join(f"{c} = text" for c in columns) + "],",
            "    Source =",
            f'        if {OWNER_ACCESS_PARAMETER} = null or {OWNER_ACCESS_PARAMETER} = "" then',
            "            #table(Columns, {})",
            "        else",
            f"            Table.PromoteHeaders({csv}, [PromoteAllScalars = true]),",
            "    Selected = Table.SelectColumns(Source, {" + ", ".join(_m_text(c) for c in columns) + "}),",
            "    Typed = Table.TransformColumnTypes(Selected, {"
            + ", ".join(f"{{{_m_text(c)}, type text}}" for c in columns)
            + "})",
            "in",
            "    Typed",
        ]
    )
    lines = [
        f"/// Who may see which account owner's accounts (role {SECURITY_ROLE}): one row per sign-in and owner key,",
        f"/// maintained by your organisation in the file of parameter {OWNER_ACCESS_PARAMETER}; the pipeline never",
        f"/// publishes sign-in names. Owner keys are dim_account.{OWNER_KEY} (md5 of the owner's name).",
        f"table {tmdl_name(SECURITY_TABLE)}",
        f"\tlineageTag: {lineage_tag('table', SECURITY_TABLE)}",
        "\tisHidden",
    ]
    for column in columns:
        lines += [
            "",
            f"\tcolumn {column}",
            "\t\tdataType: string",
            f"\t\tlineageTag: {lineage_tag('column', SECURITY_TABLE, column)}",
            "\t\tisHidden",
            "\t\tsummarizeBy: none",
            f"\t\tsourceColumn: {column}",
        ]
    lines += ["", f"\tpartition {tmdl_name(SECURITY_TABLE)} = m", "\t\tmode: import", "\t\tsource ="]
    lines += _expression(m, 4)
    return "\n".join(lines) + "\n"


def owner_filter(table: str) -> str:
    """The role's DAX filter on a table with the owner key: the keys the signed-in user is granted."""
    security = tmdl_name(SECURITY_TABLE)
    return (
        f"{tmdl_name(table)}[{OWNER_KEY}] IN CALCULATETABLE ( VALUES ( {security}[{OWNER_KEY}] ), "
        f"{security}[user_principal_name] = USERPRINCIPALNAME () )"
    )


def role_tmdl(owner_tables: list[str]) -> str:
    """Dynamic row-level security: members see the accounts of the owners their sign-in is mapped to."""
    security = tmdl_name(SECURITY_TABLE)
    lines = [
        f"/// Account managers: the accounts of the owners that {SECURITY_TABLE} maps their sign-in to, and every",
        "/// fact and mart row of those accounts (through dim_account). Company-wide summaries (NPS by segment,",
        "/// drivers, competitors, the model's backtest) are aggregates and stay whole.",
        f"role {tmdl_name(SECURITY_ROLE)}",
        "\tmodelPermission: read",
        "",
        f"\ttablePermission {security} = {security}[user_principal_name] = USERPRINCIPALNAME ()",
    ]
    for table in owner_tables:
        lines += ["", f"\ttablePermission {tmdl_name(table)} = {owner_filter(table)}"]
    return "\n".join(lines) + "\n"


def relationships_tmdl(relationships: list[Relationship]) -> str:
    blocks = []
    for r in relationships:
        lines = [f"relationship {tmdl_name(r.name)}"]
        if not r.is_active:
            lines.append("\tisActive: false")
        lines.append(f"\tfromColumn: {tmdl_name(r.from_table)}.{tmdl_name(r.from_column)}")
        lines.append(f"\ttoColumn: {tmdl_name(r.to_table)}.{tmdl_name(r.to_column)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _parameter(name: str, value: str, description: str, allowed: tuple[str, ...] = (), *, required: bool = True) -> str:
    meta = "IsParameterQuery=true, "
    if allowed:
        meta += "List={" + ", ".join(_m_text(v) for v in allowed) + f"}}, DefaultValue={_m_text(value)}, "
    meta += f'Type="Text", IsParameterQueryRequired={"true" if required else "false"}'
    return "\n".join(
        [
            *_description(description, 0),
            f"expression {tmdl_name(name)} = {_m_text(value)} meta [{meta}]",
            "",
            "\tannotation PBI_ResultType = Text",
        ]
    )


def expressions_tmdl(
    parquet_folder: str, postgres_server: str, postgres_database: str, *, owner_access: bool = False
) -> str:
    parameters = [
        _parameter(
            "SourceType",
            "Parquet",
            "Where every table is read from: Parquet (the BI layer's current release folder, see ParquetFolder) "
            "or PostgreSQL (schema PostgresSchema of PostgresDatabase on PostgresServer).",
            ("Parquet", "PostgreSQL"),
        ),
        _parameter(
            "ParquetFolder",
            parquet_folder,
            "Folder holding <table>.parquet for every table: the current folder of the BI directory "
            "(PIPELINE_BI_DIR/current), as a path or share this computer can read.",
        ),
        _parameter(
            "PostgresServer", postgres_server, "PostgreSQL server, host or host:port (when SourceType = PostgreSQL)."
        ),
        _parameter("PostgresDatabase", postgres_database, "PostgreSQL database that holds the BI schema."),
        _parameter("PostgresSchema", "bi", "PostgreSQL schema the BI layer publishes the tables in."),
    ]
    if owner_access:
        parameters.append(
            _parameter(
                OWNER_ACCESS_PARAMETER,
                "",
                f"CSV file your organisation maintains for row-level security (role {SECURITY_ROLE}): columns "
                f"user_principal_name (a Power BI sign-in) and {OWNER_KEY} (an owner key of dim_account). "
                "Empty: the table is empty and members of the role see no accounts.",
                required=False,
            )
        )
    return "\n\n".join(parameters) + "\n"


def model_tmdl(table_names: list[str], culture: str, roles: tuple[str, ...] = ()) -> str:
    lines = [
        "model Model",
        f"\tculture: {culture}",
        "\tdefaultPowerBIDataSourceVersion: powerBI_V3",
        f"\tsourceQueryCulture: {culture}",
        "",
        # No auto date/time tables for every date column: dim_date is the calendar.
        "annotation __PBI_TimeIntelligenceEnabled = 0",
        "",
    ]
    lines += [f"ref table {tmdl_name(name)}" for name in table_names]
    if roles:
        lines.append("")
        lines += [f"ref role {tmdl_name(name)}" for name in roles]
    return "\n".join(lines) + "\n"


# --- the project --------------------------------------------------------------------------------------


def _json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def write_pbip(
    manifest_path: Path,
    out_dir: Path,
    project_name: str = "AccountIntelligence",
    *,
    parquet_folder: str = r"C:\AccountIntelligence\bi\current",
    postgres_server: str = "localhost",
    postgres_database: str = "warehouse",
    culture: str = "en-US",
    rules: BusinessRules | None = None,
) -> Path:
    """Write ``<project_name>.pbip`` and its semantic model and report folders into ``out_dir``; return the .pbip.

    The semantic model's ``definition/`` is regenerated whole (it is derived from dbt: change dbt, not it).
    The report (PBIR, pipeline/powerbi/report.py) is rewritten only while it is as the generator wrote it:
    once the BI developer edits it, it is theirs.
    """
    return write_project(
        manifest_path,
        out_dir,
        project_name,
        parquet_folder=parquet_folder,
        postgres_server=postgres_server,
        postgres_database=postgres_database,
        culture=culture,
        rules=rules,
    )[0]


def write_project(
    manifest_path: Path,
    out_dir: Path,
    project_name: str = "AccountIntelligence",
    *,
    parquet_folder: str = r"C:\AccountIntelligence\bi\current",
    postgres_server: str = "localhost",
    postgres_database: str = "warehouse",
    culture: str = "en-US",
    rules: BusinessRules | None = None,
) -> tuple[Path, ReportResult]:
    """``write_pbip`` with what became of the report: (the .pbip, the report's result)."""
    manifest = load_manifest(manifest_path)
    tables = model_tables(manifest)
    if not tables:
        raise ValueError(f"{manifest_path}: no published marts (models in {PUBLISHED_FOLDER} named dim_/fct_/mart_)")
    relationships = derive_relationships(manifest, tables)
    measures = measures_for(manifest, tables, rules)
    owner_tables = [t.name for t in tables if t.column(OWNER_KEY) is not None]
    secured = "dim_account" in owner_tables

    out_dir = Path(out_dir)
    model_dir = out_dir / f"{project_name}.SemanticModel"
    report_dir = out_dir / f"{project_name}.Report"
    staging = model_dir / f"definition.tmp-{uuid.uuid4().hex}"
    try:
        names = (
            [t.name for t in tables] + ([MEASURES_TABLE] if measures else []) + ([SECURITY_TABLE] if secured else [])
        )
        _write(
            staging / "database.tmdl",
            f"database {tmdl_name(project_name)}\n\tcompatibilityLevel: {COMPATIBILITY_LEVEL}\n",
        )
        _write(staging / "model.tmdl", model_tmdl(names, culture, (SECURITY_ROLE,) if secured else ()))
        _write(
            staging / "expressions.tmdl",
            expressions_tmdl(parquet_folder, postgres_server, postgres_database, owner_access=secured),
        )
        _write(staging / "relationships.tmdl", relationships_tmdl(relationships))
        for table in tables:
            is_date = table.name == DATE_TABLE
            _write(staging / "tables" / f"{table.name}.tmdl", table_tmdl(table, relationships, is_date))
        if measures:
            _write(staging / "tables" / f"{MEASURES_TABLE}.tmdl", measures_table_tmdl(measures))
        if secured:
            _write(staging / "tables" / f"{SECURITY_TABLE}.tmdl", security_table_tmdl())
            _write(staging / "roles" / f"{SECURITY_ROLE}.tmdl", role_tmdl(owner_tables))
        definition = model_dir / "definition"
        if definition.exists():
            shutil.rmtree(definition)
        staging.rename(definition)
    finally:
        if staging.exists():
            shutil.rmtree(staging)

    _write(model_dir / "definition.pbism", _json({"$schema": PBISM_SCHEMA, "version": "4.0", "settings": {}}))
    _write(
        report_dir / "definition.pbir",
        _json(
            {
                "$schema": PBIR_SCHEMA,
                "version": "4.0",
                "datasetReference": {"byPath": {"path": f"../{project_name}.SemanticModel"}},
            }
        ),
    )
    fields = ModelFields(
        columns={t.name: frozenset(c.name for c in t.columns) for t in tables},
        measures={MEASURES_TABLE: frozenset(m.name for m in measures)},
    )
    report = write_report(report_dir, fields)
    pbip = out_dir / f"{project_name}.pbip"
    _write(
        pbip,
        _json(
            {
                "$schema": PBIP_SCHEMA,
                "version": "1.0",
                "artifacts": [{"report": {"path": f"{project_name}.Report"}}],
                "settings": {},
            }
        ),
    )
    gitignore = out_dir / ".gitignore"
    if not gitignore.exists():
        _write(gitignore, "**/.pbi/localSettings.json\n**/.pbi/cache.abf\n")
    return pbip, report
