"""End to end on a small demo company: every asset materialised in a temporary PIPELINE_HOME, checked
against the truth the generator planted, then the same dbt models built on a real PostgreSQL server."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest
import yaml

from assets.bi import bi_assets
from assets.warehouse import DBT_ASSETS
from pipeline.config import Settings
from pipeline.contract import CONTRACTS
from pipeline.dbt import DBT_PROJECT_DIR
from pipeline.powerbi import tmdl
from pipeline.publish.parquet import current_release
from pipeline.resources import BiLayerResource, resources_from
from tests.companies import RecordedRun, copy_company, recorded_runs, run_job
from tests.dbt_cli import run_dbt
from tests.postgres_server import ThrowawayCluster
from tests.tmdl_parse import column_reference, load_definition

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")
DBT_MODELS = DBT_PROJECT_DIR / "models"


@pytest.fixture(scope="module")
def demo(scheduled_month, tmp_path_factory):
    """The shared company after its scheduled month (refresh_and_train, then score_month), with what its
    Dagster instance recorded; then the ingest job again, on a copy, over the same files."""
    home = scheduled_month["home"]
    settings = Settings.from_env({"PIPELINE_HOME": str(home)})
    runs = recorded_runs(home / "dagster_home")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        newest = str(conn.execute("select as_of_month from intermediate.int_reporting_period").fetchall()[0][0])
    again = copy_company(home, tmp_path_factory.mktemp("again") / "home")
    run_job(again, "ingest")
    return {
        "home": home,
        "settings": settings,
        "rows": scheduled_month["rows"],
        "first": runs["refresh_and_train"],
        "scored": runs["score_month"],
        "newest": newest,
        "second": recorded_runs(again / "dagster_home")["ingest"],
        "tables_after_first": _raw_fingerprints(settings.warehouse_path),
        "tables_after_second": _raw_fingerprints(again / "warehouse.duckdb"),
    }


def _raw_fingerprints(warehouse: Path) -> dict[str, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {
            c.table: conn.execute(f"select count(*), sum(hash(columns(*))) from raw.{c.table}").fetchone()
            for c in CONTRACTS
        }


def _query(demo, sql: str) -> list[tuple]:
    with duckdb.connect(str(demo["settings"].warehouse_path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def _ingest_metadata(run: RecordedRun) -> dict[str, dict]:
    return {key.split("/")[1]: metadata for key, metadata in run.materialisations.items() if key.startswith("raw/")}


def test_every_asset_materialises_and_every_input_row_is_accounted_for(demo):
    assert demo["first"].success
    metadata = _ingest_metadata(demo["first"])
    assert set(metadata) == {c.table for c in CONTRACTS}
    for contract in CONTRACTS:
        counts = metadata[contract.table]
        # The generator's own count of the rows it wrote is the independent reference.
        assert counts["rows_read"] == demo["rows"][contract.entity], contract.table
        assert counts["rows_read"] == counts["rows_loaded"] + counts["rows_quarantined"], contract.table
        assert counts["dagster/row_count"] == counts["rows_loaded"]
        assert "|" in counts["preview"]
    marts = {
        key.split("/")[-1]: metadata["dagster/row_count"]
        for run in (demo["first"], demo["scored"])
        for key, metadata in run.materialisations.items()
        if key.startswith("marts/")
    }
    assert marts["mart_account_360"] == _query(demo, "select count(*) from marts.mart_account_360")[0][0] > 0
    reconciliations = [passed for _, name, passed in demo["first"].checks if name == "rows_reconcile_with_ledger"]
    assert len(reconciliations) == len(CONTRACTS) and all(reconciliations)


def test_the_quarantine_holds_exactly_the_planted_contract_violations(demo):
    truth = str(demo["home"] / "truth" / "planted_defects.parquet")
    quarantined = set(_query(demo, "select distinct file, row_number from quarantine.rejected_rows"))
    planted = set(_query(demo, f"select file, row_number from '{truth}'"))
    assert planted and quarantined == planted


def test_a_second_run_on_the_same_files_changes_nothing(demo):
    assert demo["second"].success
    for counts in _ingest_metadata(demo["second"]).values():
        assert counts["files_loaded"] == 0 and counts["rows_read"] == 0
    assert demo["tables_after_second"] == demo["tables_after_first"]


def test_churn_events_in_the_marts_match_the_planted_ones(demo):
    truth = str(demo["home"] / "truth" / "churn_events.parquet")
    planted = set(_query(demo, f"select account_id, churn_month, churn_type from '{truth}'"))
    found = set(
        _query(demo, "select account_id, month_start, churn_type from marts.fct_account_month where is_churn_month")
    )
    assert planted and found == planted


def test_revenue_reconciles_with_the_invoice_lines_to_the_cent(demo):
    (current_versions,) = _query(
        demo,
        """
        select sum(net_amount_eur) from (
            select net_amount_eur, row_number() over (
                partition by invoice_id, line_no order by _extract_date desc, _file desc, _row_number desc) as v
            from raw.finance__invoice_lines) where v = 1
        """,
    )[0]
    (lines,) = _query(demo, "select sum(net_amount_eur) from marts.fct_invoice_lines")[0]
    (months,) = _query(demo, "select sum(revenue_eur) from marts.fct_account_month")[0]
    assert current_versions == lines == months
    assert current_versions > 0


def test_corrected_resent_rows_win_in_the_marts(demo):
    truth = str(demo["home"] / "truth" / "corrections.parquet")
    corrections = _query(
        demo,
        f"select key, corrected_value from '{truth}' where entity = 'invoice_lines' and \"column\" = 'net_amount_eur'",
    )
    assert corrections
    current = dict(_query(demo, "select invoice_id || '|' || line_no, net_amount_eur from marts.fct_invoice_lines"))
    for key, corrected in corrections:
        assert float(current[key]) == pytest.approx(float(corrected), abs=0.005), key


def test_every_loaded_row_reaches_the_marts_or_is_a_superseded_version(demo):
    for raw, mart, key in [
        ("finance__invoice_lines", "fct_invoice_lines", "invoice_id, line_no"),
        ("survey__responses", "fct_survey_responses", "response_id"),
    ]:
        (raw_rows, distinct_keys) = _query(demo, f"select count(*), count(distinct ({key})) from raw.{raw}")[0]
        (mart_rows,) = _query(demo, f"select count(*) from marts.{mart}")[0]
        assert mart_rows == distinct_keys and raw_rows >= mart_rows, raw
    seen = _query(
        demo,
        """
        select count(*) from (
            select account_id from raw.crm__accounts union select account_id from raw.finance__invoice_lines
            union select account_id from raw.crm__activities union select account_id from raw.survey__responses)
        """,
    )[0][0]
    assert _query(demo, "select count(*) from marts.dim_account where account_key <> -1")[0][0] == seen


def test_the_run_ends_with_the_headline_findings_in_plain_words(demo):
    metadata = demo["scored"].materialisations["insight/headlines"]
    assert metadata["nps"].startswith("Relationship NPS, last 12 months:")
    assert "hygiene" in metadata["drivers"]
    assert "are tier A and bring 80% of gross profit" in metadata["value"]
    assert metadata["care_models"].startswith("Care models:")


def test_tier_a_is_the_smallest_set_of_accounts_reaching_80_percent_of_gross_profit(demo):
    rows = _query(
        demo,
        "select account_id, gross_margin_ttm_eur, value_tier, is_active_customer from marts.mart_account_360",
    )
    ranked = sorted(
        ((float(gp), account) for account, gp, _, active in rows if active and gp is not None and gp > 0),
        key=lambda r: (-r[0], r[1]),
    )
    total = sum(gp for gp, _ in ranked)
    expected, running = {}, 0.0
    for gp, account in ranked:
        expected[account] = "A" if running < 0.80 * total else "B" if running < 0.95 * total else "C"
        running += gp
    tiers = {account: tier for account, _, tier, _ in rows}
    assert {a: tiers[a] for a in expected} == expected
    assert all(tier == "C" for account, tier in tiers.items() if account not in expected)
    a_profit = sum(gp for gp, account in ranked if expected[account] == "A")
    smallest_a = min(gp for gp, account in ranked if expected[account] == "A")
    assert a_profit >= 0.80 * total > a_profit - smallest_a


def test_the_run_publishes_a_complete_release_of_every_mart_and_a_power_bi_project(demo):
    bi_dir = demo["settings"].bi_dir
    release = current_release(bi_dir)
    assert release is not None and (bi_dir / "current").resolve() == release.path.resolve()
    marts = {
        t
        for (t,) in _query(demo, "select table_name from information_schema.tables where table_schema = 'marts'")
        if t.startswith(("dim_", "fct_", "mart_"))
    }
    assert set(release.manifest["tables"]) == marts
    for table, entry in release.manifest["tables"].items():
        assert entry["rows"] == _query(demo, f"select count(*) from marts.{table}")[0][0], table
        columns = pq.read_schema(release.path / entry["file"]).names
        # No personal data in any published table, by column name and by content.
        assert not {c for c in columns if re.search(r"email|notes?$|comment|contact_name|^owner$", c)}, table
        frame = pq.read_table(release.path / entry["file"]).to_pandas()
        text = frame.select_dtypes(include=["object", "string"])
        for column in text.columns:
            assert not text[column].astype(str).str.contains(r"@[a-z0-9-]+\.[a-z]", regex=True).any(), (table, column)
    # The Power BI model: every table, column and relationship matches the published release.
    definition = next((bi_dir / "powerbi").glob("*.SemanticModel")) / "definition"
    model = load_definition(definition)
    # Besides the marts: the measures and the security table the customer fills (never published by the pipeline).
    assert set(model.tables) - {tmdl.MEASURES_TABLE, tmdl.SECURITY_TABLE} == marts
    # The folder parameter names the `current` link, which moves with each release, not today's release.
    expressions = (definition / "expressions.tmdl").read_text()
    assert f'expression ParquetFolder = "{bi_dir.resolve() / "current"}"' in expressions, expressions
    for table, entry in release.manifest["tables"].items():
        published = [c["name"] for c in entry["columns"] if c["name"] not in ("published_run_id", "published_at")]
        assert list(model.columns(table)) == published, table
    for relationship in model.relationships:
        for end in ("fromColumn", "toColumn"):
            table, column = column_reference(str(relationship.properties[end]))
            assert column in [c["name"] for c in release.manifest["tables"][table]["columns"]], relationship.name


def test_no_personal_data_column_in_the_star_schema(demo):
    personal = {"email", "notes", "comment", "account_owner", "owner", "contact_id"}
    columns = {
        c for (c,) in _query(demo, "select column_name from information_schema.columns where table_schema = 'marts'")
    }
    assert not columns & personal


def test_no_personal_value_reaches_the_published_release(demo):
    """Beyond column names: no published cell holds a value of a personal column of the landing contract
    (emails, owners, notes) or anything shaped like an email address."""
    personal_values = " union all ".join(
        f'select cast("{name}" as varchar) as v from raw.{c.table}' for c in CONTRACTS for name in c.personal_columns
    )
    with duckdb.connect(str(demo["settings"].warehouse_path), read_only=True) as conn:
        query = f"select distinct v from ({personal_values}) where length(v) > 5"
        personal = {value for (value,) in conn.execute(query).fetchall()}
    assert len(personal) > 100  # the landing files do hold personal data
    email = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
    found = []
    with duckdb.connect() as conn:
        for path in sorted(current_release(demo["settings"].bi_dir).path.glob("*.parquet")):
            relation = f"read_parquet('{path}')"
            described = conn.execute(f"describe select * from {relation}").fetchall()
            for column in [row[0] for row in described if row[1] == "VARCHAR"]:
                values = conn.execute(f'select distinct "{column}" from {relation}').fetchall()
                found += [f"{path.stem}.{column}: {v}" for (v,) in values if v and (v in personal or email.search(v))]
    assert found == []


# --- the same models on PostgreSQL --------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    cluster = ThrowawayCluster()
    server = cluster.start()  # fails, not skips, when the server cannot start
    try:
        yield server
    finally:
        cluster.stop()


PG_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "DOUBLE": "double precision",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "DECIMAL(18,2)": "decimal(18, 2)",
}


def _copy_raw_to_postgres(warehouse: Path, server) -> None:
    """The tables Python writes (raw from ingest, ml from the churn model, insight from the statistics),
    copied as they are."""
    with duckdb.connect(str(warehouse), read_only=True) as source, psycopg.connect(server.url) as target:
        tables = [("raw", c.table) for c in CONTRACTS]
        tables += [("ml", "churn_scores"), ("ml", "model_performance"), ("ml", "churn_model_status")]
        tables += [
            ("insight", t)
            for t in ("driver_analysis", "competitor_driver_gaps", "nps_adjusted", "account_segments", "segments")
        ]
        tables += [("insight", "segmentation")]
        for schema, table in tables:
            target.execute(f"create schema if not exists {schema}")
            columns = source.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            ddl = ", ".join(f'"{n}" {PG_TYPES.get(t, t.lower())}' for n, t in columns)
            target.execute(f'create table {schema}."{table}" ({ddl})')
            names = ", ".join(f'"{n}"' for n, _ in columns)
            rows = source.execute(f"select {names} from {schema}.{table}").fetchall()
            with target.cursor().copy(f'copy {schema}."{table}" ({names}) from stdin') as copy:
                for row in rows:
                    copy.write_row(row)
        target.commit()


def test_every_dbt_unit_test_passes_on_duckdb_and_the_scheduled_builds_leave_them_out(demo, tmp_path):
    # The scheduled builds test the data (pipeline.dbt.SCHEDULED_BUILD_FLAGS): none of their results is a
    # unit test's, so the unit tests of the SQL's rules are run here, on DuckDB (and on PostgreSQL below).
    built = sorted((demo["home"] / ".dbt").glob("*/run_results.json"))
    assert len(built) == 4
    for path in built:
        ids = [result["unique_id"] for result in json.loads(path.read_text())["results"]]
        assert ids and not [i for i in ids if i.startswith("unit_test.")], path.parent.name
    home = copy_company(demo["home"], tmp_path / "home", landing=False)
    unit = run_dbt(
        ["test", "--select", "test_type:unit"], {"PIPELINE_WAREHOUSE_PATH": str(home / "warehouse.duckdb")}, tmp_path
    )
    assert unit.returncode == 0, unit.stdout[-6000:]
    passed = re.search(r"PASS=(\d+)", unit.stdout)
    units = sum(len(yaml.safe_load(p.read_text()).get("unit_tests") or []) for p in DBT_MODELS.rglob("*.yml"))
    assert passed and int(passed.group(1)) == units >= 10 and "ERROR=0" in unit.stdout


def test_the_same_models_build_and_pass_their_tests_on_postgresql(demo, postgres, tmp_path):
    _copy_raw_to_postgres(demo["settings"].warehouse_path, postgres)
    env = {**postgres.env(), "DBT_TARGET": "postgres"}
    # The models and data tests first: a unit test of an incremental run reads the columns of the model's
    # own table (its `this`), which must exist before the unit tests run.
    build = run_dbt(["build", "--exclude-resource-type", "unit_test"], env, tmp_path)
    assert build.returncode == 0, build.stdout[-6000:]
    assert "ERROR=0" in build.stdout
    unit = run_dbt(["test", "--select", "test_type:unit"], env, tmp_path)
    assert unit.returncode == 0, unit.stdout[-6000:]
    units = sum(len(yaml.safe_load(p.read_text()).get("unit_tests") or []) for p in DBT_MODELS.rglob("*.yml"))
    assert f"PASS={units}" in unit.stdout and "ERROR=0" in unit.stdout

    marts = [
        t for (t,) in _query(demo, "select table_name from information_schema.tables where table_schema = 'marts'")
    ]
    with psycopg.connect(postgres.url) as conn:
        for mart in marts:
            (pg_rows,) = conn.execute(f"select count(*) from marts.{mart}").fetchone()
            (duck_rows,) = _query(demo, f"select count(*) from marts.{mart}")[0]
            assert pg_rows == duck_rows, mart
        (pg_revenue,) = conn.execute("select sum(revenue_eur) from marts.fct_account_month").fetchone()
        pg_churn = set(
            conn.execute(
                "select account_id, month_start, churn_type from marts.fct_account_month where is_churn_month"
            ).fetchall()
        )
        pg_labels = conn.execute(
            "select count(*), sum(churned_within_6m), count(churned_within_6m) from marts.feat_account_snapshot"
        ).fetchone()
    assert pg_revenue == _query(demo, "select sum(revenue_eur) from marts.fct_account_month")[0][0]
    assert pg_churn == set(
        _query(demo, "select account_id, month_start, churn_type from marts.fct_account_month where is_churn_month")
    )
    assert (
        pg_labels
        == _query(
            demo, "select count(*), sum(churned_within_6m), count(churned_within_6m) from marts.feat_account_snapshot"
        )[0]
    )


# --- publishing through the asset: the gate, and PostgreSQL -------------------------------------------


def _copy_home(demo, tmp_path: Path) -> Settings:
    """A copy of the demo home (warehouse, models, BI folder) to change without touching the module's."""
    home = tmp_path / "home"
    shutil.copytree(demo["home"], home, symlinks=True, ignore=shutil.ignore_patterns("landing", "dagster_home"))
    return Settings.from_env({"PIPELINE_HOME": str(home)})


