"""The landing zone: which files are there, and which entity and extract date each belongs to.

A file is named ``<entity>_<YYYYMMDD>[_anything].<csv|parquet|xlsx>`` inside its source's folder.
Files still being written (``.tmp``, ``.part``, hidden files) are not drops yet and are ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.ingest.mapping import MappedFile

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
    # The source mapping that routed a file not named by the contract (or that renames its columns).
    mapped: MappedFile | None = field(default=None, compare=False)

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


# A date inside an export's file name: 20261130, 2026-11-30, 2026_11_30 or 30.11.2026.
_NAME_DATES = (
    (re.compile(r"(?<!\d)(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)"), (3, 2, 1)),
)


_FORMAT_PARTS = {"%Y": r"\d{4}", "%m": r"\d{1,2}", "%d": r"\d{1,2}", "%y": r"\d{2}", "%b": r"[A-Za-z]{3}"}


def extract_date_from_name(name: str, layout: str | None = None) -> dt.date | None:
    """The first calendar date written in a file name, or None. ``layout`` (strptime directives %Y, %y, %m,
    %d, %b and literal text, e.g. ``%m-%d-%Y`` for Dynamics 365's US-style names) replaces the defaults."""
    if layout is not None:
        parts = re.split(r"(%[Ymdyb])", layout)
        layout_pattern = "".join(_FORMAT_PARTS.get(part, re.escape(part)) for part in parts)
        for match in re.finditer(rf"(?<!\d){layout_pattern}(?!\d)", name):
            try:
                return dt.datetime.strptime(match.group(0), layout).date()
            except ValueError:
                continue
        return None
    for pattern, (year, month, day) in _NAME_DATES:
        for match in pattern.finditer(name):
            try:
                return dt.date(int(match[year]), int(match[month]), int(match[day]))
            except ValueError:
                continue
    return None


_FORMATS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}


def parse_mapped_file(path: Path, landing_dir: Path, mapped: MappedFile) -> LandingFile:
    """A drop a source mapping routed: its entity from the mapping, its extract date from its name (or mtime)."""
    relative = path.relative_to(landing_dir)
    file_format = _FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise LandingFileNameError(
            f"{path}: the mapping {mapped.mapping.name} matches it, but {path.suffix or 'no suffix'} is not "
            "csv, txt, parquet or xlsx"
        )
    if mapped.rule.extract_date == "modified":
        extract_date = dt.datetime.fromtimestamp(path.stat().st_mtime).date()
    else:
        layout = mapped.rule.file_name_date_format
        found = extract_date_from_name(path.name, layout)
        if found is None:
            expected = layout or "20261130, 2026-11-30 or 30.11.2026"
            raise LandingFileNameError(
                f"{path}: the mapping {mapped.mapping.name} reads the extract date from the file name, which has "
                f"no date ({expected}): rename the file, set file_name_date_format, or set extract_date: modified"
            )
        extract_date = found
    return LandingFile(
        path=path,
        relative_path=relative.as_posix(),
        source=relative.parts[0],
        entity=mapped.rule.entity,
        extract_date=extract_date,
        format=file_format,
        mapped=mapped,
    )


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
    landing_dir: Path,
    source: str,
    entity: str,
    known_entities: frozenset[str],
    route: Callable[[str], MappedFile | None] | None = None,
) -> tuple[list[LandingFile], list[str]]:
    """Drops of one entity, oldest first (extract date, then name), and names of files not understood.

    ``route`` (the source's mappings, pipeline.ingest.mapping.match_file) is asked first for each name: a
    file it matches is the entity its rule says. Files not understood (misnamed, or an entity the contract
    does not know) are reported, never silently dropped: a misnamed export is a finding.
    """
    folder = landing_dir / source
    if not folder.is_dir():
        return [], []
    drops: list[LandingFile] = []
    not_understood: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        still_arriving = path.name.startswith(".") or path.name.lower().endswith(IN_PROGRESS_SUFFIXES)
        mapped = route(path.name) if route is not None and not still_arriving else None
        if mapped is not None:
            if mapped.rule.entity == entity:
                drops.append(parse_mapped_file(path, landing_dir, mapped))
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
