"""docs/cli.md is what ``annotate --help`` and every subcommand's ``--help`` print now."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def _script():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date():
    script = _script()
    expected = script.generate()
    assert "## annotate studio connect-model" in expected and "Usage: annotate ingest" in expected
    written = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert written == expected, "docs/cli.md differs from the commands' --help: run python scripts/cli_reference.py"


def test_cli_reference_lists_every_command():
    import typer

    from annotate.cli import app

    reference = (ROOT / "docs" / "cli.md").read_text("utf-8")

    def walk(cmd, path: str):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    for path in walk(typer.main.get_command(app), "annotate"):
        assert f"\n## {path}\n" in reference, f"docs/cli.md has no section for `{path}`"
