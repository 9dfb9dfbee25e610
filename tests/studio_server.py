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
        project = studio.new_project(label_config)  # a fresh project with a unique title

For quick iterations set ``ANNOTATE_TEST_LS_DATA_DIR`` to a data dir of your own: the fixture
then reuses (or starts) the server of that dir and leaves it running after the session
(stop it with ``annotate studio stop --data-dir DIR``).
"""

from __future__ import annotations

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
    _clients: list[Any] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:  # keep the token out of pytest's failure output
        return f"StudioServer(url={self.url!r}, email={self.email!r})"

    def client(self) -> Any:
        """A connected SDK client (``annotate.studio.client.connect``) for the admin."""
        from annotate.studio.client import connect

        return connect(self.url, self.token).client

    def studio(self) -> Any:
        """The toolkit's ``Studio`` handle (what push/pull take)."""
        from annotate.studio.client import connect

        return connect(self.url, self.token)

    def create_user(self, name: str | None = None) -> Any:
        """A new user with a unique email (annotators for multi-annotator tests); returns the SDK user."""
        name = f"{name or 'user'}-{uuid.uuid4().hex[:6]}"
        return self.client().users.create(
            email=f"{name}@example.com", username=name, password=f"pw-{uuid.uuid4().hex[:12]}", first_name=name
        )

    def project_title(self, prefix: str = "test") -> str:
        """A title no other test uses."""
        return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"

    def new_project(self, label_config: str, prefix: str = "test", **kwargs: Any) -> Any:
        """A fresh empty project with ``label_config``."""
        return self.client().projects.create(title=self.project_title(prefix), label_config=label_config, **kwargs)


@pytest.fixture(scope="session")
def studio() -> Any:
    """Start one Label Studio server for the session (fails, never skips, if it cannot)."""
    from annotate.errors import AnnotateError
    from annotate.studio import server

    keep = os.environ.get("ANNOTATE_TEST_LS_DATA_DIR")
    data_dir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="annotate-ls-"))
    try:
        try:
            running = server.status(data_dir) if keep else None
            port = running.port if running else server.free_port()
            info = server.start(data_dir, port=port, timeout=240)
        except AnnotateError as err:
            log = data_dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"could not start the Label Studio test server: {err}\n--- server.log tail ---\n{tail}")
        cred = json.loads((data_dir / "admin.json").read_text())
        yield StudioServer(
            url=info.url,
            token=server.read_token(data_dir) or "",
            email=cred["email"],
            password=cred["password"],
            data_dir=str(data_dir),
        )
    finally:
        if not keep:
            server.stop(data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)
