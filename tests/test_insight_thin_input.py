"""Customer insight on thin or absent survey data: every analysis degrades, never dies.

A company without a survey tool, an export with the required columns only, no "considering another supplier"
answers, one wave, fewer answers than the minimum n, one size band, a 1-10 answer scale: each table keeps the
columns and dtypes of a normal run (fewer rows, or null figures with a sentence saying why), the warehouse
tables keep their types, and the dbt staging models, the marts and the assets still read them.

The inputs are a synthetic warehouse: the three dbt models the insight assets read, with the column types
dbt gives them, filled with answers drawn from the demo company's planted model (pipeline.demo.model).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.demo import model
from pipeline.insight import drivers, nps, tables

DBT_MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
SIZE_BANDS = ("Small (<50)", "Medium (50-249)", "Large (250+)")
WAVES = {"REL-2025-10": dt.date(2025, 10, 15), "REL-2026-04": dt.date(2026, 4, 15)}
AS_OF = dt.date(2026, 10, 31)
RESPONDENT_COLUMNS = ["response_id", "survey_id", "account_id", "segment", "nps_score", drivers.CONSIDERING,
                      drivers.CHURNED]  # fmt: skip
GAP_FIGURES = ["considering_mean_rating", "other_mean_rating", "rating_gap", "rating_gap_ci_low",
               "rating_gap_ci_high", "standardised_gap"]  # fmt: skip
DRIVER_FIGURES = ["performance", "importance_weight", "importance_share", "importance_r_squared", "penalty",
                  "penalty_ci_low", "penalty_ci_high", "reward", "reward_ci_low", "reward_ci_high",
                  "asymmetry_index", "leavers_who_rated_high_share"]  # fmt: skip
NPS_FIGURES = ["raw_nps", "raw_nps_margin_of_error", "adjusted_nps", "adjusted_nps_margin_of_error"]

WAREHOUSE_DDL = """
create schema intermediate;
create schema marts;
create table intermediate.int_relationship_respondents (response_id varchar, survey_id varchar,
    account_id varchar, response_date date, response_month date, segment_key integer, size_band varchar,
    nps_score bigint, considering_alternatives bigint, preferred_competitor varchar, churned_within_6m integer);
create table marts.fct_driver_ratings (response_id varchar, account_key bigint, response_date_key integer,
    driver_name varchar, rating integer);
create table intermediate.int_relationship_invitations (invitation_id varchar, survey_id varchar, sent_date date,
    year_quarter varchar, is_in_last_12_months boolean, account_id varchar, segment_key integer,
    size_band varchar, contact_role varchar, responded boolean, response_id varchar, nps_score bigint);
