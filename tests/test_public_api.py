"""The public surface: every name in annotate.__all__ resolves, and every command has help."""

from __future__ import annotations

import annotate


def test_every_public_name_resolves():
    for name in annotate.__all__:
        assert getattr(annotate, name) is not None, name


def test_every_command_has_help_text():
    import typer

    from annotate.cli import app

    root = typer.main.get_command(app)

    def walk(cmd, path: str):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, f"{path} {name}")
        else:
            yield path, cmd

    commands = list(walk(root, "annotate"))
    assert len(commands) >= 15
    for path, cmd in commands:
        assert (cmd.help or "").strip(), f"{path} has no help text"


def test_commands_doc_lists_every_top_level_command():
    import typer

    from annotate.cli import app
    from tests.conftest import ROOT

    commands = (ROOT / "docs" / "commands.md").read_text("utf-8")
    for name in typer.main.get_command(app).commands:
        assert f"`annotate {name}" in commands, f"docs/commands.md does not describe `annotate {name}`"
