"""The ``annotate`` command line: one short function per command over the library.

This is the only place where errors become a line on stderr and an exit status: library
functions raise :class:`annotate.errors.AnnotateError`, which :class:`_Group` catches once and
prints as ``error: <message>``; bad input exits 2, a server or model failure 1
(:func:`exit_status`). A file that cannot be written (read-only, no permission, a file in place of
a folder, a full disk) is one line too. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from annotate.errors import AnnotateError, InputError, ModelError, StudioError
from annotate.progress import is_tty as _is_tty

# Typer 0.29 vendors its own copy of click, and older releases use click itself: take the usage
# error classes from the one typer raises rather than importing either by name.
_UsageError: type[Exception] = typer.BadParameter.__mro__[1]
_NoArgsIsHelp: tuple[type[Exception], ...] = tuple(
    cls for cls in [getattr(sys.modules[typer.BadParameter.__module__], "NoArgsIsHelpError", None)] if cls
)


class _OneLineUsageError(_UsageError):  # type: ignore[misc,valid-type]
    """A misspelt option or a value outside an option's choices: one line and exit 2, like bad input.

    Click would print the usage block, a hint and the error on four lines; the standard for a
    user's mistake here is one line that says what is wrong and what to do.
    """

    def show(self, file: Any = None) -> None:
        command = self.ctx.command_path if self.ctx is not None else "annotate"
        typer.echo(f"error: {self.format_message()} run `{command} --help` for the options.", err=True)


def _one_line(err: Exception) -> Exception:
    if isinstance(err, (_OneLineUsageError, *_NoArgsIsHelp)):
        return err
    message = err.format_message()  # type: ignore[attr-defined]
    message += "" if message.endswith((".", "?", "!")) else "."
    return _OneLineUsageError(message, ctx=err.ctx)  # type: ignore[attr-defined]


class _Group(TyperGroup):
    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any):
        # The settings of the desk folder (annotate.toml in this folder or a parent) become the
        # defaults of the options of the same name: flags and environment variables still win.
        if parent is None and "default_map" not in extra:
            from annotate.desk import default_map, find_desk

            try:
                extra["default_map"] = default_map(self, find_desk())
            except AnnotateError as err:
                typer.echo(f"error: {err}", err=True)
                raise typer.Exit(exit_status(err)) from None
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _UsageError as err:
            raise _one_line(err) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _UsageError as err:  # a sub-command's options are parsed here
            raise _one_line(err) from None
        except AnnotateError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(exit_status(err)) from None
        except OSError as err:
            if err.filename is None and err.errno not in _MACHINE_ERRNOS:
                raise  # not about a file the user named nor a full disk: a bug, keep the traceback
            typer.echo(f"error: {os_error_line(err)}", err=True)
            raise typer.Exit(exit_status(err)) from None


# errno values that say the machine failed (a full or broken disk), not the user's choice of path
_MACHINE_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EDQUOT}


def exit_status(err: BaseException) -> int:
    """2 for the user's mistake (bad input, an unwritable destination); 1 for a server, model or machine failure."""
    if isinstance(err, StudioError | ModelError):
        return 1
    if isinstance(err, OSError) and err.errno in _MACHINE_ERRNOS:
        return 1
    return 2


def os_error_line(err: OSError) -> str:
    """One line for a file the command could not read or write: where, what, what to do."""
    what = err.strerror or type(err).__name__
    if err.errno in _MACHINE_ERRNOS:
        hint = "free some space or write to another disk, then run the command again"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "choose a folder you can write to"
    elif err.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST):
        hint = "a file stands where a folder is needed, or the other way round: choose another path"
    else:
        hint = "check the path"
    where = f"{err.filename}: " if err.filename is not None else ""
    return f"{where}{what.lower()}. {hint}."


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


# the Dask scheduler: --dask, or ANNOTATE_DASK for a team whose commands all go to one cluster
_DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask",
        envvar="ANNOTATE_DASK",
        help="Dask scheduler address (tcp://HOST:PORT) to spread the work over [env: ANNOTATE_DASK].",
        show_envvar=False,
    ),
]


