"""Reading the survey populations from the warehouse and writing the insight tables (schema ``insight``).

The inputs are dbt models (``intermediate.int_relationship_*``, ``marts.fct_driver_ratings``); the outputs
are replaced whole on each run and read back by dbt as the ``insight`` source.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline.insight.drivers import DRIVER_PREFIX

RESPONDENTS = "intermediate.int_relationship_respondents"
INVITATIONS = "intermediate.int_relationship_invitations"
DRIVER_RATINGS = "marts.fct_driver_ratings"
SCHEMA = "insight"


def load_respondents(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per relationship answer, one ``driver_<name>`` column per driver rated by anyone."""
    respondents = conn.sql(
        f"select response_id, survey_id, account_id, size_band as segment, nps_score, considering_alternatives, "  # noqa: S608
        f"churned_within_6m from {RESPONDENTS} order by response_id"
    ).df()
    ratings = conn.sql(
        f"select response_id, driver_name, rating from {DRIVER_RATINGS} "  # noqa: S608
        f"where response_id in (select response_id from {RESPONDENTS})"
    ).df()
    wide = ratings.pivot_table(index="response_id", columns="driver_name", values="rating", aggfunc="first")
    wide.columns = [f"{DRIVER_PREFIX}{name}" for name in wide.columns]
    frame = respondents.merge(wide, left_on="response_id", right_index=True, how="left")
    for column in ("nps_score", "considering_alternatives", "churned_within_6m", *wide.columns):
        frame[column] = frame[column].astype("Float64").astype(float)
    return frame


def load_invitations(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return conn.sql(
        f"select invitation_id, year_quarter, is_in_last_12_months, segment_key, size_band, contact_role, "  # noqa: S608
        f"responded, nps_score from {INVITATIONS} order by invitation_id"
    ).df()


def replace_table(conn: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, run_id: str) -> int:
    """Replace ``insight.<name>`` with ``frame`` plus the run that produced it and when."""
    conn.execute(f"create schema if not exists {SCHEMA}")
    stamped = frame.assign(run_id=run_id, computed_at=pd.Timestamp.now(tz="UTC").tz_convert(None))
    conn.register("insight_frame", stamped)
    try:
        conn.execute(f"create or replace table {SCHEMA}.{name} as select * from insight_frame")  # noqa: S608
    finally:
        conn.unregister("insight_frame")
    return len(stamped)
