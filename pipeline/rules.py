"""The business rules, read from their one home: the ``vars`` of dbt_project.yml.

SQL reads a rule with ``var()``; Python reads the same value here; the Power BI measures are written from
it. A company changes a rule without editing the project by naming a YAML file of overrides in
``PIPELINE_BUSINESS_RULES`` (the churn horizon and the silent-churn months also have variables of their
own); the overrides reach dbt as ``--vars`` on every invocation and Python through ``BusinessRules.load``,
so the two cannot disagree. Every var of the project is a field here and every field a var of the project
(tests/test_rules.py), and the file is read when a rule is first asked for, never at import.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pipeline.dbt import DBT_PROJECT_DIR

RULES_FILE_VARIABLE = "PIPELINE_BUSINESS_RULES"
# Rules with an environment variable of their own (older than the rules file); each wins over the file.
RULE_VARIABLES = {
    "churn_horizon_months": "PIPELINE_CHURN_HORIZON_MONTHS",
    "silent_churn_months": "PIPELINE_SILENT_CHURN_MONTHS",
}


class RulesError(ValueError):
    """A rules override names a rule that does not exist, or gives it a value of the wrong kind."""


@dataclass(frozen=True)
class BusinessRules:
    """Every threshold, band and weight the figures depend on (dbt_project.yml says what each means)."""

    silent_churn_months: int
    churn_horizon_months: int
    min_respondents: int
    clv_horizon_months: int
    annual_discount_rate: float
    tier_a_share: float
    tier_b_share: float
    nps_promoter_min_score: int
    nps_passive_min_score: int
    considering_alternatives_threshold: int
    size_band_medium_min_employees: int
    size_band_large_min_employees: int
    risk_band_high_max_decile: int
    risk_band_elevated_max_decile: int
    risk_band_moderate_max_decile: int
    care_grow_min_headroom_share: float
    care_develop_min_headroom_eur: float
    care_meeting_due_days: int
    relationship_weight_contact_breadth: float
    relationship_weight_engagement: float
    relationship_weight_survey_voice: float
    relationship_weight_tenure: float
    crm_activity_days: int
    crm_completeness_target: float
    feedback_follow_up_days: int
    nps_band_lower_min: int
    nps_band_middle_min: int
    nps_band_top_above: int
    segment_min_accounts: int
    segment_candidates_min: int
    segment_candidates_max: int
    segment_min_share: float
    retention_contact_max_decile: int
    retention_holdout_share: float
    retention_split_seed: int
    retention_contact_window_days: int

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, project_dir: Path = DBT_PROJECT_DIR) -> BusinessRules:
        """The project's rules with ``overrides`` applied, checked as a whole."""
        values = {**project_vars(project_dir), **(overrides or {})}
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(overrides or {}) - names)
        if unknown:
            raise RulesError(f"unknown business rule(s) {unknown}; the rules are: {sorted(names)}")
        missing = sorted(names - set(values))
        if missing:
            raise RulesError(f"dbt_project.yml declares no var for {missing}")
        rules = cls(**{name: _kind(cls, name, values[name]) for name in names})
        rules.check()
        return rules

    def check(self) -> None:
        problems = []
        if not 0 <= self.nps_passive_min_score < self.nps_promoter_min_score <= 10:
            problems.append("NPS classes need 0 <= nps_passive_min_score < nps_promoter_min_score <= 10")
        if not 0 < self.tier_a_share < self.tier_b_share <= 1:
            problems.append("tiers need 0 < tier_a_share < tier_b_share <= 1")
        bands = (self.risk_band_high_max_decile, self.risk_band_elevated_max_decile, self.risk_band_moderate_max_decile)
        if not 1 <= bands[0] < bands[1] < bands[2] < 10:
            problems.append("risk bands need 1 <= high < elevated < moderate < 10 (deciles)")
        if not 0 < self.size_band_medium_min_employees < self.size_band_large_min_employees:
            problems.append("size bands need 0 < size_band_medium_min_employees < size_band_large_min_employees")
        if self.feedback_follow_up_days < 0:
            problems.append("feedback_follow_up_days must be zero or more days")
        if not -100 < self.nps_band_lower_min < self.nps_band_middle_min <= self.nps_band_top_above < 100:
            problems.append(
                "NPS bands need -100 < nps_band_lower_min < nps_band_middle_min <= nps_band_top_above < 100"
            )
        if not 1 <= self.segment_candidates_min <= self.segment_candidates_max:
            problems.append("segments need 1 <= segment_candidates_min <= segment_candidates_max")
        if not 0 <= self.segment_min_share < 1 / max(1, self.segment_candidates_max):
            problems.append("segment_min_share must be at least 0 and below 1 / segment_candidates_max")
        if self.segment_min_accounts < 2 * self.segment_candidates_max:
            problems.append("segment_min_accounts must be at least twice segment_candidates_max")
        if not 1 <= self.retention_contact_max_decile <= 10:
            problems.append("retention_contact_max_decile must be a decile, 1 to 10")
        if not 0 < self.retention_holdout_share < 1:
            problems.append("retention_holdout_share must lie strictly between 0 and 1")
        if self.retention_contact_window_days < 1:
            problems.append("retention_contact_window_days must be one day or more")
        weights = self.relationship_weights()
        if any(w < 0 for w in weights.values()) or abs(sum(weights.values()) - 1) > 1e-9:
            problems.append(f"the relationship-strength weights must be non-negative and sum to 1, not {weights}")
        if problems:
            raise RulesError("; ".join(problems))

    def dbt_vars(self) -> dict[str, Any]:
        """Every rule as dbt vars (what a run passes where it differs from the project is its business)."""
        return dataclasses.asdict(self)

    # The rules as the figures use them; the SQL side is in macros/business_rules.sql.
    def nps_class(self, score: np.ndarray) -> np.ndarray:
        """promoter / passive / detractor of 0-10 scores (null stays null)."""
        score = np.asarray(score, dtype=float)
        labels = np.select(
            [score >= self.nps_promoter_min_score, score >= self.nps_passive_min_score],
            ["promoter", "passive"],
            "detractor",
        ).astype(object)
        labels[np.isnan(score)] = None
        return labels

    def size_band_labels(self) -> list[str]:
        medium, large = self.size_band_medium_min_employees, self.size_band_large_min_employees
        return [f"Small (<{medium})", f"Medium ({medium}-{large - 1})", f"Large ({large}+)", "Unknown"]

    def nps_band_labels(self) -> list[str]:
        """The account-NPS bands in order, as macros/closing_the_loop.sql writes them."""
        lower, middle, top = self.nps_band_lower_min, self.nps_band_middle_min, self.nps_band_top_above
        return [f"below {lower}", f"{lower} to {middle - 1}", f"{middle} to {top}", f"above {top}"]

    def risk_band(self, decile: np.ndarray) -> np.ndarray:
        """high / elevated / moderate / low of risk deciles (1 = the tenth most at risk)."""
        decile = np.asarray(decile)
        return np.select(
            [
                decile <= self.risk_band_high_max_decile,
                decile <= self.risk_band_elevated_max_decile,
                decile <= self.risk_band_moderate_max_decile,
            ],
            ["high", "elevated", "moderate"],
            "low",
        )

    def relationship_weights(self) -> dict[str, float]:
        return {
            "contact_breadth": self.relationship_weight_contact_breadth,
            "engagement": self.relationship_weight_engagement,
            "survey_voice": self.relationship_weight_survey_voice,
            "tenure": self.relationship_weight_tenure,
        }


