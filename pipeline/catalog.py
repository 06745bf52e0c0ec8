"""What is published, decided in one place, from the dbt manifest.

A model is published when it is a model of this dbt project under ``models/marts/`` whose name starts with
``dim_``, ``fct_`` or ``mart_``; it must build in the ``marts`` schema, which is where publishing reads
it (a published model configured into another schema is refused, naming it, rather than published from
the wrong place or silently left out). Everything that needs the list asks here: the BI release
(Parquet and PostgreSQL) and its dependencies, the publish gate's dbt-test check, the release's Great
Expectations suites and the Power BI generator. The manifest is the one ``make`` or ``dg`` prepared; no
function here parses the project.
"""

from __future__ import annotations

import json
from pathlib import Path

MARTS_SCHEMA = "marts"
PUBLISHED_FOLDER = "models/marts/"
PUBLISHED_PREFIXES = ("dim_", "fct_", "mart_")


class CatalogError(ValueError):
    """The manifest describes a published model in a way publishing cannot follow."""


def load_manifest(manifest_path: Path | str) -> dict:
    return json.loads(Path(manifest_path).read_text(encoding="utf-8"))


def has_published_name(name: str) -> bool:
    return name.startswith(PUBLISHED_PREFIXES)


def is_published(node: dict, project: str | None = None) -> bool:
    """Whether a manifest node is a published model (``project``: the root project's name, when known)."""
    if node.get("resource_type") != "model":
        return False
    if project and node.get("package_name") != project:
        return False
    path = node.get("original_file_path", "").replace("\\", "/")
    if not (path.startswith(PUBLISHED_FOLDER) and has_published_name(node.get("name", ""))):
        return False
    if node.get("schema") != MARTS_SCHEMA:
        raise CatalogError(
            f"{node['name']} ({path}) is a published model but builds in schema {node.get('schema')!r}, not "
            f"{MARTS_SCHEMA!r}, where the BI layer reads: remove its schema config or move it out of marts/"
        )
    return True


def published_models(manifest: dict) -> list[dict]:
    """The manifest nodes of the published models, by name."""
    project = (manifest.get("metadata") or {}).get("project_name")
    nodes = [node for node in manifest.get("nodes", {}).values() if is_published(node, project)]
    return sorted(nodes, key=lambda node: node["name"])


def published_names(manifest: dict) -> list[str]:
    return [node["name"] for node in published_models(manifest)]
