"""Dependencies point inward: the rule of STYLE.md §1, checked on the source's AST."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "ruswf"
DOMAIN_MAY_IMPORT = ("eventsourcing.domain", "transitions", "holidays", "ruswf.domain")
APP_MUST_NOT_IMPORT = ("ruswf.api", "ruswf.cli", "projections")


def modules(package: str) -> list[Path]:
    found = sorted((SRC / package).rglob("*.py"))
    assert found, f"no modules under {SRC / package}"
    return found


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, relative imports resolved against its package."""
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield f"{base}.{node.module}" if node.module else base
            else:
                assert node.module is not None
                yield node.module


def within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(f"{root}.") for root in roots)


def is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names or module == "__future__"


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_domain_imports_only_stdlib_eventsourcing_domain_and_transitions(path: Path) -> None:
    foreign = [m for m in imports(path) if not is_stdlib(m) and not within(m, DOMAIN_MAY_IMPORT)]
    assert foreign == [], f"{path.name} imports {foreign}"


@pytest.mark.parametrize("path", modules("app"), ids=lambda p: p.name)
def test_app_imports_nothing_from_api_cli_or_projections(path: Path) -> None:
    outward = [m for m in imports(path) if within(m, APP_MUST_NOT_IMPORT)]
    assert outward == [], f"{path.name} imports {outward}"


def test_the_import_walker_sees_relative_and_from_imports() -> None:
    """The rule cannot pass vacuously: the walker reports what a module imports."""
    module = SRC / "domain" / "initiative.py"
    found = set(imports(module))
    assert {"eventsourcing.domain", "ruswf.domain.lifecycle", "datetime"} <= found
    assert within("eventsourcing.application", DOMAIN_MAY_IMPORT) is False
    assert is_stdlib("zoneinfo")
    assert not is_stdlib("structlog")
