"""Publishing the marts to the BI layer: a Parquet release folder (default) and PostgreSQL (optional).

Both are atomic: a reader sees the previous complete release or the new complete one, never a mix. The
gate (what must pass before anything is written) is in :mod:`pipeline.publish.gate`.
"""