"""


def survey_warehouse(
    respondents: int = 2000,
    *,
    driver_names: tuple[str, ...] = model.DRIVER_NAMES,
    waves: tuple[str, ...] = tuple(WAVES),
    size_bands: tuple[str, ...] = SIZE_BANDS,
    scale_from_one: bool = False,
    considering: bool = True,
    churn: bool = True,
    unanswered_per_answer: int = 2,
    seed: int = 0,
    path: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """The insight assets' inputs: answers with the planted driver effects (0-10, or 1-10 with
    ``scale_from_one``); an absent optional answer is a null column, as dbt stages it."""
    rng = np.random.default_rng(seed)
    n = respondents
    state = rng.standard_normal(n)
    ratings = model.draw_ratings(
        rng, model.RATING_ACCOUNT_SD * rng.standard_normal((n, len(model.DRIVER_NAMES))), state
    )
    score = model.would_be_nps(rng, ratings, state)
    alternatives = np.clip(np.rint(3 + 2.5 * state + rng.standard_normal(n)), 0, 10).astype(np.int64)
    churned = (rng.random(n) < model.sigmoid(-2 + state)).astype(np.int64)
    wave = np.asarray(waves, dtype=object)[rng.integers(0, len(waves), n)]
    band = np.asarray(size_bands, dtype=object)[rng.integers(0, len(size_bands), n)]
    if scale_from_one:
        ratings, score, alternatives = (np.maximum(a, 1) for a in (ratings, score, alternatives))
    ids = np.asarray([f"R{i:06d}" for i in range(n)], dtype=object)
    answers = pd.DataFrame(
        {
            "response_id": ids,
            "survey_id": wave,
            "account_id": np.asarray([f"A{i % 700:06d}" for i in range(n)], dtype=object),
            "response_date": pd.to_datetime(
                pd.Series([WAVES.get(w, dt.date(2026, 4, 15)) for w in wave], dtype=object)
            ),
            "segment_key": rng.integers(1, 30, n),
            "size_band": band,
            "nps_score": score,
            "considering_alternatives": pd.array(alternatives if considering else [None] * n, dtype="Int64"),
            "churned_within_6m": pd.array(churned if churn else [None] * n, dtype="Int64"),
        }
    )
    columns = [model.DRIVER_NAMES.index(d) for d in driver_names]
    long = pd.DataFrame(
        {
            "response_id": np.repeat(ids, len(columns)),
            "driver_name": np.tile(np.asarray([d.removeprefix("driver_") for d in driver_names], dtype=object), n),
            "rating": ratings[:, columns].reshape(-1),
        }
    )
    conn = duckdb.connect(str(path) if path else ":memory:")
    conn.execute(WAREHOUSE_DDL)
    conn.register("answers", answers)
    conn.register("ratings", long)
    conn.execute(
        """insert into intermediate.int_relationship_respondents
        select response_id, survey_id, account_id, cast(response_date as date),
            date_trunc('month', cast(response_date as date)), segment_key, size_band, nps_score,
            considering_alternatives, null, churned_within_6m
        from answers"""
    )
    conn.execute(
        "insert into marts.fct_driver_ratings select response_id, 1, 20260415, driver_name, rating from ratings"
    )
    # Each answer's invitation, and unanswered ones beside it (the roles spread by a hash of the id).
    conn.execute(
        f"""insert into intermediate.int_relationship_invitations
        select 'I' || response_id || '-' || k, survey_id, cast(response_date as date),
            cast(year(response_date) as varchar) || '-Q' || cast(quarter(response_date) as varchar),
            cast(response_date as date) > date '{AS_OF}' - interval 12 month, account_id, segment_key, size_band,
            (['decision_maker', 'influencer', 'user', 'other'])[cast(1 + hash(response_id || k) % 4 as bigint)],
            k = 0, case when k = 0 then response_id end, case when k = 0 then nps_score end
        from answers cross join range({1 + unanswered_per_answer}) as t(k)"""
    )
    conn.unregister("answers")
    conn.unregister("ratings")
    return conn


def analyses(conn: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The three insight tables, named as in the warehouse, from the warehouse's survey answers."""
    respondents, invitations = tables.load_respondents(conn), tables.load_invitations(conn)
    return {
        "driver_analysis": drivers.analyse_drivers(respondents),
        "competitor_driver_gaps": drivers.competitor_driver_gaps(respondents),
        "nps_adjusted": nps.adjusted_nps_by_period(invitations),
    }


def overall(analysis: pd.DataFrame, outcome: str = drivers.RECOMMENDATION) -> pd.DataFrame:
    return analysis[(analysis["scope_type"] == "overall") & (analysis["outcome"] == outcome)].set_index("driver")


# Thin shapes of real companies (as pipeline.demo.shape writes them), as survey_warehouse arguments.
THIN = {
    "no_survey": {"respondents": 0},
    "required_columns": {"respondents": 400, "driver_names": (), "considering": False},
    "no_considering_answers": {"respondents": 400, "considering": False},
    "single_wave": {"respondents": 400, "waves": ("REL-2026-04",)},
    "below_minimum_n": {"respondents": 60},
    "one_size_band": {"respondents": 400, "size_bands": ("Small (<50)",)},
    "scale_from_one": {"respondents": 400, "scale_from_one": True},
    "no_churn_outcome": {"respondents": 400, "churn": False},
    "single_answer": {"respondents": 1},
}


