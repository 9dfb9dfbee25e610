"""A desk folder that remembers its settings: ``annotate init DIR`` and ``annotate.toml``.

A desk works on its own articles, with its own stance targets, its own guidelines and its own
Label Studio project. ``annotate init DIR`` writes::

    DIR/annotate.toml                     the settings every command reads
    DIR/schema/claims_stance.xml          a copy of the default schema ...
    DIR/schema/claims_stance.targets.toml ... with a targets template to edit
    DIR/guidelines.md                     the annotators' guidelines (shown inside Label Studio)
    DIR/articles/                         the desk's articles (.txt, .md, .html)

Every command run in DIR or below finds ``annotate.toml`` (in the current folder or the nearest
parent) and takes from it what the command line does not say. Precedence, highest first:

1. a flag on the command line;
2. an environment variable (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``, ``ANNOTATE_DASK``);
3. ``annotate.toml``;
4. the built-in default (the packaged schema, ``.annotate/labelstudio``...).

Paths in ``annotate.toml`` are relative to its folder. The API token is never kept there: it
comes from ``LABEL_STUDIO_API_KEY`` or the local server's private token file.

The settings reach the commands as click's ``default_map`` (see :func:`default_map`), so a
command's own code does not change: a setting is the default of the option of the same name.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotate.errors import InputError
from annotate.io import atomic_write

__all__ = ["CONFIG_NAME", "Desk", "InitSummary", "find_desk", "init_desk", "default_map"]

CONFIG_NAME = "annotate.toml"

# the settings of annotate.toml: each is the default of the command option (parameter) of its name
_OPTIONS = frozenset({"schema", "targets", "guidelines", "project", "models", "url", "data_dir"})
_PATHS = {"schema", "targets", "guidelines", "models", "data_dir"}
# Commands whose --schema defaults to the model's own schema (its card), not the desk's: a desk
# setting there would hide a model trained for another schema instead of refusing it.
_MODEL_SCHEMA_COMMANDS = {"predict", "suggest", "serve"}
# --project of `serve` is a list of project ids, not a title
_PROJECT_IDS = {"serve"}


@dataclass
class Desk:
    """The settings of one desk folder (``annotate.toml``), paths made absolute."""

    root: Path
    settings: dict[str, Any] = field(default_factory=dict)


def _load(path: Path) -> Desk:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not valid TOML ({err})", path=path, hint="fix the file, or move it away") from None
    ls = raw.pop("label_studio", {})
    if not isinstance(ls, dict):
        raise InputError("[label_studio] must be a table", path=path, hint='e.g. [label_studio] url = "http://..."')
    flat = {**raw, **{k: v for k, v in ls.items() if k in ("url", "data_dir")}}
    if "token" in ls or "token" in raw or "api_key" in ls:
        raise InputError(
            "an API token does not belong in annotate.toml (a file others may read or commit)",
            path=path,
            hint="remove it; set LABEL_STUDIO_API_KEY instead",
        )
    unknown = sorted(set(flat) - _OPTIONS)
    if unknown:
        raise InputError(
            f"unknown setting(s): {', '.join(unknown)}",
            path=path,
            hint=f"known: {', '.join(sorted(_OPTIONS))} (url and data_dir under [label_studio])",
        )
    settings: dict[str, Any] = {}
    for key, value in flat.items():
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"'{key}' must be a non-empty string", path=path)
        settings[key] = str((path.parent / value).resolve()) if key in _PATHS else value
    return Desk(path.parent.resolve(), settings)


def find_desk(start: str | Path | None = None) -> Desk | None:
    """The ``annotate.toml`` of ``start`` (default: the current folder) or its nearest parent."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return _load(candidate)
    return None


