"""The generator's company shapes (pipeline/demo/shape.py): each writes what it says and nothing else, and
the business-rule settings agree between Python and dbt."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.config import Settings
from pipeline.contract import CONTRACTS
from pipeline.dbt import DBT_PROJECT_DIR
from pipeline.demo.generator import generate_demo_company
from pipeline.demo.shape import CompanyShape


def _header(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pq.read_schema(path).names
    text = path.read_bytes().decode("cp1252" if path.parent.name == "crm" else "utf-8-sig")
    first = text.splitlines()[0]
    return next(csv.reader(io.StringIO(first), delimiter=";" if ";" in first else ","))


def _rows(path: Path) -> list[dict]:
    text = path.read_bytes().decode("cp1252" if path.parent.name == "crm" else "utf-8-sig")
    delimiter = ";" if ";" in text.splitlines()[0] else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    root = tmp_path_factory.mktemp("sparse")
    shape = CompanyShape(
        absent=frozenset({"payments", "cost_to_serve", "opportunities"}),
        required_columns_only=True,
        digit_ids=True,
        scale_from_one=True,
        relationship_waves=1,
        accounts_missing_from_crm=3,
    )
    summary = generate_demo_company(
        root / "landing", root / "truth", accounts=200, months=13, seed=4, end_month="1987-03", shape=shape
    )
    return root / "landing", summary


def test_absent_entities_have_no_files_and_the_rest_only_required_columns(sparse):
    landing, _ = sparse
    written = {re.split(r"_\d{8}", p.name)[0] for p in landing.rglob("*.*")}
    assert not {"payments", "cost_to_serve", "opportunities"} & written
    for contract in CONTRACTS:
        required = {n for n, c in contract.schema(dt.date(2000, 1, 1)).columns.items() if c.required}
        for path in (landing / contract.source).glob(f"{contract.entity}_*"):
            assert set(_header(path)) == required, (path.name, _header(path))


def _answers(landing: Path) -> list[int]:
    return sorted(
        int(r["nps"])
        for p in sorted((landing / "survey").glob("responses_*.csv"))
        for r in _rows(p)
        if r["nps"].isdigit() and int(r["nps"]) <= 10
    )


def test_ids_are_digits_with_leading_zeros_and_answers_start_at_one(sparse, tmp_path):
    landing, _ = sparse
    accounts = [r for p in (landing / "crm").glob("accounts_*.csv") for r in _rows(p)]
    assert all(len(r["account_id"]) == 6 and r["account_id"].isdigit() for r in accounts)
    assert any(r["account_id"].startswith("000") for r in accounts)
    # The same company on a 0-10 scale: the same answers, with every 0 a 1 on the 1-10 scale.
    zero_to_ten = CompanyShape(
        absent=frozenset({"payments", "cost_to_serve", "opportunities"}),
        required_columns_only=True,
        digit_ids=True,
        relationship_waves=1,
        accounts_missing_from_crm=3,
    )
    generate_demo_company(
        tmp_path / "landing",
        tmp_path / "truth",
        accounts=200,
        months=13,
        seed=4,
        end_month="1987-03",
        shape=zero_to_ten,
    )
    original = _answers(tmp_path / "landing")
    assert 0 not in _answers(landing)
    assert _answers(landing) == sorted(max(a, 1) for a in original)


def test_one_relationship_wave_and_history_in_another_decade(sparse):
    landing, summary = sparse
    waves = {
        r["survey_id"]
        for p in (landing / "survey").glob("responses_*.csv")
        for r in _rows(p)
        if r["survey_id"].startswith("REL-")
    }
    assert len(waves) == 1
    stamps = sorted(re.search(r"_(\d{8})", p.name).group(1) for p in landing.rglob("*.*"))
    assert stamps[0].startswith("1986") and stamps[-1].startswith("1987")
    assert summary.realised is not None


def test_accounts_missing_from_the_crm_still_have_invoices(sparse):
    landing, _summary = sparse
    missing = {"000001", "000002", "000003"}
    in_crm = {r["account_id"] for p in (landing / "crm").glob("accounts_*.csv") for r in _rows(p)}
    assert not missing & in_crm
    invoiced = {
        a
        for p in (landing / "finance").glob("invoice_lines_*.parquet")
        for a in pq.read_table(p, columns=["account_id"]).column(0).to_pylist()
    }
    assert missing & invoiced


def test_a_shape_refuses_what_it_cannot_mean():
    with pytest.raises(ValueError, match="unknown entities"):
        CompanyShape(absent=frozenset({"orders"}))
    with pytest.raises(ValueError, match="accounts are required"):
        CompanyShape(absent=frozenset({"accounts"}))


def test_the_churn_settings_are_one_rule_for_python_and_dbt():
    """The environment's settings reach dbt as vars on every run and Python as the same rules; without them
    both use dbt_project.yml's values (there is no second default)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    from pipeline.resources import resources_from

    defaults = resources_from(Settings.from_env({}))["rules"]
    assert defaults.dbt_vars() == {}
    assert defaults.churn_horizon_months == project["vars"]["churn_horizon_months"]
    assert defaults.silent_churn_months == project["vars"]["silent_churn_months"]
    chosen = Settings.from_env({"PIPELINE_CHURN_HORIZON_MONTHS": "3", "PIPELINE_SILENT_CHURN_MONTHS": "4"})
    rules = resources_from(chosen)["rules"]
    assert rules.dbt_vars() == {"churn_horizon_months": 3, "silent_churn_months": 4}
    assert (rules.rules().churn_horizon_months, rules.rules().silent_churn_months) == (3, 4)
    with pytest.raises(ValueError, match="PIPELINE_CHURN_HORIZON_MONTHS"):
        Settings.from_env({"PIPELINE_CHURN_HORIZON_MONTHS": "six"})
