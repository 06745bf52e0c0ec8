"""What the dbt manifest says each published table must satisfy, as plain data (no Great Expectations).

Published tables are the catalog's (:mod:`pipeline.catalog`). For each, the contract gives the columns and
their declared types; the dbt tests attached to the model give the keys (``not_null``, ``unique``,
``unique_combination``), the ranges (``value_between``) and the accepted values (``accepted_values``,
``is_size_band``). Other tests (``relationships``, ``sums_match``, singular tests) compare tables with
each other: dbt runs them on every build, and they have no per-table form here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.catalog import is_published
from pipeline.rules import BusinessRules, current_rules


@dataclass(frozen=True)
class ColumnRule:
    """One check on one column (or, for ``unique_combination``, on several), taken from a dbt test."""

    check: str  # not_null | unique | unique_combination | value_between | accepted_values
    columns: tuple[str, ...]
    min_value: float | int | None = None
    max_value: float | int | None = None
    values: tuple[Any, ...] = ()
    severity: str = "error"  # dbt's severity: error | warn
    source: str = ""  # where the rule comes from, in words (a dbt test name, or the contract)


@dataclass(frozen=True)
class TableSpec:
    """A published table as the manifest describes it."""

    name: str
    schema: str
    unique_id: str
    columns: dict[str, str]  # column -> declared data_type, in contract order
    rules: tuple[ColumnRule, ...] = field(default_factory=tuple)


def table_specs(manifest: dict) -> dict[str, TableSpec]:
    """Table name -> its spec, for every published model, sorted by name."""
    project = (manifest.get("metadata") or {}).get("project_name")
    models = {uid: node for uid, node in manifest.get("nodes", {}).items() if is_published(node, project)}
    rules = _test_rules(manifest, set(models))
    specs = {}
    for uid, node in models.items():
        columns = {name: column.get("data_type") for name, column in node.get("columns", {}).items()}
        missing = [name for name, data_type in columns.items() if not data_type]
        if missing:
            raise ValueError(f"{node['name']}: contract columns without a data_type: {', '.join(missing)}")
        for name, column in node.get("columns", {}).items():
            if any(c.get("type") == "not_null" for c in column.get("constraints", [])):
                rules[uid].append(ColumnRule("not_null", (name,), source="contract constraint not_null"))
        specs[node["name"]] = TableSpec(
            name=node["name"],
            schema=node.get("schema", "marts"),
            unique_id=uid,
            columns=columns,
            rules=tuple(_deduplicated(rules[uid])),
        )
    return dict(sorted(specs.items()))


def model_rules(manifest: dict, model: str, business_rules: BusinessRules | None = None) -> tuple[ColumnRule, ...]:
    """The checks dbt's tests declare on one model of this project, published or not (the pandera schemas
    of the churn features and scores are built from these: the yml is the ranges' one home)."""
    project = (manifest.get("metadata") or {}).get("project_name")
    ids = {
        uid
        for uid, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") == "model"
        and node.get("name") == model
        and (not project or node.get("package_name") == project)
    }
    if not ids:
        raise KeyError(f"the dbt manifest has no model {model}")
    return tuple(_deduplicated(_test_rules(manifest, ids, business_rules)[ids.pop()]))


def _test_rules(
    manifest: dict, model_ids: set[str], business_rules: BusinessRules | None = None
) -> dict[str, list[ColumnRule]]:
    rules: dict[str, list[ColumnRule]] = {uid: [] for uid in model_ids}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "test" or not node.get("config", {}).get("enabled", True):
            continue
        attached = node.get("attached_node") or _single_model_dependency(node)
        if attached not in rules:
            continue
        rule = _rule_from_test(node, business_rules)
        if rule is not None:
            rules[attached].append(rule)
    return rules


def _single_model_dependency(node: dict) -> str | None:
    models = [n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("model.")]
    return models[0] if len(models) == 1 else None


def _rule_from_test(node: dict, business_rules: BusinessRules | None = None) -> ColumnRule | None:
    metadata = node.get("test_metadata") or {}
    name, kwargs = metadata.get("name"), metadata.get("kwargs", {})
    column = node.get("column_name") or kwargs.get("column_name")
    severity = str(node.get("config", {}).get("severity", "error")).lower()
    source = f"dbt test {name}"
    if node.get("config", {}).get("where"):
        # A test restricted to some rows has no faithful whole-table form; dbt keeps checking it.
        return None
    if name in ("not_null", "unique") and column:
        return ColumnRule(name, (column,), severity=severity, source=source)
    if name == "unique_combination":
        columns = tuple(kwargs.get("combination_of_columns") or ())
        return ColumnRule(name, columns, severity=severity, source=source) if columns else None
    if name == "value_between" and column:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is None and high is None:
            return None
        return ColumnRule(name, (column,), min_value=low, max_value=high, severity=severity, source=source)
    if name == "accepted_values" and column:
        return ColumnRule(name, (column,), values=tuple(kwargs.get("values") or ()), severity=severity, source=source)
    if name == "is_size_band" and column:
        # The accepted bands follow the rules in force, as the dbt test's do (tests/generic/is_size_band.sql).
        values = (*(business_rules or current_rules()).size_band_labels(), *(kwargs.get("also") or ()))
        return ColumnRule("accepted_values", (column,), values=values, severity=severity, source=source)
    return None


def _deduplicated(rules: list[ColumnRule]) -> list[ColumnRule]:
    """Rules that say the same thing make one: an error beats a warning, a test's wording beats the contract's."""
    seen: set[tuple] = set()
    kept = []
    for rule in sorted(rules, key=lambda r: (r.severity != "error", r.source.startswith("contract"))):
        key = (rule.check, rule.columns, rule.min_value, rule.max_value, rule.values)
        if key not in seen:
            seen.add(key)
            kept.append(rule)
    return sorted(kept, key=lambda r: (_ORDER.get(r.check, 9), r.columns))


_ORDER = {"not_null": 0, "unique": 1, "unique_combination": 2, "accepted_values": 3, "value_between": 4}
