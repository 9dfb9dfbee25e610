"""Start, stop and query a local Label Studio server: the embedded default.

The server runs from its own venv (``.annotate/server-venv``, made by ``scripts/install.sh``)
because its pins (e.g. ``pytz<2023``) conflict with the toolkit. It listens on 127.0.0.1 only
and keeps everything in one data dir (default ``.annotate/labelstudio/`` in the repository; an
installed package uses ``~/.local/share/annotate/labelstudio/`` instead, see :func:`default_data_dir`).
Its database is sqlite, or, for teams with many annotators, a PostgreSQL database given as
``database="postgresql://user:password@host:port/name"`` (``annotate studio start --database``
or the ``ANNOTATE_STUDIO_DATABASE`` environment variable, which keeps the password out of the
shell history). A data dir stays bound to the database of its first successful start (its
admin login and token are that database's), and one database serves one data dir::

    <data dir>/
      label_studio.sqlite3   the sqlite database (made by Label Studio; absent on PostgreSQL)
      database               the PostgreSQL URL, password included (mode 0600; absent on sqlite)
      server.json            url, port, pid, admin login of the running server
      server.pid             pid of the server process
      server.log             its stdout and stderr
      token                  the admin's API token (mode 0600)
      admin.json             the admin's email and password (mode 0600)

The admin user and a legacy API token are created headlessly on the first start
(``LABEL_STUDIO_USER_TOKEN`` + ``LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN``, recipe 6.4 A in
``../shared/notes/labelstudio.md``): legacy tokens are disabled for new organisations unless
that flag is set when the organisation is created.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx

from annotate.errors import InputError, StudioError

__all__ = [
    "ServerInfo",
    "default_data_dir",
    "find_binary",
    "start",
    "stop",
    "status",
    "read_token",
    "mask",
    "set_password",
    "Database",
    "parse_database",
]

# the checkout the package runs from (``make start``), if it is one: its .annotate/ holds the server
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT = 8080
ADMIN_EMAIL = "admin@annotate.local"
BIN_ENV = "ANNOTATE_LABEL_STUDIO_BIN"
DATABASE_ENV = "ANNOTATE_STUDIO_DATABASE"


@dataclass
class ServerInfo:
    """What ``start`` and ``status`` report about a local server."""

    url: str
    port: int
    pid: int | None
    data_dir: str
    email: str
    token_file: str
    running: bool
    reused: bool = False
    database: str = "sqlite"  # "sqlite", or the PostgreSQL URL without its password
    #: why the server is not on the port it was expected on (8080 or its previous one)
    port_note: str | None = None

    def lines(self) -> list[str]:
        state = "running" if self.running else "stopped"
        return ([f"NOTE: {self.port_note}"] if self.port_note else []) + [
            f"Label Studio {state} at {self.url}" + (" (reused)" if self.reused else "") + f", pid {self.pid}",
            f"database: {self.database}",
            f"login: {self.email} (password in {Path(self.data_dir) / 'admin.json'})",
            f"API token stored in {self.token_file}",
            f"data dir: {self.data_dir}; log: {Path(self.data_dir) / 'server.log'}",
        ]


def mask(token: str | None) -> str:
    """A token shortened for messages: never print a token in full."""
    if not token:
        return "<none>"
    return f"{token[:4]}…{token[-2:]}" if len(token) > 10 else "****"


@dataclass(frozen=True)
class Database:
    """Where Label Studio keeps its data: sqlite in the data dir, or a PostgreSQL database."""

    engine: str = "sqlite"  # "sqlite" or "postgresql"
    user: str = ""
    password: str = field(default="", repr=False)
    host: str = ""
    port: int = 5432
    name: str = ""

    @property
    def display(self) -> str:
        """The URL without its password: safe for messages, logs and ``server.json``."""
        if self.engine == "sqlite":
            return "sqlite"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.name}"

    @property
    def url(self) -> str:
        """The full URL, password included (kept only in the 0600 ``database`` file)."""
        if self.engine == "sqlite":
            return "sqlite"
        auth = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        host = self.host if not self.host.startswith("/") else ""
        query = f"?host={quote(self.host, safe='')}" if self.host.startswith("/") else ""
        return f"postgresql://{auth}@{host}:{self.port}/{quote(self.name, safe='')}{query}"

    def env(self) -> dict[str, str]:
        """Label Studio's settings for this database (``core/settings/base.py``: DJANGO_DB, POSTGRE_*)."""
        if self.engine == "sqlite":
            return {"DJANGO_DB": "sqlite"}
        return {
            "DJANGO_DB": "postgresql",
            "POSTGRE_NAME": self.name,
            "POSTGRE_USER": self.user,
            "POSTGRE_PASSWORD": self.password,
            "POSTGRE_HOST": self.host,
            "POSTGRE_PORT": str(self.port),
        }


