"""Publishing to the BI layer: complete Parquet releases switched in atomically (a crash or a concurrent
reader never sees a mix), retention, the personal-data scan, the gate, and PostgreSQL: COPY, swap in one
transaction, a reader role that can read and cannot write."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest

from pipeline.publish import gate, parquet
from pipeline.publish.postgres import publish_postgres
from pipeline.publish.tables import personal_data_columns, published_tables
from tests.postgres_server import ThrowawayCluster
from tests.reliability.safety import assert_release_complete, release_hashes


def _warehouse(path: Path, version: int, rows: int = 500) -> None:
    """A tiny warehouse whose every published row carries ``version``, so a mix is detectable."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            "create or replace table marts.dim_account as "
            f"select i as account_key, 'A' || i as account_id, {version} as version from range({rows}) t(i)"
        )
        conn.execute(
            "create or replace table marts.fct_account_month as select i % 50 as account_key, "
            f"cast(i * 1.5 as decimal(18, 2)) as revenue_eur, {version} as version, "
            "cast(null as varchar) as note_free from range(2000) t(i)"
        )
        conn.execute(
            "create or replace table marts.mart_account_360 as select account_key, account_id, "
            f"'' as empty_text, cast(null as varchar) as missing_text, {version} as version from marts.dim_account"
        )
        conn.execute("create or replace table marts.feat_account_snapshot as select 1 as account_key")  # not published


def _publish(warehouse: Path, bi_dir: Path, run_id: str, keep: int = 5) -> parquet.Release:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return parquet.publish_parquet(conn, published_tables(conn), bi_dir, run_id, keep=keep, data_as_of="2026-10-31")


def _read_current(bi_dir: Path) -> set[int]:
    """What a reader following the CURRENT pointer sees: the versions in every table of the release."""
    return _read_release(bi_dir, (bi_dir / "CURRENT").read_text().strip())


def _read_release(bi_dir: Path, release: str) -> set[int]:
    folder = bi_dir / "releases" / release
    versions = set()
    for name in ("dim_account", "fct_account_month", "mart_account_360"):
        frame = pd.read_parquet(folder / f"{name}.parquet", columns=["version"])
        versions |= set(frame["version"].unique().tolist())
    return versions


def test_a_release_is_complete_and_both_pointers_name_it(tmp_path):
    warehouse, bi_dir = tmp_path / "w.duckdb", tmp_path / "bi"
    _warehouse(warehouse, 1)
    release = _publish(warehouse, bi_dir, "run-aaaaaaaa-1")
    assert (bi_dir / "CURRENT").read_text().strip() == release.release_id
    assert (bi_dir / "current").resolve() == release.path.resolve()
    assert (release.path / "_COMPLETE").exists()
    manifest = json.loads((release.path / "_manifest.json").read_text())
    assert set(manifest["tables"]) == {"dim_account", "fct_account_month", "mart_account_360"}
    assert manifest["run_id"] == "run-aaaaaaaa-1" and manifest["data_as_of"] == "2026-10-31"
    for entry in manifest["tables"].values():
        frame = pd.read_parquet(release.path / entry["file"])
        assert len(frame) == entry["rows"]
        assert [c["name"] for c in entry["columns"]] == list(frame.columns)
        # Every published row carries the run that produced it and when.
        assert (frame["published_run_id"] == "run-aaaaaaaa-1").all() and frame["published_at"].notna().all()
    people = pd.read_parquet(release.path / "mart_account_360.parquet")
    assert (people["empty_text"] == "").all() and people["missing_text"].isna().all()


