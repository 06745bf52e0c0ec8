"""Run-failure alerts: pluggable, a log line and a JSON line in a file by default.

``PIPELINE_ALERT_FILE`` (default ``PIPELINE_HOME/alerts/alerts.jsonl``) receives one JSON object per
failed run. Another channel (mail, chat, a pager) is a class with ``send(alert)`` registered in
``ALERTERS`` and chosen with ``PIPELINE_ALERTERS`` (comma separated, default ``log,file``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger("pipeline.alerts")


@dataclass(frozen=True)
class Alert:
    run_id: str
    job: str
    failed_at: str
    message: str
    steps_failed: list[str]

    def text(self) -> str:
        steps = ", ".join(self.steps_failed) or "the run"
        return f"Run {self.run_id} of job {self.job} failed at {self.failed_at} in {steps}: {self.message}"


class Alerter(Protocol):
    def send(self, alert: Alert) -> None: ...


class LogAlerter:
    def send(self, alert: Alert) -> None:
        logger.error(alert.text())


class FileAlerter:
    def __init__(self, path: Path):
        self.path = path

    def send(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({**asdict(alert), "text": alert.text()}) + "\n")


def alerters_from_env(home: Path, env: dict[str, str] | None = None) -> list[Alerter]:
    env = dict(os.environ if env is None else env)
    path = Path(env.get("PIPELINE_ALERT_FILE") or home / "alerts" / "alerts.jsonl")
    registry = {"log": lambda: LogAlerter(), "file": lambda: FileAlerter(path)}
    names = [n.strip() for n in env.get("PIPELINE_ALERTERS", "log,file").split(",") if n.strip()]
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(f"unknown alerter(s) in PIPELINE_ALERTERS: {', '.join(unknown)}")
    return [registry[n]() for n in names]  # type: ignore[misc]  # the registry holds Alerter classes


def send(alert: Alert, alerters: list[Alerter]) -> None:
    for alerter in alerters:
        alerter.send(alert)
