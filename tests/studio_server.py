"""One real Label Studio server for the whole test session (the ``integration`` layer).

The server is started through the product code (:func:`annotate.studio.server.start`) in a
temporary data dir on a free 127.0.0.1 port, and stopped at the end of the session. If it
cannot start, every test that uses it *fails* (CI must not pass without this layer).

Usage in a test::

    @pytest.mark.integration
    def test_x(studio):
        studio.url, studio.token, studio.email, studio.password   # admin login for a browser
        ls = studio.client()                        # connected LabelStudio SDK client
        user = studio.create_user("ann1")           # an annotator (SDK user object, .id, .email)
        user = studio.create_user("ann2", login=True)   # ... who can log in: studio.passwords[user.email]
        pat = studio.pat(user.email, studio.passwords[user.email])   # a personal access token
        project = studio.new_project(label_config)  # a fresh project with a unique title

The same tests can run on PostgreSQL too: ``studio = on_both_databases()`` in a test module
makes its ``studio`` fixture take two values, the sqlite server and ``studio_pg``, a second
server on a real PostgreSQL (``pg_server``, started from Debian's binaries on loopback); the
PostgreSQL runs carry the ``postgres`` marker, a layer of their own.

For quick iterations set ``ANNOTATE_TEST_LS_DATA_DIR`` to a data dir of your own: the fixture
then reuses (or starts) the server of that dir and leaves it running after the session
(stop it with ``annotate studio stop --data-dir DIR``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

_counter = itertools.count(1)


@dataclass
class StudioServer:
    """Handle on the session's server: URL, admin token and login, helpers to make users/projects."""

    url: str
    token: str
    email: str = ""
    password: str = ""
    data_dir: str = ""
    database: str = "sqlite"  # or "postgresql"
    passwords: dict[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # keep the token out of pytest's failure output
        return f"StudioServer(url={self.url!r}, email={self.email!r}, database={self.database!r})"

    @property
    def token_file(self) -> Path:
        """The admin token's own file in the server's private data dir (mode 0600): what a command
        takes as ``--token-file``, since a token is never an option on a command line."""
        return Path(self.data_dir) / "token"

    def client(self) -> Any:
        """A connected SDK client (``annotate.studio.client.connect``) for the admin."""
        from annotate.studio.client import connect

        return connect(self.url, self.token).client

    def studio(self) -> Any:
        """The toolkit's ``Studio`` handle (what push/pull take)."""
        from annotate.studio.client import connect

        return connect(self.url, self.token)

    def create_user(self, name: str | None = None, *, login: bool = False) -> Any:
        """A new user with a unique email (annotators for multi-annotator tests); returns the SDK user.

        The users API ignores passwords: with ``login=True`` a password is set through
        ``label-studio reset_password`` (about 5-15 s) and kept in ``self.passwords[user.email]``,
        for a browser login or :meth:`pat`.
        """
        from annotate.studio.server import set_password

        name = f"{name or 'user'}-{uuid.uuid4().hex[:6]}"
        email = f"{name}@example.com"
        user = self.client().users.create(email=email, username=name, first_name=name)
        if login:
            password = f"pw-{uuid.uuid4().hex[:12]}"
            set_password(self.data_dir, email, password)
            self.passwords[email] = password
        return user

    def pat(self, email: str, password: str) -> str:
        """Mint a personal access token for a user by logging in (recipe 6.4 B of the LS notes)."""
        import httpx

        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=60) as http:
            http.get("/user/login/")
            csrf = http.cookies["csrftoken"]
            form = {"csrfmiddlewaretoken": csrf, "email": email, "password": password}
            r = http.post("/user/login/", data=form, headers={"Referer": f"{self.url}/user/login/"})
            assert r.status_code == 302, f"login as {email} failed: HTTP {r.status_code}"
            headers = {"X-CSRFToken": http.cookies["csrftoken"], "Referer": f"{self.url}/"}
            r = http.post("/api/token/", headers=headers)
            assert r.status_code in (200, 201), f"minting a token failed: HTTP {r.status_code}"
            return r.json()["token"]

    def project_title(self, prefix: str = "test") -> str:
        """A title no other test uses."""
        return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"

    def new_project(self, label_config: str, prefix: str = "test", **kwargs: Any) -> Any:
        """A fresh empty project with ``label_config``."""
        return self.client().projects.create(title=self.project_title(prefix), label_config=label_config, **kwargs)


ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / ".annotate" / "test-template"  # git-ignored
_RUNTIME_FILES = ("server.json", "server.pid", "server.log")


