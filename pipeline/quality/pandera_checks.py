"""dbt's declared ranges and accepted values as pandera checks.

The churn features and scores are validated in Python before training, scoring and publishing; their
ranges and accepted values are declared once, as dbt tests in the models' yml, and read here from the
manifest. What pandera adds of its own is what dbt cannot say about a DataFrame: dtypes and coercion,
nullability after the read, and a few checks with no dbt test (a first day of a month, a label that is
0 or 1).
"""

from __future__ import annotations

from pathlib import Path

import pandera.pandas as pa

from pipeline.catalog import load_manifest
from pipeline.dbt import DBT_PROJECT_DIR
from pipeline.quality.manifest import model_rules
from pipeline.rules import BusinessRules

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def dbt_checks(
    model: str, manifest_path: Path | str | None = None, rules: BusinessRules | None = None
) -> dict[str, list[pa.Check]]:
    """Column -> the pandera checks of the model's dbt tests (value_between, accepted_values, is_size_band)."""
    checks: dict[str, list[pa.Check]] = {}
    for rule in model_rules(load_manifest(manifest_path or MANIFEST), model, rules):
        if rule.check == "value_between":
            low, high = rule.min_value, rule.max_value
            if low is not None and high is not None:
                check = pa.Check.in_range(low, high)
            else:
                check = pa.Check.ge(low) if low is not None else pa.Check.le(high)
        elif rule.check == "accepted_values":
            check = pa.Check.isin(list(rule.values))
        else:
            continue
        checks.setdefault(rule.columns[0], []).append(check)
    return checks


def with_dbt_checks(columns: dict[str, pa.Column], checks: dict[str, list[pa.Check]]) -> dict[str, pa.Column]:
    """The columns with dbt's checks added to pandera's own; a dbt check on a column pandera does not type
    is an error, so a renamed column cannot silently lose its check."""
    unknown = sorted(set(checks) - set(columns))
    if unknown:
        raise ValueError(f"dbt tests check columns the pandera schema does not know: {unknown}")
    return {
        name: column.set_checks([*column.checks, *checks.get(name, [])]) if name in checks else column
        for name, column in columns.items()
    }
