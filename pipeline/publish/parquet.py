"""The Parquet BI layer: one complete release folder per publish, switched in atomically.

Layout under the BI folder (``PIPELINE_BI_DIR``, default ``data/bi``)::

    releases/<release_id>/<table>.parquet   one file per published table
    releases/<release_id>/_manifest.json    tables, row counts, schema, checksums, run id, published at
    releases/<release_id>/_COMPLETE         written last: a release without it is not a release
    CURRENT                                  the current release id (one line), replaced atomically
    current -> releases/<release_id>         symlink, replaced atomically (for folder connectors)

A release is written to ``releases/.tmp-<release_id>`` and renamed into place once complete; then
``CURRENT`` and ``current`` are switched with ``os.replace`` (an atomic rename on POSIX). A reader that
follows either pointer sees the previous complete release or the new one, never a mix; a crash at any
point leaves the previous release current and at most a ``.tmp-*`` folder, removed by the next publish.
The newest ``keep`` complete releases stay (for comparison and rollback); older ones are deleted, never
the current one. Files are written by DuckDB's own Parquet writer (``COPY ... TO``).

A daily refresh changes a few tables; the others hold the same rows as in the current release. A table
whose content fingerprint (``tables.content_fingerprint``: columns, rows and a hash of every row) equals
the current release's, and whose file there still matches its manifest checksum, is hard-linked from it
instead of written again (copied where the file system has no hard links). Its rows keep the
``published_run_id`` and ``published_at`` of the run that published that content; the manifest entry
says ``reused_from`` (the release that wrote the file). Every release stays complete on its own: pruning
an older release removes a name, not the shared file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.publish.tables import MARTS_SCHEMA, PublishedTable, content_fingerprint, valid_identifier

RELEASES = "releases"
CURRENT_FILE = "CURRENT"
CURRENT_LINK = "current"
MANIFEST = "_manifest.json"
COMPLETE = "_COMPLETE"
# How a table is written; part of its content fingerprint, so changing it rewrites every file once.
# Snappy: Parquet's default codec, which every reader takes; Microsoft does not document which codecs Power
# Query's Parquet connector reads, and a BI refresh that cannot decode a file fails on the analyst's PC.
PARQUET_OPTIONS = "format parquet, compression snappy, row_group_size 122880"


@dataclass(frozen=True)
class Release:
    release_id: str
    path: Path
    manifest: dict

    def row_counts(self) -> dict[str, int]:
        """Rows per published table: the next release's row-count checks compare with them."""
        return {name: entry["rows"] for name, entry in self.manifest["tables"].items()}

    def validations(self) -> dict[str, dict[str, str]]:
        """Per table that met every expectation, its validation key and the release that validated it."""
        return {name: entry["validation"] for name, entry in self.manifest["tables"].items() if "validation" in entry}


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def release_id_for(run_id: str, now: datetime) -> str:
    # Microseconds: two publishes in the same second (a retry) still get distinct, sortable ids.
    return f"{now:%Y%m%dT%H%M%S.%f}Z-{run_id[:8]}"


def current_release(bi_dir: Path) -> Release | None:
    """The release ``CURRENT`` names, if it is complete."""
    pointer = bi_dir / CURRENT_FILE
    if not pointer.exists():
        return None
    release_id = pointer.read_text(encoding="utf-8").strip()
    path = bi_dir / RELEASES / release_id
    if not (path / COMPLETE).exists():
        return None
    return Release(release_id, path, json.loads((path / MANIFEST).read_text(encoding="utf-8")))


def complete_releases(bi_dir: Path) -> list[str]:
    root = bi_dir / RELEASES
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / COMPLETE).exists())