def _template(timeout: float) -> Path:
    """A data dir with a migrated database and the admin user, made once by a cold start.

    A cold start runs ~100 Django migrations (30 s on an idle 2-core box, minutes on a busy
    one); copying this template makes every later session a warm start (a few seconds).
    """
    from annotate.errors import AnnotateError
    from annotate.studio import server

    if (TEMPLATE / "label_studio.sqlite3").is_file() and (TEMPLATE / "token").is_file():
        return TEMPLATE
    build = Path(tempfile.mkdtemp(prefix="template-", dir=TEMPLATE.parent if TEMPLATE.parent.is_dir() else None))
    try:
        server.start(build, port=server.free_port(), timeout=timeout, detach=False, database="sqlite")
    except AnnotateError as err:
        log = build / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(build, ignore_errors=True)
        pytest.fail(f"could not start the Label Studio test server: {err}\n--- server.log tail ---\n{tail}")
    finally:
        server.stop(build)
    for name in _RUNTIME_FILES:
        (build / name).unlink(missing_ok=True)
    try:
        build.rename(TEMPLATE)  # atomic: a concurrent session may have won the race, which is fine
    except OSError:
        shutil.rmtree(build, ignore_errors=True)
    return TEMPLATE


def _fail_start(err: Exception, data_dir: Path) -> None:
    log = data_dir / "server.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    pytest.fail(f"could not start the Label Studio test server: {err}\n--- server.log tail ---\n{tail}")


def _handle(info: Any, data_dir: Path, database: str = "sqlite") -> StudioServer:
    from annotate.studio import server

    cred = json.loads((data_dir / "admin.json").read_text())
    return StudioServer(url=info.url, token=server.read_token(data_dir) or "", email=cred["email"],
                        password=cred["password"], data_dir=str(data_dir), database=database)  # fmt: skip


@pytest.fixture(scope="session")
def studio_sqlite() -> Any:
    """Start one Label Studio server on sqlite for the session (fails, never skips, if it cannot)."""
    from annotate.errors import AnnotateError
    from annotate.studio import server

    keep = os.environ.get("ANNOTATE_TEST_LS_DATA_DIR")
    data_dir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="annotate-ls-"))
    try:
        try:
            timeout = float(os.environ.get("ANNOTATE_TEST_LS_TIMEOUT", "900"))
            running = server.status(data_dir) if keep else None
            if not keep:
                shutil.copytree(_template(timeout), data_dir, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(*_RUNTIME_FILES))  # fmt: skip
            port = running.port if running else server.free_port()
            # explicit: an ANNOTATE_STUDIO_DATABASE of the developer's must not redirect the test server
            info = server.start(
                data_dir, port=port, timeout=timeout, detach=bool(keep), database=None if keep else "sqlite"
            )
        except AnnotateError as err:
            _fail_start(err, data_dir)
        yield _handle(info, data_dir)
    finally:
        if not keep:
            server.stop(data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def studio(studio_sqlite: StudioServer) -> StudioServer:
    """The session's Label Studio on sqlite (what most integration tests use)."""
    return studio_sqlite


@pytest.fixture(scope="session")
def pg_server() -> Any:
    """A real PostgreSQL server for the session (Debian's binaries, 127.0.0.1, a free port, a temp dir).

    :func:`annotate.studio.pgserver.local_postgres` makes a role with a password and a database;
    everything is deleted at the end. Fails (never skips) when PostgreSQL is missing.
    """
    from annotate.errors import AnnotateError
    from annotate.studio.pgserver import local_postgres

    with contextlib.ExitStack() as stack:
        try:
            pg = stack.enter_context(local_postgres(durable=False))  # throw-away data: no fsync
        except AnnotateError as err:
            pytest.fail(f"could not start the PostgreSQL test server: {err}")
        yield pg


@pytest.fixture(scope="session")
def studio_pg(pg_server: Any) -> Any:
    """One Label Studio server on the session's PostgreSQL, started through the product code.

    Its first start migrates an empty database (about a minute on a busy 2-core box).
    """
    from annotate.errors import AnnotateError
    from annotate.studio import server

    data_dir = Path(tempfile.mkdtemp(prefix="annotate-ls-pg-"))
    try:
        try:
            timeout = float(os.environ.get("ANNOTATE_TEST_LS_TIMEOUT", "900"))
            info = server.start(data_dir, port=server.free_port(), timeout=timeout, detach=False,
                                database=pg_server.url)  # fmt: skip
        except AnnotateError as err:
            _fail_start(err, data_dir)
        yield _handle(info, data_dir, database="postgresql")
    finally:
        server.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


#: the databases a round-trip test runs on; the PostgreSQL runs carry the ``postgres`` marker
DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def on_both_databases(scope: str = "module") -> Any:
    """A ``studio`` fixture for a test module whose tests then run on sqlite and on PostgreSQL.

    ``studio = on_both_databases()`` in the module: every test (and module fixture) that takes
    ``studio`` runs twice, ``[sqlite]`` and ``[postgresql]``, against the two session servers.
    """

    @pytest.fixture(name="studio", scope=scope, params=DATABASES)
    def _studio(request: pytest.FixtureRequest) -> StudioServer:
        return request.getfixturevalue("studio_pg" if request.param == "postgresql" else "studio_sqlite")

    return _studio
