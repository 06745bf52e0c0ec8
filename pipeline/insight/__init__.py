"""Customer insight: the statistics behind the driver analysis, the honest NPS and the competitor view.

Plain functions on DataFrames, tested without Dagster; the assets in ``assets/insight.py`` read their
inputs from the warehouse and write the results to the ``insight`` schema, which dbt turns into marts.
"""