# predict and suggest: -j; by default every core only for a file big enough to pay for the workers' start
_AutoJobsOpt = Annotated[
    int | None,
    typer.Option(
        "-j",
        "--jobs",
        help="Local processes (-1: all cores). Default: all cores for a sentences file of 50 MB (about "
        "80,000 sentences) or more, one process below, where starting workers costs more than it saves.",
        show_default=False,
    ),
]


def _one_of(module: str, name: str) -> Any:
    """A callback that checks an option's value against the library's list ``module.name``.

    The check runs while the command line is parsed, before any file is read, and a wrong value is
    a usage error (one line, exit 2). The library is imported only then, so that ``--help`` and
    the other commands stay fast.
    """

    def check(value: str | None) -> str | None:
        allowed = list(getattr(importlib.import_module(module), name))
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"'{value}' is not one of: {', '.join(allowed)}")
        return value

    return check


_ResolveMethodOpt = typer.Option(
    "--method", help="majority or dawid-skene.", callback=_one_of("annotate.resolve", "METHODS")
)


def _echo(message: str) -> None:
    typer.echo(message)


# --- ingest ----------------------------------------------------------------------------


@app.command("init")
def init_command(
    folder: Annotated[Path, typer.Argument(help="The desk folder to create (or fill).")],
    project: Annotated[str | None, typer.Option(help="Project title [default: the folder's name].")] = None,
) -> None:
    """A desk folder: annotate.toml (settings every command reads), schema + targets, guidelines, articles/."""
    from annotate.desk import init_desk

    _echo(str(init_desk(folder, project)))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files (.txt, .jsonl, .html) or folders of them.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Sentences JSONL to write.")] = Path("sentences.jsonl"),
    jobs: Annotated[
        int,
        typer.Option(
            "-j",
            "--jobs",
            help="Local processes; default -1: all cores (an input of one chunk, 64 documents, runs in one). "
            "The output is byte-identical for every value.",
        ),
    ] = -1,
    dask: _DaskOpt = None,
) -> None:
    """Split documents into sentences with offsets, stable ids, context and hints (on all cores by default)."""
    from annotate.segment import ingest as run

    summary = run(paths, output, progress=_is_tty(), n_jobs=jobs, dask=dask)
    _echo(f"ingested {summary}")


# --- the main job ----------------------------------------------------------------------


@app.command()
def quickstart(
    workdir: Annotated[Path, typer.Option(help="Where outputs of the main job go.")] = Path("out"),
) -> None:
    """The main job on the embedded default: ingest the sample corpus, pre-annotate it, push it to Label Studio."""
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


# --- Label Studio: local server, push, pull ------------------------------------------------

studio_app = _app("Start, stop and check the local Label Studio server.")
app.add_typer(studio_app, name="studio")

_DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Local server data dir [default: .annotate/labelstudio in a checkout, else "
        "~/.local/share/annotate/labelstudio].",
    ),
]
_Url = Annotated[str | None, typer.Option("--url", help="Label Studio URL [env LABEL_STUDIO_URL; else local].")]
# the API token is never an option: a command line is visible to every user in `ps`
_TokenFile = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help="File (mode 0600) holding the API token [default: env LABEL_STUDIO_API_KEY, else the local "
        "server's token].",
    ),
]


def _connect(url: str | None, token_file: Path | None, data_dir: Path | None) -> Any:
    from annotate.credentials import read_token_file
    from annotate.studio.client import connect

    return connect(url, read_token_file(token_file) if token_file else None, data_dir=data_dir)


