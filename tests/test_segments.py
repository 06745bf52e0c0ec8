"""Segments that mean something (issue 22, item 4).

On the shared demo company after its scheduled month: the segments the pipeline publishes recover the ones
the generator planted (adjusted Rand index at least 0.7 against truth/accounts.parquet's planted_segment),
each described by what sets its planted archetype apart; every active account with purchases has its
segment in mart_account_360; mart_segments' sizes and revenue add up over those accounts; the status says
it was segmented on behaviour and needs. Pure functions: the criterion picks the planted number of
well-separated groups, a thin company is withheld with its reason, a company without driver ratings is
segmented on behaviour only and says so, and a missing needs profile neither helps nor hurts a segment."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import adjusted_rand_score

from pipeline.config import Settings
from pipeline.insight import segments
from pipeline.publish.parquet import current_release
from pipeline.rules import BusinessRules

# What the generator's archetypes (pipeline.demo.model.ARCHETYPES) must be described by: the trait each was
# planted with most strongly, in the words of pipeline.insight.segments.
PLANTED_WORDS = {
    "key_accounts": ("broad range", "large", "orders often", "frequent contact"),
    "price_driven": ("rates price value low", "narrow range", "little contact"),
    "rising": ("rising spend", "frequent contact"),
    "small_occasional": ("small", "rates ease low", "orders rarely"),
}


@pytest.fixture(scope="module")
def company(scheduled_month) -> dict:
    home = scheduled_month["home"]
    settings = Settings.from_env({"PIPELINE_HOME": str(home)})
    release = current_release(settings.bi_dir)
    assert release is not None
    tables = {
        name: pq.read_table(release.path / release.manifest["tables"][name]["file"]).to_pandas()
        for name in ("mart_segments", "mart_account_360", "mart_analysis_status")
    }
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        features = conn.execute("select account_id from intermediate.int_account_segment_features").df()
    truth = pd.read_parquet(home / "truth" / "accounts.parquet")
    return {"tables": tables, "features": features, "truth": truth, "home": home}


def test_the_planted_segments_are_recovered(company):
    accounts = company["tables"]["mart_account_360"]
    segmented = accounts[accounts["segment_number"].notna()]
    planted = company["truth"].set_index("account_id").loc[segmented["account_id"], "planted_segment"]
    score = adjusted_rand_score(planted.to_numpy(), segmented["segment_number"].astype(int).to_numpy())
    print(f"adjusted Rand index {score:.3f} on {len(segmented)} accounts")
    print(pd.crosstab(planted.to_numpy(), segmented["segment_number"].astype(int).to_numpy()))
    assert score >= 0.7
    assert company["tables"]["mart_segments"]["segments_chosen"].iloc[0] == 4


def test_each_segment_is_described_by_what_sets_its_planted_archetype_apart(company):
    accounts = company["tables"]["mart_account_360"]
    segmented = accounts[accounts["segment_number"].notna()]
    planted = company["truth"].set_index("account_id").loc[segmented["account_id"], "planted_segment"].to_numpy()
    majority = pd.crosstab(segmented["segment_number"].astype(int).to_numpy(), planted).idxmax(axis=1)
    described = company["tables"]["mart_segments"].set_index("segment_number")
    for number, archetype in majority.items():
        row = described.loc[number]
        print(number, archetype, "|", row["segment"], "|", row["description"])
        assert any(words in row["description"] for words in PLANTED_WORDS[archetype]), (archetype, row["description"])
        assert (
            row["segment"] in row["description"] or row["segment"].split(" (")[0].split(", ")[0] in row["description"]
        )


def test_every_active_account_with_purchases_has_a_segment_and_the_segments_add_up(company):
    accounts = company["tables"]["mart_account_360"]
    segmented = accounts[accounts["segment_number"].notna()]
    assert set(segmented["account_id"]) == set(company["features"]["account_id"])
    assert segmented["is_active_customer"].all()
    assert segmented["segment"].notna().all()
    marts = company["tables"]["mart_segments"].set_index("segment_number")
    by_segment = segmented.groupby(segmented["segment_number"].astype(int))
    assert (by_segment.size() == marts["accounts"]).all()
    assert np.allclose(by_segment["revenue_ttm_eur"].sum().astype(float), marts["revenue_ttm_eur"].astype(float))
    assert abs(marts["revenue_share"].astype(float).sum() - 1) < 1e-6
    assert marts["revenue_ttm_eur"].astype(float).is_monotonic_decreasing  # numbered by revenue
    # The segments' names in mart_account_360 are mart_segments'.
    assert (
        dict(zip(segmented["segment_number"].astype(int), segmented["segment"], strict=True))
        == marts["segment"].to_dict()
    )
    # NPS and churn risk are there where the data has them.
    assert marts["nps_12m"].notna().any() and marts["mean_churn_probability"].notna().all()


def test_the_status_says_segmented_on_behaviour_and_needs(company):
    status = company["tables"]["mart_analysis_status"].set_index("analysis").loc["segments"]
    assert status["status"] == "available", status.to_dict()
    assert "4 segments" in status["reason"] and "driver ratings of" in status["reason"]


# --- pure functions -------------------------------------------------------------------------------------


def _synthetic(seed: int = 3, per_group: int = 80, drivers: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """Three groups of accounts: large buyers of everything, price-sensitive single-line buyers, small ones."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(3), per_group)
    n = groups.shape[0]
    revenue = np.exp(np.array([12.0, 10.0, 8.0])[groups] + 0.4 * rng.standard_normal(n))
    frame = pd.DataFrame(
        {
            "account_id": [f"A{i:04d}" for i in range(n)],
            "revenue_ttm_eur": revenue,
            "revenue_prior_ttm_eur": revenue * np.exp(0.1 * rng.standard_normal(n)),
            "invoices_per_month": np.array([6.0, 1.2, 1.1])[groups] * np.exp(0.2 * rng.standard_normal(n)),
            "activities_per_month": np.array([5.0, 0.3, 1.0])[groups] * np.exp(0.3 * rng.standard_normal(n)),
            "product_lines": np.array([5, 1, 2])[groups],
            "product_breadth": np.array([4.5, 1.0, 1.8])[groups] + 0.1 * rng.random(n),
        }
    )
    if drivers:
        answered = rng.random(n) < 0.5
        frame["driver_answers"] = np.where(answered, 2.0, 0.0)
        for driver in ("driver_quality", "driver_price_value", "driver_service"):
            shift = -3.0 * (groups == 1) if driver == "driver_price_value" else 0.0
            frame[driver] = np.where(answered, 7.5 + shift + 0.7 * rng.standard_normal(n), np.nan)
    return frame, groups


