"""Connect to Label Studio with the 2.x SDK, find projects and page through tasks, with errors the user can act on.

The URL comes from the argument, ``LABEL_STUDIO_URL``, or the local server's ``server.json``;
the token from the argument, ``LABEL_STUDIO_API_KEY``, or the local server's token file (kept
in the data dir, outside version control). Personal access tokens (JWT) and legacy tokens both
work: the SDK tells them apart by decoding the key.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from annotate.errors import AnnotateError, InputError, StudioError
from annotate.io import sha256_hex
from annotate.studio.server import default_data_dir, mask, read_token

__all__ = [
    "connect",
    "resolve_url",
    "resolve_token",
    "find_project",
    "api_call",
    "project_lock",
    "iter_task_pages",
    "Studio",
]


def resolve_url(url: str | None = None, data_dir: str | Path | None = None) -> str:
    """URL: argument, then ``LABEL_STUDIO_URL``, then the local server of ``data_dir``."""
    url = url or os.environ.get("LABEL_STUDIO_URL")
    if not url:
        state = Path(data_dir or default_data_dir()) / "server.json"
        if state.is_file():
            url = json.loads(state.read_text("utf-8"))["url"]
    if not url:
        where = Path(data_dir or default_data_dir())
        raise StudioError(
            f"no Label Studio URL: no --url, no LABEL_STUDIO_URL and no local server in {where}",
            hint="run `annotate studio start`, or pass --url; a server started with --data-dir D needs "
            "--data-dir D here too (a desk folder of `annotate init` remembers it)",
        )
    return url.rstrip("/")


def _local_url(data_dir: str | Path | None) -> str | None:
    state = Path(data_dir or default_data_dir()) / "server.json"
    if not state.is_file():
        return None
    try:
        return str(json.loads(state.read_text("utf-8"))["url"]).rstrip("/")
    except (ValueError, KeyError, TypeError):
        return None


def resolve_token(token: str | None = None, data_dir: str | Path | None = None, url: str | None = None) -> str:
    """Token: argument, then ``LABEL_STUDIO_API_KEY``, then the local server's token file.

    The local token file is the local server's admin token: it is only ever sent to that server
    (``url`` equal to the one in ``server.json``), never to a ``--url`` elsewhere.
    """
    token = token or os.environ.get("LABEL_STUDIO_API_KEY")
    if not token:
        local = _local_url(data_dir)
        if url is not None and local is not None and url.rstrip("/") != local:
            raise InputError(
                f"no API token for {url}: the local server's admin token is only sent to {local}",
                hint="set LABEL_STUDIO_API_KEY (a personal access token of that server)",
            )
        token = read_token(data_dir)
    if not token:
        raise StudioError(
            "no Label Studio API token: no --token-file, no LABEL_STUDIO_API_KEY and no local token file",
            hint="set LABEL_STUDIO_API_KEY (a personal access token), or run `annotate studio start`",
        )
    return token


class Studio:
    """A connected SDK client plus the raw URL and token, for the few calls made over plain HTTP."""

    def __init__(self, client: Any, url: str, token: str) -> None:
        self.client = client
        self.url = url
        self._token = token

    def __repr__(self) -> str:  # never show the token
        return f"Studio(url={self.url!r}, token={mask(self._token)!r})"

    def headers(self) -> dict[str, str]:
        """Auth headers for raw HTTP, taken from the SDK so PAT refresh is handled there."""
        return dict(self.client._client_wrapper.get_headers())


def _describe(err: Exception, url: str, token: str) -> AnnotateError:
    from label_studio_sdk.core.api_error import ApiError

    if isinstance(err, httpx.TransportError):
        return StudioError(
            f"cannot reach Label Studio at {url} ({type(err).__name__})",
            hint="start it with `annotate studio start`, or check --url / LABEL_STUDIO_URL "
            "(a server started with --data-dir D needs --data-dir D here too)",
        )
    if isinstance(err, ApiError) and err.status_code in (401, 403):
        # the user's token: their input to fix (exit 2), not a failure of the server
        return InputError(
            f"Label Studio at {url} refuses the API token {mask(token)} (HTTP {err.status_code})",
            hint="check LABEL_STUDIO_API_KEY; a new personal access token is under Account & Settings",
        )
    if isinstance(err, ApiError):
        body = " ".join(str(err.body).split())
        if body.lstrip().lower().startswith(("<!doctype", "<html")):
            # Django's error page: its HTML says nothing useful on one line
            return StudioError(
                f"Label Studio at {url} failed with HTTP {err.status_code} (an error page)",
                hint="try again in a moment; the server's log says why (a busy sqlite database, for one)",
            )
        return StudioError(f"Label Studio at {url} answered HTTP {err.status_code}: {body[:200]}")
    return StudioError(f"Label Studio at {url} failed: {type(err).__name__}: {' '.join(str(err).split())[:200]}")


def api_call(studio: Studio, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call an SDK function, turning transport and HTTP errors into one-line :class:`StudioError`."""
    from label_studio_sdk.core.api_error import ApiError

    try:
        return fn(*args, **kwargs)
    except (httpx.TransportError, ApiError) as err:
        raise _describe(err, studio.url, studio._token) from None


