"""Companies shaped unlike the demo, built as a data engineer builds one: the generator writes a landing
zone of the shape, then the jobs run as their schedules run them (``refresh_and_train``, then
``score_month`` for the newest month; or ``daily_refresh`` alone, a first day before any training), each
in its own process with the environment a real deployment would have. Each test module of this folder
builds one company (so pytest-xdist spreads them over the workers) and asserts what a BI reader would
check: a release is published, what it withholds says why, account ids keep their text and revenue
reconciles with the landing zone to the cent.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from pipeline.demo.calendar import Calendar
from pipeline.demo.generator import generate_demo_company
from pipeline.demo.shape import CompanyShape
from pipeline.publish.parquet import current_release
from tests.companies import REPO, job_selection
from tests.warm_runner import run_module

BIN = Path(sys.executable).parent
# What the `dg` script runs (.venv/bin/dg).
DG_ENTRY_POINT = "dagster_dg_cli.cli:main"


@dataclass(frozen=True)
class CompanySpec:
    name: str
    shape: CompanyShape
    accounts: int
    months: int
    seed: int
    end_month: str = "2026-10"
    # How the jobs are started: the runner (one process per job, as the schedule runs it) or `dg launch`.
    launcher: str = "runner"
    # The monthly pair (train, then score the newest month), or the daily refresh alone: a company's first
    # day, before any training.
    jobs: tuple[str, ...] = ("refresh_and_train", "score_month")
    withheld: tuple[str, ...] = ()  # analyses mart_analysis_status must withhold
    degraded: tuple[str, ...] = ()  # ... and give in a weaker form
    available: tuple[str, ...] = ()  # ... and give in full

    @property
    def first_month(self) -> str:
        return str(Calendar.ending(self.end_month, self.months).first_month) + "-01"


@dataclass
class Company:
    spec: CompanySpec
    home: Path
    env: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def release(self) -> Path:
        found = current_release(self.home / "bi")
        assert found is not None, f"{self.spec.name}: no release was published"
        return found.path

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.release / f"{name}.parquet")

    def warehouse(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.home / "warehouse.duckdb"), read_only=True)


def build_company(spec: CompanySpec, root: Path) -> Company:
    home = root / spec.name
    generate_demo_company(
        home / "landing",
        home / "truth",
        accounts=spec.accounts,
        months=spec.months,
        seed=spec.seed,
        end_month=spec.end_month,
        shape=spec.shape,
    )
    env = {
        **os.environ,
        "PIPELINE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        # The partitions start where this company's data starts, as its deployment would set them.
        "PIPELINE_FIRST_SNAPSHOT_MONTH": spec.first_month,
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
    }
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    company = Company(spec, home, env)
    for job in spec.jobs:
        company_run(company, job)
    return company


def company_run(company: Company, job: str) -> None:
    # Each command in a process forked from a warm interpreter (tests/warm_runner.py), the CLIs through
    # their console scripts' entry points.
    if company.spec.launcher == "dg":
        # As the README says: the whole partition range to train, the newest month of the data to score.
        helper = "newest-month" if job == "score_month" else "partitions"
        asked = run_module("pipeline.cli:main", [helper], env=company.env, cwd=REPO)
        assert asked.returncode == 0, asked.stderr
        option = "--partition" if job == "score_month" else "--partition-range"
        target, args = (
            DG_ENTRY_POINT,
            ["launch", "-m", "pipeline.definitions", "--job", job, option, asked.stdout.strip()],
        )
    else:
        target, args = "pipeline.runner", ["--job", job]
    started = time.perf_counter()
    done = run_module(target, args, env=company.env, cwd=REPO, timeout=900)
    company.seconds[job] = round(time.perf_counter() - started, 1)
    company.outputs[job] = done.stdout + done.stderr
    assert done.returncode == 0, f"{company.spec.name}: {job} failed:\n{_tail(company.outputs[job])}"
    reported = [line for line in done.stdout.splitlines() if line.startswith("MATERIALISED ")]
    if reported:  # the runner says what the run materialised: the job's whole selection, whatever the shape
        assert set(json.loads(reported[0].removeprefix("MATERIALISED "))) == job_selection(job), company.spec.name


def _tail(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if " - DEBUG - " not in line)[-8000:]


# --- what every shape must give --------------------------------------------------------------------


def assert_published_with_status(company: Company) -> pd.DataFrame:
    """A complete release that carries the analysis status; the spec's expectations of it hold."""
    manifest_tables = set(pd.read_json(company.release / "_manifest.json", typ="series")["tables"])
    assert {"dim_account", "mart_account_360", "mart_analysis_status", "mart_churn_scores"} <= manifest_tables
    status = company.table("mart_analysis_status").set_index("analysis")
    for analysis in company.spec.withheld:
        assert status.loc[analysis, "status"] == "withheld", (analysis, status.loc[analysis].to_dict())
    for analysis in company.spec.degraded:
        assert status.loc[analysis, "status"] == "degraded", (analysis, status.loc[analysis].to_dict())
    for analysis in company.spec.available:
        assert status.loc[analysis, "status"] == "available", (analysis, status.loc[analysis].to_dict())
    # Every analysis that is not available says why and what would enable it.
    lacking = status[status["status"] != "available"]
    assert lacking["reason"].str.len().gt(10).all()
    assert lacking["enable_hint"].notna().all(), lacking[lacking["enable_hint"].isna()].index.tolist()
    return status


