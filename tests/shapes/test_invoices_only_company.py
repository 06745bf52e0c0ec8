"""The minimum a company can send: accounts and invoices, a single year of history, and five accounts
that the CRM export does not have (invoiced from another system): they are still accounts, with all
their revenue. Built by the daily refresh alone, as on its first day."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.demo.shape import SHAPES
from tests.shapes.checks import (  # noqa: F401 - collected here with this module's company
    test_a_release_is_published_saying_what_it_withholds_and_why,
    test_account_ids_keep_their_text_and_revenue_reconciles_with_the_landing_zone,
    test_no_month_of_data_is_missing_from_the_monthly_facts,
    test_no_personal_data_and_no_score_without_a_model,
    test_the_brief_describes_the_release_and_says_what_it_withholds,
    test_the_headline_says_what_is_withheld,
)
from tests.shapes.company import CompanySpec, build_company, landing_revenue_by_account, released_revenue_by_account

SPEC = CompanySpec(
    name="invoices_only",
    shape=replace(SHAPES["accounts_and_invoices"], accounts_missing_from_crm=5),
    accounts=300,
    months=12,
    seed=8,
    jobs=("daily_refresh",),
    withheld=("churn model", "NPS", "driver analysis", "payment behaviour", "relationship strength", "survey coverage"),
    # The CRM's main competitors remain; the survey's considering_alternatives does not.
    degraded=("segments", "customer profitability", "care model and recommended action", "competitor signals"),
    available=("revenue and value tiers", "gross margin"),
)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    return build_company(SPEC, tmp_path_factory.mktemp("shape"))


def test_accounts_missing_from_the_crm_are_accounts_with_their_revenue(company):
    accounts = company.table("dim_account").set_index("account_id")
    missing = [f"A{n:06d}" for n in range(1, 6)]
    assert not accounts.loc[missing, "is_in_crm"].any()
    landing, released = landing_revenue_by_account(company), released_revenue_by_account(company)
    invoiced = [a for a in missing if a in landing]
    assert invoiced, "the generator's first accounts should have invoices"
    assert all(released[a] == pytest.approx(landing[a], abs=0.005) for a in invoiced)
