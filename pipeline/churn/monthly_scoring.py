"""Scoring a run's snapshot months with the champion, month by month, and judging the run as a whole:
the drift and score-shift checks take the worst month, the coverage check needs every month complete.

The asset (``ml/churn_scores``) only opens the warehouse and reports; this module decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipeline.churn import drift, features, scoring, tables
from pipeline.churn.store import StoredModel
from pipeline.rules import BusinessRules

Connect = Callable[..., AbstractContextManager[duckdb.DuckDBPyConnection]]


class NoActiveAccounts(ValueError):
    """The feature table has no account active at the end of a month asked for."""


@dataclass(frozen=True)
class MonthScored:
    month: str  # YYYY-MM
    accounts: int  # active at the month end (rows of the feature table)
    written: int  # score rows written for the month
    scores: pd.DataFrame
    drift: drift.DriftReport
    score_shift: float

    @property
    def complete(self) -> bool:
        """Every active account has exactly one score."""
        return self.scores["account_id"].nunique() == self.accounts == self.written == len(self.scores)


@dataclass(frozen=True)
class ScoringRun:
    model_version: str
    months: list[MonthScored]

    @property
    def worst_drift(self) -> MonthScored:
        return max(self.months, key=lambda m: m.drift.worst[1])

    @property
    def score_shift(self) -> float:
        return max(m.score_shift for m in self.months)

    @property
    def all_scored(self) -> bool:
        return all(m.complete for m in self.months)

    @property
    def latest(self) -> MonthScored:
        return self.months[-1]

    @property
    def rows_written(self) -> int:
        return sum(m.written for m in self.months)

    @property
    def active_accounts(self) -> int:
        return sum(m.accounts for m in self.months)

    def drift_passed(self) -> bool:
        return self.worst_drift.drift.worst[1] <= drift.PSI_WARN

    def drift_failed(self) -> bool:
        """Over the failing threshold (an error, not a warning)."""
        return self.worst_drift.drift.worst[1] > drift.PSI_FAIL


def score_months(
    connect: Connect,
    months: Sequence[str],
    champion: StoredModel,
    reference: pd.DataFrame,
    rules: BusinessRules,
    run_id: str,
    log: Callable[[str], None] = lambda _: None,
) -> ScoringRun:
    """Score each month (``YYYY-MM-DD`` month ends) in turn and write it to ``ml.churn_scores``.

    ``connect(read_only=...)`` opens the warehouse; reads and each month's write use separate connections so
    that the writer is held only while writing. Raises :class:`NoActiveAccounts` for a month the data does
    not reach, before anything of that month is written."""
    scored_at = pd.Timestamp.now(tz="UTC").tz_convert(None)
    quantiles = champion.metadata["evaluation_probability_quantiles"]
    done = []
    for month in months:
        with connect(read_only=True) as conn:
            frame = features.load_feature_table(conn, [month])
        if frame.empty:
            raise NoActiveAccounts(
                f"No account is active at the end of {month[:7]} in the feature table: the data does not "
                "reach this snapshot month."
            )
        frame = features.validate_features(frame, rules=rules)
        scores = scoring.score_snapshot(champion, frame, reference, scored_at, rules)
        with connect() as conn:
            written = tables.write_scores(conn, scores, month, run_id)
        done.append(
            MonthScored(
                month=month[:7],
                accounts=len(frame),
                written=written,
                scores=scores,
                drift=drift.feature_drift(reference, frame),
                score_shift=drift.score_shift(quantiles, scores["churn_probability"].to_numpy()),
            )
        )
        log(f"Scored {written} accounts for {month[:7]}")
    return ScoringRun(model_version=champion.version, months=done)