def landing_account_ids(company: Company) -> set[str]:
    """Every account id in the landing zone's files, read as text by Python's csv module (CRM files are
    Windows-1252, survey files UTF-8 with a BOM: the generator's formats) and pyarrow."""
    found: set[str] = set()
    for path in company.landing.rglob("*.csv"):
        text = path.read_bytes().decode("cp1252" if path.parent.name == "crm" else "utf-8-sig")
        header = text.split("\n", 1)[0]
        rows = csv.DictReader(io.StringIO(text, newline=""), delimiter=";" if ";" in header else ",")
        found |= {row["account_id"] for row in rows if row.get("account_id")}
    for path in company.landing.rglob("*.parquet"):
        ids = pq.read_table(path, columns=["account_id"]).column(0).drop_null().to_pylist()
        found |= {i for i in ids if i}
    return found


def landing_revenue_by_account(company: Company) -> dict[str, float]:
    """Net invoiced revenue per account from the landing zone's invoice files, the contract's way: the
    newest version of each (invoice_id, line_no) wins; lines without an account id are refused."""
    files = sorted(str(p) for p in (company.landing / "finance").glob("invoice_lines_*.parquet"))
    if not files:
        return {}
    with duckdb.connect() as conn:
        rows = conn.execute(
            """
            with lines as (
                select *, row_number() over (
                    partition by invoice_id, line_no order by filename desc, file_row_number desc
                ) as version
                from read_parquet(?, filename = true, file_row_number = true)
                where account_id is not null and account_id <> ''
            )
            select account_id, round(sum(cast(net_amount_eur as decimal(18, 2))), 2)
            from lines where version = 1 group by 1
            """,
            [files],
        ).fetchall()
    return {account: float(amount) for account, amount in rows}


def released_revenue_by_account(company: Company) -> dict[str, float]:
    lines = company.table("fct_invoice_lines")
    accounts = company.table("dim_account")[["account_key", "account_id"]]
    joined = lines.merge(accounts, on="account_key", how="left", validate="many_to_one")
    assert joined["account_id"].notna().all(), "an invoice line points at no account"
    sums = joined.groupby("account_id")["net_amount_eur"].apply(lambda s: round(float(sum(s)), 2))
    return sums.to_dict()


def assert_ids_and_revenue_survive(company: Company) -> None:
    released = company.table("dim_account")
    ids = set(released.loc[released["account_key"] > 0, "account_id"])
    assert ids == landing_account_ids(company), "account ids in the release differ from the landing zone's"
    expected, got = landing_revenue_by_account(company), released_revenue_by_account(company)
    assert set(got) == set(expected)
    off = {a: (expected[a], got[a]) for a in expected if abs(expected[a] - got[a]) > 0.005}
    assert not off, f"revenue differs from the landing zone for {len(off)} accounts, e.g. {list(off.items())[:3]}"
