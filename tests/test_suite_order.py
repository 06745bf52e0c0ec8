"""The suite's own scheduling (tests/conftest.py): the modules listed to run first exist, and run first."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONG_MODULES

REPO = Path(__file__).resolve().parents[1]


def test_every_module_listed_to_run_first_exists():
    assert [name for name in LONG_MODULES if not (REPO / name).is_file()] == []
    assert len(set(LONG_MODULES)) == len(LONG_MODULES)


def test_the_listed_modules_are_collected_first_in_their_order(request):
    modules = list(dict.fromkeys(item.nodeid.split("::", 1)[0] for item in request.session.items))
    listed = [name for name in modules if name in LONG_MODULES]
    if len(listed) == len(LONG_MODULES):  # the whole suite is collected (not a single file run)
        assert modules[: len(LONG_MODULES)] == list(LONG_MODULES)
