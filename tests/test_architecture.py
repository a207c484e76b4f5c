"""Dependencies point inward (STYLE.md §1): every rule of the layout, checked on the
source's AST by one walker.

    domain      ← stdlib, eventsourcing.domain, transitions, pure libraries
    app (core)  ← domain, app.store            (not the features, not the demo)
    app.audit / app.notify / app.demo ← app core, app.store, domain
    projections ← app, domain
    bootstrap   ← app, projections             (the composition root)
    api, cli    ← bootstrap and everything inward; nothing imports them
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


@dataclass(frozen=True)
class Rule:
    """Modules under `sources` may import only the stdlib and `allowed` (when given),
    and never anything in `forbidden`."""

    name: str
    sources: tuple[str, ...]
    forbidden: tuple[str, ...] = ()
    allowed: tuple[str, ...] | None = None
    exempt: tuple[str, ...] = ()


FEATURES = ("ruswf.app.audit", "ruswf.app.notify", "ruswf.app.demo")
"""The application's feature packages, built on its core (which knows none of them)."""

RULES = (
    Rule(
        "the domain imports only the stdlib, eventsourcing.domain, transitions and holidays",
        sources=("ruswf.domain",),
        allowed=("eventsourcing.domain", "transitions", "holidays", "ruswf.domain"),
    ),
    Rule(
        "the application imports nothing outward",
        sources=("ruswf.app",),
        forbidden=("ruswf.api", "ruswf.cli", "ruswf.bootstrap", "projections"),
    ),
    Rule(
        "the application core does not import the features (audit, notify) or the demo",
        sources=("ruswf.app",),
        forbidden=FEATURES,
        exempt=FEATURES,
    ),
    Rule(
        "the store adapters do not import the features or the demo",
        sources=("ruswf.app.store",),
        forbidden=FEATURES,
    ),
    Rule(
        "the projections import the application, never the API, the CLI or the root",
        sources=("projections",),
        forbidden=("ruswf.api", "ruswf.cli", "ruswf.bootstrap"),
    ),
    Rule(
        "the composition root imports no adapter (API, CLI)",
        sources=("ruswf.bootstrap",),
        forbidden=("ruswf.api", "ruswf.cli"),
    ),
    Rule(
        "nothing imports the CLI",
        sources=("ruswf", "projections"),
        forbidden=("ruswf.cli",),
        exempt=("ruswf.cli",),
    ),
    Rule(
        "only the CLI (which serves it) imports the API",
        sources=("ruswf", "projections"),
        forbidden=("ruswf.api",),
        exempt=("ruswf.api", "ruswf.cli"),
    ),
)


def module_name(path: Path) -> str:
    relative = path.relative_to(SRC if SRC in path.parents else ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    paths = [*(SRC / "ruswf").rglob("*.py"), *(ROOT / "projections").rglob("*.py")]
    return {module_name(path): path for path in sorted(paths)}


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, relative imports resolved against its package."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
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


def violations(rule: Rule, modules: dict[str, Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, path in modules.items():
        if not within(name, rule.sources) or within(name, rule.exempt):
            continue
        bad = [
            imported
            for imported in imports(path)
            if within(imported, rule.forbidden)
            or (
                rule.allowed is not None
                and not is_stdlib(imported)
                and not within(imported, rule.allowed)
            )
        ]
        if bad:
            found[name] = bad
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_layer_rule(rule: Rule) -> None:
    assert violations(rule, all_modules()) == {}


def test_the_walker_sees_every_layer_and_its_imports() -> None:
    """The rules cannot pass vacuously: every layer has modules, and the walker reports
    what a module imports (absolute and relative)."""
    modules = all_modules()
    for layer in (
        "ruswf.domain",
        "ruswf.app",
        "ruswf.app.audit",
        "ruswf.app.store",
        "ruswf.api",
        "ruswf.cli",
        "projections",
        "ruswf.bootstrap",
    ):
        assert any(within(name, (layer,)) for name in modules), layer
    found = set(imports(modules["ruswf.domain.initiative"]))
    assert {"eventsourcing.domain", "ruswf.domain.lifecycle", "datetime"} <= found
    assert "ruswf.api.problems" in set(imports(modules["ruswf.api.deps"]))


def test_a_forbidden_import_is_reported() -> None:
    rule = Rule("example", sources=("ruswf.api",), forbidden=("ruswf.app",))
    assert "ruswf.api.deps" in violations(rule, all_modules())