def parse_database(url: str | None) -> Database:
    """``"sqlite"`` (or empty) or ``postgresql://user[:password]@host[:port]/name``.

    The password may also come from ``PGPASSWORD``; a Unix socket directory goes in
    ``?host=/var/run/postgresql``. Raises :class:`StudioError` naming what is wrong.
    """
    if not url or url.strip().lower() == "sqlite":
        return Database()
    parts = urlsplit(url.strip())
    shown = f"{parts.scheme}://{parts.username or ''}@{parts.hostname or ''}{parts.path}"
    hint = "write it as postgresql://USER:PASSWORD@HOST:PORT/DBNAME (or `sqlite`)"
    if parts.scheme not in ("postgresql", "postgres"):
        raise InputError(f"unsupported database {shown!r}: only sqlite and postgresql are supported", hint=hint)
    host = parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
    name = unquote(parts.path.lstrip("/"))
    try:
        port = parts.port or 5432
    except ValueError:
        raise InputError(f"the database URL {shown!r} has a port that is not a number", hint=hint) from None
    if not host or not name or "/" in name or not parts.username:
        raise InputError(f"the database URL {shown!r} needs a user, a host and a database name", hint=hint)
    password = unquote(parts.password) if parts.password else os.environ.get("PGPASSWORD", "")
    return Database("postgresql", unquote(parts.username), password, host, port, name)


def _database(data_dir: Path, wanted: Database | None) -> tuple[Database, bool]:
    """The data dir's database and whether the data dir is bound to it yet.

    A data dir is bound to the database of its first successful start: the ``database`` file
    (PostgreSQL) or ``label_studio.sqlite3``. Asking for another one is refused, because the
    token and admin login kept here belong to that database's users. A failed first start
    binds nothing, so a mistyped URL can simply be corrected.
    """
    stored_file = data_dir / "database"
    if stored_file.is_file():
        stored: Database | None = parse_database(stored_file.read_text("utf-8").strip())
    elif (data_dir / "label_studio.sqlite3").is_file():
        stored = Database()
    else:
        stored = None
    if stored is None:
        return wanted or Database(), False
    if wanted is not None and wanted.display != stored.display:
        raise InputError(
            f"the data dir {data_dir} belongs to the database {stored.display}, not {wanted.display}",
            hint="start the other database with its own --data-dir",
        )
    if wanted is not None and wanted.password and wanted.password != stored.password:
        return wanted, False  # a changed password: remembered once the server starts with it
    return stored, True


def _bind(data_dir: Path, db: Database) -> None:
    """Remember the PostgreSQL URL (password included, mode 0600) once the server came up on it."""
    if db.engine != "sqlite":
        _write_private(data_dir / "database", db.url + "\n")


def _reachable(db: Database, timeout: float = 5.0) -> None:
    """Fail early, in one line, when nothing listens where the PostgreSQL server should be."""
    if db.engine == "sqlite":
        return
    try:
        if db.host.startswith("/"):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(timeout)
                s.connect(os.path.join(db.host, f".s.PGSQL.{db.port}"))
        else:
            socket.create_connection((db.host, db.port), timeout=timeout).close()
    except OSError as err:
        raise StudioError(
            f"cannot reach PostgreSQL at {db.display} ({err.strerror or err})",
            hint="start the PostgreSQL server, or check host and port in --database",
        ) from None