@studio_app.command("start")
def studio_start(
    data_dir: _DataDir = None,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 [default: previous, 8080, or free].")] = None,
    database: Annotated[
        str | None,
        typer.Option(
            help="sqlite, or postgresql://USER:PASSWORD@HOST:PORT/DBNAME for teams "
            "[default: $ANNOTATE_STUDIO_DATABASE, else what the data dir was started with, else sqlite].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the local server (127.0.0.1; sqlite or PostgreSQL), or reuse the running one; print URL and login."""
    from annotate.studio import server

    def say(line: str) -> None:  # waits and surprises, on stderr as they happen
        typer.echo(line, err=True)

    for line in server.start(data_dir, port=port, database=database, say=say).lines():
        _echo(line)


@studio_app.command("stop")
def studio_stop(data_dir: _DataDir = None) -> None:
    """Stop the local server started from the data dir."""
    from annotate.studio import server

    _echo("stopped Label Studio" if server.stop(data_dir) else "no local Label Studio was running")


@studio_app.command("status")
def studio_status(data_dir: _DataDir = None) -> None:
    """Say whether the local server runs, and where."""
    from annotate.studio import server

    info = server.status(data_dir)
    for line in info.lines() if info else ["no local Label Studio has been started (run `annotate studio start`)"]:
        _echo(line)


@app.command()
def push(
    sentences: Annotated[Path, typer.Argument(help="Sentences JSONL written by `annotate ingest`.")],
    schema: Annotated[Path | None, typer.Option(help="Label Studio XML config [default: claims_stance.xml].")] = None,
    targets: Annotated[Path | None, typer.Option(help="Targets TOML [default: beside the schema].")] = None,
    project: Annotated[str | None, typer.Option(help="Project title [default: the schema's file name].")] = None,
    predictions: Annotated[Path | None, typer.Option(help="Predictions JSONL to attach as pre-annotations.")] = None,
    model: Annotated[Path | None, typer.Option(help="A model folder: predict the sentences and attach them.")] = None,
    guidelines: Annotated[
        Path | None,
        typer.Option(help="Guidelines (Markdown) shown in the project [default: the packaged docs/guidelines.md]."),
    ] = None,
    hints: Annotated[bool, typer.Option("--hints", help="Pre-annotate Speaker spans from ingest's hints.")] = False,
    min_score: Annotated[
        str | None,
        typer.Option(
            "--min-score",
            help="Pre-fill only predictions scored at least this (0-1); the others show as hints. 'auto' (with "
            "--model): per field, the score from which the model was right 90% of the time in CV.",
        ),
    ] = None,
    matches: Annotated[
        Path | None, typer.Option(help="Matches JSONL (`annotate match`): show them and ask 'already checked'.")
    ] = None,
    match_threshold: Annotated[
        float, typer.Option(help="Pre-annotate 'Match 1' when its probability is at least this (with --matches).")
    ] = 0.9,
    order: Annotated[
        Path | None,
        typer.Option(help="`annotate suggest` output (or sentence ids): 'Label All Tasks' serves them first."),
    ] = None,
    group_duplicates: Annotated[
        bool, typer.Option("--group-duplicates", help="One task per cluster of near-identical sentences.")
    ] = False,
    duplicate_threshold: Annotated[
        float, typer.Option(help="Cosine similarity that joins two sentences (with --group-duplicates).")
    ] = 0.4,
    url: _Url = None,
    token_file: _TokenFile = None,
    data_dir: _DataDir = None,
) -> None:
    """Import sentences as tasks (once: a re-push adds only what is new), with schema and predictions."""
    from annotate.acceptance import prefill_gate
    from annotate.schema import Schema, default_schema_path
    from annotate.studio.push import check_prediction_source
    from annotate.studio.push import push as run

    parsed = Schema.from_file(schema or default_schema_path(), targets=targets)
    check_prediction_source(model, predictions)  # before connecting: a wrong call needs no server to say so
    prefill_gate(min_score, model)
    summary = run(
        _connect(url, token_file, data_dir),
        sentences,
        parsed,
        project=project,
        predictions=predictions,
        model=model,
        order=order,
        min_score=min_score,
        guidelines=guidelines,
        hints=hints,
        matches=matches,
        match_threshold=match_threshold,
        group_duplicates=group_duplicates,
        duplicate_threshold=duplicate_threshold,
        progress=_is_tty(),
    )
    _echo(str(summary))


@app.command()
def pull(
    project: Annotated[str, typer.Option(help="Project title.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for snapshots.")] = Path("annotations"),
    schema: Annotated[Path | None, typer.Option(help="Read results with this config [default: the project's].")] = None,
    url: _Url = None,
    token_file: _TokenFile = None,
    data_dir: _DataDir = None,
) -> None:
    """Export every annotation (skips, drafts, ground truth) to an immutable snapshot + flat table."""
    from annotate.schema import Schema
    from annotate.studio.pull import pull as run

    parsed = Schema.from_file(schema) if schema else None
    _echo(str(run(_connect(url, token_file, data_dir), project, output, schema=parsed, progress=_is_tty())))


# --- agreement, gold labels, reports ---------------------------------------------------

report_app = _app("Reports on pulled annotations, as self-contained HTML files.")
app.add_typer(report_app, name="report")

_AnnotationsArg = Annotated[Path, typer.Argument(help="Pulled annotations (the folder or file `annotate pull` wrote).")]
_SchemaOpt = Annotated[
    Path | None, typer.Option("--schema", help="The Label Studio config the annotations were made with.")
]


def _annotations_and_schema(path: Path, schema: Path | None) -> tuple[Any, Any]:
    from annotate.annotations import load_annotations
    from annotate.schema import Schema, default_schema_path
    from annotate.studio.matches import schema_for_table

    df = load_annotations(path)
    return df, schema_for_table(Schema.from_file(schema or default_schema_path()), df)


@app.command()
def agree(
    path: _AnnotationsArg,
    field: Annotated[str | None, typer.Option("--field", help="Only this field (default: all).")] = None,
    schema: _SchemaOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object (null where n/a).")] = False,
) -> None:
    """Agreement per field and annotator pair: observed, Cohen, Fleiss, Krippendorff alpha (95% CI), span F1.

    The stance field (the targets file's `field`) also gets a table per target, whenever it is in
    scope (all fields, or --field stance).
    """
    from annotate.agreement import summarize

    summary = summarize(*_annotations_and_schema(path, schema), field=field)
    _echo(summary.to_json() if json_ else str(summary))


@app.command("resolve")
def resolve_command(
    path: _AnnotationsArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Gold labels JSONL to write.")] = Path("gold.jsonl"),
    method: Annotated[str, _ResolveMethodOpt] = "majority",
    on_tie: Annotated[
        str,
        typer.Option(
            "--on-tie",
            help="conflict (list ties for review) or error.",
            callback=_one_of("annotate.resolve", "TIE_POLICIES"),
        ),
    ] = "conflict",
    review: Annotated[
        Path | None, typer.Option("--review", help="Reviewer answers (`annotate review pull`); they win.")
    ] = None,
    conflicts: Annotated[
        Path | None, typer.Option("--conflicts", help="Conflicts JSONL (default: <output>.conflicts.jsonl).")
    ] = None,
    min_annotators: Annotated[
        int, typer.Option("--min-annotators", help="Fewer votes go to the conflicts file, not to gold.")
    ] = 1,
    sentences: Annotated[
        Path | None, typer.Option("--sentences", help="sentences.jsonl: the text when no export is beside the table.")
    ] = None,
    schema: _SchemaOpt = None,
) -> None:
    """Gold labels per item and field, with their text; ties and hidden answers go to a conflicts file for review."""
    from annotate.resolve import resolve_annotations
    from annotate.schema import Schema, default_schema_path

    summary = resolve_annotations(
        path,
        Schema.from_file(schema or default_schema_path()),
        output,
        method=method,  # type: ignore[arg-type]
        on_tie=on_tie,  # type: ignore[arg-type]
        review=review,
        conflicts=conflicts,
        min_annotators=min_annotators,
        sentences=sentences,
    )
    _echo(str(summary))


@app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="A gold, conflicts, predictions or suggestions JSONL file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Spreadsheet to write: .csv or .tsv.")],
) -> None:
    """A JSONL file of the loop as a spreadsheet for editors (title, URL and text first)."""
    from annotate.export import export_spreadsheet

    _echo(str(export_spreadsheet(path, output)))


