"""The annotations table has one owner, annotate.annotations, which depends on none of its readers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from annotate.annotations import COLUMNS, table_row
from tests.conftest import ROOT


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from ... import`` in a file, those inside functions too."""
    tree = ast.parse(path.read_text("utf-8"))
    return [
        (node.module or "", alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]


def test_the_owner_imports_none_of_the_tables_readers_or_writers():
    others = ("annotate.studio", "annotate.agreement", "annotate.agreement_report")
    others += ("annotate.resolve", "annotate.review")
    imported = {module for module, _name in _imports(ROOT / "annotate" / "annotations.py")}
    assert sorted(m for m in imported if m.startswith(others)) == []


def test_resolve_does_not_import_review():
    # review imports resolve (review push resolves first): the other way would be a cycle
    assert "annotate.review" not in {module for module, _name in _imports(ROOT / "annotate" / "resolve.py")}


#: Every module of the package: none reaches into another's private names.
PACKAGE_MODULES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "annotate").rglob("*.py"))


@pytest.mark.parametrize("path", PACKAGE_MODULES)
def test_no_private_name_of_another_module_is_imported(path):
    private = [f"{m}.{n}" for m, n in _imports(ROOT / path) if m.startswith("annotate") and n.startswith("_")]
    assert private == []


def test_table_row_has_every_column_in_order_with_its_default():
    row = table_row({"item": "s1", "value": "a", "not_a_column": 1})
    assert list(row) == COLUMNS
    assert row["item"] == "s1" and row["value"] == "a"
    flags = ("was_cancelled", "ground_truth", "is_draft")
    assert all(row[c] is False for c in flags)
    assert all(row[c] is None for c in COLUMNS if c not in ("item", "value", *flags))