@pytest.fixture(scope="module")
def normal() -> dict:
    conn = survey_warehouse(2000)
    found = {
        "respondents": tables.load_respondents(conn),
        "invitations": tables.load_invitations(conn),
        **analyses(conn),
    }
    conn.close()
    return found


@pytest.fixture(scope="module")
def thin() -> dict[str, dict]:
    found = {}
    for shape, arguments in THIN.items():
        conn = survey_warehouse(**arguments)
        found[shape] = {
            "respondents": tables.load_respondents(conn),
            "invitations": tables.load_invitations(conn),
            **analyses(conn),
        }
        conn.close()
    return found


# --- the same columns and dtypes, whatever the input ---------------------------------------------------------


def test_a_normal_run_has_the_declared_columns_and_dtypes(normal):
    for name, declared in tables.TABLE_DTYPES.items():
        assert dict(normal[name].dtypes) == {c: pd.api.types.pandas_dtype(d) for c, d in declared.items()}, name
    assert list(normal["driver_analysis"].columns) == drivers.COLUMNS
    assert list(normal["competitor_driver_gaps"].columns) == drivers.GAP_COLUMNS
    assert list(normal["nps_adjusted"].columns) == nps.COLUMNS
    # The normal run is a real one: classes found, gaps ranked, NPS adjusted.
    assert overall(normal["driver_analysis"])["driver_class"].notna().all()
    assert normal["competitor_driver_gaps"]["gap_rank"].notna().all()
    assert normal["nps_adjusted"]["adjusted_nps"].notna().any()


@pytest.mark.parametrize("shape", list(THIN))
@pytest.mark.parametrize("name", list(tables.TABLE_DTYPES))
def test_every_insight_table_keeps_its_columns_and_dtypes_on_thin_input(normal, thin, shape, name):
    found = thin[shape][name]
    assert list(found.columns) == list(normal[name].columns)
    assert found.dtypes.to_dict() == normal[name].dtypes.to_dict()
    # The columns dbt reads as keys or sentences are never null.
    text = "bias_statement" if name == "nps_adjusted" else "summary"
    assert found[text].notna().all()
    if name != "nps_adjusted":
        assert found["driver"].notna().all()


@pytest.mark.parametrize("shape", list(THIN))
def test_the_survey_populations_load_with_the_normal_dtypes(normal, thin, shape):
    respondents, invitations = thin[shape]["respondents"], thin[shape]["invitations"]
    assert (
        respondents[RESPONDENT_COLUMNS].dtypes.to_dict() == normal["respondents"][RESPONDENT_COLUMNS].dtypes.to_dict()
    )
    assert set(drivers.driver_columns(respondents)) <= set(model.DRIVER_NAMES)
    assert (respondents[drivers.driver_columns(respondents)].dtypes == "float64").all()
    assert invitations.dtypes.to_dict() == normal["invitations"].dtypes.to_dict()
    assert len(respondents) == THIN[shape]["respondents"]


def test_an_empty_warehouse_loads_as_typed_empty_frames(normal, thin):
    respondents, invitations = thin["no_survey"]["respondents"], thin["no_survey"]["invitations"]
    assert respondents.empty and invitations.empty
    assert list(respondents.columns) == RESPONDENT_COLUMNS  # no driver rated: no driver column
    assert list(invitations.columns) == list(normal["invitations"].columns)
    # Empty tables read as object and int64 columns from DuckDB; the loaders give the populated dtypes.
    assert (respondents[["response_id", "survey_id", "account_id", "segment"]].dtypes == drivers.TEXT).all()
    assert (invitations[list(tables.INVITATION_TEXT)].dtypes == drivers.TEXT).all()
    assert invitations["nps_score"].dtype == "Int64" and invitations["responded"].dtype == bool


