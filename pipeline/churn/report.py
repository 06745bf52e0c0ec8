"""The model report: ROC curve, lift by decile, calibration and feature importance as PNG images."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    # No timestamp in the file: the same model gives the same bytes.
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def roc_png(y: np.ndarray, candidates: dict[str, np.ndarray], baselines: dict[str, np.ndarray]) -> bytes:
    figure, axes = plt.subplots(figsize=(5, 5))
    for name, score in {**candidates, **baselines}.items():
        fpr, tpr, _ = roc_curve(y, score)
        axes.plot(fpr, tpr, label=name.replace("_", " "), linestyle="-" if name in candidates else "--")
    axes.plot([0, 1], [0, 1], color="grey", linewidth=0.5)
    axes.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC, out-of-time window")
    axes.legend(loc="lower right", fontsize=8)
    return _png(figure)


def lift_png(deciles: pd.DataFrame) -> bytes:
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.bar(deciles["decile"], deciles["churn_rate"] * 100, color="#c0392b")
    overall = deciles["churners"].sum() / deciles["accounts"].sum() * 100
    axes.axhline(overall, color="black", linestyle="--", linewidth=1, label=f"average {overall:.1f}%")
    axes.set(
        xlabel="Risk decile (1 = highest predicted risk)",
        ylabel="Churned within 6 months, %",
        title="Churn rate by risk decile",
        xticks=range(1, 11),
    )
    axes.legend()
    return _png(figure)


def calibration_png(calibration: pd.DataFrame) -> bytes:
    figure, axes = plt.subplots(figsize=(5, 5))
    top = max(calibration["mean_predicted"].max(), calibration["observed"].max()) * 1.1 * 100
    axes.plot([0, top], [0, top], color="grey", linewidth=0.5)
    axes.plot(calibration["mean_predicted"] * 100, calibration["observed"] * 100, marker="o")
    axes.set(xlabel="Predicted churn probability, %", ylabel="Observed churn, %", title="Calibration (10 bins)")
    return _png(figure)


def importance_png(importance: pd.Series) -> bytes:
    importance = importance.sort_values().tail(15)
    figure, axes = plt.subplots(figsize=(6, 5))
    axes.barh([n.replace("_", " ") for n in importance.index], importance.to_numpy(), color="#2c3e50")
    axes.set(xlabel="Mean |contribution| to the log-odds", title="Feature importance (mean |SHAP|)")
    return _png(figure)


def metrics_markdown(rows: dict[str, dict]) -> str:
    """The headline metrics of several models side by side, as a markdown table (for the UI)."""
    names = ["roc_auc", "pr_auc", "brier", "log_loss", "top_decile_lift", "revenue_at_risk_captured_top_decile"]
    lines = ["| model | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for model, metrics in rows.items():
        cells = [f"{metrics[n]:.4f}" if isinstance(metrics.get(n), float) else "" for n in names]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
