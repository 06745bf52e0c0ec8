"""The landing zone: which files are there, and which entity and extract date each belongs to.

A file is named ``<entity>_<YYYYMMDD>[_anything].<csv|parquet|xlsx>`` inside its source's folder.
Files still being written (``.tmp``, ``.part``, hidden files) are not drops yet and are ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = re.compile(
    r"^(?P<entity>[a-z][a-z0-9_]*?)_(?P<date>\d{8})(?:_[^/]*)?\.(?P<format>csv|parquet|xlsx)$", re.IGNORECASE
)
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative_path: str  # e.g. "crm/accounts_20250131.csv": what ledgers and quarantine name
    source: str
    entity: str
    extract_date: dt.date
    format: str  # csv | parquet | xlsx

    def stat_signature(self) -> tuple[int, int]:
        stat = self.path.stat()
        return stat.st_size, stat.st_mtime_ns

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
        return digest.hexdigest()


class LandingFileNameError(ValueError):
    pass


def parse_file_name(path: Path, landing_dir: Path) -> LandingFile | None:
    """The drop a file is, or None for a file that is not a drop (yet)."""
    name = path.name
    if name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES):
        return None
    match = FILE_NAME.match(name)
    if not match:
        return None
    try:
        extract_date = dt.datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError as error:
        raise LandingFileNameError(f"{path}: the date in the file name is not a calendar date") from error
    relative = path.relative_to(landing_dir)
    return LandingFile(
        path=path,
        relative_path=relative.as_posix(),
        source=relative.parts[0],
        entity=match["entity"].lower(),
        extract_date=extract_date,
        format=match["format"].lower(),
    )


def discover(
    landing_dir: Path, source: str, entity: str, known_entities: frozenset[str]
) -> tuple[list[LandingFile], list[str]]:
    """Drops of one entity, oldest first (extract date, then name), and names of files not understood.

    Files not understood (misnamed, or an entity the contract does not know) are reported, never
    silently dropped: a misnamed export is a finding.
    """
    folder = landing_dir / source
    if not folder.is_dir():
        return [], []
    drops: list[LandingFile] = []
    not_understood: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        parsed = parse_file_name(path, landing_dir)
        if parsed is None:
            if not path.name.startswith(".") and not path.name.lower().endswith(IN_PROGRESS_SUFFIXES):
                not_understood.append(path.relative_to(landing_dir).as_posix())
            continue
        if parsed.entity == entity:
            drops.append(parsed)
        elif parsed.entity not in known_entities:
            not_understood.append(parsed.relative_path)
    drops.sort(key=lambda f: (f.extract_date, f.relative_path))
    return drops, not_understood
