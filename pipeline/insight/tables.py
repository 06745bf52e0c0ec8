"""Reading the survey populations from the warehouse and writing the insight tables (schema ``insight``).

The inputs are dbt models (``intermediate.int_relationship_*``, ``marts.fct_driver_ratings``); the outputs
are replaced whole on each run and read back by dbt as the ``insight`` source.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline.insight import drivers, nps, segments
from pipeline.insight.drivers import DRIVER_PREFIX, TEXT

RESPONDENTS = "intermediate.int_relationship_respondents"
INVITATIONS = "intermediate.int_relationship_invitations"
DRIVER_RATINGS = "marts.fct_driver_ratings"
SEGMENT_FEATURES = "intermediate.int_account_segment_features"
DRIVER_PROFILE = "intermediate.int_account_driver_profile"
SCHEMA = "insight"

# An empty warehouse table reads as untyped (object) columns: these are typed as a populated one reads.
RESPONDENT_TEXT = ("response_id", "survey_id", "account_id", "segment")
INVITATION_TEXT = ("invitation_id", "year_quarter", "size_band", "contact_role")
# The columns and dtypes of each insight table; DuckDB takes a column's type from its pandas dtype, and an
# empty or all-null column has none of its own (object: DuckDB's NULL type), so they are cast on writing.
TABLE_DTYPES = {
    "driver_analysis": drivers.DTYPES,
    "competitor_driver_gaps": drivers.GAP_DTYPES,
    "nps_adjusted": nps.DTYPES,
}
# The segmentation's tables (pipeline/insight/segments.py), declared the same way.
SEGMENT_TABLE_DTYPES = {
    "account_segments": segments.ACCOUNT_DTYPES,
    "segments": segments.SEGMENT_DTYPES,
    "segmentation": segments.STATUS_DTYPES,
}
_DUCKDB_TYPES = {"int64": "BIGINT", "Int64": "BIGINT", "float64": "DOUBLE"}  # any other (text): VARCHAR


def load_respondents(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per relationship answer, one ``driver_<name>`` column per driver rated by anyone."""
    respondents = conn.sql(
        f"select response_id, survey_id, account_id, size_band as segment, nps_score, considering_alternatives, "
        f"churned_within_6m from {RESPONDENTS} order by response_id"
    ).df()
    ratings = conn.sql(
        f"select response_id, driver_name, rating from {DRIVER_RATINGS} "
        f"where response_id in (select response_id from {RESPONDENTS})"
    ).df()
    wide = ratings.pivot_table(index="response_id", columns="driver_name", values="rating", aggfunc="first")
    wide.columns = [f"{DRIVER_PREFIX}{name}" for name in wide.columns]
    frame = respondents.merge(wide, left_on="response_id", right_index=True, how="left")
    for column in ("nps_score", "considering_alternatives", "churned_within_6m", *wide.columns):
        frame[column] = frame[column].astype("Float64").astype(float)
    return frame.astype(dict.fromkeys(RESPONDENT_TEXT, TEXT))


def load_invitations(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    invitations = conn.sql(
        f"select invitation_id, year_quarter, is_in_last_12_months, segment_key, size_band, contact_role, "
        f"responded, nps_score from {INVITATIONS} order by invitation_id"
    ).df()
    # DuckDB reads nps_score as Int64 when an invitation is unanswered, as int64 when none is (or none exists).
    return invitations.astype({**dict.fromkeys(INVITATION_TEXT, TEXT), "nps_score": "Int64"})


def load_segment_features(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per active account: its behaviour, plus a ``driver_<name>`` column per driver rated by anyone
    (the account's mean rating, NaN when it has none) and ``driver_answers`` (its answers, 0 when none)."""
    features = conn.sql(
        f"select account_id, revenue_ttm_eur, revenue_prior_ttm_eur, invoices_per_month, activities_per_month, "
        f"product_lines, product_breadth from {SEGMENT_FEATURES} order by account_id"
    ).df()
    profile = conn.sql(f"select account_id, driver_name, answers, mean_rating from {DRIVER_PROFILE}").df()
    for column in features.columns.drop("account_id"):
        features[column] = features[column].astype("Float64").astype(float)
    if len(profile):
        wide = profile.pivot_table(index="account_id", columns="driver_name", values="mean_rating", aggfunc="first")
        wide.columns = [f"{DRIVER_PREFIX}{name}" for name in wide.columns]
        answers = profile.groupby("account_id")["answers"].max().rename("driver_answers")
        features = features.merge(wide, left_on="account_id", right_index=True, how="left")
        features = features.merge(answers, left_on="account_id", right_index=True, how="left")
        features["driver_answers"] = features["driver_answers"].astype("Float64").fillna(0).astype(float)
    return features.astype({"account_id": TEXT})


def duckdb_types(name: str) -> dict[str, str]:
    """DuckDB type of each column of ``insight.<name>`` (empty for a table without declared columns)."""
    return {
        column: _DUCKDB_TYPES[dtype] if isinstance(dtype, str) else "VARCHAR"
        for column, dtype in {**TABLE_DTYPES, **SEGMENT_TABLE_DTYPES}.get(name, {}).items()
    }


def replace_table(conn: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, run_id: str) -> int:
    """Replace ``insight.<name>`` with ``frame`` plus the run that produced it and when.

    A declared table (:data:`TABLE_DTYPES`) gets its declared columns and types, empty or not."""
    conn.execute(f"create schema if not exists {SCHEMA}")
    types = duckdb_types(name)
    if types:
        frame = frame.reindex(columns=[*types, *(c for c in frame.columns if c not in types)])
    stamped = frame.assign(run_id=run_id, computed_at=pd.Timestamp.now(tz="UTC").tz_convert(None))
    select = ", ".join(
        f'cast("{column}" as {types[column]}) as "{column}"' if column in types else f'"{column}"'
        for column in stamped.columns
    )
    conn.register("insight_frame", stamped)
    try:
        conn.execute(f"create or replace table {SCHEMA}.{name} as select {select} from insight_frame")
    finally:
        conn.unregister("insight_frame")
    return len(stamped)