@report_app.command("agreement")
def report_agreement(
    path: _AnnotationsArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path("report.html"),
    sentences: Annotated[
        Path | None, typer.Option("--sentences", help="sentences.jsonl, to show the text of disputed items.")
    ] = None,
    schema: _SchemaOpt = None,
) -> None:
    """Self-contained HTML agreement report: tables, kappa heat map, confusion matrix, disputed items."""
    from annotate.agreement_report import report_file

    df, sch = _annotations_and_schema(path, schema)
    _echo(str(report_file(df, sch, output, sentences=sentences)))


# --- adjudication ------------------------------------------------------------------------

review_app = _app("Adjudicate conflicts in a separate Label Studio review project.")
app.add_typer(review_app, name="review")


@review_app.command("push")
def review_push_command(
    path: _AnnotationsArg,
    project: Annotated[str | None, typer.Option(help="Source project title [default: from the table].")] = None,
    review_project: Annotated[str | None, typer.Option(help="[default: '<project> (review)'].")] = None,
    method: Annotated[str, _ResolveMethodOpt] = "majority",
    schema: _SchemaOpt = None,
    url: _Url = None,
    token_file: _TokenFile = None,
    data_dir: _DataDir = None,
) -> None:
    """Send conflicting items to a review project, each annotator's answer shown as a prediction."""
    from annotate.review import review_push

    df, sch = _annotations_and_schema(path, schema)
    studio = _connect(url, token_file, data_dir)
    _echo(str(review_push(studio, df, sch, project=project, review_project=review_project, method=method)))


