"""The generated report (PBIR) and the semantic model's DAX and M, checked with outside tools.

Every file of the report is validated against Microsoft's published PBIR JSON schemas, vendored under
tests/data/pbir_schemas/ (no network); every field a visual binds is looked up in the TMDL the generator
wrote, read back with the strict reader of tests/tmdl_parse.py (not with the generator's own lists); the
page list is the one of issue 21. pbi-parsers must parse every DAX measure, row-level-security filter and M
expression, and coop-dax-review must report no error on the model. Tools missing make these tests fail,
never skip. Corrupted copies prove each check can fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from pbi_parsers import dax, pq
from referencing import Registry, Resource

from pipeline.powerbi import tmdl
from pipeline.powerbi.report import ModelFields, column, measure, report_pages, write_report
from tests import test_powerbi
from tests.tmdl_parse import SemanticModel, load_definition

# test_powerbi's fixtures, reused: one dbt parse and one generated project for both modules' checks.
NAME = test_powerbi.NAME
manifest = test_powerbi.manifest
project = test_powerbi.project

SCHEMAS = Path(__file__).parent / "data" / "pbir_schemas"
SCHEMA_BASE = "https://developer.microsoft.com/json-schemas/fabric/"
PAGES = [
    "Overview",
    "Accounts to act on",
    "Drivers",
    "NPS",
    "Value and tiers",
    "Segments",
    "Competitors",
    "Voice coverage and CRM data quality",
    "Model performance",
    "Retention effect",
    "Feedback follow-up",
    "NPS and results",
]


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.rglob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(document)
        url = SCHEMA_BASE + path.relative_to(SCHEMAS).as_posix()
        resources.append((url, resource))
        if document.get("$id") and document["$id"] != url:
            resources.append((document["$id"], resource))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def schema_errors(report_dir: Path) -> list[str]:
    """Every schema violation of every JSON file of the report folder, offline."""
    errors = []
    files = [report_dir / "definition.pbir", *sorted((report_dir / "definition").rglob("*.json"))]
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        url = document.get("$schema", "")
        if not url.startswith(SCHEMA_BASE):
            errors.append(f"{path.name}: $schema {url!r} is not a vendored Microsoft schema")
            continue
        try:
            schema = REGISTRY.contents(url)
        except LookupError:
            errors.append(f"{path.relative_to(report_dir)}: schema {url} is not vendored")
            continue
        for error in Draft7Validator(schema, registry=REGISTRY).iter_errors(document):
            errors.append(f"{path.relative_to(report_dir)} {error.json_path}: {error.message[:200]}")
    return errors


def _references(node: object) -> Iterator[tuple[str, str, str]]:
    """(kind, entity, property) of every Column and Measure expression anywhere in a visual's JSON."""
    if isinstance(node, dict):
        for kind in ("Column", "Measure"):
            inner = node.get(kind)
            if isinstance(inner, dict) and "Property" in inner:
                source = inner.get("Expression", {}).get("SourceRef", {})
                yield kind, source.get("Entity") or source.get("Source", ""), inner["Property"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def unresolved_references(report_dir: Path, model: SemanticModel) -> list[str]:
    """Every field of every visual that the TMDL model lacks (filters name their table by an alias)."""
    missing = []
    for path in sorted((report_dir / "definition" / "pages").rglob("visual.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        aliases = {
            source["Name"]: source["Entity"]
            for item in document.get("filterConfig", {}).get("filters", [])
            for source in item.get("filter", {}).get("From", [])
        }
        for kind, entity, prop in _references(document):
            table = aliases.get(entity, entity)
            node = model.tables.get(table)
            names = {c.name for c in node.of_type(kind.lower())} if node else set()
            if prop not in names:
                missing.append(f"{path.parent.name}: {kind} {table}[{prop}]")
    return missing


def _model(project_dir: Path) -> SemanticModel:
    return load_definition(project_dir / f"{NAME}.SemanticModel" / "definition")


def _report(project_dir: Path) -> Path:
    return project_dir / f"{NAME}.Report"


# --- the report -----------------------------------------------------------------------------------------


def test_the_project_files_validate_against_microsofts_schemas(project):
    for path in (project / f"{NAME}.pbip", project / f"{NAME}.SemanticModel" / "definition.pbism"):
        document = json.loads(path.read_text(encoding="utf-8"))
        schema = REGISTRY.contents(document["$schema"])
        assert list(Draft7Validator(schema, registry=REGISTRY).iter_errors(document)) == [], path.name
        document["unexpected"] = 1
        assert list(Draft7Validator(schema, registry=REGISTRY).iter_errors(document)), path.name


def test_every_report_file_validates_against_microsofts_schemas(project, tmp_path):
    report = _report(project)
    files = list((report / "definition").rglob("*.json"))
    visuals = list((report / "definition").rglob("visual.json"))
    assert len(visuals) >= 30 and len(files) == 3 + len(PAGES) + len(visuals)
    assert schema_errors(report) == []
    assert not (report / "report.json").exists(), "the legacy report.json goes with PBIR"

    # The validation can fail: a visual without its position, a page with an unknown display option, a
    # projection without its field.
    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    visual = copy / "definition" / "pages" / "overview" / "visuals" / "revenue" / "visual.json"
    document = json.loads(visual.read_text())
    del document["position"]
    document["visual"]["query"]["queryState"]["Values"]["projections"][0].pop("field")
    visual.write_text(json.dumps(document))
    page = copy / "definition" / "pages" / "nps" / "page.json"
    page.write_text(json.dumps(json.loads(page.read_text()) | {"displayOption": "Stretch"}))
    errors = schema_errors(copy)
    assert any("revenue/visual.json" in e and "'position' is a required property" in e for e in errors), errors
    assert any("revenue/visual.json" in e and "'field' is a required property" in e for e in errors), errors
    assert any("nps/page.json" in e and "displayOption" in e for e in errors), errors


def test_every_visual_binds_only_fields_and_measures_of_the_generated_model(project, tmp_path):
    model = _model(project)
    report = _report(project)
    assert unresolved_references(report, model) == []
    references = [
        r
        for path in (report / "definition" / "pages").rglob("visual.json")
        for r in _references(json.loads(path.read_text()))
    ]
    assert {kind for kind, _, _ in references} == {"Column", "Measure"}
    assert len(references) >= 100

    # A visual naming a column the model does not have is reported.
    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    visual = copy / "definition" / "pages" / "accounts_to_act_on" / "visuals" / "accounts" / "visual.json"
    visual.write_text(visual.read_text().replace('"Property": "recommended_action"', '"Property": "next_action"'))
    assert unresolved_references(copy, model) == ["accounts: Column mart_account_360[next_action]"]


def test_the_generator_refuses_a_visual_bound_to_a_field_the_model_lacks(tmp_path):
    fields: dict[str, set[str]] = {}
    for item in (f for p in report_pages() for v in p.visuals for f in v.fields()):
        fields.setdefault(item.table, set()).add(item.name)
    columns = {t: frozenset(n) for t, n in fields.items() if t != "_Measures"}
    complete = ModelFields(columns, {"_Measures": frozenset(fields["_Measures"])})
    assert write_report(tmp_path / "ok", complete).written
    lacking = ModelFields(
        {**columns, "mart_account_360": columns["mart_account_360"] - {"churn_reasons"}},
        {"_Measures": frozenset(fields["_Measures"] - {"Adjusted NPS"})},
    )
    with pytest.raises(ValueError, match=r"mart_account_360\[churn_reasons\].*_Measures\[Adjusted NPS\]"):
        write_report(tmp_path / "lacking", lacking)
    assert column("dim_date", "calendar_year").query_ref == "dim_date.calendar_year"
    assert measure("NPS").kind == "measure"


def test_the_pages_are_the_issues_and_each_says_what_it_shows(project):
    definition = _report(project) / "definition"
    order = json.loads((definition / "pages" / "pages.json").read_text())["pageOrder"]
    names = [json.loads((definition / "pages" / p / "page.json").read_text())["displayName"] for p in order]
    assert names == PAGES
    by_name = {p.display_name: p for p in report_pages()}
    # What each page is for, by the fields it shows.
    accounts = {f.name for v in by_name["Accounts to act on"].visuals for f in v.fields()}
    assert {"account_owner_key", "value_tier", "care_model", "churn_reasons", "recommended_action"} <= accounts
    (table,) = [v for v in by_name["Accounts to act on"].visuals if v.visual_type == "tableEx"]
    assert table.sort == (column("mart_account_360", "churn_probability"), "Descending")
    assert [(f.field.name, f.values) for f in table.filters] == [("is_active_customer", (True,))]
    slicers = {v.roles["Values"][0].name for v in by_name["Accounts to act on"].visuals if v.visual_type == "slicer"}
    assert {"account_owner_key", "value_tier", "care_model"} <= slicers
    overview = {f.name for v in by_name["Overview"].visuals for f in v.fields()}
    assert {"NPS", "NPS margin of error", "Adjusted NPS", "Adjusted NPS margin of error"} <= overview
    drivers = [v for v in by_name["Drivers"].visuals if v.visual_type == "clusteredBarChart"]
    assert {v.roles["Y"][0].name for v in drivers} == {"penalty", "reward"}
    assert all(v.roles["Series"][0].name == "driver_class" for v in drivers)
    assert any(f.name == "lift" for v in by_name["Model performance"].visuals for f in v.fields())
    # The segments page: each segment in words with its size, revenue, NPS and churn risk, and its accounts.
    shown = {(f.table, f.name) for v in by_name["Segments"].visuals for f in v.fields()}
    assert {("mart_segments", c) for c in ("description", "accounts", "revenue_share", "nps_12m")} <= shown
    assert {("mart_segments", "mean_churn_probability"), ("mart_account_360", "segment")} <= shown
    # Closing the loop (issue 22): the effect against the holdout with its interval, the contact list most at
    # risk first, the open follow-ups oldest first, the closed-loop rate by owner, the NPS bands' results.
    retention = by_name["Retention effect"].visuals
    shown = {(f.table, f.name) for v in retention for f in v.fields()}
    assert {("_Measures", "Retention effect (ITT)"), ("_Measures", "Retention contacts to make")} <= shown
    assert {("mart_retention_effect", c) for c in ("itt_relative_reduction_ci_low", "churn_rate_holdout")} <= shown
    # Per protocol only beside its flag; how many more cohorts the interval needs.
    assert {
        ("mart_retention_effect", c)
        for c in ("per_protocol_relative_reduction", "is_per_protocol_randomised", "more_cohorts_needed")
    } <= shown
    (contact_list,) = [v for v in retention if v.name == "retention_contact_list"]
    assert contact_list.sort == (column("mart_retention_contacts", "contact_priority"), "Ascending")
    follow_up = {v.name: v for v in by_name["Feedback follow-up"].visuals}
    assert [(f.field.name, f.values) for f in follow_up["open_follow_up_list"].filters] == [
        ("is_open", (True,)),
        ("is_active_customer", (True,)),
    ]
    assert follow_up["open_follow_up_list"].sort == (column("mart_feedback_follow_up", "response_date"), "Ascending")
    by_owner = follow_up["closed_loop_by_owner"]
    assert {(f.field.name, f.values) for f in by_owner.filters} == {
        ("period_type", ("last_12_months",)),
        ("segment_key", (0,)),
    }
    results = {f.name for v in by_name["NPS and results"].visuals for f in v.fields()}
    assert {"profitability_vs_average_ci_low", "churn_rate_next_12m", "field_claim_verdict"} <= results
    assert "results_statement" in results
    # Every table that shows accounts shows no personal data: the owner only as its pseudonymous key.
    for page in ("Retention effect", "Feedback follow-up"):
        names = {f.name for v in by_name[page].visuals for f in v.fields()}
        assert "account_owner_key" in names and not {"account_owner", "contact_email", "comment"} & names
    # The segment slicers leave out the "All segments" member (segment_key 0).
    segment_slicers = [v for p in report_pages() for v in p.visuals if v.name == "segment"]
    assert segment_slicers and all(
        f.field.name == "segment_key" and f.values == (0,) and f.exclude for v in segment_slicers for f in v.filters
    )


def test_an_edited_report_is_left_alone_and_an_unedited_one_is_regenerated(manifest, tmp_path):
    out = tmp_path / "out"
    tmdl.write_pbip(manifest, out, NAME)
    definition = _report(out) / "definition"
    page = definition / "pages" / "overview" / "page.json"
    stale = definition / "pages" / "old_page" / "page.json"
    stale.parent.mkdir()
    stale.write_text("{}")
    # Unedited but for a file that breaks the fingerprint: the report is the developer's now.
    _, result = tmdl.write_project(manifest, out, NAME)
    assert not result.written and "edited" in result.reason and stale.exists()
    shutil.rmtree(stale.parent)
    _, result = tmdl.write_project(manifest, out, NAME)
    assert result.written and result.pages == tuple(PAGES) and result.visuals >= 30

    # Edited in Desktop (the marker annotation kept, as Desktop keeps annotations): kept as edited.
    page.write_text(page.read_text().replace('"displayName": "Overview"', '"displayName": "Our overview"'))
    _, result = tmdl.write_project(manifest, out, NAME)
    assert not result.written and "Our overview" in page.read_text()

    # A PBIR report without the generator's marker (built by hand): never touched.
    report = definition / "report.json"
    document = json.loads(report.read_text())
    document.pop("annotations")
    report.write_text(json.dumps(document))
    _, result = tmdl.write_project(manifest, out, NAME)
    assert not result.written and "no generator marker" in result.reason

    # The legacy blank report.json earlier versions wrote is replaced; an edited legacy report is kept.
    from pipeline.powerbi.report import LEGACY_BLANK_REPORT

    legacy_out = tmp_path / "legacy"
    (legacy_out / f"{NAME}.Report").mkdir(parents=True)
    (legacy_out / f"{NAME}.Report" / "report.json").write_text(LEGACY_BLANK_REPORT)
    _, result = tmdl.write_project(manifest, legacy_out, NAME)
    assert result.written and not (legacy_out / f"{NAME}.Report" / "report.json").exists()
    edited_out = tmp_path / "edited"
    (edited_out / f"{NAME}.Report").mkdir(parents=True)
    (edited_out / f"{NAME}.Report" / "report.json").write_text('{"sections": [{"name": "Mine"}]}')
    _, result = tmdl.write_project(manifest, edited_out, NAME)
    assert not result.written and not (edited_out / f"{NAME}.Report" / "definition").exists()


# --- the model, read by outside tools -------------------------------------------------------------------


def _parses(parse, text: str) -> bool:
    try:
        return parse(text) is not None
    except (AssertionError, ValueError, IndexError, KeyError):  # pbi-parsers raises on some malformed input
        return False


_LIST_ITEM = re.compile(r'\s+(?:"[^"]*"|\{"[^"]*", ([^{}]+)\}),?')
_TYPE_PAIR = re.compile(r'\{"[^"]*", ([^{}"][^{}]*)\}')


def m_shape(source: str, table: str, types: tuple[str, ...]) -> str:
    """A partition's M with its table name generic and each one-column-per-line list replaced by one
    canonical list (a column, or a column of each of ``types``): the same syntax, the same templates, in a
    fraction of pbi-parsers' time (it backtracks without memo: about 50 ms per list item, half a minute for
    every partition in full). The lists' own contents are checked against the contracts in test_powerbi."""
    lines = source.replace(f'"{table}"', '"T"').replace(f"\\{table}.parquet", "\\T.parquet").splitlines()
    kept: list[str] = []
    for line in lines:
        item = _LIST_ITEM.fullmatch(line)
        if not item:
            kept.append(line)
            continue
        if kept and kept[-1].endswith("{"):  # the list's first item: the canonical list instead
            indent = line[: len(line) - len(line.lstrip())]
            canonical = [f'{{"c", {t}}}' for t in types] if item.group(1) else ['"c"']
            kept.append(",\n".join(indent + c for c in canonical))
    return "\n".join(kept)


def test_pbi_parsers_parses_every_dax_measure_rls_filter_and_m_expression(project):
    model = _model(project)
    measures = model.measures()
    filters = [p for role in model.roles.values() for p in role.of_type("tablePermission")]
    partitions = {t: str(p.properties["source"]) for t, n in model.tables.items() for p in n.of_type("partition")}
    assert len(measures) >= 25 and len(filters) >= 2 and len(partitions) == len(model.tables)
    assert [n for n, m in measures.items() if not _parses(dax.to_ast, m.expression or "")] == []
    assert [p.name for p in filters if not _parses(dax.to_ast, p.expression or "")] == []
    assert [n for n, e in model.expressions.items() if not _parses(pq.to_ast, e.expression or "")] == []
    # Every partition, by its shape: the generator's templates with every column type they use.
    types = tuple(sorted({t.strip() for source in partitions.values() for t in _TYPE_PAIR.findall(source)}))
    assert {"Int64.Type", "type text", "Currency.Type", "type date", "type number", "type logical"} <= set(types)
    shapes = {m_shape(source, table, types) for table, source in partitions.items()}
    assert 3 <= len(shapes) <= 5, "the date table, the other marts, the measures and the security table"
    assert [s for s in shapes if not _parses(pq.to_ast, s)] == []
    # The parsers can fail: unbalanced DAX, an M let without its result, a broken list in a shape.
    assert not _parses(dax.to_ast, "SUM ( fct_account_month[revenue_eur]")
    assert not _parses(pq.to_ast, "let\n    Source = 1,\nin")
    broken = m_shape(partitions["dim_product_line"], "dim_product_line", types).replace('{"c", type text}', "{")
    assert not _parses(pq.to_ast, broken)


def test_coop_dax_review_reports_no_error_on_the_model(project, tmp_path):
    definition = project / f"{NAME}.SemanticModel" / "definition"
    tool = Path(sys.executable).with_name("coop-dax-review")
    assert tool.exists(), f"coop-dax-review is not installed beside {sys.executable}"
    out = tmp_path / "review.json"
    result = subprocess.run(
        [str(tool), "check", str(definition), "--format", "json", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # no project config: the tool's own standard
    )
    assert result.returncode == 0, result.stderr
    review = json.loads(out.read_text())
    findings = review["findings"]
    assert review["models_checked"] and [f for f in findings if f["severity"] == "error"] == []
    rules = {f["rule_id"] for f in findings}
    # Every inactive relationship is used by a measure; divisions go through DIVIDE.
    assert not rules & {"DAX-DEAD-INACTIVE-RELATIONSHIP", "DAX-USE-DIVIDE"}, rules


# --- the model's shape for the report -------------------------------------------------------------------


def test_nps_summary_measures_share_one_pattern_that_follows_segment_date_and_account_filters(project):
    measures = _model(project).measures()
    names = ["NPS", "NPS margin of error", "Adjusted NPS", "Adjusted NPS margin of error", "Revenue-weighted NPS"]
    texts = {n: measures[n].expression for n in names}
    for name, text in texts.items():
        assert "REMOVEFILTERS ( dim_segment )" in text, name  # the relationship no longer hides segment 0
        assert "ISFILTERED ( dim_date )" in text and "dim_date[year_quarter]" in text, name
        assert "ISFILTERED ( dim_account )" in text, name
    # One pattern: the five differ only in the column they read and their fallback.
    skeletons = {
        text.replace(f"mart_nps_summary[{column_}]", "COLUMN").rsplit("RETURN", 1)[0]
        for text, column_ in zip(
            texts.values(),
            ["nps", "nps_margin_of_error", "adjusted_nps", "adjusted_nps_margin_of_error", "revenue_weighted_nps"],
            strict=True,
        )
    }
    assert len(skeletons) == 1
    assert "[NPS (responses)]" in texts["NPS"] and "BLANK ()" in texts["Adjusted NPS"]


def test_keys_hidden_bands_sorted_in_business_order_measures_in_folders(project):
    model = _model(project)
    for table in model.tables:
        for name, col in model.columns(table).items():
            surrogate = name.endswith("_key") and col.properties["dataType"] == "int64"
            if surrogate or name.endswith("_order"):
                assert col.properties.get("isHidden") is True, f"{table}.{name}"
    # The owner key is text, pseudonymous, and what the owner slicer shows: not hidden.
    assert "isHidden" not in model.columns("dim_account")["account_owner_key"].properties
    for table, band in (
        ("dim_account", "size_band"),
        ("dim_segment", "size_band"),
        ("mart_account_360", "size_band"),
        ("mart_account_360", "risk_band"),
        ("mart_churn_scores", "risk_band"),
    ):
        order = model.columns(table)[band].properties.get("sortByColumn")
        assert order == f"{band}_order", f"{table}.{band}"
        assert model.columns(table)[order].properties["dataType"] == "int64"
    folders = {n: m.properties.get("displayFolder") for n, m in model.measures().items()}
    assert all(folders.values()), [n for n, f in folders.items() if not f]
    assert folders["Backtest churn rate"].startswith("Churn") and folders["Revenue YoY growth"].startswith("Value")
    assert "Churn rate" in folders and "mart_model_performance" not in model.measures()["Churn rate"].expression


def test_row_level_security_maps_sign_ins_to_owner_keys_from_the_customers_own_table(project):
    model = _model(project)
    (role,) = model.roles.values()
    permissions = {p.name: p.expression for p in role.of_type("tablePermission")}
    assert role.properties.get("modelPermission") == "read"
    assert "USERPRINCIPALNAME ()" in permissions["Owner access"]
    assert permissions["dim_account"].startswith("dim_account[account_owner_key] IN")
    assert "'Owner access'[user_principal_name] = USERPRINCIPALNAME ()" in permissions["dim_account"]
    security = model.tables["Owner access"]
    assert security.properties.get("isHidden") is True
    source = str(security.of_type("partition")[0].properties["source"])
    assert "#table(Columns, {})" in source and "File.Contents(OwnerAccessFile)" in source
    assert "IsParameterQueryRequired=false" in model.expressions["OwnerAccessFile"].expression
    # The pipeline publishes no sign-in name: nothing in the model looks like one.
    text = "\n".join(p.read_text() for p in (project / f"{NAME}.SemanticModel").rglob("*.tmdl"))
    assert "@" not in text