def default_map(command: Any, desk: Desk | None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """click's ``default_map`` for the command tree under ``command``: each desk setting becomes
    the default of the option of the same name, where the command has one.

    An environment variable outranks the desk: with ``LABEL_STUDIO_URL`` set, ``url`` is left to it.
    """
    if desk is None:
        return {}
    env = os.environ if env is None else env
    settings = dict(desk.settings)
    if env.get("LABEL_STUDIO_URL"):
        settings.pop("url", None)

    def walk(cmd: Any, name: str) -> dict[str, Any]:
        sub = getattr(cmd, "commands", None)
        if sub is not None:
            return {n: m for n, c in sub.items() if (m := walk(c, n))}
        names = {p.name for p in cmd.params}
        out = {}
        for option, value in settings.items():
            if option not in names:
                continue
            if option == "schema" and name in _MODEL_SCHEMA_COMMANDS:
                continue
            if option == "project" and name in _PROJECT_IDS:
                continue
            out[option] = value
        return out

    return walk(command, "")


# --- annotate init -----------------------------------------------------------------------------------

_CONFIG_TEMPLATE = """\
# The settings of this desk. Every `annotate` command run in this folder (or below) reads them;
# a flag on the command line, then an environment variable, wins over them. Paths are relative
# to this file. The API token never goes here: set LABEL_STUDIO_API_KEY, or let `annotate studio
# start` keep the local server's token in its private data dir.

project = "{project}"                      # the Label Studio project title
schema = "schema/claims_stance.xml"       # its stance targets: schema/claims_stance.targets.toml
guidelines = "guidelines.md"              # shown to annotators inside Label Studio
models = "models"                         # `annotate train -o models/NAME`, `annotate serve`

[label_studio]
data_dir = ".annotate/labelstudio"        # the local server of this desk (`annotate studio start`)
# url = "https://labelstudio.example.org" # or a server elsewhere (token: LABEL_STUDIO_API_KEY)
"""

_TARGETS_TEMPLATE = """\
# The stance targets of this desk: one Label Studio task is made per sentence x target for the
# targets that concern the sentence (a keyword in it or its neighbours; no keywords: every
# sentence). Keep the `field` line: it names the schema field the targets belong to.
# Edit, add or remove [[targets]]; `annotate schema check` checks the file.
field = "stance"

[[targets]]
id = "example-target"
name = "An example target: replace me"
description = "What the target is. FAVOR = the sentence supports it; AGAINST = it opposes or denies it."
keywords = ["example"]
"""

_GUIDELINES_NOTE = """\
> **Desk note.** These guidelines were copied from annotate's defaults by `annotate init`. Their
> worked examples come from annotate's sample article: replace them with sentences from your own
> articles and targets. Label Studio shows this file (plus the schema's keys and targets) under
> "Labeling Instructions" of the projects `annotate push` makes.

"""


@dataclass
class InitSummary:
    """What :func:`init_desk` wrote."""

    root: Path
    written: list[Path]

    def __str__(self) -> str:
        files = "\n".join(f"  {p.relative_to(self.root)}" for p in self.written)
        return (
            f"desk ready in {self.root}:\n{files}\n"
            "next: put articles in articles/, edit schema/claims_stance.targets.toml and guidelines.md, then\n"
            f"  cd {self.root} && annotate ingest articles -o sentences.jsonl && annotate studio start "
            "&& annotate push sentences.jsonl"
        )


def init_desk(folder: str | Path, project: str | None = None) -> InitSummary:
    """Write a desk folder (see the module docstring); refuse to overwrite any file in it."""
    from annotate.guidelines import default_guidelines_path
    from annotate.schema import default_schema_path

    root = Path(folder).resolve()
    if root.exists() and not root.is_dir():
        raise InputError("a file stands where the desk folder goes", path=root, hint="choose another folder")
    project = project or root.name
    if '"' in project or "\n" in project:
        raise InputError(f"project title {project!r} holds a quote or a line break", hint="choose a plainer title")
    files = {
        root / CONFIG_NAME: _CONFIG_TEMPLATE.format(project=project),
        root / "schema" / "claims_stance.xml": default_schema_path().read_text("utf-8"),
        root / "schema" / "claims_stance.targets.toml": _TARGETS_TEMPLATE,
        root / "guidelines.md": _GUIDELINES_NOTE + default_guidelines_path().read_text("utf-8"),
    }
    there = [p for p in files if p.exists()]
    if there:
        raise InputError(
            "already a desk here: init never overwrites a file",
            path=there[0],
            hint="edit the files, or init another folder",
        )
    for path, text in files.items():
        with atomic_write(path) as fh:
            fh.write(text)
    (root / "articles").mkdir(exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    return InitSummary(root, [*files, root / "articles", root / "models"])
