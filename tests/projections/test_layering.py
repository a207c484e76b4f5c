"""Dependencies point inward: the projections import the application, never the reverse,
and nothing in the projections depends on the API or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def imports_any(path: Path, prefixes: tuple[str, ...]) -> set[str]:
    return {
        m for m in imported_modules(path) if any(m == p or m.startswith(f"{p}.") for p in prefixes)
    }


@pytest.mark.parametrize("layer", ["src/ruswf/domain", "src/ruswf/app"])
def test_the_domain_and_the_application_do_not_import_the_projections(layer: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): imports_any(path, ("projections",))
        for path in (ROOT / layer).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_projections_do_not_import_the_api_or_the_cli() -> None:
    offenders = {
        str(path.relative_to(ROOT)): imports_any(path, ("ruswf.api", "ruswf.cli"))
        for path in (ROOT / "projections").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
