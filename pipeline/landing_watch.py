"""Which landing-zone files are complete and new: the logic of the landing-zone sensor, without Dagster.

A file counts as complete when it is not a temporary name (``.tmp``, ``.part``, ``.partial``,
``.crdownload``, hidden or ``~$`` lock files) and its size and modification time have not changed
between two looks (one sensor tick apart): a writer still copying it would have changed them. A complete
file is new when its (path, size, mtime) signature has not been handed to a run before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download")
SOURCES = ("crm", "survey", "finance")


@dataclass
class WatchState:
    """What the sensor remembers between ticks (its cursor, as JSON)."""

    seen: dict[str, list[float]] = field(default_factory=dict)  # path -> [size, mtime] at the last look
    delivered: dict[str, list[float]] = field(default_factory=dict)  # path -> signature handed to a run

    def to_cursor(self) -> str:
        return json.dumps({"seen": self.seen, "delivered": self.delivered}, sort_keys=True)

    @classmethod
    def from_cursor(cls, cursor: str | None) -> WatchState:
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls(seen=data.get("seen", {}), delivered=data.get("delivered", {}))


def is_temporary(path: Path) -> bool:
    name = path.name
    return name.startswith((".", "~$")) or name.lower().endswith(TEMPORARY_SUFFIXES)


def listing(landing_dir: Path) -> dict[str, list[float]]:
    """path (relative to the landing folder) -> [size, mtime] of every candidate file."""
    files = {}
    for source in SOURCES:
        folder = landing_dir / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and not is_temporary(path):
                stat = path.stat()
                files[str(path.relative_to(landing_dir))] = [stat.st_size, stat.st_mtime]
    return files


def ready_files(state: WatchState, current: dict[str, list[float]]) -> tuple[list[str], WatchState]:
    """The complete, not yet delivered files, and the state to remember. Pure: tested without a clock."""
    ready = sorted(
        path
        for path, signature in current.items()
        if state.seen.get(path) == signature and state.delivered.get(path) != signature
    )
    delivered = {p: s for p, s in state.delivered.items() if p in current}
    delivered.update({p: current[p] for p in ready})
    return ready, WatchState(seen=dict(current), delivered=delivered)


def run_key(files: list[str], current: dict[str, list[float]]) -> str:
    """One key per set of file versions: the same files never start two runs."""
    digest = hashlib.sha256(json.dumps([(f, current[f]) for f in files]).encode()).hexdigest()
    return f"landing-{digest[:16]}"