@review_app.command("pull")
def review_pull_command(
    project: Annotated[str, typer.Option(help="Review project title, e.g. 'claims_stance (review)'.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for snapshots.")] = Path("annotations"),
    schema: _SchemaOpt = None,
    url: _Url = None,
    token_file: _TokenFile = None,
    data_dir: _DataDir = None,
) -> None:
    """Snapshot the review project; write its answers as ground truth for `annotate resolve --review`."""
    from annotate.review import review_pull
    from annotate.schema import Schema

    parsed = Schema.from_file(schema) if schema else None
    _echo(str(review_pull(_connect(url, token_file, data_dir), project, output, schema=parsed)))


# --- models: train, predict, suggest ---------------------------------------------------

_ModelArg = Annotated[Path, typer.Argument(help="Model folder written by `annotate train -o`.")]
_SentencesArg = Annotated[Path, typer.Argument(help="Sentences JSONL written by `annotate ingest`.")]
_ModelSchemaOpt = Annotated[
    Path | None, typer.Option("--schema", help="The config the labels / model belong to [default: claims_stance.xml].")
]


def _schema(path: Path | None) -> Any:
    from annotate.schema import Schema, default_schema_path

    return Schema.from_file(path or default_schema_path())


def _model_schema(model: Path, path: Path | None) -> Any:
    """--schema if given, else the schema the model folder carries (its own targets), else the default."""
    from annotate.models.store import model_schema

    if path is not None:
        return _schema(path)
    return model_schema(model) or _schema(None)


@app.command("train")
def train_command(
    labels: Annotated[Path, typer.Argument(help="Labels: CSV/TSV/JSONL (text, label[, target, field]) or gold.jsonl.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder to write (models/NAME).")],
    schema: _ModelSchemaOpt = None,
    sentences: Annotated[
        Path | None, typer.Option("--sentences", help="sentences.jsonl, to join text to gold rows by sentence_id.")
    ] = None,
    field: Annotated[str | None, typer.Option("--field", help="Field of rows that name none.")] = None,
    n_splits: Annotated[int, typer.Option("--n-splits", help="Folds of the grouped cross-validation.")] = 5,
    min_per_class: Annotated[int, typer.Option("--min-per-class", help="Fewest labels a class may have.")] = 5,
    on_rare_class: Annotated[
        str,
        typer.Option(
            "--on-rare-class", help="error or drop.", callback=_one_of("annotate.models.train", "RARE_CLASS_POLICIES")
        ),
    ] = "error",
    learning_curve: Annotated[bool, typer.Option(help="Also score on 25/50/75% of each fold.")] = True,
    preset: Annotated[
        str,
        typer.Option(
            "--preset",
            help="Models to build: default, checkworthy (context, speaker), stance-tweet (per-target n-grams), "
            "stance-document (claim vs long text). See docs/models.md.",
            callback=_one_of("annotate.models.presets", "PRESETS"),
        ),
    ] = "default",
) -> None:
    """Train one calibrated model per schema field, with document-grouped CV, report and model card."""
    from annotate.models.train import train_file

    summary = train_file(
        labels,
        _schema(schema),
        output,
        sentences=sentences,
        field=field,
        n_splits=n_splits,
        min_per_class=min_per_class,
        on_rare_class=on_rare_class,
        learning_curve=learning_curve,
        preset=preset,
    )
    _echo(str(summary))