# --- withheld, and saying why ----------------------------------------------------------------------------


def test_without_any_survey_answer_the_tables_are_empty_but_for_one_gap_row_that_says_why(thin):
    found = thin["no_survey"]
    assert found["driver_analysis"].empty and found["nps_adjusted"].empty
    gaps = found["competitor_driver_gaps"]
    assert len(gaps) == 1  # the asset reports the largest considering count: it needs a row
    row = gaps.iloc[0]
    assert (row["driver"], row["driver_label"]) == (drivers.NO_DRIVERS, drivers.NO_DRIVERS_LABEL)
    assert (row["considering_respondents"], row["other_respondents"]) == (0, 0)
    assert row[GAP_FIGURES].isna().all() and pd.isna(row["gap_rank"])
    assert (
        row["summary"]
        == "No driver ratings among the 0 survey answers (0 considering another supplier): nothing to compare."
    )


def test_an_export_with_the_required_columns_only_gives_no_driver_rows(normal, thin):
    found = thin["required_columns"]
    assert drivers.driver_columns(found["respondents"]) == []
    assert found["driver_analysis"].empty
    assert found["competitor_driver_gaps"]["summary"].tolist() == [
        "No driver ratings among the 400 survey answers (0 considering another supplier): nothing to compare."
    ]
    # The NPS needs no driver: it is there.
    assert found["nps_adjusted"]["adjusted_nps"].notna().any()
    # The same when the frame itself has only the required columns (no considering or churn column at all).
    bare = found["respondents"][["response_id", "survey_id", "account_id", "segment", "nps_score"]]
    analysis, gaps = drivers.analyse_drivers(bare), drivers.competitor_driver_gaps(bare)
    assert analysis.empty and analysis.dtypes.to_dict() == normal["driver_analysis"].dtypes.to_dict()
    assert gaps.dtypes.to_dict() == normal["competitor_driver_gaps"].dtypes.to_dict()
    assert gaps["driver"].tolist() == [drivers.NO_DRIVERS]


@pytest.mark.parametrize("absent", ["null", "no column"])
def test_without_considering_alternatives_the_gaps_are_withheld_and_say_why(normal, thin, absent):
    respondents = thin["no_considering_answers"]["respondents"]
    if absent == "no column":
        respondents = respondents.drop(columns=drivers.CONSIDERING)
    gaps = drivers.competitor_driver_gaps(respondents)
    assert gaps.dtypes.to_dict() == normal["competitor_driver_gaps"].dtypes.to_dict()
    assert gaps["driver"].tolist() == sorted(model.DRIVER_NAMES)
    assert (gaps["considering_respondents"] == 0).all() and (gaps["other_respondents"] == 0).all()
    assert gaps[GAP_FIGURES].isna().all().all() and gaps["gap_rank"].isna().all()
    assert (
        gaps["summary"]
        .str.endswith("nobody answered whether they consider another supplier: nothing to compare.")
        .all()
    )
    # The driver analysis does not use the answer: the same as with it.
    with_answer = drivers.analyse_drivers(tables.load_respondents(survey_warehouse(400)))
    pd.testing.assert_frame_equal(drivers.analyse_drivers(respondents), with_answer)


