"""One definition of what is published: every consumer of the list asks pipeline.catalog."""

from __future__ import annotations

import duckdb
import pytest

from pipeline import catalog
from pipeline.dbt import DBT_PROJECT_DIR
from pipeline.publish.tables import published_tables

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def test_publishing_the_quality_suites_power_bi_and_the_release_see_the_same_tables():
    from assets.bi import BI_RELEASE_KEY, bi_release
    from pipeline.powerbi import tmdl
    from pipeline.quality import manifest as quality_manifest

    manifest = catalog.load_manifest(MANIFEST)
    names = catalog.published_names(manifest)
    assert len(names) >= 15 and {"dim_account", "fct_account_month", "mart_account_360"} <= set(names)
    assert [t.name for t in tmdl.model_tables(manifest)] == names
    assert sorted(quality_manifest.table_specs(manifest)) == names
    assert sorted(key.path[-1] for key in bi_release.asset_deps[BI_RELEASE_KEY]) == names


def _node(name: str, path: str, schema: str = "marts", package: str = "account_intelligence") -> dict:
    return {
        "resource_type": "model",
        "name": name,
        "package_name": package,
        "original_file_path": path,
        "schema": schema,
        "columns": {"x": {"name": "x", "data_type": "integer"}},
        "config": {"contract": {"enforced": True}},
    }


def test_only_this_projects_models_under_marts_with_a_published_name_are_published():
    manifest = {
        "metadata": {"project_name": "account_intelligence"},
        "nodes": {
            "a": _node("mart_kept", "models/marts/insight/mart_kept.sql"),
            "b": _node("mart_moved", "models/intermediate/mart_moved.sql", schema="intermediate"),
            "c": _node("int_helper", "models/marts/core/int_helper.sql"),
            "d": _node("dim_other", "models/marts/dim_other.sql", package="another_package"),
            "e": {**_node("fct_test", "models/marts/fct_test.sql"), "resource_type": "test"},
        },
    }
    assert catalog.published_names(manifest) == ["mart_kept"]


def test_a_published_model_built_in_another_schema_is_refused_by_name():
    manifest = {"nodes": {"a": _node("mart_elsewhere", "models/marts/mart_elsewhere.sql", schema="reporting")}}
    with pytest.raises(catalog.CatalogError, match=r"mart_elsewhere .* schema 'reporting'"):
        catalog.published_names(manifest)


def test_publishing_refuses_a_catalogued_table_the_warehouse_lacks(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute(
            "create schema marts; create table marts.dim_a as select 1 as x; create table marts.other as select 1"
        )
        assert [t.name for t in published_tables(conn)] == ["dim_a"]
        assert [t.name for t in published_tables(conn, ["dim_a"])] == ["dim_a"]
        with pytest.raises(ValueError, match="mart_missing"):
            published_tables(conn, ["dim_a", "mart_missing"])


def test_the_pandera_schemas_take_their_ranges_from_the_dbt_yml(tmp_path):
    import json

    from pipeline.churn.features import feature_schema
    from pipeline.publish.gate import scores_schema
    from pipeline.quality.manifest import model_rules

    manifest = catalog.load_manifest(MANIFEST)
    for model, schema in (("feat_account_snapshot", feature_schema()), ("mart_churn_scores", scores_schema())):
        declared = [r for r in model_rules(manifest, model) if r.check in ("value_between", "accepted_values")]
        assert len(declared) >= 4, model
        for rule in declared:
            column = rule.columns[0]
            if column in schema.columns:
                statistics = [check.statistics for check in schema.columns[column].checks]
                expected = {"values": list(rule.values)} if rule.values else None
                assert statistics, f"{model}.{column}: dbt declares {rule.check}, pandera does not check it"
                assert expected is None or any(s.get("allowed_values") == expected["values"] for s in statistics)
    # A range changed in the yml (here: in the manifest dbt would write) is the range pandera checks.
    for node in manifest["nodes"].values():
        if node.get("column_name") == "nps_latest" and node.get("attached_node", "").endswith("feat_account_snapshot"):
            node["test_metadata"]["kwargs"]["max_value"] = 50
    changed = tmp_path / "manifest.json"
    changed.write_text(json.dumps(manifest))
    checks = feature_schema(manifest_path=changed).columns["nps_latest"].checks
    assert [(c.statistics["min_value"], c.statistics["max_value"]) for c in checks] == [(-100, 50)]
