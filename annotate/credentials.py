"""The credentials `annotate serve` requires and `studio connect-model` hands to Label Studio.

A secret never travels on a command line (any local user can read ``/proc/*/cmdline``) and never
sits in a file others can read. Both commands find the ``USER:PASS`` pair the same way, first
hit wins:

1. the environment variable ``ANNOTATE_SERVE_AUTH``;
2. ``--auth-file FILE``, a file only its owner can read (mode 0600 or stricter);
3. the default file ``$XDG_CONFIG_HOME/annotate/serve.auth`` (``~/.config/...``).

When none exists, ``serve`` generates a random secret into the default file (0600) and
``connect-model``, run by the same user, reads it from there: the backend is never open by
default. ``--no-auth`` opts out explicitly (loopback only, see :mod:`annotate.serve`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from annotate.errors import InputError

__all__ = ["ENV_VAR", "Credentials", "default_file", "for_server", "for_client", "parse"]

ENV_VAR = "ANNOTATE_SERVE_AUTH"
_USER = "annotate"


@dataclass(frozen=True)
class Credentials:
    """A user and password, and where they came from; ``repr`` and ``str`` never show the password."""

    user: str
    password: str
    source: str

    def pair(self) -> tuple[str, str]:
        return self.user, self.password

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password='***', source={self.source!r})"

    __str__ = __repr__


def default_file() -> Path:
    """``$XDG_CONFIG_HOME/annotate/serve.auth``, or ``~/.config/annotate/serve.auth``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "annotate" / "serve.auth"


def parse(value: str, where: str) -> tuple[str, str]:
    """``USER:PASS`` -> (user, password); an :class:`InputError` naming ``where`` otherwise."""
    user, sep, password = value.strip().partition(":")
    if not sep or not user or not password:
        raise InputError(
            f"{where}: credentials must be USER:PASS on one line",
            hint=f"e.g. export {ENV_VAR}=annotate:$(openssl rand -hex 16)",
        )
    return user, password


def read_secret_file(path: str | Path, holds: str = "USER:PASS") -> str:
    """The text of a secret's file, refused unless only its owner can read it (mode 0600).

    One rule for every secret given as a file (``serve --auth-file``, ``--token-file``): a
    secret on a command line is visible to every user of the machine in ``ps``, and one in a
    file others can read is no better.
    """
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError("not a file", path=path, hint=f"give a file holding {holds}")
        if info.st_mode & 0o077:
            raise InputError(
                f"others can read this credentials file (mode {stat.S_IMODE(info.st_mode):04o})",
                path=path,
                hint=f"chmod 600 {path}",
            )
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError("no such credentials file", path=path, hint=f"give a file holding {holds}") from None
    except (PermissionError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the credentials file ({err.__class__.__name__})", path=path) from None


def read_token_file(path: str | Path) -> str:
    """A Label Studio API token from a 0600 file (``--token-file``): its one non-empty line."""
    token = read_secret_file(path, "the API token").strip()
    if not token or "\n" in token:
        raise InputError("a token file holds the API token on one line", path=path, hint="write only the token")
    return token


def _read_private(path: Path) -> tuple[str, str]:
    return parse(read_secret_file(path), str(path))


def _generate(path: Path) -> None:
    """Write a new random secret to ``path``, mode 0600 from the start, never over an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{_USER}:{secrets.token_urlsafe(24)}\n"
    # Written whole into a private temp file, then hard-linked into place: link() fails if the
    # name exists, so two servers starting at once both end up reading the one complete secret
    # that won, never a half-written file.
    fd, tmp = tempfile.mkstemp(prefix=".serve.auth.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _lookup(auth_file: str | Path | None) -> Credentials | None:
    value = os.environ.get(ENV_VAR)
    if value:
        return Credentials(*parse(value, ENV_VAR), source=ENV_VAR)
    if auth_file is not None:
        path = Path(auth_file)
        return Credentials(*_read_private(path), source=str(path))
    path = default_file()
    if path.exists():
        return Credentials(*_read_private(path), source=str(path))
    return None


def for_server(auth_file: str | Path | None = None) -> tuple[Credentials, bool]:
    """The credentials ``serve`` requires, and whether they were generated just now."""
    found = _lookup(auth_file)
    if found is not None:
        return found, False
    path = default_file()
    _generate(path)
    return Credentials(*_read_private(path), source=str(path)), True


def for_client(auth_file: str | Path | None = None) -> Credentials | None:
    """The credentials ``connect-model`` hands to Label Studio; None when none are configured."""
    return _lookup(auth_file)