def _publish_only(settings: Settings, **bi_overrides) -> dg.ExecuteInProcessResult:
    resources = resources_from(settings)
    if bi_overrides:
        current = resources["bi"]
        resources["bi"] = BiLayerResource(
            path=current.path, data_docs_dir=current.data_docs_dir, keep_releases=current.keep_releases, **bi_overrides
        )
    with dg.instance_for_test() as instance:
        return dg.materialize(
            [*bi_assets, *DBT_ASSETS],
            selection=dg.AssetSelection.assets(bi_assets[0]),
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )


def test_a_failing_dbt_test_blocks_publishing_and_the_previous_release_stays(demo, tmp_path):
    settings = _copy_home(demo, tmp_path)
    before = current_release(settings.bi_dir)
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        conn.execute(
            "update audit.dbt_test_results set status = 'fail', failures = 3 "
            "where unique_id = (select min(unique_id) from audit.dbt_test_results where model = 'mart_account_360')"
        )
    result = _publish_only(settings)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "dbt_tests_passed" in failure.event_specific_data.error.message
    assert current_release(settings.bi_dir).release_id == before.release_id


def test_publishing_to_postgresql_through_the_asset_checks_the_published_tables(demo, postgres, tmp_path):
    settings = _copy_home(demo, tmp_path)
    result = _publish_only(settings, postgres_url=postgres.url, postgres_schema="bi")
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == dict.fromkeys([*bi_checks(), "great_expectations_postgres"], True)
    postgres_check = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "great_expectations_postgres"
    )
    assert "tables passed" in postgres_check.metadata["summary"].value
    with psycopg.connect(postgres.url) as conn:
        (rows,) = conn.execute("select count(*) from bi.mart_account_360").fetchone()
    assert rows == _query(demo, "select count(*) from marts.mart_account_360")[0][0]


