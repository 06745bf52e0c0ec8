"""The model store: every trained model as a versioned artefact with its metadata, and the champion.

Layout under the store's folder (``PIPELINE_MODELS_DIR``, default ``PIPELINE_HOME/models``)::

    churn/<version>/model.skops      the calibrated scikit-learn pipeline (skops: loading runs no pickle)
    churn/<version>/metadata.json    data window, features, metrics, code version, content hash
    churn/<version>/report/*.png     the model report
    churn/champion.json              which version scores, and the decision that made it champion

The version is the first 12 hex digits of the content hash (SHA-256 of the model's canonical pickle), so
the same data and seed give the same version; a retrain that reproduces a stored model stores nothing
new. Files are written to a temporary name and renamed into place, so a crash leaves no half-written
model and ``champion.json`` always names a complete version.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import skops.io as sio

MODEL_NAME = "churn"
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "pipeline.churn.", "builtins.", "scipy.")


def content_hash(model: Any) -> str:
    return hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


@dataclass(frozen=True)
class StoredModel:
    version: str
    model: Any
    metadata: dict


class ModelStore:
    def __init__(self, root: str | Path, name: str = MODEL_NAME):
        self.root = Path(root) / name

    def version_dir(self, version: str) -> Path:
        return self.root / version

    def exists(self, version: str) -> bool:
        return (self.version_dir(version) / "metadata.json").exists()

    def save(self, model: Any, metadata: dict, report: dict[str, bytes] | None = None, reference: Any = None) -> str:
        """Store a model (if new) and return its version."""
        digest = content_hash(model)
        version = digest[:12]
        if self.exists(version):
            return version
        final = self.version_dir(version)
        staging = Path(tempfile.mkdtemp(dir=self._ensure_root(), prefix=f".{version}."))
        try:
            sio.dump(model, staging / "model.skops")
            if reference is not None:  # the fit population sample: attributions and drift at scoring
                reference.to_parquet(staging / "reference.parquet", index=False)
            for name, png in (report or {}).items():
                (staging / "report").mkdir(exist_ok=True)
                (staging / "report" / name).write_bytes(png)
            full = {**metadata, "version": version, "content_hash": digest}
            (staging / "metadata.json").write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
            if final.exists():  # a leftover without metadata.json: an earlier crash
                shutil.rmtree(final)
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return version

    def _ensure_root(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def metadata(self, version: str) -> dict:
        return json.loads((self.version_dir(version) / "metadata.json").read_text())

    def load(self, version: str) -> StoredModel:
        path = self.version_dir(version) / "model.skops"
        untrusted = sio.get_untrusted_types(file=path)
        unexpected = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
        if unexpected:
            raise ValueError(f"model {version} holds types this store does not load: {unexpected}")
        model = sio.load(path, trusted=untrusted)
        return StoredModel(version=version, model=model, metadata=self.metadata(version))

    def reference(self, version: str):
        import pandas as pd

        return pd.read_parquet(self.version_dir(version) / "reference.parquet")

    def versions(self) -> list[dict]:
        if not self.root.exists():
            return []
        found = [self.metadata(p.name) for p in self.root.iterdir() if (p / "metadata.json").exists()]
        return sorted(found, key=lambda m: m.get("trained_at", ""))

    def champion(self) -> dict | None:
        """The champion record ({"version", "decision", ...}) or None before the first promotion."""
        path = self.root / "champion.json"
        return json.loads(path.read_text()) if path.exists() else None

    def promote(self, version: str, decision: dict) -> None:
        if not self.exists(version):
            raise ValueError(f"cannot promote {version}: not in the store")
        record = {"version": version, **decision}
        _write_atomic(self.root / "champion.json", json.dumps(record, indent=2, sort_keys=True, default=str).encode())

    def load_champion(self) -> StoredModel:
        record = self.champion()
        if record is None:
            raise LookupError(f"no champion churn model in {self.root}: materialise churn_model first")
        return self.load(record["version"])