@app.command("predict")
def predict_command(
    model: _ModelArg,
    sentences: _SentencesArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Predictions JSONL to write.")] = Path(
        "predictions.jsonl"
    ),
    schema: _ModelSchemaOpt = None,
    targets: Annotated[
        str,
        typer.Option(
            "--targets",
            help="Stance targets: concerned (keywords) or all.",
            callback=_one_of("annotate.models.predict", "TARGET_MODES"),
        ),
    ] = "concerned",
    jobs: _AutoJobsOpt = None,
    dask: _DaskOpt = None,
) -> None:
    """Pre-annotations for `annotate push --predictions`: value, calibrated score, model_version."""
    from annotate.models.predict import predict_file

    summary = predict_file(
        model,
        sentences,
        output,
        _model_schema(model, schema),
        targets=targets,
        n_jobs=jobs,
        dask=dask,
        progress=_is_tty(),
    )
    _echo(str(summary))


@app.command("suggest")
def suggest_command(
    model: _ModelArg,
    sentences: _SentencesArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Suggestions JSONL to write.")] = Path(
        "suggestions.jsonl"
    ),
    k: Annotated[int, typer.Option("-k", help="How many to suggest.")] = 50,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="auto (rare-mix for a claim field, entropy for stance), rare-mix, margin+random, entropy, margin "
            "or least-confidence.",
            callback=_one_of("annotate.suggest", "METHODS"),
        ),
    ] = "auto",
    diversity: Annotated[
        float | None, typer.Option("--diversity", help="Skip sentences this TF-IDF-similar to one picked (0-1).")
    ] = None,
    field: Annotated[str | None, typer.Option("--field", help="Field whose model scores [default: claim].")] = None,
    exclude: Annotated[
        Path | None, typer.Option("--exclude", help="Labels table or gold.jsonl: its sentence_ids are left out.")
    ] = None,
    schema: _ModelSchemaOpt = None,
    pool: Annotated[
        int | None, typer.Option("--pool", help="With --diversity: the best N it walks [default: max(20k, 1000)].")
    ] = None,
    jobs: _AutoJobsOpt = None,
    dask: _DaskOpt = None,
) -> None:
    """Rank unlabelled sentences by model uncertainty (most informative first) and write the top k."""
    from annotate.suggest import suggest_file

    summary = suggest_file(
        model,
        sentences,
        output,
        _model_schema(model, schema),
        exclude_path=exclude,
        k=k,
        method=method,
        diversity=diversity,
        pool=pool,
        field=field,
        n_jobs=jobs,
        dask=dask,
        progress=_is_tty(),
    )
    _echo(str(summary))


# --- live model: ML backend ----------------------------------------------------------------


_AuthFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--auth-file",
        help="File (mode 0600) holding USER:PASS. Default: $ANNOTATE_SERVE_AUTH, then ~/.config/annotate/serve.auth.",
    ),
]
_NoAuthOpt = Annotated[bool, typer.Option("--no-auth", help="No credentials (loopback only; not recommended).")]