def _state_dir() -> Path:
    """``.annotate`` of the checkout, or for an installed package ``$XDG_DATA_HOME/annotate``.

    An installed package sits in site-packages (no ``pyproject.toml`` beside it) and must not
    write there, so it keeps the local server in the user's data dir (``~/.local/share/annotate``).
    """
    if (ROOT / "pyproject.toml").is_file():
        return ROOT / ".annotate"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "annotate"


def default_data_dir() -> Path:
    """``.annotate/labelstudio`` in the checkout (git-ignored); installed, in the user's data dir."""
    return _state_dir() / "labelstudio"


def find_binary(binary: str | Path | None = None) -> str:
    """The ``label-studio`` executable: argument, env var, the checkout's server venv, then PATH."""
    explicit = binary or os.environ.get(BIN_ENV)
    if explicit:  # asked for by name: never fall back silently to another server
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return str(explicit)
        raise StudioError(f"no label-studio executable at {explicit}", hint="fix the path, or run `make start`")
    local = _state_dir() / "server-venv" / "bin" / "label-studio"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("label-studio")
    if found:
        return found
    raise StudioError(
        "the Label Studio server is not installed (no .annotate/server-venv/bin/label-studio, none on PATH)",
        hint="run `make start` or `bash scripts/install.sh`, or set ANNOTATE_LABEL_STUDIO_BIN",
    )


def _write_private(path: Path, text: str) -> None:
    """Write a secret file readable by the owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_token(data_dir: str | Path | None = None) -> str | None:
    """The admin token of the local server in ``data_dir``, or None if there is none."""
    path = Path(data_dir or default_data_dir()) / "token"
    return path.read_text("utf-8").strip() if path.is_file() else None


def _credentials(data_dir: Path) -> tuple[str, str, str]:
    """(email, password, token) for the admin, generated once and kept in the data dir."""
    cred_file, token_file = data_dir / "admin.json", data_dir / "token"
    if cred_file.is_file() and token_file.is_file():
        cred = json.loads(cred_file.read_text("utf-8"))
        return cred["email"], cred["password"], token_file.read_text("utf-8").strip()
    email, password, token = ADMIN_EMAIL, secrets.token_urlsafe(12), secrets.token_hex(20)
    _write_private(cred_file, json.dumps({"email": email, "password": password}) + "\n")
    _write_private(token_file, token + "\n")
    return email, password, token


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    with contextlib.suppress(OSError):  # a zombie child counts as gone
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


def _is_label_studio(pid: int) -> bool:
    """Guard against a recycled pid: only ever signal a process that runs label-studio."""
    try:
        return b"label-studio" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as the server will: a port left in TIME_WAIT by the previous run is free, a listener is not
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_state(data_dir: Path) -> dict | None:
    path = data_dir / "server.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def status(data_dir: str | Path | None = None) -> ServerInfo | None:
    """The local server of ``data_dir`` (running or not), or None if it was never started."""
    data_dir = Path(data_dir or default_data_dir()).resolve()
    state = _read_state(data_dir)
    if state is None:
        return None
    running = _alive(state.get("pid")) and _healthy(state["url"])
    return ServerInfo(
        url=state["url"],
        port=state["port"],
        pid=state.get("pid") if running else None,
        data_dir=str(data_dir),
        email=state.get("email", ADMIN_EMAIL),
        token_file=str(data_dir / "token"),
        running=running,
        database=state.get("database", "sqlite"),
    )


# LS reads its settings as LABEL_STUDIO_X, HEARTEX_X, then bare X: none may leak in from outside
_LS_SETTINGS = ("LABEL_STUDIO_", "HEARTEX_", "DJANGO_DB", "POSTGRE_", "DATABASE_NAME", "MYSQL_")


def _base_env(data_dir: Path, db: Database) -> dict[str, str]:
    """The environment every Label Studio command of ``data_dir`` runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LS_SETTINGS)}
    # Label Studio sends error reports to a third-party service by default (SENTRY_DSN and
    # FRONTEND_SENTRY_DSN in its settings); empty values turn both off: nothing leaves the machine
    env.update({"LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "LATEST_VERSION_CHECK": "false",
                "COLLECT_ANALYTICS": "false", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
                **db.env()})  # fmt: skip
    return env


