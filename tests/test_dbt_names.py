"""dbt names that become relations fit PostgreSQL's identifiers: the same project must build there, and a
unit test's name is the name of a temporary relation (PostgreSQL refuses names over 63 bytes)."""

from __future__ import annotations

import yaml

from pipeline.dbt import DBT_PROJECT_DIR

POSTGRES_MAX_IDENTIFIER = 63


def _names() -> list[tuple[str, str]]:
    names = []
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        names += [(path.name, model["name"]) for model in document.get("models", [])]
        names += [(path.name, test["name"]) for test in document.get("unit_tests", [])]
    names += [(path.name, path.stem) for path in (DBT_PROJECT_DIR / "models").rglob("*.sql")]
    return names


def test_every_model_and_unit_test_name_fits_a_postgresql_identifier():
    names = _names()
    assert any(name.startswith("int_") for _, name in names)  # the project was read
    too_long = [(file, name) for file, name in names if len(name.encode()) > POSTGRES_MAX_IDENTIFIER]
    assert not too_long, f"names over {POSTGRES_MAX_IDENTIFIER} bytes: {too_long}"
