"""The Power BI measures, declared beside the models they read and rendered to DAX here.

Each published model's yml may list measures under ``config.meta.powerbi_measures``::

    config:
      meta:
        powerbi_measures:
        - name: NPS responses
          folder: Survey
          format: "#,0"
          description: Relationship-survey responses in the filter ...
          dax: CALCULATE ( COUNTROWS ( fct_survey_responses ), ... )
        - name: NPS
          pattern: nps_summary_figure      # one shared DAX pattern (PATTERNS), not a copy per measure
          column: nps
          description: Net Promoter Score ...

``$name`` in ``dax`` or ``description`` is a business rule of dbt_project.yml (pipeline/rules.py), filled in
when the project is written, so a company's override reaches the DAX as it reaches the SQL. A measure is
left out when a table it reads is not published; a column it reads that the contract lacks is an error.
The declarations are validated (pydantic): a misspelt key or a missing expression names the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from string import Template
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from pipeline.rules import BusinessRules, current_rules

META_KEY = "powerbi_measures"


@dataclass(frozen=True)
class Measure:
    name: str
    expression: str  # DAX, may span lines
    description: str
    format_string: str | None = None
    display_folder: str | None = None
    # (table, column) pairs the DAX reads: the measure is left out when a table is not published.
    reads: tuple[tuple[str, str], ...] = field(default=())
    model: str = ""  # the dbt model whose yml declares it


@dataclass(frozen=True)
class Pattern:
    """DAX shared by several measures (``$column`` is the measure's column) and the sentence that says
    what the pattern does to the filter, appended to each measure's description."""

    dax: str
    scope: str


PATTERNS = {
    # One figure of mart_nps_summary for the period and segment in the filter. Defaults: the last 12 months
    # and all segments (segment_key 0); with several quarters in the filter, the latest. The mart withholds
    # figures below the minimum number of responses; so does the measure (blank).
    "nps_summary_figure": Pattern(
        dax="""VAR _periodType = SELECTEDVALUE ( mart_nps_summary[period_type], "last_12_months" )
VAR _segmentKey = SELECTEDVALUE ( mart_nps_summary[segment_key], 0 )
VAR _rows =
    CALCULATETABLE (
        mart_nps_summary,
        mart_nps_summary[period_type] = _periodType,
        mart_nps_summary[segment_key] = _segmentKey
    )
VAR _latest = TOPN ( 1, _rows, mart_nps_summary[period], DESC )
RETURN
    MAXX ( _latest, mart_nps_summary[$column] )""",
        scope=" Relationship surveys, from mart_nps_summary: the period and segment in the filter, by default the "
        "last 12 months and all segments; with several quarters selected, the latest. Blank below "
        "$min_respondents responses.",
    ),
}


class MeasureSpec(BaseModel):
    """One entry of ``powerbi_measures`` in a model's yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    folder: str | None = None
    format: str | None = None
    dax: str | None = None
    pattern: Literal[tuple(PATTERNS)] | None = None  # type: ignore[valid-type]  # the declared patterns
    column: str | None = None

    @model_validator(mode="after")
    def _one_expression(self) -> MeasureSpec:
        if (self.dax is None) == (self.pattern is None):
            raise ValueError("give either dax or pattern (with column)")
        if self.pattern is not None and not self.column:
            raise ValueError(f"pattern {self.pattern} needs column")
        return self


class MeasureDeclarationError(ValueError):
    """A measure declared in a model's yml is malformed or names an unknown rule."""


def rule_values(rules: BusinessRules) -> dict[str, object]:
    """What ``$name`` may stand for: every business rule, and the detractor class's top score."""
    values: dict[str, object] = {f.name: getattr(rules, f.name) for f in fields(rules)}
    values["nps_detractor_max_score"] = rules.nps_passive_min_score - 1
    return values


# `table[column]` in DAX; a bare `[name]` is another measure and is not a read.
_COLUMN_REFERENCE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\[([A-Za-z_][A-Za-z0-9_]*)\]")


def _reads(dax: str) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys(_COLUMN_REFERENCE.findall(dax)))


def _render(text: str, values: dict[str, object], where: str) -> str:
    try:
        return Template(text).substitute(values)
    except (KeyError, ValueError) as error:
        raise MeasureDeclarationError(f"{where}: ${error} is not a business rule of dbt_project.yml") from error


def declared_measures(manifest: dict, rules: BusinessRules | None = None) -> list[Measure]:
    """Every measure declared in the manifest's models, rendered under ``rules``, by model name."""
    values = rule_values(rules or current_rules())
    models = sorted(
        (n for n in manifest.get("nodes", {}).values() if n.get("resource_type") == "model"),
        key=lambda n: n["name"],
    )
    measures = []
    for node in models:
        for raw in (node.get("config", {}).get("meta") or {}).get(META_KEY, []):
            where = f"{node['name']}.yml, measure {raw.get('name', '?')!r}" if isinstance(raw, dict) else node["name"]
            try:
                spec = MeasureSpec.model_validate(raw)
            except ValidationError as error:
                raise MeasureDeclarationError(f"{where}: {error}") from error
            if spec.pattern is not None:
                pattern = PATTERNS[spec.pattern]
                dax = Template(pattern.dax).safe_substitute(column=spec.column)
                description = spec.description + pattern.scope
            else:
                dax, description = spec.dax or "", spec.description
            dax = _render(dax.strip(), values, where)
            measures.append(
                Measure(
                    name=spec.name,
                    expression=dax,
                    description=_render(" ".join(description.split()), values, where),
                    format_string=spec.format,
                    display_folder=spec.folder,
                    reads=_reads(dax),
                    model=node["name"],
                )
            )
    names = [m.name for m in measures]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise MeasureDeclarationError(f"measures declared twice: {', '.join(duplicated)}")
    return measures
