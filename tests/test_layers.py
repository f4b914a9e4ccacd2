"""The layers of the design import each other one way only.

Each package may import only what the design's layer table allows; this test
reads every module's imports (without running them) and fails on any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chamelaion_tui"

ALLOWED: dict[str, set[str]] = {
    "api": {"api"},
    "batch": {"batch", "api"},
    "refresh": {"refresh", "api"},
    "simulator": {"simulator"},
    "tui": {"tui", "api", "refresh", "batch"},
}
"""For each layer, the project layers its modules may import."""

THIRD_PARTY_ONLY_IN = {"textual": "tui", "aiohttp": "simulator"}
"""Libraries that belong to exactly one layer."""


def imports_of(path: Path) -> set[str]:
    """Every module name imported by the file at ``path``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def layer_files() -> list[tuple[str, Path]]:
    """(layer, file) for every module inside a layer package."""
    return [
        (layer, path)
        for layer in ALLOWED
        for path in sorted((PACKAGE / layer).rglob("*.py"))
    ]


@pytest.mark.parametrize(
    ("layer", "path"), layer_files(), ids=lambda v: getattr(v, "name", v)
)
def test_layer_imports_only_what_it_may(layer: str, path: Path) -> None:
    """A module imports only its own layer and the layers below it."""
    for name in imports_of(path):
        parts = name.split(".")
        if parts[0] == "chamelaion_tui" and len(parts) > 1:
            assert parts[1] in ALLOWED[layer], f"{path.name} imports {name}"
        owner = THIRD_PARTY_ONLY_IN.get(parts[0])
        assert owner in (None, layer), f"{path.name} imports {parts[0]}"


def test_every_layer_has_modules() -> None:
    """The check above is not vacuous: each layer holds modules."""
    layers = {layer for layer, _ in layer_files()}
    assert layers == set(ALLOWED)
