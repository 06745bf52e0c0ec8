"""dbt in the run's own process (pipeline/dbt_in_process.py): the events dagster-dbt reads, one parse reused
while nothing a parse reads has changed, errors reported as dbt reports them, the warehouse left closed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline import dbt_in_process
from pipeline.dbt import DBT_COMMAND, DBT_PROJECT_DIR, dbt_environment
from pipeline.dbt_in_process import InProcessDbt, parse_arguments, parse_key, project_files


def _run(args: list[str], target: Path) -> tuple[InProcessDbt, list[dict]]:
    env = {
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
        "DBT_LOG_FORMAT": "json",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = InProcessDbt([str(DBT_COMMAND), *args], {**os.environ, **env}, DBT_PROJECT_DIR)
    with dbt.stdout as lines:
        events = [json.loads(line) for line in lines]
    assert dbt.wait(timeout=120) is not None
    return dbt, events


@pytest.fixture
def warehouse(tmp_path):
    dbt_in_process.forget_manifests()
    path = tmp_path / "warehouse.duckdb"
    with dbt_environment(str(path)):
        yield path
    dbt_in_process.forget_manifests()


def _listed(events: list[dict]) -> set[str]:
    return {e["info"]["msg"] for e in events if e["info"]["name"] == "PrintEvent"}


def test_a_second_command_reuses_the_parse_and_other_vars_parse_again(warehouse, tmp_path):
    first, events = _run(
        ["ls", "--select", "tag:monthly", "--resource-type", "model", "--output", "name"], tmp_path / "t"
    )
    assert first.returncode == 0 and not first.manifest_reused
    assert _listed(events) == {"fct_account_month", "feat_account_snapshot"}
    # dbt's JSON log lines at info level and above, as dagster-dbt reads them from a dbt process.
    assert all(e["info"]["level"] != "debug" for e in events)
    assert {"MainReportVersion", "PrintEvent"} <= {e["info"]["name"] for e in events}

    second, events = _run(
        ["ls", "--select", "dim_account", "--resource-type", "model", "--output", "name"], tmp_path / "t"
    )
    assert second.returncode == 0 and second.manifest_reused
    assert _listed(events) == {"dim_account"}

    other_vars, _ = _run(["ls", "--select", "dim_account", "--vars", '{"churn_horizon_months": 5}'], tmp_path / "t")
    assert other_vars.returncode == 0 and not other_vars.manifest_reused


def test_an_error_is_reported_as_dbt_reports_it(warehouse, tmp_path):
    failed, events = _run(["ls", "--select", "tag:monthly", "--output", "no-such-output"], tmp_path / "t")
    assert failed.returncode == 2
    assert any(e["info"]["level"] == "error" for e in events)


def test_dbt_leaves_the_warehouse_closed_to_this_process(warehouse, tmp_path):
    # dbt-duckdb keeps its database open for the process unless closed: this process could then not open the
    # same file with settings of its own (read-only here).
    shown, events = _run(["show", "--inline", "select 42 as answer"], tmp_path / "t")
    assert shown.returncode == 0, [e["info"]["msg"] for e in events if e["info"]["level"] == "error"]
    assert any("42" in e["info"]["msg"] for e in events if e["info"]["name"] == "ShowNode")
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_the_parse_key_follows_what_a_parse_reads(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR / "macros", project / "macros")
    (project / "dbt_project.yml").write_text("name: x\n")
    env = {"PIPELINE_WAREHOUSE_PATH": "/a/w.duckdb", "DBT_TARGET_PATH": "/t/1", "HOME": "/root"}
    build = ["dbt", "build", "--select", "tag:monthly", "--vars", "{}"]
    key = parse_key(build, env, project)
    # Another selection, target folder, monthly window or unrelated variable: the same parse.
    assert parse_key(["dbt", "build", "-s", "dim_account", "--vars", "{}"], env, project) == key
    assert (
        parse_key(build, {**env, "DBT_TARGET_PATH": "/t/2", "PIPELINE_PARTITION_MONTH_START": "2024-01-01"}, project)
        == key
    )
    assert parse_key(build, {**env, "HOME": "/home/other"}, project) == key
    # Other vars, another warehouse, a changed file: another parse.
    assert parse_key(["dbt", "build", "--vars", '{"a": 1}'], env, project) != key
    assert parse_key(build, {**env, "PIPELINE_WAREHOUSE_PATH": "/b/w.duckdb"}, project) != key
    before = project_files(project)
    changed = next((project / "macros").rglob("*.sql"))
    changed.write_text(changed.read_text() + "\n")
    assert project_files(project) != before and parse_key(build, env, project) != key


def test_the_selection_is_not_part_of_the_parse():
    assert parse_arguments(
        ["dbt", "build", "--select", "a", "b", "--exclude", "c", "--exclude-resource-type", "unit_test", "--vars", "{}"]
    ) == ("build", "--vars", "{}")
    assert parse_arguments(["dbt", "build", "--select=a", "--target", "duckdb"]) == ("build", "--target", "duckdb")


def test_a_deployment_can_start_dbt_as_a_process_of_its_own(tmp_path):
    from pipeline.config import Settings
    from pipeline.resources import resources_from

    home = {"PIPELINE_HOME": str(tmp_path)}
    assert resources_from(Settings.from_env(home))["dbt"].in_process is True
    assert resources_from(Settings.from_env({**home, "PIPELINE_DBT_IN_PROCESS": "0"}))["dbt"].in_process is False


def test_a_project_with_ephemeral_models_or_foreign_keys_parses_for_every_build():
    from types import SimpleNamespace

    from pipeline.dbt_in_process import reusable

    def manifest(materialized: str = "table", constraint: str = "not_null") -> SimpleNamespace:
        column = SimpleNamespace(constraints=[SimpleNamespace(type=f"ConstraintType.{constraint}")])
        node = SimpleNamespace(config=SimpleNamespace(materialized=materialized), constraints=[], columns={"c": column})
        return SimpleNamespace(nodes={"model.x.m": node})

    # A build compiles them in place (injected CTEs, resolved references): the next must start afresh.
    assert reusable(manifest()) is True
    assert reusable(manifest(materialized="ephemeral")) is False
    assert reusable(manifest(constraint="foreign_key")) is False