def test_the_criterion_finds_the_planted_groups_and_names_what_sets_them_apart():
    frame, groups = _synthetic()
    found = segments.segment_accounts(frame)
    assert found.chosen == 3 and found.withheld_reason is None
    assert adjusted_rand_score(groups, found.accounts["segment_number"]) > 0.95
    assert found.criterion.loc[found.criterion["bic"].idxmin(), "segments"] == 3
    descriptions = found.segments.set_index("segment_number")["description"]
    # Numbered by revenue: the large buyers of everything are segment 1, the price-sensitive ones segment 2.
    assert "large" in descriptions[1] and "broad range" in descriptions[1]
    assert "rates price value low" in descriptions[2]
    assert "small" in descriptions[3]
    assert found.status()["status"].iloc[0] == segments.SEGMENTED
    assert list(found.accounts.columns) == segments.ACCOUNT_COLUMNS
    assert list(found.segments.columns) == segments.SEGMENT_COLUMNS


def test_beyond_the_fit_budget_the_mixture_is_fitted_on_a_hashed_sample_and_places_every_account():
    frame, groups = _synthetic(per_group=300)
    config = segments.SegmentConfig(fit_max_accounts=240)
    found = segments.segment_accounts(frame, config)
    # Every account placed, the planted groups found from a sample of a quarter of them.
    assert len(found.accounts) == len(frame) and found.chosen == 3
    assert adjusted_rand_score(groups, found.accounts["segment_number"]) > 0.95
    assert any("a sample of 240 of the 900 accounts" in note for note in found.notes)
    assert found.accounts_considered == 900
    # The sample is a hash of the ids: the same accounts in whatever order the rows come.
    sample = segments.fit_sample(frame["account_id"], 240)
    shuffled = frame.sample(frac=1.0, random_state=4).reset_index(drop=True)
    resampled = segments.fit_sample(shuffled["account_id"], 240)
    assert set(frame["account_id"].iloc[sample]) == set(shuffled["account_id"].iloc[resampled])
    assert len(set(groups[sample])) == 3
    again = segments.segment_accounts(shuffled, config)
    by_id = found.accounts.set_index("account_id")["segment_number"]
    assert (again.accounts.set_index("account_id")["segment_number"].loc[by_id.index] == by_id).all()
    # Within the budget nothing is sampled.
    assert len(segments.fit_sample(frame["account_id"], 900)) == 900