def test_below_the_minimum_n_every_figure_is_withheld_and_the_counts_stay(thin):
    analysis = thin["below_minimum_n"]["driver_analysis"]
    config = drivers.DriverConfig()
    assert (analysis["respondents"] < config.min_respondents).all()
    effects = [c for c in DRIVER_FIGURES if c != "leavers_who_rated_high_share"]
    assert analysis[effects].isna().all().all() and analysis["driver_class"].isna().all()
    # The leavers' share has its own minimum: the number of leavers.
    few_leavers = analysis["leavers"].fillna(0) < config.min_group
    assert analysis.loc[few_leavers, "leavers_who_rated_high_share"].isna().all()
    recommendation = overall(analysis)
    assert (recommendation["respondents"] == 60).all()
    assert (recommendation["low_ratings"] + recommendation["high_ratings"] > 0).all()
    assert recommendation["summary"].str.endswith(": too few answers (60) to tell.").all()
    churn = overall(analysis, drivers.CHURN)
    assert churn["summary"].str.contains("too few answers with a known outcome").all()
    assert (churn["leavers"] >= 0).all()
    # The gaps: shown only where both groups have the minimum number of ratings.
    gaps = thin["below_minimum_n"]["competitor_driver_gaps"]
    shown = (gaps["considering_respondents"] >= config.min_group) & (gaps["other_respondents"] >= config.min_group)
    assert not shown.all()  # few consider another supplier among 60
    assert gaps.loc[~shown, GAP_FIGURES].isna().all().all()
    assert (gaps.loc[~shown, "summary"].str.endswith(": too few answers to compare.")).all()
    assert gaps.loc[shown, "rating_gap"].notna().all()


def test_a_single_answer_is_counted_and_withheld(thin):
    found = thin["single_answer"]
    assert (overall(found["driver_analysis"])["respondents"] == 1).all()
    assert found["driver_analysis"]["performance"].isna().all()
    assert found["competitor_driver_gaps"]["rating_gap"].isna().all()
    assert found["nps_adjusted"]["respondents"].eq(1).all()


def test_a_single_wave_and_a_single_size_band_repeat_the_overall_figures(thin):
    comparable = ["outcome", "driver", "respondents", "performance", "importance_weight", "penalty", "reward",
                  "driver_class", "leavers", "summary"]  # fmt: skip
    for shape, scope_type, scope in (
        ("single_wave", "wave", "REL-2026-04"),
        ("one_size_band", "segment", "Small (<50)"),
    ):
        analysis = thin[shape]["driver_analysis"]
        assert set(analysis["scope_type"]) == {"overall", "wave", "segment"}
        part = analysis[analysis["scope_type"] == scope_type]
        assert set(part["scope"]) == {scope}
        pd.testing.assert_frame_equal(
            part[comparable].reset_index(drop=True),
            analysis.loc[analysis["scope_type"] == "overall", comparable].reset_index(drop=True),
        )
        assert overall(analysis)["driver_class"].notna().all()


def test_answers_on_a_one_to_ten_scale_give_the_classes_of_the_same_answers_on_zero_to_ten():
    answers = tables.load_respondents(survey_warehouse(1000, seed=4))
    one_to_ten = tables.load_respondents(survey_warehouse(1000, seed=4, scale_from_one=True))
    answered = ["nps_score", drivers.CONSIDERING, *drivers.driver_columns(one_to_ten)]
    assert (answers[["nps_score", drivers.CONSIDERING]] == 0).any().all()  # the 0-10 answers do use 0
    assert (one_to_ten[answered] >= 1).all().all()
    zero_to_ten, analysis = drivers.analyse_drivers(answers), drivers.analyse_drivers(one_to_ten)
    # A 1 is as low as a 0 (0-6): the classes stay; the mean rating rises a little.
    assert overall(analysis)["driver_class"].to_dict() == overall(zero_to_ten)["driver_class"].to_dict()
    assert overall(analysis)["driver_class"].notna().all()
    assert (overall(analysis)["performance"] >= overall(zero_to_ten)["performance"]).all()


