"""Sentence files in: the one reader of ``annotate ingest`` output, checked line by line.

Push, predict, suggest, match, training with a gold table and the reports all read sentence
files here, so a missing file or a bad line gets the same message whichever command was given
it: the file, the line, which key is missing or of the wrong type, and what to do. What a
command needs of a line differs: push builds tasks from :data:`TASK_KEYS`, the models and
reports read :data:`TEXT_KEYS`.

>>> import json, pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "sentences.jsonl"
>>> _ = path.write_text(json.dumps({"sentence_id": "s1", "text": "Taxes rose."}) + "\\n")
>>> [(line, rec["text"]) for line, rec in read_sentence_lines(path)]
[(1, 'Taxes rose.')]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from annotate.errors import InputError
from annotate.io import read_jsonl

__all__ = ["TASK_KEYS", "TEXT_KEYS", "sentences_file", "read_sentence_lines"]

#: the keys (and their types) a sentence record needs to become a Label Studio task
TASK_KEYS: dict[str, type] = {"sentence_id": str, "doc_id": str, "text": str, "start": int, "end": int}
#: the keys (and their types) the models and reports read
TEXT_KEYS: dict[str, type] = {"sentence_id": str, "text": str}


def sentences_file(path: str | Path) -> Path:
    """``path``, which must be a file; else an :class:`InputError` that says how to make one."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such sentences file", path=path, hint="make one with `annotate ingest`")
    return path


def read_sentence_lines(
    path: str | Path,
    *,
    keys: dict[str, type] = TEXT_KEYS,
    duplicates: str = "keep",
    lines: Iterable[tuple[int, dict[str, Any]]] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for each sentence of a sentences JSONL, streaming, each one checked.

    ``keys``: the keys every record needs, with their types (:data:`TEXT_KEYS` or
    :data:`TASK_KEYS`); a missing, empty (``sentence_id``) or mistyped one raises
    :class:`InputError` naming file, line and key. ``duplicates``: what a ``sentence_id`` seen on
    an earlier line does: ``"keep"`` (both records are yielded) or ``"error"`` (raise, naming
    both lines). ``lines``: the file's lines already parsed (a chunk a worker process parsed);
    ``path`` then only names the file in messages. The file is checked at the call, the
    records as they are read.
    """
    if duplicates not in ("keep", "error"):
        raise ValueError(f"duplicates must be 'keep' or 'error'; got {duplicates!r}")
    if lines is None:
        lines = read_jsonl(sentences_file(path))
    return _checked(lines, Path(path), keys, duplicates == "error")


def _checked(
    lines: Iterable[tuple[int, dict[str, Any]]], path: Path, keys: dict[str, type], unique: bool
) -> Iterator[tuple[int, dict[str, Any]]]:
    seen: dict[str, int] = {}
    hint = f"give the output of `annotate ingest` (each line needs {', '.join(keys)})"
    for lineno, rec in lines:
        for key, typ in keys.items():
            value = rec.get(key)
            # bool is an int to isinstance, never an offset
            if not isinstance(value, typ) or isinstance(value, bool) or (key == "sentence_id" and not value):
                what = "missing" if key not in rec else "empty" if value == "" else f"not a {typ.__name__}"
                raise InputError(f"not a sentence record: '{key}' is {what}", path=path, line=lineno, hint=hint)
        if unique:
            sid = rec["sentence_id"]
            if sid in seen:
                raise InputError(
                    f"sentence_id '{sid}' already appears on line {seen[sid]}",
                    path=path,
                    line=lineno,
                    hint="re-run `annotate ingest`; ids must be unique",
                )
            seen[sid] = lineno
        yield lineno, rec
