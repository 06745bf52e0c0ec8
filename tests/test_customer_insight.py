"""Customer insight against the planted truth of the demo company (2,000 accounts x 36 months): the driver
classes, the honest NPS (raw is biased, adjusted is within its margin of error of the planted NPS of all
invited contacts), relative weights against an independent computation, and the statistics' units."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
import scipy.linalg

from pipeline.demo import model
from pipeline.insight import drivers, nps, tables


@pytest.fixture(scope="module")
def survey(demo_company_2000):
    settings = demo_company_2000["settings"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        respondents = tables.load_respondents(conn)
        invitations = tables.load_invitations(conn)
    truth = demo_company_2000["home"] / "truth"
    return {"respondents": respondents, "invitations": invitations, "truth": truth}


# --- driver analysis -----------------------------------------------------------------------------------


def test_the_driver_classes_equal_the_planted_classes(survey):
    planted = {
        name: spec["class"]
        for name, spec in json.loads((survey["truth"] / "drivers.json").read_text())["drivers"].items()
    }
    analysis = drivers.analyse_drivers(survey["respondents"])
    overall = analysis[(analysis["scope_type"] == "overall") & (analysis["outcome"] == drivers.RECOMMENDATION)]
    found = dict(zip(overall["driver"], overall["driver_class"], strict=True))
    print(overall[["driver", "respondents", "penalty", "penalty_ci_high", "reward", "reward_ci_low", "driver_class"]])
    assert found == planted
    # Every figure comes with its n, and the sentences say the class in words.
    assert (overall["respondents"] >= drivers.DriverConfig().min_respondents).all()
    delivery = overall.set_index("driver").loc["driver_delivery"]
    assert delivery["summary"].startswith("Delivery is a hygiene factor: a low rating (0-6) costs")
    # The importance shares of a scope add up to one; a differentiator matters more for promoters than
    # a weak driver.
    assert overall["importance_share"].sum() == pytest.approx(1.0)
    shares = overall.set_index("driver")["importance_share"]
    assert shares["driver_expertise"] > shares["driver_price_value"]


def test_the_driver_analysis_covers_waves_segments_and_churn_and_withholds_thin_figures(survey):
    respondents = survey["respondents"]
    analysis = drivers.analyse_drivers(respondents)
    assert set(analysis["scope_type"]) == {"overall", "wave", "segment"}
    assert set(analysis.loc[analysis["scope_type"] == "wave", "scope"]) == set(respondents["survey_id"])
    churn = analysis[(analysis["outcome"] == drivers.CHURN) & (analysis["scope_type"] == "overall")]
    assert len(churn) == len(drivers.driver_columns(respondents))
    assert churn["leavers"].gt(0).all() and churn["leavers_who_rated_high_share"].between(0, 1).all()
    assert churn["summary"].str.contains("satisfied but left").all()
    # A scope below the minimum n shows counts and a sentence, never a class or an effect.
    tiny = drivers.analyse_drivers(respondents.head(60))
    assert tiny["driver_class"].isna().all() and tiny["penalty"].isna().all() and tiny["performance"].isna().all()
    assert tiny["summary"].str.contains("too few answers", case=False).all()


def test_an_unknown_driver_column_is_analysed_too(survey):
    respondents = survey["respondents"].copy()
    rng = np.random.default_rng(0)
    respondents["driver_invoicing"] = rng.integers(0, 11, len(respondents)).astype(float)
    analysis = drivers.analyse_drivers(respondents)
    invoicing = analysis[(analysis["driver"] == "driver_invoicing") & (analysis["scope_type"] == "overall")]
    assert invoicing["driver_label"].iloc[0] == "Invoicing"
    # Random ratings carry no effect: a weak driver.
    assert invoicing.loc[invoicing["outcome"] == drivers.RECOMMENDATION, "driver_class"].iloc[0] == "weak"


def _johnson_by_svd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Johnson (2000) from the data: the orthogonal counterparts Z of the standardised predictors come from
    their singular value decomposition; y is regressed on Z and Z's loadings on X are squared."""
    z_x = (x - x.mean(axis=0)) / x.std(axis=0)
    z_y = (y - y.mean()) / y.std()
    u, _, vt = np.linalg.svd(z_x, full_matrices=False)
    counterparts = u @ vt  # closest orthonormal columns to X, scaled to unit sum of squares
    counterparts *= np.sqrt(len(y))
    beta = np.linalg.lstsq(counterparts, z_y, rcond=None)[0]
    loadings = np.linalg.lstsq(counterparts, z_x, rcond=None)[0]  # X on Z: Λ
    return (loadings.T**2) @ (beta**2)