def test_a_driver_everyone_rated_alike_withholds_the_importance_instead_of_failing():
    respondents = tables.load_respondents(survey_warehouse(400, seed=2))
    respondents["driver_ease"] = 10.0
    analysis = overall(drivers.analyse_drivers(respondents))
    assert analysis[["importance_weight", "importance_share", "importance_r_squared"]].isna().all().all()
    # Its penalty and reward cannot be estimated; the other drivers' still are.
    assert pd.isna(analysis.loc["driver_ease", "penalty"]) and pd.isna(analysis.loc["driver_ease", "driver_class"])
    assert analysis.drop(index="driver_ease")["driver_class"].notna().all()


def test_a_gap_between_groups_that_each_answered_alike_has_no_interval():
    respondents = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(24)],
            drivers.CONSIDERING: [9.0] * 12 + [2.0] * 12,
            "driver_delivery": [3.0] * 12 + [8.0] * 12,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the way
        gaps = drivers.competitor_driver_gaps(respondents)
    row = gaps.iloc[0]
    assert row["rating_gap"] == -5.0
    assert pd.isna(row["rating_gap_ci_low"]) and pd.isna(row["rating_gap_ci_high"])
    assert row["summary"] == (
        "Delivery: those considering another supplier rate it 3.0, the others 8.0 (gap -5.0; every answer in "
        "each group the same, so no interval)."
    )


def test_the_adjusted_nps_without_invitations_or_without_answers(normal):
    empty = survey_warehouse(0)
    table = nps.adjusted_nps_by_period(tables.load_invitations(empty))
    assert table.empty and table.dtypes.to_dict() == normal["nps_adjusted"].dtypes.to_dict()
    # Invited, nobody answered: the rows stay, with their invitations, null figures and the reason.
    invitations = tables.load_invitations(survey_warehouse(50, unanswered_per_answer=3))
    unanswered = invitations.assign(responded=False, nps_score=pd.array([pd.NA] * len(invitations), dtype="Int64"))
    table = nps.adjusted_nps_by_period(unanswered)
    assert table.dtypes.to_dict() == normal["nps_adjusted"].dtypes.to_dict()
    headline = table[(table["period"] == nps.LAST_12_MONTHS) & (table["segment_key"] == nps.ALL_SEGMENTS)].iloc[0]
    assert headline["invitations"] == unanswered["is_in_last_12_months"].sum() > 0
    assert (table["respondents"] == 0).all() and (table["weighting_cells"] == 0).all()
    assert table[NPS_FIGURES].isna().all().all() and (table["effective_respondents"] == 0).all()
    assert (table["bias_statement"] == "Too few answers to adjust for who answered.").all()


# --- the warehouse tables, dbt and the assets ---------------------------------------------------------------