def _kind(cls: type, name: str, value: Any) -> Any:
    kind = {field.name: field.type for field in dataclasses.fields(cls)}[name]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise RulesError(f"business rule {name} must be a whole number, not {value!r}")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(f"business rule {name} must be a number, not {value!r}")
    return float(value)


@functools.cache
def _read_vars(path: Path, mtime_ns: int) -> dict[str, Any]:  # mtime_ns: part of the cache key
    return dict((yaml.safe_load(path.read_text()) or {}).get("vars") or {})


def project_vars(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, Any]:
    """dbt_project.yml's vars (read again only when the file changes)."""
    path = Path(project_dir) / "dbt_project.yml"
    return dict(_read_vars(path, path.stat().st_mtime_ns))


def overrides_from_file(path: Path | None) -> dict[str, Any]:
    """The overrides in a ``PIPELINE_BUSINESS_RULES`` file: a YAML mapping of rule name to value."""
    if path is None:
        return {}
    document = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(document, dict):
        raise RulesError(f"{path}: the business rules file must be a mapping of rule name to value")
    return document


def overrides_from_environment(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The rules this environment changes: the ``PIPELINE_BUSINESS_RULES`` file, then the rules' own
    variables. What dbt gets as ``--vars`` and what Python applies, so the two cannot differ."""
    from pipeline.config import _months

    env = os.environ if env is None else env
    overrides = overrides_from_file(Path(env[RULES_FILE_VARIABLE])) if env.get(RULES_FILE_VARIABLE) else {}
    for rule, variable in RULE_VARIABLES.items():
        if env.get(variable):
            overrides[rule] = _months(dict(env), variable, 0)
    return overrides


def current_rules(env: Mapping[str, str] | None = None) -> BusinessRules:
    """The rules in force: the project's, with this environment's overrides."""
    return BusinessRules.load(overrides_from_environment(env))
