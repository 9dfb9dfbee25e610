"""A throw-away PostgreSQL server on 127.0.0.1, for the test layer and the push/pull benchmark.

Not how a team runs PostgreSQL (they point ``annotate studio start --database`` at their own
server): this starts Debian's ``postgres`` binaries on a free loopback port with a fresh cluster
in a temporary directory, makes one role with a password and one database owned by it, and
removes everything on exit. ``initdb`` and ``postgres`` refuse to run as root, so as root they
run as the ``postgres`` system user (which the Debian package creates); as anyone else they run
as that user. The server is a child of this process and is asked to die with it (Linux
``PR_SET_PDEATHSIG``), so a killed test run leaves no server behind.

    with local_postgres() as pg:
        server.start(data_dir, database=pg.url)
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from annotate.errors import StudioError

__all__ = ["LocalPostgres", "local_postgres", "find_pg_bin"]

PG_BIN_ENV = "ANNOTATE_PG_BIN"
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _LIBC = None
INSTALL_HINT = "install Debian's PostgreSQL (`apt-get install postgresql`), or set ANNOTATE_PG_BIN to its bin dir"


@dataclass
class LocalPostgres:
    """A running throw-away server: its URL (password included) and where it lives."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    name: str
    root: Path
    pid: int

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"

    @property
    def display(self) -> str:
        """The URL without its password."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.name}"


def find_pg_bin() -> Path:
    """The directory holding ``initdb``, ``postgres`` and ``psql``: env var, newest Debian version, PATH."""
    candidates = [os.environ.get(PG_BIN_ENV, "")]
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(versions, key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
                         reverse=True)  # fmt: skip
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for c in candidates:
        if c and all((Path(c) / exe).is_file() for exe in ("initdb", "postgres", "psql")):
            return Path(c)
    raise StudioError("PostgreSQL's initdb/postgres/psql were not found", hint=INSTALL_HINT)


def _run_as() -> pwd.struct_passwd | None:
    """The user to run the server as: ``postgres`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise StudioError("running as root, and there is no `postgres` system user to run PostgreSQL as",
                          hint=INSTALL_HINT) from None  # fmt: skip


def _die_with_parent() -> None:
    """In the child, after the switch of user: SIGINT it (PostgreSQL's fast shutdown) when we die."""
    if _LIBC is not None:  # loaded beforehand: the postgres user may not read this Python's files
        _LIBC.prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_postgres(
    *, user: str = "annotate", name: str = "labelstudio", durable: bool = True, timeout: float = 60.0
) -> Iterator[LocalPostgres]:
    """Start a fresh PostgreSQL cluster on 127.0.0.1 (free port); yield it; stop it and delete it.

    ``durable=False`` turns off fsync and synchronous commit: fine for tests, whose data is thrown
    away, but not for figures meant to describe a real deployment (the benchmark keeps the default).
    Raises :class:`StudioError` (one line) when PostgreSQL is missing or does not start.
    """
    bindir = find_pg_bin()
    owner = _run_as()
    root = Path(tempfile.mkdtemp(prefix="annotate-pg-"))
    proc: subprocess.Popen | None = None
    ids = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []} if owner else {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no PGHOST etc. from outside
    env["LC_ALL"] = "C.UTF-8"
    if owner:
        os.chown(root, owner.pw_uid, owner.pw_gid)
        env["HOME"] = owner.pw_dir
    try:
        data, log = root / "data", root / "postgres.log"
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
             "--auth-local=trust", "--auth-host=scram-sha-256"],
            env=env, cwd=root, capture_output=True, text=True, **ids,
        )  # fmt: skip
        if init.returncode != 0:
            last = (init.stderr or init.stdout).strip().splitlines()[-1:] or ["no output"]
            raise StudioError(f"initdb failed: {last[0][:200]}", hint=INSTALL_HINT)
        port = _free_port()
        settings = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(root),
                    "max_connections": "100", "shared_buffers": "128MB"}  # fmt: skip
        if not durable:
            settings.update({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
        cmd = [str(bindir / "postgres"), "-D", str(data)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        with open(log, "ab") as fh:
            proc = subprocess.Popen(cmd, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh,
                                    start_new_session=True, preexec_fn=_die_with_parent, **ids)  # fmt: skip
        psql = [str(bindir / "psql"), "-h", str(root), "-p", str(port), "-U", "postgres", "-d", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q", "-X"]  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise StudioError(f"PostgreSQL exited while starting: {tail[0][:200]}", hint=f"see {log}")
            ok = subprocess.run(psql + ["-c", "select 1"], env=env, capture_output=True, **ids).returncode == 0
            if ok:
                break
            if time.monotonic() > deadline:
                raise StudioError(f"PostgreSQL did not accept connections within {timeout:.0f} s", hint=f"see {log}")
            time.sleep(0.2)
        password = secrets.token_urlsafe(16)  # URL-safe: no quoting needed in the URL
        # the password goes through stdin, never on a command line that `ps` shows
        sql = f"CREATE ROLE {user} LOGIN PASSWORD '{password}';\nCREATE DATABASE {name} OWNER {user};\n"
        made = subprocess.run(psql, input=sql, env=env, capture_output=True, text=True, **ids)
        if made.returncode != 0:
            raise StudioError(f"could not create the role and database: {made.stderr.strip()[:200]}")
        yield LocalPostgres("127.0.0.1", port, user, password, name, root, proc.pid)
    finally:
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients, stop
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)