def publish_parquet(
    conn: duckdb.DuckDBPyConnection,
    tables: list[PublishedTable],
    bi_dir: Path,
    run_id: str,
    keep: int = 5,
    data_as_of: str | None = None,
    now: datetime | None = None,
    fingerprints: Mapping[str, str] | None = None,
    validations: Mapping[str, Mapping[str, str]] | None = None,
) -> Release:
    """Write every table to a new release folder, mark it complete, switch the pointers, prune.

    ``fingerprints``: the tables' content fingerprints when the caller has them (the gate computes them);
    ``validations``: per table that met every expectation, ``{"key", "release"}`` (the gate's), kept in the
    manifest as ``validation`` (``release``: where it was validated, this release when empty) so that the
    next publish need not validate the same content with the same suite again.

    One publisher at a time per BI folder (an OS lock, dropped by the kernel if the process dies): two runs
    publishing at once would otherwise clean up each other's release in progress.
    """
    bi_dir.mkdir(parents=True, exist_ok=True)
    with open(bi_dir / ".publish.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _publish_locked(
                conn, tables, bi_dir, run_id, keep, data_as_of, now, fingerprints or {}, validations or {}
            )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _publish_locked(
    conn: duckdb.DuckDBPyConnection,
    tables: list[PublishedTable],
    bi_dir: Path,
    run_id: str,
    keep: int,
    data_as_of: str | None,
    now: datetime | None,
    fingerprints: Mapping[str, str],
    validations: Mapping[str, Mapping[str, str]],
) -> Release:
    now = now or datetime.now(UTC)
    published_at = now.replace(tzinfo=None)
    release_id = release_id_for(run_id, now)
    root = bi_dir / RELEASES
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):  # left by a publish that crashed
        shutil.rmtree(stale, ignore_errors=True)
    staging = root / f".tmp-{release_id}"
    staging.mkdir()

    previous = current_release(bi_dir)
    entries = {}
    for table in tables:
        name = valid_identifier(table.name)
        target = staging / f"{name}.parquet"
        fingerprint = fingerprints.get(name) or content_fingerprint(conn, table, PARQUET_OPTIONS)
        validation = validations.get(name)
        recorded = {"validation": {**validation, "release": validation["release"] or release_id}} if validation else {}
        reused = _reuse_unchanged(previous, name, fingerprint, target)
        if reused is not None:
            reused.pop("validation", None)
            entries[name] = {**reused, **recorded}
            continue
        quoted = str(target).replace("'", "''")
        # The lineage columns are added here so the warehouse's marts stay as dbt built them.
        conn.execute(
            f"copy (select *, ? as published_run_id, cast(? as timestamp) as published_at "
            f"from {MARTS_SCHEMA}.\"{name}\") to '{quoted}' ({PARQUET_OPTIONS})",
            [run_id, published_at],
        )
        (rows,) = conn.execute(f"select count(*) from read_parquet('{quoted}')").fetchall()[0]
        entries[name] = {
            "file": target.name,
            "rows": int(rows),
            "columns": [{"name": c, "type": t} for c, t in table.columns]
            + [{"name": "published_run_id", "type": "VARCHAR"}, {"name": "published_at", "type": "TIMESTAMP"}],
            "sha256": _sha256(target),
            "bytes": target.stat().st_size,
            "content": fingerprint,
            **recorded,
        }
    manifest = {
        "release_id": release_id,
        "run_id": run_id,
        "published_at": published_at.isoformat(timespec="seconds") + "Z",
        "data_as_of": data_as_of,
        "tables": entries,
    }
    _write_durably(staging / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
    for path in staging.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _write_durably(staging / COMPLETE, release_id + "\n")
    _fsync_dir(staging)
    final = root / release_id
    os.replace(staging, final)  # the release exists, complete, under its name
    _fsync_dir(root)
    switch_current(bi_dir, release_id)
    prune(bi_dir, keep)
    return Release(release_id, final, manifest)


def _reuse_unchanged(previous: Release | None, name: str, fingerprint: str, target: Path) -> dict | None:
    """Link the current release's file for ``name`` to ``target`` if it holds this content; its entry."""
    entry = previous.manifest["tables"].get(name) if previous else None
    if previous is None or not entry or entry.get("content") != fingerprint:
        return None
    source = previous.path / entry["file"]
    # A file changed or damaged since it was published is written again, not passed on.
    if not source.exists() or _sha256(source) != entry["sha256"]:
        return None
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)
    return {**entry, "file": target.name, "reused_from": entry.get("reused_from", previous.release_id)}


def switch_current(bi_dir: Path, release_id: str) -> None:
    """Point ``CURRENT`` and ``current`` at a complete release, each with one atomic rename."""
    if not (bi_dir / RELEASES / release_id / COMPLETE).exists():
        raise ValueError(f"release {release_id} is not complete")
    pointer_tmp = bi_dir / f".{CURRENT_FILE}.tmp"
    _write_durably(pointer_tmp, release_id + "\n")
    os.replace(pointer_tmp, bi_dir / CURRENT_FILE)
    link_tmp = bi_dir / f".{CURRENT_LINK}.tmp"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(Path(RELEASES) / release_id, link_tmp, target_is_directory=True)
    os.replace(link_tmp, bi_dir / CURRENT_LINK)
    _fsync_dir(bi_dir)


def prune(bi_dir: Path, keep: int) -> list[str]:
    """Delete complete releases beyond the newest ``keep``, never the current one."""
    current = current_release(bi_dir)
    releases = complete_releases(bi_dir)
    removed = []
    for release_id in releases[: max(0, len(releases) - keep)]:
        if current and release_id == current.release_id:
            continue
        shutil.rmtree(bi_dir / RELEASES / release_id)
        removed.append(release_id)
    return removed
