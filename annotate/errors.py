"""Errors the library raises and the CLI turns into one line on stderr.

    AnnotateError               base: anything the user can fix
     +-- InputError             a file or value given by the user is wrong (path, line, hint)
     |    +-- SchemaError       a Label Studio config, or data that does not fit it
     +-- StudioError            Label Studio is unreachable, refuses the token, lacks a project...
     +-- ModelError             a model file is missing, untrusted, or from another schema

The CLI catches ``AnnotateError`` once (``annotate.cli``) and exits with status 2 for an
``InputError`` (the user's mistake) and 1 for a ``StudioError`` or ``ModelError`` (a server or
model failure); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["AnnotateError", "InputError", "SchemaError", "StudioError", "ModelError"]


class AnnotateError(Exception):
    """A problem the user can fix; ``str(err)`` is the whole one-line message."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = self.message.rstrip(".")
        if self.hint:
            text += f". {self.hint.rstrip('.')}"
        return text + "."


class InputError(AnnotateError):
    """Bad user input, located by file and (when it has lines) line number.

    >>> str(InputError("not valid JSON", path="a.jsonl", line=3, hint="fix or remove that line"))
    'a.jsonl:3: not valid JSON. fix or remove that line.'
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + super().__str__()


class SchemaError(InputError):
    """A labelling config is invalid, or data does not fit the config."""


class StudioError(AnnotateError):
    """Talking to Label Studio failed in a way the user can act on."""


class ModelError(AnnotateError):
    """A model file cannot be used: missing, untrusted, or trained for another schema."""