def test_a_company_without_driver_ratings_is_segmented_on_behaviour_only_and_says_so():
    frame, groups = _synthetic(drivers=False)
    found = segments.segment_accounts(frame)
    assert not found.uses_needs and found.chosen == 3
    assert adjusted_rand_score(groups, found.accounts["segment_number"]) > 0.9
    status = found.status()
    assert status["status"].iloc[0] == segments.BEHAVIOUR_ONLY
    assert "purchase and engagement only" in status["reason"].iloc[0]


def test_too_few_accounts_are_withheld_with_the_reason_and_the_declared_columns():
    frame, _ = _synthetic(per_group=10)
    rules = BusinessRules.load({"segment_min_accounts": 60})
    found = segments.segment_accounts(frame, segments.SegmentConfig(rules=rules))
    assert found.accounts.empty and found.segments.empty and found.chosen is None
    status = found.status()
    assert status["status"].iloc[0] == segments.WITHHELD
    assert "30 active accounts" in status["reason"].iloc[0] and "at least 60" in status["reason"].iloc[0]
    assert found.accounts.dtypes.to_dict() == {
        c: pd.api.types.pandas_dtype(d) for c, d in segments.ACCOUNT_DTYPES.items()
    }
    empty = segments.segment_accounts(frame.iloc[:0], segments.SegmentConfig(rules=rules))
    assert empty.status()["status"].iloc[0] == segments.WITHHELD


def test_a_feature_without_spread_is_left_out_and_said_so():
    frame, _ = _synthetic(drivers=False)
    frame["activities_per_month"] = 0.0  # a CRM without activities
    frame["product_breadth"] = 1.0  # invoices without product lines
    found = segments.segment_accounts(frame)
    assert "contact_rate" not in found.features and "product_breadth" not in found.features
    assert any("left out for lack of spread" in note for note in found.notes)
    assert found.chosen is not None


def test_a_missing_needs_profile_counts_neither_for_nor_against_a_segment():
    # Two components far apart on x1; x2 observed for some. A row with x2 missing is placed by x1 alone.
    rng = np.random.default_rng(5)
    x = np.vstack([rng.normal([-3, 0], 0.5, (100, 2)), rng.normal([3, 2], 0.5, (100, 2))])
    x[::3, 1] = np.nan
    fit = segments.fit_mixture(x, 2, seed=1)
    labels = fit.probabilities.argmax(axis=1)
    assert adjusted_rand_score(np.repeat([0, 1], 100), labels) == 1.0
    assert np.isfinite(fit.bic)
    # The same data with the missing values imputed at the mean would have made the unobserved a cluster.
    assert np.allclose(fit.probabilities.sum(axis=1), 1.0)


def test_the_truth_records_the_planted_archetypes(tmp_path):
    from pipeline.demo.generator import generate_demo_company

    generate_demo_company(tmp_path / "landing", tmp_path / "truth", accounts=200, months=14, seed=3)
    truth = json.loads((tmp_path / "truth" / "segments.json").read_text())
    names = [a["name"] for a in truth["archetypes"]]
    assert names == list(PLANTED_WORDS)
    accounts = pd.read_parquet(tmp_path / "truth" / "accounts.parquet")
    assert set(accounts["planted_segment"]) <= set(names) and accounts["planted_segment"].notna().all()


def test_the_brief_shows_each_segment_in_words_or_says_why_it_is_withheld(tmp_path):
    from pipeline.publish.brief import BRIEF, build_brief

    frame, _ = _synthetic()
    found = segments.segment_accounts(frame)
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "_manifest.json").write_text(
        json.dumps({"release_id": "r1", "published_at": "2026-11-01T05:00:00Z", "data_as_of": "2026-10-31"})
    )
    marts = found.segments.rename(columns={"status": "feature_basis"}).assign(
        revenue_share=found.segments["account_share"],
        revenue_growth_yoy=0.05,
        nps_12m=None,
        mean_churn_probability=0.08,
    )
    with duckdb.connect() as conn:
        conn.register("marts", marts)
        conn.execute(f"copy (select * from marts) to '{folder / 'mart_segments.parquet'}' (format parquet)")
    written = build_brief(folder, None, tmp_path / BRIEF)
    page = written.path.read_text()
    assert "<h2>Segments</h2>" in page and "Segments" not in written.withheld
    for name in found.segments["segment"]:
        assert name in page
    assert "lowest BIC" in page

    (folder / "mart_segments.parquet").unlink()
    withheld = build_brief(folder, None, tmp_path / "withheld.html")
    assert "Segments" in withheld.withheld