@contextlib.contextmanager
def project_lock(url: str, title: str, purpose: str = "push") -> Iterator[None]:
    """Hold the lock of one project of one server while pushing to it (``purpose`` "push"), or pulling it.

    Label Studio has no way to say "create this project unless it exists" or "import this task
    unless its key is there", so two pushes at once into one project each found the keys missing
    and imported every task twice (and two pushes to a new title created two projects). Pushes
    from this machine now take turns: the second one, once it has the lock, sees the first one's
    project and tasks. The lock is an ``flock`` on a file in a private (0700) folder of the user,
    released by the kernel if the process dies.

    Pulls take their own lock (``purpose="pull"``): two pulls at once on a sqlite server failed with
    a busy database, and a pull that holds the lock knows that any export snapshot of this machine
    still on the server was left by a killed pull.
    """
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"annotate-{os.getuid()}-locks"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
        raise StudioError(f"the lock folder {folder} is not private to you", hint="remove it and try again")
    key = f"{url.rstrip('/')}\n{title}" + ("" if purpose == "push" else f"\n{purpose}")  # push keys as before
    lock = folder / (sha256_hex(key, 16) + ".lock")
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def connect(
    url: str | None = None, token: str | None = None, *, data_dir: str | Path | None = None, timeout: float = 120
) -> Studio:
    """A client that has proven it can talk to the server (``users.whoami``)."""
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    url = resolve_url(url, data_dir)
    token = resolve_token(token, data_dir, url=url)
    try:
        client = LabelStudio(base_url=url, api_key=token, timeout=timeout, max_retries=1)
        client.users.whoami()
    except (httpx.TransportError, ApiError) as err:
        raise _describe(err, url, token) from None
    except Exception as err:  # the SDK's JWT decoding raises assorted errors for a malformed key
        raise StudioError(f"cannot use the API token {mask(token)} with {url}: {type(err).__name__}") from None
    return Studio(client, url, token)


def find_project(studio: Studio, title: str | int, *, required: bool = True) -> Any | None:
    """The project with exactly this title (or this id); None (or a StudioError naming the known ones)."""
    if isinstance(title, int):
        return api_call(studio, studio.client.projects.get, id=title)
    projects = list(api_call(studio, lambda: list(studio.client.projects.list(page_size=1000))))
    for p in projects:
        if p.title == title:
            return p
    if not required:
        return None
    known = ", ".join(sorted(repr(p.title) for p in projects)[:10]) or "none"
    # a title the user typed: their input to fix (exit 2)
    raise InputError(f"no project titled '{title}' at {studio.url}", hint=f"projects there: {known}")


def iter_task_pages(
    studio: Studio, project_id: int, page_size: int = 1000, include: str = "id,data"
) -> Iterator[list[dict[str, Any]]]:
    """The project's tasks as plain dicts (only the ``include`` fields), one page at a time.

    The one raw pager of ``GET /api/tasks``, rather than the SDK's, because that cannot ask for
    less: ``include=id,data`` (the endpoint's documented field filter) skips the per-task
    summaries the Data Manager serializer otherwise computes (annotators, comment authors,
    storage file names, result digests), which made a page of 1,000 tasks about 7x slower on
    Label Studio 1.23; ``resolve_uri=false`` skips storage-URL resolution of the data; plain
    dicts skip the SDK's pydantic models. Pages are in id order, so tasks added meanwhile cannot
    shift a page. A page past the end answers 404 "Invalid page." (the LS pagination quirk),
    which ends the loop.
    """
    page = 1
    with httpx.Client(base_url=studio.url, timeout=300) as http:
        while True:
            params = {"project": project_id, "page": page, "page_size": page_size, "fields": "task_only",
                      "include": include, "resolve_uri": "false"}  # fmt: skip
            try:
                # headers per request: a personal access token's access token lives 5 minutes
                r = http.get("/api/tasks/", headers=studio.headers(), params=params)
            except httpx.TransportError as err:
                raise StudioError(f"cannot reach Label Studio at {studio.url} ({type(err).__name__})") from None
            if r.status_code == 404 and page > 1:
                break
            if r.status_code != 200:
                raise StudioError(f"listing tasks of project {project_id} failed: HTTP {r.status_code}")
            body = r.json()
            tasks = body.get("tasks", body) if isinstance(body, dict) else body
            yield tasks
            total = body.get("total") if isinstance(body, dict) else None
            if len(tasks) < page_size or (total is not None and page * page_size >= total):
                break
            page += 1