def test_relative_weights_agree_with_an_independent_computation(survey):
    upper = survey["respondents"].dropna(subset=drivers.driver_columns(survey["respondents"]))
    upper = upper[upper["nps_score"] >= 7]
    columns = drivers.driver_columns(upper)
    x = upper[columns].to_numpy(float)
    y = (upper["nps_score"] >= 9).to_numpy(float)
    weights, r_squared = drivers.relative_weights(x, y)
    np.testing.assert_allclose(weights, _johnson_by_svd(x, y), atol=1e-6)
    # And from the correlation matrix with a different square root (scipy's Schur-based sqrtm).
    correlation = np.corrcoef(np.column_stack([x, y]), rowvar=False)
    root = np.real(scipy.linalg.sqrtm(correlation[:-1, :-1]))
    beta = np.linalg.solve(root, correlation[:-1, -1])
    np.testing.assert_allclose(weights, (root**2) @ (beta**2), atol=1e-6)
    design = np.column_stack([np.ones(len(y)), x])
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert r_squared == pytest.approx(1 - residual.var() / y.var(), abs=1e-9)


def test_penalty_reward_recovers_planted_effects_on_simulated_answers():
    rng = np.random.default_rng(5)
    n = 20000
    state = rng.standard_normal(n)
    experience = model.RATING_ACCOUNT_SD * rng.standard_normal((n, len(model.DRIVER_NAMES)))
    ratings = pd.DataFrame(model.draw_ratings(rng, experience, state), columns=list(model.DRIVER_NAMES))
    answers = pd.Series(model.would_be_nps(rng, ratings.to_numpy(), state).astype(float))
    effects = drivers.penalty_reward(ratings, answers).set_index("driver")
    for name, (_, low, high, _) in model.DRIVERS.items():
        # The 0-10 scale clips large rewards; the penalty is seen almost exactly.
        assert effects.loc[name, "penalty"] == pytest.approx(low, abs=0.45), name
        assert effects.loc[name, "penalty_ci_low"] < effects.loc[name, "penalty"] < effects.loc[name, "penalty_ci_high"]
        assert (effects.loc[name, "reward"] > 0.5) == (high > 0.5), name


def test_the_asymmetry_index_runs_from_hygiene_to_differentiator():
    assert drivers.asymmetry_index(-2.0, 0.0) == -1.0
    assert drivers.asymmetry_index(0.0, 3.0) == 1.0
    assert drivers.asymmetry_index(-1.0, 1.0) == 0.0
    assert np.isnan(drivers.asymmetry_index(0.0, 0.0))


def test_competitor_gaps_rank_the_drivers_that_separate_those_considering_a_change(survey):
    gaps = drivers.competitor_driver_gaps(survey["respondents"])
    assert len(gaps) == len(drivers.driver_columns(survey["respondents"]))
    # Those considering another supplier rate every driver lower (the planted risk state lowers them all).
    assert (gaps["rating_gap_ci_high"] < 0).all()
    assert sorted(gaps["gap_rank"]) == list(range(1, len(gaps) + 1))


# --- honest NPS ---------------------------------------------------------------------------------------


def test_nps_and_its_margin_follow_design_md():
    scores = np.array([10, 10, 10, 9, 9, 8, 7, 6, 3, 0])
    value, margin, n = nps.nps_with_margin(scores)
    assert value == pytest.approx(20.0)
    assert margin == pytest.approx(1.96 * 100 * np.sqrt((0.5 + 0.3 - 0.2**2) / 10))
    assert n == 10
    # Kish: two answers with weights 3 and 1 are worth (4^2)/(9+1) = 1.6 answers.
    _, _, effective = nps.nps_with_margin(np.array([10, 0]), np.array([3.0, 1.0]))
    assert effective == pytest.approx(1.6)


