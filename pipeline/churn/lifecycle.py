"""Training run end to end, as plain functions the asset calls: train, report, store, decide the
champion (:class:`ChampionDecision`), and the rows the warehouse keeps about models
(``ml.model_performance``, ``ml.churn_model_status``; written by :mod:`pipeline.churn.tables`)."""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.churn import attribution, evaluation, report, training
from pipeline.churn.features import FEATURES, LABEL
from pipeline.churn.scoring import reference_sample
from pipeline.churn.store import ModelStore


def code_version() -> str:
    """The git commit of the code that trained (``unknown`` outside a git checkout)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass(frozen=True)
class Verdict:
    """Whether the challenger becomes champion, and the sentence that says why."""

    promoted: bool
    reason: str


@dataclass(frozen=True)
class ChampionDecision:
    """The champion decision of one training run, as recorded in the store's ``champion.json``."""

    promoted: bool
    reason: str
    challenger: str
    challenger_metrics: dict[str, Any]
    champion_before: str | None
    # The champion's figures on the challenger's window; None when there was no other champion.
    champion_metrics_on_window: dict[str, Any] | None
    window: str
    decided_at: str

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def comparison(self, challenger_type: str, candidates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The candidates' and the former champion's metrics on the same window, for the run's report."""
        rows = {f"{n} (challenger)" if n == challenger_type else n: m for n, m in candidates.items()}
        if self.champion_metrics_on_window and self.champion_metrics_on_window.get("roc_auc") is not None:
            rows[f"champion {self.champion_before}"] = self.champion_metrics_on_window
        return rows


@dataclass
class TrainingOutcome:
    result: training.TrainingResult
    version: str
    decision: ChampionDecision
    champion_version: str
    report_files: dict[str, Path]

    @property
    def promoted(self) -> bool:
        return self.decision.promoted

    @property
    def headline(self) -> str:
        lift = self.result.best.metrics["top_decile_lift"]
        return (
            f"The top decile churns {lift:.1f} times as often as the rest "
            f"(out of time, {self.result.split.describe()['evaluation']})."
        )


def importance(result: training.TrainingResult) -> pd.Series:
    """Mean |contribution| per model input on a seeded sample of the rows the model was fitted on."""
    left_out = result.features_left_out
    rows = result.reference.sample(n=min(2000, len(result.reference)), random_state=0)
    contributions = attribution.input_contributions(
        result.best.model, training.blank(rows, left_out), training.blank(rows, left_out)
    )
    return contributions.abs().mean().sort_values(ascending=False)


def build_report(result: training.TrainingResult, evaluation_frame: pd.DataFrame, importances: pd.Series) -> dict:
    y = evaluation_frame[LABEL].astype(int).to_numpy()
    return {
        "roc.png": report.roc_png(
            y,
            {n: c.evaluation_probability for n, c in result.candidates.items()},
            {"recency_rule": training.recency_rule(evaluation_frame), "nps_rule": training.nps_rule(evaluation_frame)},
        ),
        "lift_by_decile.png": report.lift_png(result.best.deciles),
        "calibration.png": report.calibration_png(result.best.calibration),
        "feature_importance.png": report.importance_png(importances),
    }


def decide(challenger: dict, champion: dict | None, margin: float) -> Verdict:
    """Promote when the challenger's ROC-AUC on the window is at least the champion's minus the margin
    and the challenger beats both baseline rules (top-decile lift and PR-AUC)."""
    if champion is None:
        # Scoring needs a model; the first one scores even when it does not beat the rules, and says so.
        note = "" if challenger["beats_baselines"] else " (WARNING: it does not beat both baseline rules)"
        return Verdict(True, f"no champion yet{note}")
    if not challenger["beats_baselines"]:
        return Verdict(False, "the challenger does not beat both baseline rules")
    if champion.get("roc_auc") is None:
        return Verdict(True, "the champion cannot score this window (its features are gone)")
    gap = challenger["roc_auc"] - champion["roc_auc"]
    promoted = gap >= -margin
    verdict = "at least as good as" if promoted else "worse than"
    return Verdict(
        bool(promoted),
        f"challenger ROC-AUC {challenger['roc_auc']:.4f} is {verdict} champion {champion['roc_auc']:.4f} "
        f"(margin {margin}) on the same window",
    )


def train_and_register(
    frame: pd.DataFrame, config: training.TrainingConfig, store: ModelStore, data_as_of: str
) -> TrainingOutcome:
    return register(training.train(frame, config), frame, config, store, data_as_of)


def register(
    result: training.TrainingResult,
    frame: pd.DataFrame,
    config: training.TrainingConfig,
    store: ModelStore,
    data_as_of: str,
) -> TrainingOutcome:
    """Store a trained model as a version (with its report) and promote it if it beats the champion on the
    same window. ``result`` is ``training.train(frame, config)``."""
    evaluation_frame = training.rows_in(frame, result.split.evaluation_months)
    importances = importance(result)
    pngs = build_report(result, evaluation_frame, importances)
    metrics = result.best.metrics
    metadata = {
        "model": result.chosen,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_as_of": data_as_of,
        "window": result.split.describe(),
        "evaluation_months": [f"{m:%Y-%m-%d}" for m in result.split.evaluation_months],
        "training_rows": result.training_rows,
        "features": list(FEATURES),
        "features_used": result.features_used,
        "features_left_out": result.features_left_out,
        "hyperparameters": result.hyperparameters,
        "metrics": metrics,
        "candidates": {n: c.metrics for n, c in result.candidates.items()},
        "baselines": result.baselines,
        "beats_baselines": result.beats_baselines,
        "deciles": result.best.deciles.to_dict(orient="records"),
        "calibration": result.best.calibration.to_dict(orient="records"),
        "importance": {k: round(float(v), 6) for k, v in importances.items()},
        "evaluation_probability_quantiles": np.quantile(
            result.best.evaluation_probability, np.linspace(0, 1, 101)
        ).tolist(),
        "code_version": code_version(),
        "config": config.__dict__,
    }
    reference = reference_sample(result.reference, seed=config.seed)
    version = store.save(result.best.model, metadata, pngs, reference=reference)

    champion_record = store.champion()
    champion_metrics = None
    if champion_record is not None and champion_record["version"] != version:
        champion_metrics = champion_on_window(store, champion_record["version"], evaluation_frame)
    challenger = {"roc_auc": metrics["roc_auc"], "beats_baselines": result.beats_baselines}
    if champion_record is not None and champion_record["version"] == version:
        verdict = Verdict(False, "the retrained model is the champion (same content hash)")
    else:
        verdict = decide(challenger, champion_metrics, config.promotion_margin)
    decision = ChampionDecision(
        promoted=verdict.promoted,
        reason=verdict.reason,
        challenger=version,
        challenger_metrics=metrics,
        champion_before=champion_record["version"] if champion_record else None,
        champion_metrics_on_window=champion_metrics,
        window=result.split.describe()["evaluation"],
        decided_at=metadata["trained_at"],
    )
    if decision.promoted:
        store.promote(version, decision.record())
    champion = store.champion()
    report_dir = store.version_dir(version) / "report"
    return TrainingOutcome(
        result=result,
        version=version,
        decision=decision,
        champion_version=champion["version"] if champion else version,
        report_files={name: report_dir / name for name in pngs},
    )


def champion_on_window(store: ModelStore, version: str, evaluation_frame: pd.DataFrame) -> dict | None:
    """The stored champion's metrics on the challenger's evaluation window (None if it cannot score it)."""
    try:
        champion = store.load(version)
        left_out = champion.metadata.get("features_left_out", [])
        probability = training.predict(champion.model, evaluation_frame, left_out)
    except (KeyError, ValueError) as error:
        return {"roc_auc": None, "error": str(error)}
    return evaluation.classification_metrics(
        evaluation_frame[LABEL].astype(int).to_numpy(),
        probability,
        evaluation_frame["revenue_12m_eur"].astype(float).to_numpy(),
    )


def model_performance_table(store: ModelStore) -> pd.DataFrame:
    """``ml.model_performance``: one row per stored version and risk decile, with the version's figures."""
    champion = store.champion()
    champion_version = champion["version"] if champion else None
    versions, deciles = [], []
    for meta in store.versions():
        m = meta["metrics"]
        versions.append(
            {
                "model_version": meta["version"],
                "model_type": meta["model"],
                "trained_at": pd.Timestamp(meta["trained_at"]).tz_convert(None),
                "data_as_of": meta["data_as_of"],
                "evaluation_window": meta["window"]["evaluation"],
                "training_rows": meta["training_rows"],
                "is_champion": meta["version"] == champion_version,
                "evaluation_rows": m["rows"],
                "evaluation_churn_rate": m["churn_rate"],
                "roc_auc": m["roc_auc"],
                "pr_auc": m["pr_auc"],
                "brier_score": m["brier"],
                "log_loss": m["log_loss"],
                "top_decile_lift": m["top_decile_lift"],
                "revenue_at_risk_captured_top_decile": m["revenue_at_risk_captured_top_decile"],
                "recency_rule_roc_auc": meta["baselines"]["recency_rule"]["roc_auc"],
                "nps_rule_roc_auc": meta["baselines"]["nps_rule"]["roc_auc"],
                "code_version": meta["code_version"],
            }
        )
        for row in meta["deciles"]:
            deciles.append(
                {
                    **versions[-1],
                    **{
                        k: row[k]
                        for k in (
                            "decile",
                            "accounts",
                            "churners",
                            "churn_rate",
                            "lift",
                            "mean_predicted",
                            "revenue_eur",
                            "churned_revenue_eur",
                            "cumulative_churners_share",
                        )
                    },
                }
            )
    return pd.DataFrame(deciles)


def trained_status(outcome: TrainingOutcome, labelled_months: int, config: training.TrainingConfig) -> dict:
    """``ml.churn_model_status`` after a training that produced a model (the first is always promoted, so
    there is a champion to score with)."""
    return {
        "status": "trained",
        "reason": f"trained on {labelled_months} labelled months; champion {outcome.champion_version}",
        "enable_hint": None,
        "labelled_months": labelled_months,
        "labelled_months_needed": training.labelled_months_needed(config),
        "champion_version": outcome.champion_version,
    }


def withheld_status(
    error: training.NotEnoughHistory,
    newest_month: pd.Timestamp | None,
    config: training.TrainingConfig,
    silent_churn_months: int,
    champion_version: str | None,
) -> dict:
    """``ml.churn_model_status`` when the history is too short or too thin to train: why, and what would
    enable the model (which setting, or from which month the data will be enough)."""
    settings = (
        f"PIPELINE_CHURN_HORIZON_MONTHS (now {config.horizon_months}) or PIPELINE_SILENT_CHURN_MONTHS "
        f"(now {silent_churn_months}): shorter windows label months sooner"
    )
    if error.months_short and newest_month is not None:
        ready = (pd.Timestamp(newest_month) + pd.DateOffset(months=error.months_short)).strftime("%Y-%m")
        hint = f"wait until the data reaches {ready}, or lower {settings}"
    elif error.months_short:
        hint = f"load at least {error.labelled_months_needed} months of history beyond the label windows"
    else:
        hint = (
            f"more churn events are needed (at least {config.min_churners} per window): wait for more history, "
            f"load more accounts or earlier history, or lower {settings}"
        )
    reason = f"churn model: {error}"
    if champion_version:
        reason += f"; scores keep using the champion {champion_version}, trained earlier"
    return {
        "status": "kept_champion" if champion_version else "withheld",
        "reason": reason,
        "enable_hint": hint,
        "labelled_months": error.labelled_months,
        "labelled_months_needed": error.labelled_months_needed,
        "champion_version": champion_version,
    }
