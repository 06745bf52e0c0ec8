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
    # One figure of mart_nps_summary for the filter, shared by the five summary measures. The mart has a row
    # per period (quarter or the last 12 months) and segment, with 0 for all segments, and the
    # relationship from dim_segment would filter that row away: the pattern lifts dim_segment's filter and
    # picks the row itself. Segment: the one segment in the filter (dim_segment or the mart's own columns),
    # else all segments. Period: with a date filter, the latest quarter in it; else the mart's period in
    # the filter, by default the last 12 months; several quarters: the latest. A filter the mart has no row
    # for (several segments, an account or owner slicer) gives the measure's fallback, computed from the
    # responses where that makes sense. The mart withholds figures below the minimum n; so does this.
    "nps_summary_figure": Pattern(
        dax="""VAR _bySegment =
    ISFILTERED ( dim_segment )
        || ISFILTERED ( mart_nps_summary[segment_key] )
        || ISFILTERED ( mart_nps_summary[segment_name] )
VAR _segmentKey = IF ( _bySegment, SELECTEDVALUE ( mart_nps_summary[segment_key] ), 0 )
VAR _byDate = ISFILTERED ( dim_date )
VAR _quarter = MAX ( dim_date[year_quarter] )
VAR _periodType =
    IF ( _byDate, "quarter", SELECTEDVALUE ( mart_nps_summary[period_type], "last_12_months" ) )
VAR _rows =
    CALCULATETABLE (
        mart_nps_summary,
        REMOVEFILTERS ( dim_segment ),
        mart_nps_summary[segment_key] = _segmentKey,
        mart_nps_summary[period_type] = _periodType
    )
VAR _inPeriod = FILTER ( _rows, NOT ( _byDate ) || mart_nps_summary[period] = _quarter )
VAR _latest = TOPN ( 1, _inPeriod, mart_nps_summary[period], DESC )
VAR _summary = MAXX ( _latest, mart_nps_summary[$column] )
RETURN
    IF ( ISFILTERED ( dim_account ) || ISBLANK ( _segmentKey ), $fallback, _summary )""",
        scope=" Relationship surveys, from mart_nps_summary: the segment and quarter in the filter (with several "
        "quarters, the latest), by default all segments and the last 12 months; under several segments or an "
        "account filter, $fallback_words. Blank below $min_respondents responses.",
    ),
}

# What a summary measure shows when the filter is one mart_nps_summary has no row for.
BLANK_FALLBACK = "BLANK ()"
BLANK_FALLBACK_WORDS = "blank (the mart cannot combine segments, and this figure needs a whole segment)"


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
    # For a pattern: the measure shown where the pattern's mart has no row for the filter, e.g.
    # "[NPS (responses)]"; blank when not given.
    fallback: str | None = None

    @model_validator(mode="after")
    def _one_expression(self) -> MeasureSpec:
        if (self.dax is None) == (self.pattern is None):
            raise ValueError("give either dax or pattern (with column)")
        if self.pattern is not None and not self.column:
            raise ValueError(f"pattern {self.pattern} needs column")
        if self.fallback is not None and self.pattern is None:
            raise ValueError("fallback is for a pattern's measure")
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
                fallback = spec.fallback or BLANK_FALLBACK
                words = f"{spec.fallback}, from the responses in the filter" if spec.fallback else BLANK_FALLBACK_WORDS
                dax = Template(pattern.dax).safe_substitute(column=spec.column, fallback=fallback)
                description = spec.description + Template(pattern.scope).safe_substitute(fallback_words=words)
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
