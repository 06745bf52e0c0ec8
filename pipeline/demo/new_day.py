"""One new day of events for a built demo company: what a daily refresh finds in the landing zone.

The activities and invoice lines of the newest day again, under new keys and dated the day
after the warehouse's newest date, in drops named for that day (the benchmarks' incremental run and the
tests of the daily refresh use it).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

# (source, entity, key column, date column, file format) of the events a day adds.
DAILY_EVENTS = (
    ("crm", "activities", "activity_id", "activity_date", "csv"),
    ("finance", "invoice_lines", "invoice_id", "invoice_date", "parquet"),
)


def drop_one_new_day(home: Path) -> dict[str, int]:
    """Write the new day's drops into ``home``'s landing zone; returns the rows written per entity."""
    landing = home / "landing"
    written: dict[str, int] = {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        newest = conn.execute("select as_of_date from intermediate.int_reporting_period").fetchall()[0][0]
        day = newest + timedelta(days=1)
        stamp = day.strftime("%Y%m%d")
        for source, entity, key, date_column, fmt in DAILY_EVENTS:
            columns = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
                    "and column_name not like '\\_%' escape '\\' order by ordinal_position",
                    [f"{source}__{entity}"],
                ).fetchall()
            ]
            if date_column not in columns or key not in columns:
                continue  # a company without this entity, or without its date
            select = ", ".join(
                f'\'{stamp}-\' || "{c}" as "{c}"'
                if c == key
                else (f"cast('{day}' as date) as \"{c}\"" if c == date_column else f'"{c}"')
                for c in columns
            )
            target = landing / source / f"{entity}_{stamp}.{fmt}"
            options = "format parquet" if fmt == "parquet" else "header, delimiter ';'"
            newest_day = conn.execute(
                f"select max(cast({date_column} as date)) from raw.{source}__{entity}"
            ).fetchall()[0][0]
            conn.execute(
                f"copy (select {select} from raw.{source}__{entity} where cast({date_column} as date) = ?) "
                f"to '{target}' ({options})",
                [newest_day],
            )
            reader = "read_parquet" if fmt == "parquet" else "read_csv"
            written[f"{source}/{entity}"] = conn.execute(f"select count(*) from {reader}('{target}')").fetchall()[0][0]
    return written