@app.command("serve")
def serve_command(
    models: Annotated[Path, typer.Option("--models", help="Folder of model versions (models/NAME/ folders).")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9090,
    auth_file: _AuthFileOpt = None,
    no_auth: _NoAuthOpt = False,
    schema: _ModelSchemaOpt = None,
    retrain_every: Annotated[
        int, typer.Option("--retrain-every", help="Retrain after this many new annotations (0: only on request).")
    ] = 10,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="Labels added to the annotations at every retrain.")
    ] = None,
    project: Annotated[list[int] | None, typer.Option("--project", help="Serve only this project id (repeat).")] = None,
    min_score: Annotated[
        str | None,
        typer.Option(
            "--min-score",
            help="Pre-fill only answers scored at least this (0-1); the others show as hints. 'auto': per label, "
            "the score from which the serving model was right 90% of the time in CV.",
        ),
    ] = None,
    queue_size: Annotated[
        int,
        typer.Option(
            "--queue-size",
            help="After each retrain, serve the new model's N most useful unlabelled tasks first in 'Label All "
            "Tasks' (sets the project's sampling to 'Uncertainty sampling'); 0: leave Label Studio's queue alone.",
        ),
    ] = 50,  # annotate.serve.live_queue.DEFAULT_QUEUE_SIZE (the CLI imports the serve package lazily)
    url: _Url = None,
    token_file: _TokenFile = None,
    data_dir: _DataDir = None,
) -> None:
    """Serve the models to Label Studio as an ML backend; learn from its annotations in the background.

    Every retrain reads the projects' current annotations from Label Studio (--url / --token-file /
    --data-dir as for `pull`; else the URL and token of Label Studio's own /setup call), plus the
    labels the serving model learned from and --labels, then re-orders each project's queue
    (--queue-size).
    """
    from annotate import credentials
    from annotate.schema import Schema
    from annotate.serve import LOOPBACK, Backend, require_extra, run
    from annotate.studio.client import connect

    # the token file is read once, now: a bad one is the user's mistake, said before serving starts
    token = credentials.read_token_file(token_file) if token_file else None
    if no_auth:
        if host not in LOOPBACK:
            raise InputError(f"--no-auth on {host}: without credentials `serve` listens on loopback only")
        auth = None
        _echo("serving without credentials: any local user can send annotations and retrain the model")
    else:
        creds, generated = credentials.for_server(auth_file)
        auth = creds.pair()
        if generated:
            _echo(f"credentials generated into {creds.source} (mode 0600; `annotate studio connect-model` reads them)")
        else:
            _echo(f"credentials from {creds.source}")
    _echo(f"serving {models} on http://{host}:{port} (Ctrl+C to stop)")
    require_extra()  # before the models folder is touched
    backend = Backend(
        models,
        schema=Schema.from_file(schema) if schema else None,
        retrain_every=retrain_every,
        labels=labels,
        projects=set(project) if project else None,
        studio=lambda: connect(url, token, data_dir=data_dir),
        min_score=min_score,
        queue_size=queue_size,
    )
    if queue_size:
        _echo(f"after each retrain, its {queue_size} most useful tasks go first in 'Label All Tasks' (0: off)")
    run(backend, host=host, port=port, basic_auth=auth)


@studio_app.command("connect-model")
def studio_connect_model(
    project: Annotated[str, typer.Option(help="Project title.")],
    model_url: Annotated[str, typer.Option("--model-url", help="URL of `annotate serve`.")] = "http://127.0.0.1:9090",
    title: Annotated[str, typer.Option(help="Backend title (the project's model_version names it).")] = "annotate",
    auth_file: _AuthFileOpt = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="The backend was started with --no-auth.")] = False,
    interactive: Annotated[bool, typer.Option(help="Use for interactive pre-annotation.")] = False,
    url: _Url = None,
    token_file: _TokenFile = None,
    data_dir: _DataDir = None,
) -> None:
    """Register `annotate serve` as the project's ML backend (once) and show its predictions."""
    from annotate import credentials
    from annotate.studio.connect_model import connect_model

    creds = None if no_auth else credentials.for_client(auth_file)
    studio = _connect(url, token_file, data_dir)
    summary = connect_model(
        studio,
        project,
        model_url,
        title=title,
        is_interactive=interactive,
        basic_auth=creds.pair() if creds else None,
    )
    _echo(str(summary))


# --- claim matching -------------------------------------------------------------------

_ArchiveOpt = Annotated[
    Path,
    typer.Option(
        "--archive",
        help="Checked claims: CSV/TSV/JSONL (id, claim[, title, verdict, url, date, publisher]), "
        "ClaimReview JSON-LD (.json/.jsonld/.html or a folder of them), or a gold.jsonl of `annotate resolve`.",
    ),
]
_ArchiveSentencesOpt = Annotated[
    Path | None,
    typer.Option("--archive-sentences", help="With a gold.jsonl archive: the sentences JSONL its labels were made on."),
]


