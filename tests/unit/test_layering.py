"""Import rules import-linter cannot express: sub-modules of a third-party package.

The domain may use ``eventsourcing.domain`` only; the application may not touch the library's
concrete stores. Parsed from the source, so a lazy import inside a function is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "regenzet"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules_of(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


@pytest.mark.parametrize("path", modules_of("domain"), ids=lambda p: p.name)
def test_domain_uses_only_the_librarys_domain_module(path: Path) -> None:
    eventsourcing = {m for m in imported_modules(path) if m.split(".")[0] == "eventsourcing"}
    assert eventsourcing <= {"eventsourcing.domain"}, eventsourcing


@pytest.mark.parametrize("path", modules_of("application"), ids=lambda p: p.name)
def test_application_never_names_a_concrete_store(path: Path) -> None:
    concrete = {"eventsourcing.postgres", "eventsourcing.sqlite", "eventsourcing.popo"}
    assert not imported_modules(path) & concrete


def test_the_rule_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from eventsourcing.persistence import Mapper\n")
    assert "eventsourcing.persistence" in imported_modules(bad)
