"""A live model in the loop: Label Studio's ML backend protocol over a folder of model versions.

``annotate serve --models models/`` answers the calls Label Studio makes to an ML backend
(verified against LS 1.23.2, see ``../shared/notes/labelstudio.md`` section 3)::

    GET  /health    {"status": "UP", "model_version", "training", "pending", "last_error", ...}
    POST /setup     {"project": "<id>.<ts>", "schema": XML, ...} -> {"model_version"}
    POST /predict   {"tasks": [...], "project", "label_config", "params"}
                    -> {"results": [{"result": [...], "score", "model_version"}, ...]}, one per task, in order
    POST /webhook   ANNOTATION_CREATED / ANNOTATIONS_CREATED / ANNOTATION_UPDATED /
                    ANNOTATIONS_DELETED / START_TRAINING -> 200 at once; learning happens in the background
    GET  /versions  {"versions": [model_version, ...], "current", "models": [{folder, created, ...}]}

The models folder holds one model folder per version (written by :func:`annotate.models.store.save`)
plus the server's own files::

    models/
      claims/                 a model trained with `annotate train -o models/claims` (a start; optional)
      claims-v002/            a retrained version: card.json, *.skops, report.*, training_labels.jsonl
      current.json            which version serves (rewritten atomically at every swap)
      annotations.log.jsonl   every label event received by /webhook, append-only

One module per part, composed by :class:`Backend` (``backend.py``)::

    protocol.py      Label Studio payloads <-> records and results; RequestError (plain functions)
    registry.py      the versions on disk, the one that serves (ModelSlot), the swap to a new one
    label_log.py     the append-only label log and its current view
    training_set.py  what a retrain learns from: Label Studio, the log, the base labels
    retrain.py       the background retrainer: when to retrain, building and swapping in a version
    app.py           create_app(backend): the Starlette app, one handler per route
    serving.py       run() with uvicorn, serve_in_thread() for tests

Learning: each webhook's annotation is flattened exactly as ``annotate pull`` flattens an export
and appended to the log. Every ``retrain_every`` new annotations, or on ``START_TRAINING``, one
background worker trains a new version from everything there is to learn from and swaps it in:
one reference assignment. Requests in flight finish with the model they started with. A failed
retrain leaves the old model serving; ``/health`` reports why as ``last_error``.

All state lives on the :class:`Backend` of one app (``app.state.backend``); nothing is global.
Errors in requests are JSON ``{"error": "..."}`` with a 4xx status and one sentence saying what
was wrong; the server keeps serving.

>>> from annotate.serve import Backend, create_app  # doctest: +SKIP
>>> app = create_app(Backend("models/", retrain_every=10), basic_auth=("ls", "s3cret"))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from annotate.serve.backend import Backend
from annotate.serve.protocol import RequestError
from annotate.serve.registry import NO_MODEL, ModelSlot
from annotate.serve.retrain import DEFAULT_TRAIN_OPTIONS
from annotate.serve.serving import LOOPBACK, require_extra, run, serve_in_thread

__all__ = [
    "Backend",
    "ModelSlot",
    "RequestError",
    "create_app",
    "run",
    "serve_in_thread",
    "require_extra",
    "NO_MODEL",
    "LOOPBACK",
    "DEFAULT_TRAIN_OPTIONS",
]


def __getattr__(name: str) -> Any:
    # the app needs the optional `serve` extra: imported on first use, after naming what to install
    if name == "create_app":
        require_extra("starlette")
        from annotate.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'annotate.serve' has no attribute {name!r}")