def test_a_crash_while_writing_leaves_the_previous_release_current(tmp_path, monkeypatch):
    warehouse, bi_dir = tmp_path / "w.duckdb", tmp_path / "bi"
    _warehouse(warehouse, 1)
    first = _publish(warehouse, bi_dir, "run-11111111")
    _warehouse(warehouse, 2)
    real_replace = os.replace

    def crash_on_release_rename(source, target):
        if ".tmp-" in str(source):
            raise OSError("disk full (simulated)")
        return real_replace(source, target)

    monkeypatch.setattr(parquet.os, "replace", crash_on_release_rename)
    with pytest.raises(OSError):
        _publish(warehouse, bi_dir, "run-22222222")
    monkeypatch.setattr(parquet.os, "replace", real_replace)
    assert parquet.current_release(bi_dir).release_id == first.release_id
    assert _read_current(bi_dir) == {1}
    assert list((bi_dir / "releases").glob(".tmp-*")), "the half-written release is left aside, not current"
    second = _publish(warehouse, bi_dir, "run-33333333")
    assert not list((bi_dir / "releases").glob(".tmp-*")), "the next publish clears it"
    assert parquet.current_release(bi_dir).release_id == second.release_id and _read_current(bi_dir) == {2}


def test_a_reader_sees_one_complete_release_while_releases_are_published(tmp_path):
    warehouse, bi_dir = tmp_path / "w.duckdb", tmp_path / "bi"
    _warehouse(warehouse, 0)
    published = [_publish(warehouse, bi_dir, "run-00000000").release_id]
    seen: list[set[int]] = []
    pruned_under_reader: list[str] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            # The pointer itself is always readable and names a release that was published complete: a
            # torn or dangling pointer fails the test here, in the thread, and is reported below.
            release = (bi_dir / "CURRENT").read_text().strip()
            try:
                seen.append(_read_release(bi_dir, release))
            except FileNotFoundError:  # pruned under a slow reader; checked below that it was, then retried
                pruned_under_reader.append(release)

    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _record_errors(reader, errors))
    thread.start()
    try:
        for version in range(1, 6):
            _warehouse(warehouse, version)
            published.append(_publish(warehouse, bi_dir, f"run-{version:08d}", keep=2).release_id)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(seen) > 5
    assert all(len(versions) == 1 for versions in seen), "a reader saw two releases mixed"
    # A release that vanished under the reader was a real, older release that retention removed.
    kept = set(parquet.complete_releases(bi_dir))
    assert all(release in published and release not in kept for release in pruned_under_reader)
    assert _read_current(bi_dir) == {5}


def _record_errors(target, errors: list[BaseException]) -> None:
    try:
        target()
    except BaseException as error:  # handed to the test's thread to fail there
        errors.append(error)