def _server_env(data_dir: Path, port: int, email: str, password: str, token: str, db: Database) -> dict[str, str]:
    """The server's environment, every setting explicit: LS also reads bare USERNAME/PORT/HOST."""
    env = _base_env(data_dir, db)
    env.update(
        {
            "LABEL_STUDIO_USERNAME": email,
            "LABEL_STUDIO_PASSWORD": password,
            "LABEL_STUDIO_USER_TOKEN": token,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LABEL_STUDIO_PORT": str(port),
            "LABEL_STUDIO_HOST": f"http://127.0.0.1:{port}",
            "LABEL_STUDIO_DEBUG": "false",
            "ML_BLOCK_LOCAL_IP": "false",
            "SSRF_PROTECTION_ENABLED": "false",
            "LOCAL_FILES_SERVING_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start(
    data_dir: str | Path | None = None,
    *,
    port: int | None = None,
    binary: str | Path | None = None,
    timeout: float = 600.0,
    detach: bool = True,
    database: str | None = None,
    say: Callable[[str], None] | None = None,
) -> ServerInfo:
    """Start a local server (or reuse the one already running from ``data_dir``); wait for /health.

    ``port`` defaults to the previous port of this data dir, else 8080, else any free port.
    ``database`` is ``"sqlite"`` or a ``postgresql://`` URL (default: ``ANNOTATE_STUDIO_DATABASE``,
    else what the data dir was first started with, else sqlite); the PostgreSQL database must
    exist, Label Studio creates its tables on the first start.
    ``detach=False`` (tests, benchmarks) ties the server to this process: it gets SIGTERM when
    the caller dies, even when the caller is killed, so no server outlives a killed test run.
    ``say`` receives a line for each wait a user should know about (the first start creates the
    database, about a minute). Raises :class:`StudioError` if the server does not come up within
    ``timeout`` seconds, naming the log file to read.
    """
    data_dir = Path(data_dir or default_data_dir()).resolve()
    if database is None:
        database = os.environ.get(DATABASE_ENV) or None
    wanted = parse_database(database) if database is not None else None  # a malformed URL fails first
    current = status(data_dir)
    if current and current.running:
        if wanted is not None and wanted.display != current.database:
            raise StudioError(
                f"the server of {data_dir} runs on {current.database}, not {wanted.display}",
                hint="stop it first (`annotate studio stop`), or use another --data-dir",
            )
        current.reused = True
        return current
    exe = find_binary(binary)
    db, bound = _database(data_dir, wanted)
    data_dir.mkdir(parents=True, exist_ok=True)
    _make_private(data_dir)
    _reachable(db)
    email, password, token = _credentials(data_dir)
    port_note = None
    if port is None:
        previous = (_read_state(data_dir) or {}).get("port")
        expected = previous or DEFAULT_PORT
        port = next((p for p in (previous, DEFAULT_PORT) if p and _port_free(p)), None) or free_port()
        if port != expected:
            # a busy 8080 used to become a random port without a word; bookmarks and the URLs
            # given to annotators then pointed at the wrong place
            port_note = f"port {expected} is busy (another program listens there): Label Studio uses port {port}"
            if say:
                say(port_note)
    elif not _port_free(port):
        raise InputError(f"port {port} on 127.0.0.1 is already in use", hint="choose another with --port")
    url = f"http://127.0.0.1:{port}"
    log_path = data_dir / "server.log"
    cmd = [exe, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=data_dir,
            env=_server_env(data_dir, port, email, password, token, db),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() signals the whole group
            preexec_fn=_private_child if detach else _private_child_dying_with_parent,
        )
    (data_dir / "server.pid").write_text(f"{proc.pid}\n")
    if say:
        say(
            f"starting Label Studio at {url}: the first start creates its database, about a minute"
            if not bound
            else f"starting Label Studio at {url} ..."
        )
    state = {"url": url, "port": port, "pid": proc.pid, "email": email, "database": db.display}
    (data_dir / "server.json").write_text(json.dumps(state, indent=2) + "\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            cause = _last_error(log_path)
            raise StudioError(
                f"Label Studio exited with status {proc.returncode} while starting" + (f": {cause}" if cause else ""),
                hint=f"see the log {log_path}",
            )
        if _healthy(url):
            _make_private(data_dir)  # the database and media Label Studio created on its first start
            if not bound:
                _check_admin_token(url, token, db, proc.pid)
                _bind(data_dir, db)
            return ServerInfo(url, port, proc.pid, str(data_dir), email, str(data_dir / "token"), running=True,
                              database=db.display, port_note=port_note)  # fmt: skip
        time.sleep(0.5)
    _terminate(proc.pid)
    raise StudioError(
        f"Label Studio did not answer {url}/health within {timeout:.0f} s", hint=f"see the log {log_path}"
    )


def _check_admin_token(url: str, token: str, db: Database, pid: int) -> None:
    """On a first start, check the admin token works: Label Studio keeps the admin it finds.

    A PostgreSQL database already used by another data dir has its own admin, and Label Studio
    then ignores this data dir's login and token (``User ... already exists``): say so at once
    rather than failing with HTTP 401 on every later command.
    """
    if db.engine == "sqlite":
        return
    try:
        r = httpx.get(f"{url}/api/current-user/whoami", headers={"Authorization": f"Token {token}"}, timeout=60)
        ok = r.status_code == 200
    except httpx.HTTPError:
        ok = True  # not this check's business: later calls report an unreachable server
    if not ok:
        _terminate(pid)
        raise StudioError(
            f"the database {db.display} already holds a Label Studio whose admin is not this data dir's",
            hint="start it with the data dir it was first used with, or give an empty database",
        )


def _last_error(log_path: Path) -> str:
    """The last exception line of the server log (e.g. a refused PostgreSQL login), shortened."""
    try:
        lines = log_path.read_text("utf-8", errors="replace").splitlines()[-200:]
    except OSError:
        return ""
    errors = [ln.strip() for ln in lines if re.match(r"^[\w.]+(Error|Exception)\b", ln.strip())]
    return errors[-1][:300] if errors else ""


def _make_private(data_dir: Path) -> None:
    """The data dir is the owner's alone (0700), and so are the files in it (0600).

    ``label_studio.sqlite3`` holds the admin token and every annotation, which the 0600 ``token``
    file alone did not protect: Label Studio creates its files with the default umask.
    """
    os.chmod(data_dir, 0o700)
    for path in data_dir.iterdir():
        if path.is_file() and not path.is_symlink():
            os.chmod(path, 0o600)


def _private_child() -> None:
    """In the server's child before exec: every file Label Studio creates is the owner's alone."""
    os.umask(0o077)


def _private_child_dying_with_parent() -> None:
    _private_child()
    _die_with_parent()


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM it when its parent exits."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def _terminate(pid: int, grace: float = 15.0) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child
            if not _alive(pid):
                return
            time.sleep(0.2)


def stop(data_dir: str | Path | None = None) -> bool:
    """Stop the server started from ``data_dir``; return whether one was running."""
    data_dir = Path(data_dir or default_data_dir()).resolve()
    pid_file = data_dir / "server.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    was_running = _alive(pid) and _is_label_studio(pid)
    if was_running:
        _terminate(pid)
    pid_file.unlink(missing_ok=True)
    return was_running


def set_password(data_dir: str | Path, email: str, password: str, *, binary: str | Path | None = None) -> None:
    """Give a user a password (``label-studio reset_password``): users made through the API have none."""
    data_dir = Path(data_dir).resolve()
    env = _base_env(data_dir, _database(data_dir, None)[0])
    cmd = [find_binary(binary), "reset_password", "--username", email, "--password", password]
    proc = subprocess.run(cmd, cwd=data_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if "Password successfully changed" not in proc.stdout + proc.stderr:
        last = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        raise StudioError(f"could not set the password of {email}: {last[0][:200]}")


def info_dict(info: ServerInfo) -> dict:
    return asdict(info)
