"""The pipeline's dbt command keeps dbt's partial parse across warehouse paths, and only there."""

from __future__ import annotations

import re

from pipeline.dbt import DBT_PROJECT_DIR, shared_parse_path, shared_partial_parse
from tests.dbt_cli import run_dbt

NO_PARTIAL_PARSE = "Unable to do partial parsing"


def test_no_model_macro_or_test_reads_the_warehouse_path_at_parse_time():
    # The command leaves the path out of dbt's profile hash: that is sound only while nothing reads it.
    files = [
        p for folder in ("models", "macros", "tests") for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()
    ]
    assert len(files) > 50  # the project was read
    readers = [str(p) for p in files if re.search(r"target\s*(\.\s*path|\[\s*['\"]path)", p.read_text())]
    assert not readers, f"these read target.path, so a parse for one warehouse cannot serve another: {readers}"


def test_a_new_home_starts_from_a_parse_made_for_another_warehouse(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    parsed = run_dbt(["parse", "--log-level", "debug"], {"PIPELINE_WAREHOUSE_PATH": str(first / "w.duckdb")}, first)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert (first / "target" / "partial_parse.msgpack").exists()

    again = run_dbt(["parse", "--log-level", "debug"], {"PIPELINE_WAREHOUSE_PATH": str(second / "w.duckdb")}, second)
    assert again.returncode == 0, again.stdout + again.stderr
    # Seeded from the shared cache, and the other path did not invalidate it: a partial parse.
    assert NO_PARTIAL_PARSE not in again.stdout, again.stdout[-3000:]
    assert "Partial parsing enabled" in again.stdout, again.stdout[-3000:]


def test_another_database_name_is_still_a_full_parse(tmp_path):
    # The name dbt derives from the file's stem is in every relation name: it stays in the profile hash.
    run_dbt(["parse"], {"PIPELINE_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}, tmp_path / "a")
    other = tmp_path / "b"
    (other / "target").mkdir(parents=True)
    (other / "target" / "partial_parse.msgpack").write_bytes(
        (tmp_path / "a" / "target" / "partial_parse.msgpack").read_bytes()
    )
    result = run_dbt(["parse", "--log-level", "debug"], {"PIPELINE_WAREHOUSE_PATH": str(tmp_path / "x.duckdb")}, other)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unable to do partial parsing because profile has changed" in result.stdout


def test_other_vars_are_still_a_full_parse(tmp_path):
    run_dbt(["parse"], {"PIPELINE_WAREHOUSE_PATH": str(tmp_path / "a.duckdb")}, tmp_path / "a")
    other = tmp_path / "b"
    other_vars = '{"churn_horizon_months": 5}'
    (other / "target").mkdir(parents=True)
    # The parse with no vars copied in by hand: dbt must refuse it, the vars differ.
    (other / "target" / "partial_parse.msgpack").write_bytes(
        (tmp_path / "a" / "target" / "partial_parse.msgpack").read_bytes()
    )
    result = run_dbt(
        ["parse", "--log-level", "debug", "--vars", other_vars],
        {"PIPELINE_WAREHOUSE_PATH": str(tmp_path / "a.duckdb")},
        other,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert NO_PARTIAL_PARSE in result.stdout


def test_the_cache_is_kept_per_database_name_and_vars_and_only_for_duckdb(tmp_path):
    own = tmp_path / "target" / "partial_parse.msgpack"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"a parse")
    rules = {"a_var_no_run_uses": tmp_path.name}
    warehouse = str(tmp_path / "w.duckdb")
    with shared_partial_parse(tmp_path / "target", rules, target="duckdb", warehouse_path=warehouse):
        pass
    cached = shared_parse_path(tmp_path / "w.duckdb", rules)
    try:
        assert cached.read_bytes() == b"a parse"
        assert shared_parse_path(tmp_path / "x.duckdb", rules) != cached
        assert shared_parse_path(tmp_path / "w.duckdb", {**rules, "another": 1}) != cached
        fresh = tmp_path / "fresh"
        with shared_partial_parse(fresh, rules, target="postgres", warehouse_path=warehouse):
            assert not (fresh / "partial_parse.msgpack").exists()  # another target: nothing shared
        with shared_partial_parse(
            fresh, rules, target="duckdb", warehouse_path=str(tmp_path / "elsewhere" / "w.duckdb")
        ):
            assert (fresh / "partial_parse.msgpack").read_bytes() == b"a parse"
    finally:
        cached.unlink()


def test_a_build_writes_the_manifest_once_at_its_end_and_a_parse_still_writes_it(tmp_path):
    # dbt writes manifest.json after parsing and again when a build ends; the command keeps the second only.
    env = {"PIPELINE_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}
    built = run_dbt(["build", "--select", "tag:no_such_tag", "--log-level", "debug"], env, tmp_path / "build")
    assert built.returncode == 0, built.stdout + built.stderr
    writes = [line for line in built.stdout.splitlines() if "Wrote artifact" in line]
    assert [w.split("Wrote artifact ")[1].split()[0] for w in writes] == [
        "WritableManifest",
        "SemanticManifest",
        "RunExecutionResult",
    ], writes
    assert (tmp_path / "build" / "target" / "manifest.json").stat().st_size > 100_000
    parsed = run_dbt(["parse", "--log-level", "debug"], env, tmp_path / "parse")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert (tmp_path / "parse" / "target" / "manifest.json").stat().st_size > 100_000
