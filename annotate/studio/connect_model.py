"""Register ``annotate serve`` with a Label Studio project as its ML backend, once.

Label Studio (1.23.x) checks the backend at connect time (``GET /health``, ``POST /setup``) and
then, on its own, creates a project webhook ``<url>/webhook`` that sends every project event
with its payload: that is how annotations reach the backend to learn from. For a backend on
127.0.0.1 the *Label Studio server* needs ``ML_BLOCK_LOCAL_IP=false`` and
``SSRF_PROTECTION_ENABLED=false`` (``annotate studio start`` sets both); without them the connect
fails with 403 "URL resolves to a reserved network address" and leaves a half-created backend row,
which :func:`connect_model` removes again.

The project is then set to show the backend's predictions as pre-annotations: the project's
``model_version`` names the backend (Label Studio reads a backend title there), and
``show_collab_predictions`` makes the labeling view ask the backend for a task that has no
prediction yet. ``fetch_on_load=True`` also sets ``evaluate_predictions_automatically``, so the
Data Manager asks for the predictions of every page it shows.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from annotate.errors import StudioError
from annotate.studio.client import Studio, api_call, find_project

__all__ = ["ConnectSummary", "connect_model", "DEFAULT_URL", "DEFAULT_TITLE"]

DEFAULT_URL = "http://127.0.0.1:9090"
DEFAULT_TITLE = "annotate"


@dataclass
class ConnectSummary:
    """What :func:`connect_model` did; ``str()`` is the line the CLI prints."""

    project: str
    project_id: int
    backend_id: int
    url: str
    title: str
    created: bool
    state: str | None
    model_version: str | None
    webhook: bool

    def __str__(self) -> str:
        how = "connected" if self.created else "already connected"
        text = (
            f"project '{self.project}' (id {self.project_id}): ML backend {self.url} {how} "
            f"(backend id {self.backend_id}, state {self.state or '?'}, model_version {self.model_version or '?'})"
        )
        if not self.webhook:
            text += f"\nwarning: Label Studio made no webhook {self.url}/webhook: annotations will not reach the model"
        return text


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def connect_model(
    studio: Studio,
    project: str | int,
    url: str = DEFAULT_URL,
    *,
    title: str = DEFAULT_TITLE,
    is_interactive: bool = False,
    basic_auth: tuple[str, str] | None = None,
    timeout: float = 100,
    fetch_on_load: bool = False,
) -> ConnectSummary:
    """Connect the backend at ``url`` to ``project`` (a title, or an id); idempotent.

    An existing backend row of the project with the same URL is reused (its title, auth and
    interactive flag are brought up to date); otherwise one is created, and if creation fails the
    half-created row is deleted before the error is raised. With ``basic_auth`` the webhook Label
    Studio created for the backend gets the same ``Authorization`` header, since Label Studio
    sends webhooks without the backend's credentials.

    Raises :class:`StudioError` with the reason (and, for the loopback refusal, the two
    environment settings the Label Studio server needs).
    """
    ls = studio.client
    proj = find_project(studio, project)
    url = url.rstrip("/")
    auth: dict[str, Any] = {"auth_method": "NONE"}
    if basic_auth is not None:
        auth = {"auth_method": "BASIC_AUTH", "basic_auth_user": basic_auth[0], "basic_auth_pass": basic_auth[1]}
    existing = [b for b in api_call(studio, ls.ml.list, project=proj.id) if _same_url(b.url or "", url)]
    created = not existing
    if existing:
        # LS 1.23.2 answers 500 to a PATCH without `url` and `project` (it re-checks both)
        backend = api_call(
            studio,
            ls.ml.update,
            id=existing[0].id,
            url=url,
            project=proj.id,
            title=title,
            is_interactive=is_interactive,
            timeout=timeout,
            **auth,
        )
    else:
        before = {b.id for b in api_call(studio, ls.ml.list, project=proj.id)}
        try:
            backend = api_call(
                studio,
                ls.ml.create,
                project=proj.id,
                url=url,
                title=title,
                is_interactive=is_interactive,
                timeout=timeout,
                **auth,
            )
        except StudioError as err:
            for b in api_call(studio, ls.ml.list, project=proj.id):
                if b.id not in before and _same_url(b.url or "", url):
                    api_call(studio, ls.ml.delete, id=b.id)
            if "reserved network address" in str(err):
                raise StudioError(
                    f"Label Studio refuses to call the backend at {url}: {err.message}",
                    hint="start the Label Studio server with ML_BLOCK_LOCAL_IP=false and "
                    "SSRF_PROTECTION_ENABLED=false (annotate studio start sets both)",
                ) from None
            raise StudioError(
                f"Label Studio could not connect the backend at {url}: {err.message}",
                hint=f"is `annotate serve` running there? try: curl {url}/health",
            ) from None
    update: dict[str, Any] = {"model_version": title, "show_collab_predictions": True}
    if fetch_on_load:
        update["evaluate_predictions_automatically"] = True
    api_call(studio, ls.projects.update, id=proj.id, **update)
    hooks = [h for h in api_call(studio, ls.webhooks.list, project=str(proj.id)) if _same_url(h.url, url + "/webhook")]
    if hooks and basic_auth is not None:
        token = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
        for h in hooks:
            api_call(studio, ls.webhooks.update, id=h.id, headers={"Authorization": f"Basic {token}"})
    backend = api_call(studio, ls.ml.get, id=backend.id)
    return ConnectSummary(
        project=proj.title,
        project_id=proj.id,
        backend_id=backend.id,
        url=url,
        title=title,
        created=created,
        state=backend.readable_state or (str(backend.state) if backend.state else None),
        model_version=backend.model_version,
        webhook=bool(hooks),
    )