def _column_types(conn: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column -> DuckDB type of a table or a parenthesised query."""
    return dict(conn.execute(f"select column_name, column_type from (describe select * from {relation})").fetchall())


@pytest.mark.parametrize("shape", ["no_survey", "required_columns", "below_minimum_n"])
def test_replace_table_writes_the_normal_column_types_for_thin_tables(normal, thin, shape):
    conn = duckdb.connect()
    for name in tables.TABLE_DTYPES:
        tables.replace_table(conn, f"{name}_normal", normal[name], "run-normal")
        tables.replace_table(conn, name, thin[shape][name], "run-thin")
        expected = _column_types(conn, f"insight.{name}_normal")
        assert _column_types(conn, f"insight.{name}") == expected
        assert expected["run_id"] == "VARCHAR" and expected["computed_at"] == "TIMESTAMP"
        assert "NULL" not in expected.values()


def test_replace_table_types_an_untyped_empty_frame_and_an_all_null_text_column(normal):
    conn = duckdb.connect()
    for name in tables.TABLE_DTYPES:
        tables.replace_table(conn, f"{name}_normal", normal[name], "run-normal")
        written = tables.replace_table(conn, name, pd.DataFrame(), "run-empty")
        assert written == 0
        assert _column_types(conn, f"insight.{name}") == _column_types(conn, f"insight.{name}_normal")
    # A class nobody got is an object column of None: DuckDB would make it its NULL type.
    analysis = normal["driver_analysis"].assign(
        driver_class=pd.Series([None] * len(normal["driver_analysis"]), dtype=object)
    )
    tables.replace_table(conn, "driver_analysis", analysis, "run-none")
    assert _column_types(conn, "insight.driver_analysis")["driver_class"] == "VARCHAR"


def _render(sql: str) -> str:
    """A dbt model's SQL for DuckDB, sources and refs replaced by the insight tables and staging models."""
    sql = re.sub(r"\{\{\s*source\('insight',\s*'(\w+)'\)\s*\}\}", r"insight.\1", sql)
    sql = re.sub(r"\{\{\s*dbt\.type_string\(\)\s*\}\}", "varchar", sql)
    return re.sub(
        r"\{\{\s*ref\('(stg_insight__\w+)'\)\s*\}\}",
        lambda m: "(" + _render((DBT_MODELS / "staging" / "insight" / f"{m.group(1)}.sql").read_text()) + ")",
        sql,
    )


@pytest.mark.parametrize("shape", ["no_survey", "required_columns", "below_minimum_n", "no_considering_answers"])
def test_the_dbt_staging_models_and_marts_read_thin_tables_with_their_contract_types(thin, shape):
    conn = duckdb.connect()
    for name in tables.TABLE_DTYPES:
        tables.replace_table(conn, name, thin[shape][name], "run-thin")
        staging = _render((DBT_MODELS / "staging" / "insight" / f"stg_insight__{name}.sql").read_text())
        types = _column_types(conn, f"({staging})")
        counts = [c for c in types if re.search(rf"cast\({c} as integer\)", staging)]
        assert counts and all(types[c] == "INTEGER" for c in counts)
        assert conn.execute(f"select count(*) from ({staging})").fetchone()[0] == len(thin[shape][name])
    contract_types = {
        "text": "VARCHAR",
        "integer": "INTEGER",
        "decimal(18, 6)": "DECIMAL(18,6)",
        "timestamp": "TIMESTAMP",
    }
    for mart in ("mart_driver_analysis", "mart_competitor_driver_gaps"):
        spec = yaml.safe_load((DBT_MODELS / "marts" / "insight" / f"{mart}.yml").read_text())["models"][0]
        sql = _render((DBT_MODELS / "marts" / "insight" / f"{mart}.sql").read_text())
        assert _column_types(conn, f"({sql})") == {c["name"]: contract_types[c["data_type"]] for c in spec["columns"]}
        frame = conn.execute(sql).df()
        for column in spec["columns"]:
            if "not_null" in (column.get("data_tests") or []):
                assert frame[column["name"]].notna().all(), (mart, column["name"])


@pytest.mark.parametrize("shape", ["no_survey", "required_columns", "below_minimum_n"])
def test_the_insight_assets_run_on_thin_survey_data(tmp_path, shape):
    import dagster as dg

    from assets.insight import competitor_driver_gaps, driver_analysis, nps_adjusted
    from pipeline.resources import BusinessRulesResource, WarehouseResource

    path = tmp_path / "warehouse.duckdb"
    survey_warehouse(**THIN[shape], path=path).close()
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [driver_analysis, competitor_driver_gaps, nps_adjusted],
            resources={"warehouse": WarehouseResource(path=str(path)), "rules": BusinessRulesResource()},
            instance=instance,
        )
    assert result.success
    with duckdb.connect(str(path), read_only=True) as conn:
        gaps = conn.execute("select driver, summary from insight.competitor_driver_gaps").fetchall()
        assert gaps and all(driver and summary for driver, summary in gaps)
        written = {t: _column_types(conn, f"insight.{t}") for t in tables.TABLE_DTYPES}
    for name, types in written.items():
        assert list(types) == [*tables.duckdb_types(name), "run_id", "computed_at"]
        assert {t: types[t] for t in tables.duckdb_types(name)} == tables.duckdb_types(name)