def bi_checks() -> list[str]:
    from pipeline.publish.gate import BLOCKING_CHECKS

    return list(BLOCKING_CHECKS)


def test_no_password_reaches_the_logs_the_metadata_or_any_file(demo, tmp_path, monkeypatch, capfd):
    """A publish to PostgreSQL with a password in PIPELINE_BI_POSTGRES_URL (read through Dagster's EnvVar):
    the password is needed (scram) and works, and it appears in no event, metadata, output or file."""
    password = f"Pw-{secrets.token_hex(12)}"
    cluster = ThrowawayCluster()
    server = cluster.start()
    try:
        cluster.require_password("bi_publisher")
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("create role bi_publisher login createrole password {}").format(
                    psycopg.sql.Literal(password)
                )
            )
            admin.execute("create database bi_secret owner bi_publisher")
        address = f"{server.host}:{server.port}/bi_secret"
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"postgresql://bi_publisher:wrong@{address}")
        url = f"postgresql://bi_publisher:{password}@{address}"
        monkeypatch.setenv("PIPELINE_BI_POSTGRES_URL", url)  # Dagster's EnvVar reads it when the run starts
        home = _copy_home(demo, tmp_path).home
        settings = Settings.from_env({"PIPELINE_HOME": str(home), "PIPELINE_BI_POSTGRES_URL": url})
        assert settings.bi_postgres_enabled
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [*bi_assets, *DBT_ASSETS],
                selection=dg.AssetSelection.assets(bi_assets[0]),
                resources=resources_from(settings),
                instance=instance,
            )
            assert result.success
            events = [dg.serialize_value(entry) for entry in instance.all_logs(result.run_id)]
        with psycopg.connect(f"postgresql://bi_publisher:{password}@{address}") as conn:
            (rows,) = conn.execute("select count(*) from bi.mart_account_360").fetchone()
        assert rows == _query(demo, "select count(*) from marts.mart_account_360")[0][0]
    finally:
        cluster.stop()
    output = "".join(capfd.readouterr())
    files = [p for p in settings.home.rglob("*") if p.is_file() and p.suffix not in {".duckdb", ".parquet", ".skops"}]
    leaks = [f"event {i}" for i, text in enumerate(events) if password in text]
    leaks += ["stdout/stderr"] if password in output else []
    leaks += [str(p) for p in files if password.encode() in p.read_bytes()]
    assert len(events) > 20 and files  # there was something to search
    assert leaks == []