def test_unchanged_tables_are_linked_from_the_current_release_and_the_release_equals_a_fresh_one(tmp_path):
    warehouse, bi_dir = tmp_path / "w.duckdb", tmp_path / "bi"
    _warehouse(warehouse, 1)
    first = _publish(warehouse, bi_dir, "run-aaaaaaaa")
    with duckdb.connect(str(warehouse)) as conn:  # a day's change: one table, one row
        conn.execute("update marts.fct_account_month set revenue_eur = revenue_eur + 0.01 where rowid = 7")
    # A file damaged since it was published is written again, not passed on.
    damaged = first.path / "mart_account_360.parquet"
    os.chmod(damaged, 0o644)
    with open(damaged, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02")
    second = _publish(warehouse, bi_dir, "run-bbbbbbbb")
    tables = second.manifest["tables"]

    def same_file(name: str) -> bool:
        return os.path.samefile(first.path / f"{name}.parquet", second.path / f"{name}.parquet")

    assert same_file("dim_account") and tables["dim_account"]["reused_from"] == first.release_id
    assert not same_file("fct_account_month") and "reused_from" not in tables["fct_account_month"]
    assert not same_file("mart_account_360") and "reused_from" not in tables["mart_account_360"]
    reused = pd.read_parquet(second.path / "dim_account.parquet")
    assert set(reused["published_run_id"]) == {"run-aaaaaaaa"}  # the run that published this content
    assert set(pd.read_parquet(second.path / "fct_account_month.parquet")["published_run_id"]) == {"run-bbbbbbbb"}
    assert_release_complete(bi_dir)
    fresh = tmp_path / "fresh"
    _publish(warehouse, fresh, "run-cccccccc")
    assert release_hashes(bi_dir) == release_hashes(fresh)
    # Pruning the first release leaves the second whole.
    _publish(warehouse, bi_dir, "run-dddddddd", keep=2)
    assert not first.path.exists() and len(pd.read_parquet(second.path / "dim_account.parquet")) == 500


def test_only_the_newest_releases_are_kept(tmp_path):
    warehouse, bi_dir = tmp_path / "w.duckdb", tmp_path / "bi"
    _warehouse(warehouse, 1)
    ids = [_publish(warehouse, bi_dir, f"run-{i:08d}", keep=3).release_id for i in range(5)]
    assert parquet.complete_releases(bi_dir) == sorted(ids[-3:])
    assert parquet.current_release(bi_dir).release_id == ids[-1]


def test_personal_data_is_refused_by_name(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    _warehouse(warehouse, 1)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create table marts.mart_contacts as select 'a@b.fi' as contact_email, 'x' as account_name")
        tables = published_tables(conn)
    assert "mart_contacts.contact_email" in personal_data_columns(tables)
    assert "mart_contacts.account_name" not in personal_data_columns(tables)  # an account is not a person
    # fct_account_month.note_free is flagged too: notes are personal data wherever they sit.
    assert personal_data_columns([t for t in tables if t.name == "fct_account_month"]) == [
        "fct_account_month.note_free"
    ]


def test_the_gate_remembers_failing_dbt_tests_across_runs(tmp_path):
    manifest = {
        "nodes": {
            "test.p.not_null_mart_a_key.1": {"name": "not_null_mart_a_key", "attached_node": "model.p.mart_a"},
            "test.p.unique_mart_b_key.2": {"name": "unique_mart_b_key", "attached_node": "model.p.mart_b"},
        }
    }
    first = {
        "results": [
            {"unique_id": "test.p.not_null_mart_a_key.1", "status": "fail", "failures": 3},
            {"unique_id": "test.p.unique_mart_b_key.2", "status": "pass", "failures": 0},
            {"unique_id": "model.p.mart_a", "status": "success"},
        ]
    }
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        assert gate.failing_dbt_tests(conn, ["mart_a"]) == []
        gate.record_dbt_results(conn, gate.test_results(first, manifest), "run-1")
        assert gate.failing_dbt_tests(conn, ["mart_a", "mart_b"]) == ["mart_a: not_null_mart_a_key (fail)"]
        # A later build that only reran mart_b does not clear mart_a's failure.
        later = {"results": [{"unique_id": "test.p.unique_mart_b_key.2", "status": "pass", "failures": 0}]}
        gate.record_dbt_results(conn, gate.test_results(later, manifest), "run-2")
        assert gate.failing_dbt_tests(conn, ["mart_a", "mart_b"]) == ["mart_a: not_null_mart_a_key (fail)"]
        fixed = {"results": [{"unique_id": "test.p.not_null_mart_a_key.1", "status": "pass", "failures": 0}]}
        gate.record_dbt_results(conn, gate.test_results(fixed, manifest), "run-3")
        assert gate.failing_dbt_tests(conn, ["mart_a", "mart_b"]) == []


def test_pandera_checks_the_published_scores():
    scores = pd.DataFrame(
        {
            "account_key": [1, 2],
            "account_id": ["A1", "A2"],
            "snapshot_month": pd.to_datetime(["2026-10-01", "2026-10-01"]),
            "churn_probability": [0.2, 1.4],
            "risk_decile": [1, 11],
            "risk_band": ["high", "low"],
            "expected_revenue_at_risk_eur": [10.0, 0.0],
            "model_version": ["v1", "v1"],
        }
    )
    problems = gate.validate_scores(scores)
    assert any("churn_probability" in p for p in problems) and any("risk_decile" in p for p in problems)
    assert gate.validate_scores(scores.assign(churn_probability=[0.2, 0.4], risk_decile=[1, 10])) == []


# --- PostgreSQL ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    cluster = ThrowawayCluster()
    server = cluster.start()  # fails, not skips, when the server cannot start
    try:
        yield server
    finally:
        cluster.stop()


def test_postgres_publish_swaps_in_one_piece_and_the_reader_role_cannot_write(tmp_path, postgres):
    warehouse = tmp_path / "w.duckdb"
    _warehouse(warehouse, 1)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = published_tables(conn)
        counts = publish_postgres(conn, tables, postgres.url, "run-aaaaaaaa")
    assert counts == {"dim_account": 500, "fct_account_month": 2000, "mart_account_360": 500}
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute("drop role if exists analyst")
        admin.execute("create role analyst login in role bi_reader")
        (comment,) = admin.execute("select obj_description('bi.dim_account'::regclass)").fetchone()
        assert comment.startswith("run run-aaaaaaaa, published ")
        empty, missing = admin.execute("select empty_text, missing_text from bi.mart_account_360 limit 1").fetchone()
        assert empty == "" and missing is None
    _warehouse(warehouse, 2, rows=700)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        publish_postgres(conn, published_tables(conn), postgres.url, "run-bbbbbbbb")
    reader_url = postgres.url.replace(f"{postgres.user}@", "analyst@")
    with psycopg.connect(reader_url, autocommit=True) as reader:
        # The new release, whole: grants were re-made on the new schema.
        assert reader.execute("select count(*), min(version), max(version) from bi.dim_account").fetchone() == (
            700,
            2,
            2,
        )
        assert reader.execute("select count(distinct published_run_id) from bi.fct_account_month").fetchone() == (1,)
        for statement in (
            "insert into bi.dim_account (account_key) values (-5)",
            "delete from bi.dim_account",
            "create table bi.mine (x int)",
            "drop table bi.dim_account",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(statement)
    with psycopg.connect(postgres.url) as admin:
        schemas = {r[0] for r in admin.execute("select nspname from pg_namespace").fetchall()}
    assert "bi" in schemas and "bi_staging" not in schemas and "bi_retired" not in schemas


def test_postgres_publish_moves_unchanged_tables_into_the_new_schema_instead_of_loading_them(tmp_path, postgres):
    warehouse = tmp_path / "w.duckdb"
    _warehouse(warehouse, 3)

    def published() -> dict[str, tuple[int, str, int]]:
        """Each bi table's oid (a loaded table is a new one), its comment's run, and its rows."""
        with psycopg.connect(postgres.url) as admin:
            rows = admin.execute(
                "select c.relname, c.oid, obj_description(c.oid, 'pg_class') from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'bi' and c.relkind = 'r'"
            ).fetchall()
            return {
                name: (oid, comment.split(",")[0], admin.execute(f"select count(*) from bi.{name}").fetchone()[0])
                for name, oid, comment in rows
            }

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        publish_postgres(conn, published_tables(conn), postgres.url, "run-cccccccc")
    before = published()
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("update marts.fct_account_month set revenue_eur = revenue_eur + 0.01 where rowid = 7")
        publish_postgres(conn, published_tables(conn), postgres.url, "run-dddddddd")
    after = published()
    assert set(after) == set(before) == {"dim_account", "fct_account_month", "mart_account_360"}
    assert after["dim_account"] == before["dim_account"] and after["mart_account_360"] == before["mart_account_360"]
    assert after["fct_account_month"][0] != before["fct_account_month"][0]
    assert after["fct_account_month"][1:] == ("run run-dddddddd", 2000)
    with psycopg.connect(postgres.url) as admin:
        revenue = admin.execute("select revenue_eur from bi.fct_account_month order by account_key, revenue_eur")
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            expected = conn.execute("select revenue_eur from marts.fct_account_month order by account_key, revenue_eur")
            assert revenue.fetchall() == expected.fetchall()
        # The reader role reads the moved tables too (grants are re-made on the new schema).
        admin.execute("drop role if exists analyst2")
        admin.execute("create role analyst2 login in role bi_reader")
        admin.commit()
    reader_url = postgres.url.replace(f"{postgres.user}@", "analyst2@")
    with psycopg.connect(reader_url, autocommit=True) as reader:
        assert reader.execute("select count(*) from bi.dim_account").fetchone() == (500,)
