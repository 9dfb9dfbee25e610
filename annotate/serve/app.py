"""The web side of ``annotate serve``: a Starlette app over a :class:`~annotate.serve.backend.Backend`.

Each route is one handler that reads the request, calls one backend method and answers JSON;
the backend is ``request.app.state.backend``. Errors are ``{"error": "..."}``: a
:class:`~annotate.serve.protocol.RequestError` with its status, a user error (any
:class:`~annotate.errors.AnnotateError`) 422, anything else 500 with the traceback in the server
log only. This module needs the ``serve`` extra; import it through :mod:`annotate.serve`, which
names the install command when the extra is missing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from annotate.errors import AnnotateError, InputError
from annotate.serve.backend import Backend
from annotate.serve.protocol import RequestError, parse_body

__all__ = ["create_app"]

log = logging.getLogger("annotate.serve")


def _backend(request: Request) -> Backend:
    return request.app.state.backend


async def _body(request: Request) -> dict[str, Any]:
    return parse_body(request.headers.get("content-type", ""), await request.body())


# --- routes ---------------------------------------------------------------------------------------


async def health(request: Request) -> JSONResponse:
    return JSONResponse(_backend(request).health())


async def setup(request: Request) -> JSONResponse:
    backend, data = _backend(request), await _body(request)
    backend.check_project(data.get("project"))
    backend.note_setup(data)
    await run_in_threadpool(backend.schema_for, data.get("schema"))
    return JSONResponse({"model_version": backend.model_version})


async def predict(request: Request) -> JSONResponse:
    backend, data = _backend(request), await _body(request)
    backend.check_project(data.get("project"))
    if "tasks" not in data:
        raise RequestError(400, "request has no 'tasks' (a list of Label Studio tasks)")
    return JSONResponse(await run_in_threadpool(backend.predict, data["tasks"], data.get("label_config")))


async def webhook(request: Request) -> JSONResponse:
    backend, data = _backend(request), await _body(request)
    return JSONResponse(await run_in_threadpool(backend.record, data))


async def versions(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(_backend(request).versions))


ROUTES = [
    Route("/", health, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/setup", setup, methods=["POST"]),
    Route("/predict", predict, methods=["POST"]),
    Route("/webhook", webhook, methods=["POST"]),
    Route("/versions", versions, methods=["GET"]),
]


# --- errors ---------------------------------------------------------------------------------------


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    log.info("%s %s -> %d: %s", request.method, request.url.path, exc.status, exc.message)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


async def _user_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=422)


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)


EXCEPTION_HANDLERS = {RequestError: _refused, HTTPException: _http_error, AnnotateError: _user_error, Exception: _crash}


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    app.state.backend.close()  # waits for a retrain in progress: a version is never left half-built


# --- the app --------------------------------------------------------------------------------------


def create_app(backend: Backend, *, basic_auth: tuple[str, str] | str | None = None) -> Starlette:
    """A Starlette app speaking the ML backend protocol for ``backend``.

    ``basic_auth``: ``("user", "pass")`` or ``"user:pass"``; every endpoint then needs it.
    The backend is ``app.state.backend``; it is closed with the app's lifespan.

    >>> app = create_app(Backend("models/"), basic_auth=("ls", "s3cret"))  # doctest: +SKIP
    """
    auth = _parse_basic_auth(basic_auth)
    middleware = [] if auth is None else [Middleware(_BasicAuth, credentials=auth)]
    app = Starlette(routes=ROUTES, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS, lifespan=_lifespan)
    app.state.backend = backend
    return app


def _parse_basic_auth(value: tuple[str, str] | str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise InputError("basic auth must be USER:PASS", hint="e.g. ('annotate', 's3cret')")
        return user, password
    return value


class _BasicAuth:
    """Pure ASGI middleware: 401 JSON unless the request carries the right Basic credentials."""

    def __init__(self, app: Any, credentials: tuple[str, str]) -> None:
        self.app = app
        self._expected = ("Basic " + base64.b64encode(":".join(credentials).encode()).decode()).encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        try:
            why = "wrong credentials" if given and base64.b64decode(given.split(b" ", 1)[-1]) else "no credentials"
        except (binascii.Error, ValueError):
            why = "malformed credentials"
        response = JSONResponse(
            {"error": f"basic auth required ({why}); give the user and password the backend was started with"},
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="annotate"'},
        )
        await response(scope, receive, send)