@app.command("match")
def match_command(
    sentences: _SentencesArg,
    archive: _ArchiveOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Matches JSONL to write.")] = Path("matches.jsonl"),
    k: Annotated[int, typer.Option("-k", help="How many archive claims per sentence.")] = 5,
    index: Annotated[
        Path | None,
        typer.Option("--index", help="Folder for the archive's index (built once, updated as the archive grows)."),
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Build the --index folder anew.")] = False,
    reranker: Annotated[
        Path | None,
        typer.Option("--reranker", help="Re-ranker folder (`annotate fit-reranker`): calibrated probabilities."),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Claim model folder: match only the sentences it finds check-worthy.")
    ] = None,
    archive_sentences: _ArchiveSentencesOpt = None,
    jobs: Annotated[
        int,
        typer.Option(
            "-j",
            "--jobs",
            help="Local processes (-1: all cores); the index goes with every chunk of 512 sentences, so for a "
            "big archive prefer --dask. The output is byte-identical for every value.",
        ),
    ] = 1,
    dask: _DaskOpt = None,
) -> None:
    """Has it been checked already? The top k archive claims for each sentence, with probability, verdict and link."""
    from annotate.matching import match

    summary = match(
        sentences,
        archive,
        output,
        k=k,
        index=index,
        rebuild=rebuild,
        reranker=reranker,
        model=model,
        archive_sentences=archive_sentences,
        n_jobs=jobs,
        dask=dask,
        progress=_is_tty(),
    )
    _echo(str(summary))


@app.command("fit-reranker")
def fit_reranker_command(
    pairs: Annotated[
        Path,
        typer.Argument(
            help="Labelled pairs: a CheckThat! 2020 T2 split folder (tweets, qrels) or CSV/TSV/JSONL (text, claim_id)."
        ),
    ],
    archive: _ArchiveOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Re-ranker folder to write.")] = Path("reranker"),
    archive_sentences: _ArchiveSentencesOpt = None,
    matches: Annotated[
        Path | None,
        typer.Option(help="With a gold.jsonl as PAIRS: the matches file pushed with --matches."),
    ] = None,
) -> None:
    """Train the claim-matching re-ranker on sentences labelled with the archive claims they repeat."""
    from annotate.matching import fit_reranker_file

    _echo(str(fit_reranker_file(pairs, archive, output, archive_sentences=archive_sentences, matches=matches)))


# --- bench -----------------------------------------------------------------------------


@app.command()
def bench(
    name: Annotated[
        str, typer.Argument(help="semeval2016, fnc1, emergent, clef2019, claimbuster, clef2020-t2, or all.")
    ],
    train: Annotated[
        Path | None,
        typer.Option(help="Training file (CLEF-2019: folder of debates; clef2020-t2: the task folder)."),
    ] = None,
    test: Annotated[
        Path | None, typer.Option(help="Official test file (clef2020-t2: a folder as dev/); without it, a dev split.")
    ] = None,
    data: Annotated[Path, typer.Option(help="With 'all': folder holding the datasets.")] = Path("../shared/data"),
    output: Annotated[Path | None, typer.Option("-o", "--output", help="With 'all': Markdown file.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    fast: Annotated[bool, typer.Option(help="Subsample the training data (CI smoke run).")] = False,
    folds: Annotated[int | None, typer.Option(help="Without --test: k-fold CV instead of one dev split.")] = None,
) -> None:
    """Train the benchmark's model on --train and score --test (or a dev split) with its official metric."""
    import json

    from annotate.bench.run import run_all, run_benchmark
    from annotate.io import atomic_write

    if name == "all":
        table = run_all(data, fast=fast)
        if output is not None:
            with atomic_write(output) as fh:
                fh.write(table)
        _echo(table.rstrip("\n"))
        return
    if train is None:
        raise InputError(f"bench {name} needs --train", hint="give the training file (CLEF: its folder)")
    result = run_benchmark(name, train, test, fast=fast, folds=folds)
    _echo(json.dumps(result.to_dict()) if json_ else str(result))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
