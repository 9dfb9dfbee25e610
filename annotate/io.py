"""Files in and out: atomic writes, JSONL with line numbers, content hashes, snapshot names.

Every output of the toolkit goes through :func:`atomic_write`, so an interrupted command never
leaves a half-written file behind: the data goes to a temporary file in the same folder, which
is renamed over the target only once it is complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from annotate.errors import InputError

__all__ = [
    "atomic_write",
    "sweep_stale_temps",
    "temp_prefix",
    "ensure_not_input",
    "read_text",
    "read_jsonl",
    "parse_jsonl",
    "write_jsonl",
    "dumps",
    "sha256_hex",
    "file_hash",
    "utc_stamp",
    "utc_now",
]


# A temporary file (or a model folder being built) is named after its target, its host and its
# process: ``.<name>.<host>-<pid>.<random>.tmp`` (``.building``, ``.old``). A command killed with
# SIGKILL cannot remove its own, so the next write into the folder removes those of this host
# whose process is gone.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMP_RE = re.compile(r"^\..+\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[^.]+\.(?:tmp|building|old)$")


# the errors of a write() itself: a full disk, a quota, a file too big, a failing disk
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def temp_prefix(name: str) -> str:
    """The prefix of a temporary sibling of ``name`` (for ``mkstemp``/``mkdtemp``) that
    :func:`sweep_stale_temps` can tell apart once its process is gone."""
    return f".{name}.{_HOST}-{os.getpid()}."


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep_stale_temps(folder: str | Path) -> list[Path]:
    """Remove the temporary files that killed commands of this machine left in ``folder``.

    Only files named by :func:`atomic_write` on this host, whose process no longer runs, are
    removed: a write in progress, or one from another machine sharing the folder, is never touched.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if not (m and m["host"] == _HOST and not _process_alive(int(m["pid"]))):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it to ``path`` only if the block succeeds.

    Temporary files that a killed command left in the same folder are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(path.parent)
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename is None and err.errno in _WRITE_ERRNOS:
            # a write() that found the disk full names no file: name the output it was for
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise


def ensure_not_input(output: str | Path, *inputs: str | Path | None) -> None:
    """Refuse an ``output`` that is one of the ``inputs``, or lies inside an input folder.

    An input is never an output: ``ingest x.jsonl -o x.jsonl`` would replace the input with the
    output, and an output written into a folder of inputs becomes an input of the next run.
    Symlinks and hard links to an input count as the input.
    """
    out = Path(output)
    resolved = out.resolve()
    for given in inputs:
        if given is None:
            continue
        src = Path(given)
        same = resolved == src.resolve() or (out.exists() and src.exists() and os.path.samefile(out, src))
        inside = src.is_dir() and src.resolve() in resolved.parents
        if same or inside:
            where = "is the input" if same else f"is inside the input folder {src}"
            raise InputError(
                f"the output {where}", path=out, hint="write the output somewhere else: an input is never overwritten"
            )


def dumps(record: Any) -> str:
    """One JSON line: UTF-8 kept readable, key order as given, no trailing spaces."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records atomically as JSON lines; return how many were written."""
    n = 0
    with atomic_write(path) as fh:
        for record in records:
            fh.write(dumps(record) + "\n")
            n += 1
    return n


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text file, or raise an :class:`InputError` naming the line of a bad byte."""
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})",
            path=path,
            line=line,
            hint="re-save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def read_jsonl(path: str | Path, *, allow_empty: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each non-blank line of a JSONL file, streaming.

    Raises :class:`InputError` for invalid UTF-8, invalid JSON, a line that is not a JSON object,
    or (unless ``allow_empty``) a file with no records.
    """
    path = Path(path)
    n = 0
    with path.open("rb") as fh:
        for lineno, record in parse_jsonl(fh, path):
            n += 1
            yield lineno, record
    if n == 0 and not allow_empty:
        raise InputError("file is empty (no JSON lines)", path=path, hint="give a file with at least one record")


def parse_jsonl(lines: Iterable[bytes], path: str | Path, *, start: int = 1) -> Iterator[tuple[int, dict[str, Any]]]:
    """:func:`read_jsonl` of raw lines numbered from ``start`` (a slice of a file, e.g. in a worker process)."""
    for lineno, raw in enumerate(lines, start=start):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputError(
                f"not valid UTF-8 (byte 0x{raw[err.start]:02x})",
                path=path,
                line=lineno,
                hint="re-save the file as UTF-8",
            ) from None
        if lineno == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(
                f"not valid JSON ({err.msg} at column {err.colno})",
                path=path,
                line=lineno,
                hint="each line must be one JSON object; fix or remove that line",
            ) from None
        if not isinstance(record, dict):
            raise InputError(
                f"expected a JSON object, got {type(record).__name__}",
                path=path,
                line=lineno,
                hint="each line must be one JSON object",
            )
        yield lineno, record


def sha256_hex(data: bytes | str, length: int = 16) -> str:
    """Short, stable content hash used for ids and provenance."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:length]


def file_hash(path: str | Path, length: int = 16) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]


def utc_stamp(now: dt.datetime | None = None) -> str:
    """A sortable, filename-safe UTC timestamp, e.g. ``20261125T120544.123456Z``."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def utc_now() -> str:
    """The current UTC time in ISO 8601 to the second, e.g. ``2026-11-25T12:05:44+00:00``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
