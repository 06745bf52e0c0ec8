"""The Power BI Project generated from the dbt manifest, read back and checked against the manifest.

dbt parses the project into a temporary target; the project is generated from that manifest, every .tmdl
file is parsed back (tests/tmdl_parse.py, strict about indentation and structure) and
``check_project`` compares what Power BI would load with what dbt's contracts declare: every published
table and column with its type, the relationships of the dbt tests and nothing else, the date table, the
measures and the JSON files that make the folder open in Desktop. The expected types and the relationship
rules are written out here again, not imported from the generator, so a mistake there shows up here; a
deliberately corrupted copy proves the check can fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pipeline.dbt import DBT_PROJECT_DIR
from pipeline.powerbi import published_schema_from_manifest, tmdl, write_pbip
from pipeline.powerbi.measures import MeasureDeclarationError, declared_measures
from pipeline.powerbi.tmdl import ModelColumn, ModelTable, derive_relationships, tmdl_type
from pipeline.rules import BusinessRules
from tests.dbt_cli import run_dbt
from tests.tmdl_parse import TmdlError, column_reference, load_definition, parse_tmdl

NAME = "AccountIntelligence"
MEASURES_TABLE = "_Measures"
SECURITY_TABLE = "Owner access"  # row-level security: the customer's own table, not a mart
# The mapping of dbt contract types to Power BI data types, as specified (independent of the generator).
EXPECTED_TYPES = {
    "text": "string",
    "integer": "int64",
    "bigint": "int64",
    "decimal(18, 2)": "decimal",
    "decimal(18,2)": "decimal",
    "decimal(18, 6)": "double",
    "decimal(18,6)": "double",
    "double": "double",
    "date": "dateTime",
    "timestamp": "dateTime",
    "boolean": "boolean",
}
HEADLINE_MEASURES = {
    "NPS",
    "NPS margin of error",
    "Adjusted NPS",
    "Adjusted NPS margin of error",
    "Revenue-weighted NPS",
    "NPS (responses)",
    "NPS margin of error (responses)",
    "Churn rate",
    "Backtest churn rate",
    "Churned accounts",
    "Active accounts",
    "Revenue",
    "Gross margin",
    "Revenue same period last year",
    "Revenue YoY growth",
    "Invoiced amount by due date",
    "Predicted churn rate",
    "Top-decile lift",
    "Margin at risk",
    "Revenue TTM",
}
PARAMETERS = {"SourceType", "ParquetFolder", "PostgresServer", "PostgresDatabase", "PostgresSchema"}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("dbt")
    env = {"DBT_TARGET": "duckdb", "PIPELINE_WAREHOUSE_PATH": str(work / "unused.duckdb")}
    result = run_dbt(["parse"], env, work)
    assert result.returncode == 0, result.stdout + result.stderr
    return work / "target" / "manifest.json"


@pytest.fixture(scope="module")
def project(manifest, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pbip")
    pbip = write_pbip(manifest, out, NAME)
    assert pbip == out / f"{NAME}.pbip"
    return out


# --- the manifest, read independently of the generator ----------------------------------------------


def published_models(manifest_path: Path) -> dict[str, dict]:
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    return {
        n["name"]: n
        for n in nodes
        if n["resource_type"] == "model"
        and n["original_file_path"].startswith("models/marts/")
        and re.match(r"(dim|fct|mart)_", n["name"])
    }


def relationship_tests(manifest_path: Path) -> set[tuple[str, str, str, str]]:
    """(from table, from column, to table, to column) of the relationships tests between published tables."""
    nodes = json.loads(manifest_path.read_text())["nodes"]
    published = published_models(manifest_path)
    found = set()
    for node in nodes.values():
        if (node.get("test_metadata") or {}).get("name") != "relationships":
            continue
        kwargs = node["test_metadata"]["kwargs"]
        kwargs = {**kwargs, **(kwargs.get("arguments") or {})}
        to = re.fullmatch(r"""ref\(\s*['"](\w+)['"]\s*\)""", kwargs["to"].strip()).group(1)
        source = nodes[node["attached_node"]]["name"]
        if source in published and to in published:
            found.add((source, kwargs["column_name"], to, kwargs["field"]))
    return found


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


# --- the check ---------------------------------------------------------------------------------------

_QUALIFIED = re.compile(r"(?:'((?:[^']|'')+)'|\b([A-Za-z_][A-Za-z0-9_]*))\[([^\]]+)\]")
_BARE = re.compile(r"(?<![\w'\]])\[([^\]]+)\]")


def _balanced(code: str) -> bool:
    """Brackets balance outside string literals ("" escapes a quote in both DAX and M)."""
    stack, pairs = [], {")": "(", "]": "[", "}": "{"}
    for token in re.sub(r'"(?:[^"]|"")*"', '""', code):
        if token in "([{":
            stack.append(token)
        elif token in pairs and (not stack or stack.pop() != pairs[token]):
            return False
    return not stack


def _active_paths(relationships: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Number of distinct filter paths (many -> one chains) between every pair of tables."""
    edges: dict[str, list[str]] = {}
    for source, target in relationships:
        edges.setdefault(source, []).append(target)
    counts: dict[tuple[str, str], int] = {}

    def walk(start: str, node: str, depth: int) -> None:
        if depth > len(relationships):
            counts[(start, start)] = counts.get((start, start), 0) + 1  # a cycle
            return
        for nxt in edges.get(node, []):
            counts[(start, nxt)] = counts.get((start, nxt), 0) + 1
            walk(start, nxt, depth + 1)

    for start in edges:
        walk(start, start, 0)
    return counts


def _reaches_through_another(active: list[tuple[str, str]], start: str, end: str) -> bool:
    """Whether ``start`` reaches ``end`` along active many-to-one relationships via at least one other table."""
    edges: dict[str, set[str]] = {}
    for source, target in active:
        edges.setdefault(source, set()).add(target)
    frontier, seen = [n for n in edges.get(start, ()) if n != end], set()
    while frontier:
        node = frontier.pop()
        if node == end:
            return True
        if node not in seen:
            seen.add(node)
            frontier += list(edges.get(node, ()))
    return False


def check_project(out_dir: Path, manifest_path: Path, name: str = NAME) -> list[str]:  # noqa: C901 - one checklist, read in order
    """Everything wrong with the project in ``out_dir`` against the manifest; empty when it is right."""
    errors: list[str] = []
    model_dir = out_dir / f"{name}.SemanticModel"
    report_dir = out_dir / f"{name}.Report"
    try:
        pbip = json.loads((out_dir / f"{name}.pbip").read_text())
        report_path = pbip["artifacts"][0]["report"]["path"]
        if (out_dir / report_path).resolve() != report_dir.resolve() or "version" not in pbip:
            errors.append(f".pbip points at {report_path}, not the report folder")
        pbism = json.loads((model_dir / "definition.pbism").read_text())
        if not str(pbism.get("version", "")).startswith("4."):
            errors.append(f"definition.pbism version {pbism.get('version')} does not allow a TMDL definition/")
        pbir = json.loads((report_dir / "definition.pbir").read_text())
        by_path = pbir["datasetReference"]["byPath"]["path"]
        if (report_dir / by_path).resolve() != model_dir.resolve():
            errors.append(f"definition.pbir byPath {by_path} is not the semantic model folder")
        json.loads((report_dir / "definition" / "report.json").read_text())
        # What Microsoft's published schemas require of each file (read from github.com/microsoft/
        # json-schemas, fabric/): the $schema naming a compatible version, the required keys, no others.
        for label, document, pattern, required, allowed in (
            (".pbip", pbip, r"fabric/pbip/pbipProperties/1\.\d+\.\d+/", {"version", "artifacts"}, {"settings"}),
            (
                "definition.pbism",
                pbism,
                r"fabric/item/semanticModel/definitionProperties/1\.\d+\.\d+/",
                {"version"},
                {"settings"},
            ),
            (
                "definition.pbir",
                pbir,
                r"fabric/item/report/definitionProperties/2\.\d+\.\d+/",
                {"version", "datasetReference"},
                set(),
            ),
        ):
            prefix = r"^https://developer\.microsoft\.com/json-schemas/"
            if not re.match(prefix + pattern + r"schema\.json$", str(document.get("$schema", ""))):
                errors.append(f"{label}: $schema {document.get('$schema')!r} is not its published schema")
            if missing := required - set(document):
                errors.append(f"{label}: missing {sorted(missing)}")
            if extra := set(document) - required - allowed - {"$schema"}:
                errors.append(f"{label}: properties the schema does not allow: {sorted(extra)}")
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        errors.append(f"project JSON: {error!r}")

    try:
        model = load_definition(model_dir / "definition")
    except (OSError, TmdlError) as error:
        return [*errors, f"TMDL does not parse: {error}"]

    contracts = published_models(manifest_path)
    data_tables = {t: node for t, node in model.tables.items() if t not in (MEASURES_TABLE, SECURITY_TABLE)}
    for missing in sorted(set(contracts) - set(data_tables)):
        errors.append(f"published table {missing} is not in the model")
    for extra in sorted(set(data_tables) - set(contracts)):
        errors.append(f"table {extra} is in the model but not a published mart")

    # Tables and columns: names in contract order, types, source columns, descriptions.
    for table_name in sorted(set(contracts) & set(data_tables)):
        node, contract = data_tables[table_name], contracts[table_name]
        if _words(node.description) != _words(contract["description"]):
            errors.append(f"{table_name}: description differs from dbt")
        expected = list(contract["columns"].values())
        columns = node.of_type("column")
        if [c.name for c in columns] != [c["name"] for c in expected]:
            errors.append(
                f"{table_name}: columns {[c.name for c in columns]} != contract {[c['name'] for c in expected]}"
            )
        by_name = {c.name: c for c in columns}
        for spec in expected:
            column = by_name.get(spec["name"])
            if column is None:
                continue
            want = EXPECTED_TYPES.get(spec["data_type"])
            if want is None:
                errors.append(f"{table_name}.{spec['name']}: dbt type {spec['data_type']} has no expected mapping")
            elif column.properties.get("dataType") != want:
                errors.append(f"{table_name}.{spec['name']}: dataType {column.properties.get('dataType')} != {want}")
            if column.properties.get("sourceColumn") != spec["name"]:
                errors.append(f"{table_name}.{spec['name']}: sourceColumn {column.properties.get('sourceColumn')}")
            if _words(column.description) != _words(spec.get("description")):
                errors.append(f"{table_name}.{spec['name']}: description differs from dbt")
            if spec["name"].endswith("_key") and column.properties.get("summarizeBy") != "none":
                errors.append(f"{table_name}.{spec['name']}: a key must not be summarized")
        partitions = node.of_type("partition")
        if len(partitions) != 1 or partitions[0].expression != "m" or partitions[0].properties.get("mode") != "import":
            errors.append(f"{table_name}: expected one import partition in M")
            continue
        source = str(partitions[0].properties.get("source", ""))
        for needle in (
            f'"\\{table_name}.parquet"',
            "Parquet.Document(File.Contents(",
            f'Item = "{table_name}"',
            "PostgreSQL.Database(PostgresServer, PostgresDatabase)",
            "Schema = PostgresSchema",
            'if SourceType = "PostgreSQL"',
        ):
            if needle not in source:
                errors.append(f"{table_name}: partition source lacks {needle}")
        if not _balanced(source):
            errors.append(f"{table_name}: unbalanced brackets in the partition's M")
        selected = re.search(r"Table\.SelectColumns\(Source, \{(.*?)\}\)", source, re.S)
        if not selected or re.findall(r'"([^"]+)"', selected.group(1)) != [c["name"] for c in expected]:
            errors.append(f"{table_name}: the partition does not select exactly the contract columns")

    # Relationships: between published columns of one type, exactly the dbt tests', no ambiguous active paths.
    seen_names, found, active = set(), set(), []
    for rel in model.relationships:
        if rel.name in seen_names:
            errors.append(f"relationship {rel.name} defined twice")
        seen_names.add(rel.name)
        try:
            from_table, from_column = column_reference(str(rel.properties["fromColumn"]))
            to_table, to_column = column_reference(str(rel.properties["toColumn"]))
        except (KeyError, TmdlError) as error:
            errors.append(f"relationship {rel.name}: {error}")
            continue
        ends = []
        for table, column in ((from_table, from_column), (to_table, to_column)):
            if table not in data_tables:
                errors.append(f"relationship {rel.name} points outside the model: {table}")
            elif column not in model.columns(table):
                errors.append(f"relationship {rel.name}: {table}.{column} is not a column")
            else:
                ends.append(model.columns(table)[column].properties.get("dataType"))
        if len(ends) == 2 and ends[0] != ends[1]:
            errors.append(f"relationship {rel.name} joins {ends[0]} to {ends[1]}")
        found.add((from_table, from_column, to_table, to_column))
        if rel.properties.get("isActive", "true") != "false":
            active.append((from_table, to_table))
    expected_relationships = relationship_tests(manifest_path)
    for missing in sorted(expected_relationships - found):
        # Left out only when the from-table already reaches the to-table through another table along the
        # active relationships (a mart's segment_key, which dim_account carries): the same filter path.
        if not _reaches_through_another(active, missing[0], missing[2]):
            errors.append(f"dbt relationships test {missing} has no relationship")
    for extra in sorted(found - expected_relationships):
        errors.append(f"relationship {extra} has no dbt relationships test")
    for (start, end), paths in sorted(_active_paths(active).items()):
        if paths > 1 or start == end:
            errors.append(f"ambiguous: {paths} active filter paths from {start} to {end}")

    # The date table.
    if "dim_date" in contracts:
        dim_date = model.tables.get("dim_date")
        keys = [c for c in (dim_date.of_type("column") if dim_date else []) if c.properties.get("isKey")]
        if dim_date is None or dim_date.properties.get("dataCategory") != "Time":
            errors.append("dim_date is not marked as the date table (dataCategory: Time)")
        if len(keys) != 1 or keys[0].properties.get("dataType") != "dateTime":
            errors.append(f"dim_date needs exactly one dateTime key column, has {[k.name for k in keys]}")

    # Measures: present, described, reading columns and measures that exist.
    measures = model.measures()
    for missing in sorted(HEADLINE_MEASURES - set(measures)):
        errors.append(f"measure {missing} is missing")
    for measure in measures.values():
        if not measure.description:
            errors.append(f"measure {measure.name} has no description")
        dax = measure.expression or ""
        if not _balanced(dax):
            errors.append(f"measure {measure.name}: unbalanced brackets in its DAX")
        for quoted, plain, column in _QUALIFIED.findall(dax):
            table = quoted.replace("''", "'") if quoted else plain
            if table not in model.tables or column not in model.columns(table):
                errors.append(f"measure {measure.name} reads {table}[{column}], which is not in the model")
        for reference in _BARE.findall(dax):
            if reference not in measures:
                errors.append(f"measure {measure.name} uses [{reference}], which is not a measure")

    # Parameters.
    for missing in sorted(PARAMETERS - set(model.expressions)):
        errors.append(f"parameter {missing} is missing")
    for name_, expression in model.expressions.items():
        if "IsParameterQuery=true" not in (expression.expression or ""):
            errors.append(f"expression {name_} is not a parameter")
    if not (
        model.expressions.get("PostgresSchema") and model.expressions["PostgresSchema"].expression.startswith('"bi"')
    ):
        errors.append("PostgresSchema does not default to bi")
    source_type = model.expressions.get("SourceType")
    if not source_type or 'List={"Parquet", "PostgreSQL"}' not in (source_type.expression or ""):
        errors.append("SourceType does not offer Parquet and PostgreSQL")
    return errors


# --- tests -------------------------------------------------------------------------------------------


def test_the_published_schema_is_the_marts_contracts_in_the_yml_files(manifest):
    """published_schema_from_manifest against the yml files themselves (no manifest in between)."""
    expected = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "marts").rglob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            if re.match(r"(dim|fct|mart)_", model["name"]):
                expected[model["name"]] = {c["name"]: c["data_type"] for c in model["columns"]}
    schema = published_schema_from_manifest(manifest)
    assert schema == expected
    assert {"dim_account", "dim_date", "fct_invoice_lines", "fct_survey_responses", "mart_account_360"} <= set(schema)
    assert "feat_account_snapshot" not in schema
    assert not any(name.startswith(("stg_", "int_")) for name in schema)
    for table, columns in schema.items():
        assert list(columns) == list(expected[table]), f"{table}: column order differs"


def test_the_generated_project_matches_the_manifest(project, manifest):
    assert check_project(project, manifest) == []


def test_every_tmdl_file_parses_and_tables_hold_every_contract_column(project, manifest):
    files = sorted(project.rglob("*.tmdl"))
    assert len(files) >= len(published_schema_from_manifest(manifest)) + 5
    for path in files:
        assert parse_tmdl(path.read_text(encoding="utf-8"), str(path)), path
    model = load_definition(project / f"{NAME}.SemanticModel" / "definition")
    for table, columns in published_schema_from_manifest(manifest).items():
        assert {c: n.properties["dataType"] for c, n in model.columns(table).items()} == {
            c: EXPECTED_TYPES[t] for c, t in columns.items()
        }


def test_relationships_keep_the_first_of_two_paths_active(project):
    model = load_definition(project / f"{NAME}.SemanticModel" / "definition")
    state = {
        (column_reference(r.properties["fromColumn"]), column_reference(r.properties["toColumn"])): r.properties.get(
            "isActive", "true"
        )
        for r in model.relationships
    }
    invoice_date = (("fct_invoice_lines", "invoice_date_key"), ("dim_date", "date_key"))
    due_date = (("fct_invoice_lines", "due_date_key"), ("dim_date", "date_key"))
    assert state[invoice_date] == "true" and state[due_date] == "false"
    # The inactive due date is used: a measure activates it with USERELATIONSHIP.
    assert any(
        "USERELATIONSHIP ( fct_invoice_lines[due_date_key], dim_date[date_key] )" in (m.expression or "")
        for m in model.measures().values()
    )
    # mart_account_360 reaches dim_segment through dim_account already: its own segment_key is left out.
    segment_paths = {k[0][0] for k in state if k[1][0] == "dim_segment"}
    assert {"dim_account", "mart_nps_summary"} <= segment_paths
    assert not {"mart_account_360", "mart_lost_customers", "mart_survey_coverage"} & segment_paths
    assert "false" not in {v for k, v in state.items() if k != due_date}, "every inactive one is used or gone"
    assert state[(("mart_account_360", "account_key"), ("dim_account", "account_key"))] == "true"


def test_a_diamond_of_relationships_keeps_one_path_and_order_decides_which():
    def table(name: str, *columns: str) -> ModelTable:
        return ModelTable(name, "", tuple(ModelColumn(c, "integer", "") for c in columns))

    tables = [table("dim_a", "a_key", "b_key"), table("dim_b", "b_key"), table("fct_x", "a_key", "b_key")]

    def test_node(source: str, column: str, target: str, field: str) -> dict:
        return {
            "resource_type": "test",
            "test_metadata": {
                "name": "relationships",
                "kwargs": {"column_name": column, "arguments": {"to": f"ref('{target}')", "field": field}},
            },
            "attached_node": f"model.p.{source}",
            "depends_on": {"nodes": [f"model.p.{source}", f"model.p.{target}"]},
        }

    nodes = {f"model.p.{t.name}": {"resource_type": "model", "name": t.name} for t in tables}
    nodes |= {
        "test.1": test_node("fct_x", "b_key", "dim_b", "b_key"),
        "test.2": test_node("fct_x", "a_key", "dim_a", "a_key"),
        "test.3": test_node("dim_a", "b_key", "dim_b", "b_key"),
    }
    relationships = derive_relationships({"nodes": nodes}, tables)
    state = {(r.from_table, r.from_column, r.to_table): r.is_active for r in relationships}
    # dim_a sorts first: dim_a -> dim_b and fct_x -> dim_a are kept; fct_x -> dim_b would be a second path
    # through another table, so it is left out (a second key to the same table would stay, inactive).
    assert state == {
        ("dim_a", "b_key", "dim_b"): True,
        ("fct_x", "a_key", "dim_a"): True,
    }  # fct_x -> dim_b is left out: fct_x reaches dim_b through dim_a


def test_the_measures_withhold_nps_below_the_dbt_minimum(manifest):
    dbt_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    minimum = dbt_vars["min_respondents"]
    declared = declared_measures(json.loads(manifest.read_text()))
    withheld = [m for m in declared if f">= {minimum}" in m.expression]
    assert {m.name for m in withheld} == {"NPS (responses)", "NPS margin of error (responses)"}
    # And they follow the rule where a company changes it, in the DAX and in the words.
    stricter = BusinessRules.load({"min_respondents": 25, "nps_promoter_min_score": 8})
    changed = {m.name: m for m in declared_measures(json.loads(manifest.read_text()), stricter)}
    assert {n for n, m in changed.items() if ">= 25" in m.expression} == {m.name for m in withheld}
    assert "blank below 25 responses" in changed["NPS (responses)"].description
    assert "Blank below 25 responses" in changed["NPS"].description  # the shared pattern's sentence
    assert "percent promoters (8-10)" in changed["NPS"].description


def _manifest_with(measures: list) -> dict:
    node = {"resource_type": "model", "name": "mart_x", "config": {"meta": {"powerbi_measures": measures}}}
    return {"nodes": {"model.p.mart_x": node}}


def test_measures_are_declared_in_the_models_yml_and_their_reads_come_from_the_dax(manifest):
    declared = declared_measures(json.loads(manifest.read_text()))
    by_name = {m.name: m for m in declared}
    assert by_name["NPS"].model == "mart_nps_summary" and by_name["Revenue TTM"].model == "mart_account_360"
    # One shared pattern for the five mart_nps_summary figures, each reading its own column.
    for name, column in [
        ("NPS", "nps"),
        ("Adjusted NPS", "adjusted_nps"),
        ("NPS margin of error", "nps_margin_of_error"),
    ]:
        assert ("mart_nps_summary", column) in by_name[name].reads
        assert ("mart_nps_summary", "segment_key") in by_name[name].reads
    # A bare [measure] is not a column read.
    assert by_name["NPS (responses)"].reads == (
        ("fct_survey_responses", "nps_points"),
        ("fct_survey_responses", "survey_type"),
    )
    rendered = declared_measures(_manifest_with([{"name": "Sum", "description": "d", "dax": "SUM ( mart_x[a] )"}]))
    assert rendered[0].reads == (("mart_x", "a"),)


def test_a_malformed_measure_declaration_names_the_model_and_the_measure():
    cases = {
        "misspelt key": [{"name": "M", "description": "d", "dax": "1", "fromat": "0"}],
        "no expression": [{"name": "M", "description": "d"}],
        "unknown pattern": [{"name": "M", "description": "d", "pattern": "nope", "column": "c"}],
        "pattern without column": [{"name": "M", "description": "d", "pattern": "nps_summary_figure"}],
        "unknown rule": [{"name": "M", "description": "above $no_such_rule", "dax": "1"}],
        "twice": [{"name": "M", "description": "d", "dax": "1"}, {"name": "M", "description": "d", "dax": "2"}],
    }
    for case, measures in cases.items():
        with pytest.raises(MeasureDeclarationError, match=r"mart_x|declared twice") as error:
            declared_measures(_manifest_with(measures))
        assert "M" in str(error.value), case


def test_a_measure_reading_a_column_the_contract_lacks_is_an_error():
    table = ModelTable("mart_x", "", (ModelColumn("a", "bigint", ""),))
    manifest = _manifest_with([{"name": "Sum b", "description": "d", "dax": "SUM ( mart_x[b] )"}])
    with pytest.raises(ValueError, match=r"Sum b.*mart_x\.b"):
        tmdl.measures_for(manifest, [table])
    # A measure over a table that is not published is left out, not an error.
    assert tmdl.measures_for(manifest, []) == []


def test_types_map_as_specified_and_unknown_types_fail():
    for dbt_type, power_bi in EXPECTED_TYPES.items():
        assert tmdl_type(dbt_type)[0] == power_bi, dbt_type
    assert tmdl_type("date")[2] and tmdl_type("timestamp")[2], "dates carry a formatString"
    with pytest.raises(ValueError, match="blob"):
        tmdl_type("blob")


def test_generation_is_deterministic_and_never_overwrites_the_report(manifest, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_pbip(manifest, first, NAME)
    write_pbip(manifest, second, NAME)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative

    report = first / f"{NAME}.Report" / "definition" / "report.json"
    edited = json.loads(report.read_text()) | {"edited": "by the BI developer"}
    report.write_text(json.dumps(edited))
    stale = first / f"{NAME}.SemanticModel" / "definition" / "tables" / "mart_dropped.tmdl"
    stale.write_text("table mart_dropped\n")
    write_pbip(manifest, first, NAME)
    assert json.loads(report.read_text())["edited"] == "by the BI developer"
    assert not stale.exists(), "the semantic model is regenerated whole"
    assert check_project(first, manifest) == []


def _drop_block(table: str, column: str) -> Callable[[Path], None]:
    def corrupt(definition: Path) -> None:
        path = definition / "tables" / f"{table}.tmdl"
        blocks = path.read_text().split("\n\n")
        kept = [b for b in blocks if f"\tcolumn {column}\n" not in b + "\n"]
        assert len(kept) == len(blocks) - 1
        path.write_text("\n\n".join(kept))

    return corrupt


def _replace(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def corrupt(definition: Path) -> None:
        path = definition / relative
        text = path.read_text()
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1))

    return corrupt


CORRUPTIONS = {
    "dropped column": (_drop_block("fct_invoice_lines", "net_amount_eur"), "fct_invoice_lines: columns"),
    "mistyped column": (
        _replace(
            "tables/dim_account.tmdl",
            "column account_key\n\t\tdataType: int64",
            "column account_key\n\t\tdataType: string",
        ),
        "dim_account.account_key: dataType string != int64",
    ),
    "decimal read as double": (
        _replace(
            "tables/mart_account_360.tmdl",
            "column revenue_ttm_eur\n\t\tdataType: decimal",
            "column revenue_ttm_eur\n\t\tdataType: double",
        ),
        "mart_account_360.revenue_ttm_eur: dataType double != decimal",
    ),
    "relationship to a missing column": (
        _replace("relationships.tmdl", "toColumn: dim_date.date_key", "toColumn: dim_date.date_id"),
        "dim_date.date_id is not a column",
    ),
    "relationship outside the model": (
        _replace("relationships.tmdl", "toColumn: dim_segment.segment_key", "toColumn: stg_segments.segment_key"),
        "points outside the model: stg_segments",
    ),
    "second active path": (
        _replace("relationships.tmdl", "\tisActive: false\n", ""),
        "ambiguous",
    ),
    "date table not marked": (_replace("tables/dim_date.tmdl", "\tdataCategory: Time\n", ""), "date table"),
    "measure on a wrong column": (
        _replace("tables/_Measures.tmdl", "[margin_at_risk_eur]", "[margin_at_risk]"),
        "reads mart_account_360[margin_at_risk]",
    ),
    "unbalanced DAX": (
        _replace("tables/_Measures.tmdl", "DIVIDE ( _churners, _accounts )", "DIVIDE ( _churners, _accounts"),
        "unbalanced",
    ),
    "spaces for indentation": (
        _replace("tables/dim_segment.tmdl", "\tcolumn segment_name", "    column segment_name"),
        "indentation must be tabs",
    ),
    "a column one level too deep": (
        _replace("tables/dim_segment.tmdl", "\tcolumn segment_name", "\t\tcolumn segment_name"),
        "TMDL does not parse",
    ),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupted_copy_is_detected(project, manifest, tmp_path, corruption):
    corrupt, expected = CORRUPTIONS[corruption]
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    corrupt(copy / f"{NAME}.SemanticModel" / "definition")
    errors = check_project(copy, manifest)
    assert any(expected in error for error in errors), errors


def test_a_corrupted_project_json_is_detected(project, manifest, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    (copy / f"{NAME}.Report" / "definition.pbir").write_text('{"version": "4.0", "datasetReference": {')
    assert any("project JSON" in error for error in check_project(copy, manifest))


def test_the_parser_reads_quoted_names_descriptions_and_multiline_expressions():
    text = (
        "/// A table\n/// on two lines\n"
        "table 'Sales ''24'\n"
        "\tmeasure 'Net Sales' =\n"
        "\t\t\tVAR x = 1\n\n"
        "\t\t\tRETURN\n\t\t\t    x\n"
        "\t\tformatString: 0.0\n"
        "\tcolumn Amount\n\t\tisHidden\n\t\tdataType: decimal\n"
        "\tpartition p = m\n\t\tsource =\n\t\t\t\tlet\n\t\t\t\t    a = 1\n\t\t\t\tin\n\t\t\t\t    a\n"
    )
    (table,) = parse_tmdl(text)
    assert (table.type, table.name, table.description) == ("table", "Sales '24", "A table\non two lines")
    measure = table.child("measure", "Net Sales")
    assert measure.expression == "VAR x = 1\n\nRETURN\n    x"
    assert measure.properties == {"formatString": "0.0"}
    assert table.child("column", "Amount").properties == {"isHidden": True, "dataType": "decimal"}
    assert table.child("partition", "p").properties["source"] == "let\n    a = 1\nin\n    a"
    assert column_reference("'Sales ''24'.'Net Sales'") == ("Sales '24", "Net Sales")
    for broken in ("table t\n\tdataType: a\n\tdataType: b\n", "table t\n\tmeasure m =\n\tformatString: 0\n", "/// x\n"):
        with pytest.raises(TmdlError):
            parse_tmdl(broken)


def test_python_m_pipeline_powerbi_writes_the_project(manifest, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.powerbi",
            str(out),
            "--manifest",
            str(manifest),
            "--parquet-folder",
            r"\\fileserver\bi\current",
            "--name",
            NAME,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == out / f"{NAME}.pbip"
    assert check_project(out, manifest) == []
    model = load_definition(out / f"{NAME}.SemanticModel" / "definition")
    assert model.expressions["ParquetFolder"].expression.startswith('"\\\\fileserver\\bi\\current" meta')


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        (f"{NAME}.pbip", lambda d: d.pop("$schema"), ".pbip: $schema None is not its published schema"),
        (
            f"{NAME}.SemanticModel/definition.pbism",
            lambda d: d.update({"$schema": d["$schema"].replace("/1.0.0/", "/2.0.0/")}),
            "definition.pbism: $schema",
        ),
        (f"{NAME}.Report/definition.pbir", lambda d: d.update({"lineage": 1}), "does not allow: ['lineage']"),
    ],
)
def test_a_project_file_that_breaks_its_published_schema_is_detected(
    project, manifest, tmp_path, file, change, expected
):
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    document = json.loads((copy / file).read_text())
    change(document)
    (copy / file).write_text(json.dumps(document))
    assert any(expected in error for error in check_project(copy, manifest)), check_project(copy, manifest)


def test_columns_read_and_add_up_as_what_they_mean(project):
    """Ratios show as percentages, every double has a format, and ratings, NPS, ages in days and shares are
    never summed (a sum of ratings means nothing); revenue and counts still add up."""
    model = load_definition(project / f"{NAME}.SemanticModel" / "definition")

    def column(table: str, name: str) -> dict:
        return model.columns(table)[name].properties

    unformatted = [
        f"{table}.{name}"
        for table in model.tables
        if table != MEASURES_TABLE
        for name, node in model.columns(table).items()
        if node.properties.get("dataType") == "double" and not node.properties.get("formatString")
    ]
    assert unformatted == []
    assert column("mart_account_360", "gross_margin_pct")["formatString"] == "0.0%"
    assert column("mart_account_360", "churn_probability")["formatString"] == "0.0%"
    assert column("mart_nps_summary", "response_rate")["formatString"] == "0.0%"
    assert column("mart_nps_summary", "nps")["formatString"] == "0.0"
    for table, name in (
        ("fct_driver_ratings", "rating"),
        ("fct_survey_responses", "nps_score"),
        ("mart_account_360", "days_since_last_meeting"),
        ("mart_account_360", "gross_margin_pct"),
        ("mart_account_360", "relationship_strength_index"),
    ):
        assert column(table, name)["summarizeBy"] == "none", f"{table}.{name}"
    assert column("mart_account_360", "revenue_ttm_eur")["summarizeBy"] == "sum"
    assert column("fct_invoice_lines", "net_amount_eur")["summarizeBy"] == "sum"


def test_every_table_column_and_measure_has_a_stable_unique_lineage_tag(project, manifest, tmp_path):
    model = load_definition(project / f"{NAME}.SemanticModel" / "definition")
    tags = [node.properties.get("lineageTag") for node in model.tables.values()]
    for table in model.tables:
        tags += [node.properties.get("lineageTag") for node in model.columns(table).values()]
    tags += [measure.properties.get("lineageTag") for measure in model.measures().values()]
    assert None not in tags and len(tags) == len(set(tags))
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", t) for t in tags)
    # The same manifest, written again elsewhere, gives the same tags: nothing for Desktop to add.
    again = tmp_path / "again"
    write_pbip(manifest, again, NAME)
    rewritten = load_definition(again / f"{NAME}.SemanticModel" / "definition")
    assert {t: n.properties["lineageTag"] for t, n in rewritten.tables.items()} == {
        t: n.properties["lineageTag"] for t, n in model.tables.items()
    }