def test_poststratification_restores_the_invited_mix():
    # Large accounts: 100 invited, 50 answer, all promoters. Small: 100 invited, 10 answer, all detractors.
    # Raw NPS over-weights the large (50 vs 10 answers); weighted to the invited mix, NPS is 0.
    rows = []
    for band, answered, score in (("Large (250+)", 50, 10), ("Small (<50)", 10, 0)):
        for i in range(100):
            rows.append(
                {"size_band": band, "contact_role": "user", "responded": i < answered, "nps_score": score, "g": 1}
            )
    frame = pd.DataFrame(rows)
    table = nps.adjusted_nps(frame, ["g"])
    row = table.iloc[0]
    assert row["raw_nps"] == pytest.approx(100 * (50 - 10) / 60)
    assert row["adjusted_nps"] == pytest.approx(0.0)
    assert row["effective_respondents"] < row["respondents"]
    assert "overstates NPS" in row["bias_statement"]


def test_the_nps_from_cell_counts_equals_the_row_level_weighting():
    # Small and empty cells on purpose: fine cells fall back to their size band, then to "all"; one group
    # has no answer at all. Reference: each invitation's own weight (poststratification_weights).
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "g": rng.choice(["a", "b", "c"], n, p=[0.6, 0.35, 0.05]),
            "size_band": rng.choice(
                ["Small (<50)", "Medium (50-249)", "Large (250+)", "Unknown"], n, p=[0.5, 0.3, 0.18, 0.02]
            ),
            "contact_role": rng.choice(["decision_maker", "influencer", "user", "other"], n, p=[0.2, 0.3, 0.45, 0.05]),
        }
    )
    frame["responded"] = (rng.random(n) < 0.3) & (frame["g"] != "c")
    frame["nps_score"] = np.where(frame["responded"], rng.integers(0, 11, n), np.nan)
    table = nps.adjusted_nps(frame, ["g"], min_cell_respondents=15).set_index("g")
    for group, part in frame.groupby("g"):
        answered = part[part["responded"]]
        row = table.loc[group]
        assert row["invitations"] == len(part) and row["respondents"] == len(answered)
        if not len(answered):
            assert np.isnan(row["adjusted_nps"]) and row["weighting_cells"] == 0
            continue
        weights = nps.poststratification_weights(part, 15)
        expected = nps.nps_with_margin(answered["nps_score"].to_numpy(), weights.to_numpy())
        adjusted = (row["adjusted_nps"], row["adjusted_nps_margin_of_error"], row["effective_respondents"])
        assert adjusted == pytest.approx(expected, rel=1e-9)
        assert row["raw_nps"] == pytest.approx(nps.nps_with_margin(answered["nps_score"].to_numpy())[0])
        assert row["weighting_cells"] == nps._cell_labels(part, 15)[answered.index].nunique()
    assert table.loc["a", "weighting_cells"] > 1  # the weighting did split the respondents


def _planted_nps(truth_dir, invitation_ids: pd.Series) -> float:
    """NPS of the would-be answers of every invited contact, answered or not."""
    invited = pd.read_parquet(truth_dir / "invited_nps.parquet").set_index("invitation_id")
    scores = invited.loc[invitation_ids, "would_be_nps"].to_numpy()
    return 100.0 * ((scores >= 9).mean() - (scores <= 6).mean())


def test_raw_nps_is_biased_and_the_adjusted_nps_is_within_its_margin_of_the_planted_one(survey):
    table = nps.adjusted_nps_by_period(survey["invitations"])
    headline = table[(table["period"] == nps.LAST_12_MONTHS) & (table["segment_key"] == nps.ALL_SEGMENTS)].iloc[0]
    recent = survey["invitations"][survey["invitations"]["is_in_last_12_months"]]
    planted = _planted_nps(survey["truth"], recent["invitation_id"])
    print(headline.to_dict(), {"planted": planted})
    assert headline["invitations"] == len(recent)
    assert abs(headline["raw_nps"] - planted) > headline["raw_nps_margin_of_error"]
    assert abs(headline["adjusted_nps"] - planted) <= headline["adjusted_nps_margin_of_error"]
    assert headline["effective_respondents"] < headline["respondents"]
