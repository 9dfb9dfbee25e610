"""The ``annotate`` command line: one short function per command over the library.

This is the only place where errors become a line on stderr and an exit status: library
functions raise :class:`annotate.errors.AnnotateError`, which :class:`_Group` catches once,
prints as ``error: <message>`` and turns into exit status 2. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from annotate.errors import AnnotateError


class _Group(TyperGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AnnotateError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None


def _app(help: str) -> typer.Typer:
    return typer.Typer(
        cls=_Group,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )


app = _app("Sentence-level claim and stance annotation with Label Studio and scikit-learn.")
schema_app = _app("Check and inspect Label Studio configs in schemas/.")
app.add_typer(schema_app, name="schema")


def _echo(message: str) -> None:
    typer.echo(message)


# --- ingest ----------------------------------------------------------------------------


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files (.txt, .jsonl, .html) or folders of them.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Sentences JSONL to write.")] = Path("sentences.jsonl"),
) -> None:
    """Split documents into sentences with offsets, stable ids, context and hints."""
    from annotate.segment import ingest as run

    summary = run(paths, output, progress=_is_tty())
    _echo(f"ingested {summary}")


# --- the main job ----------------------------------------------------------------------


@app.command()
def quickstart(
    workdir: Annotated[Path, typer.Option(help="Where outputs of the main job go.")] = Path("out"),
) -> None:
    """The main job on the embedded default: ingest the sample corpus (more stages as they land)."""
    from annotate.quickstart import quickstart as run

    for line in run(workdir=workdir):
        _echo(line)


# --- schema ----------------------------------------------------------------------------


@schema_app.command("check")
def schema_check(
    path: Annotated[Path, typer.Argument(help="A Label Studio XML config.")],
) -> None:
    """Validate a config with the SDK's LabelInterface and print its fields and choices."""
    from annotate.schema import Schema

    schema = Schema.from_file(path)
    _echo(schema.describe())


def _is_tty() -> bool:
    import sys

    return sys.stderr.isatty()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
