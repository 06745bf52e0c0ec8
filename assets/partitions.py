"""The monthly partitions, one definition each, shared by the assets that use them.

- ``account_months``: the monthly facts and features (``fct_account_month``, ``feat_account_snapshot``),
  including the month still open (``end_offset=1``): the daily refresh keeps it current.
- ``snapshot_months``: the churn scores, closed months only: a month is scored after it has closed.

Both start at ``PIPELINE_FIRST_SNAPSHOT_MONTH``; a score for month m reads the features of month m.
"""

import dagster as dg

from pipeline.config import Settings

_first_month = Settings.from_env().first_snapshot_month

account_months = dg.MonthlyPartitionsDefinition(start_date=_first_month, end_offset=1)
snapshot_months = dg.MonthlyPartitionsDefinition(start_date=_first_month)
