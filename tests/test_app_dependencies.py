"""The apps' dependencies point one way: groups <- notifications, groups <- journeys -> notifications.

groups/ never imports journeys/ or notifications/ (its services announce through
groups/signals.py); notifications/ depends on groups/ only (journeys' services call it).
A cycle would let a change in one app break another it does not know it feeds.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "groups": {"journeys", "notifications"},
    "notifications": {"journeys"},
}


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_app_imports_only_what_it_depends_on(app):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_apps(path) & FORBIDDEN[app])
        for path in sorted((ROOT / app).rglob("*.py"))
    }
    assert {path: apps for path, apps in offenders.items() if apps} == {}


def test_the_check_sees_an_import():
    # The scan itself must notice an import written in any of the usual ways.
    source = ROOT / "tests" / "test_app_dependencies.py"
    assert "pytest" in _imported_apps(source)
    assert "pathlib" in _imported_apps(source)
