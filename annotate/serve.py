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

Learning: each webhook's annotation is flattened exactly as ``annotate pull`` flattens an export
(:func:`annotate.studio.pull.flatten`) and appended to the log. Every ``retrain_every`` new
annotations, or on ``START_TRAINING``, one background worker rebuilds the current view of the log
(latest version of every annotation, deletions applied), resolves it to one gold label per item and
field with :func:`annotate.resolve.resolve` (majority; ties are left out, never broken), adds the
optional base labels, trains with :func:`annotate.models.train.train` into a new version folder
(built under a temporary name and renamed, so a half-written version never appears), loads it
back with the same checks as any model, and swaps it in: one reference assignment under a lock.
Requests in flight finish with the model they started with. Retrain requests that arrive while one
runs are coalesced into one more run. A failed retrain leaves the old model serving; the reason is
logged and reported by ``/health`` as ``last_error``.

All state lives on the :class:`Backend` of one app (``app.state.backend``); nothing is global.
Errors in requests are JSON ``{"error": "..."}`` with a 4xx status and one sentence saying what
was wrong; the server keeps serving.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hmac
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from annotate.errors import AnnotateError, InputError, ModelError
from annotate.io import atomic_write, dumps, read_jsonl, sha256_hex, sweep_stale_temps, temp_prefix, write_jsonl
from annotate.schema import Schema, default_schema_path

__all__ = ["Backend", "ModelSlot", "RequestError", "create_app", "run", "serve_in_thread", "NO_MODEL"]

log = logging.getLogger("annotate.serve")

#: ``model_version`` reported while no model has been trained yet (cold start).
NO_MODEL = "none"
LOG_NAME = "annotations.log.jsonl"
CURRENT_NAME = "current.json"
LABELS_NAME = "live_labels.jsonl"  # scratch file of a retrain
#: The labels a retrained version inherits and passes on: the first model's own, plus --labels.
BASE_LABELS_NAME = "base_labels.jsonl"
LABEL_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")
TRAIN_ACTION = "START_TRAINING"
#: What a live retrain passes to :func:`annotate.models.train.train` unless told otherwise: fast
#: (no learning curve, 3 folds) and tolerant of the rare classes early annotation produces.
DEFAULT_TRAIN_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {"n_splits": 3, "learning_curve": False, "on_rare_class": "drop"}
)
_SCHEMA_CACHE_SIZE = 16


class RequestError(Exception):
    """A request the server refuses: becomes ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ModelSlot:
    """What serves right now. Immutable: a swap replaces the whole slot, never edits it."""

    model: Any  # annotate.models.store.LoadedModel | None
    version: str
    folder: Path | None
    since: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _project_id(value: Any) -> int | None:
    """LS sends ``"<id>.<created_ts>"`` to /setup and /predict, a project dict to /webhook."""
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        return None
    m = re.match(r"^\s*(\d+)(?:\.\d*)?\s*$", str(value))
    if not m:
        raise RequestError(400, f"'project' must look like '<id>.<timestamp>' or be a project id; got {value!r}")
    return int(m.group(1))


def _object_keys(xml: str) -> dict[str, str]:
    """Object tag name -> the task data key it shows (``<Text name="text" value="$text"/>``)."""
    out = {}
    for el in ET.fromstring(xml).iter():
        value, name = el.get("value", ""), el.get("name")
        if name and value.startswith("$") and el.tag[:1].isupper():
            out.setdefault(name, value[1:])
    return out


def _is_id(value: Any) -> bool:
    """A Label Studio object id: an int (not a bool) or a string."""
    return isinstance(value, int | str) and not isinstance(value, bool)


class Backend:
    """One served models folder: the current model, the label log and the retrain worker.

    Parameters
    ----------
    models_dir : folder of model versions (see the module docstring); created if missing.
    schema : the schema the models were trained for. Default: the path recorded in the current
        model's card (if it still has the same hash), else the repository's default schema.
    retrain_every : retrain after this many new annotations (0: only on ``START_TRAINING``).
    projects : Label Studio project ids this backend serves (None: any project).
    labels, sentences : a label table (and the sentences file its rows refer to) added to the
        live annotations at every retrain, e.g. the labels the first model was trained on.
    train_options : keyword arguments for :func:`annotate.models.train.train`
        (default :data:`DEFAULT_TRAIN_OPTIONS`).
    name : model name of retrained versions (default: the current model's name, else ``"live"``).
    studio : a function returning a connected :class:`~annotate.studio.client.Studio`. At every
        retrain the backend reads each project's current annotations from it, as ``pull`` does
        (the webhook log is then only the trigger, and the fallback when Label Studio cannot be
        reached). Without it, the URL and token of Label Studio's own ``/setup`` call are used.

    A retrain learns from everything: the labels the serving model learned from (kept in its
    folder, carried from version to version), ``labels``, and the annotations of the projects,
    the newest answer winning for a sentence, field and target.
    """

    def __init__(
        self,
        models_dir: str | Path,
        *,
        schema: Schema | None = None,
        retrain_every: int = 10,
        projects: set[int] | None = None,
        labels: str | Path | None = None,
        sentences: str | Path | None = None,
        train_options: dict[str, Any] | None = None,
        name: str | None = None,
        studio: Callable[[], Any] | None = None,
    ) -> None:
        if retrain_every < 0:
            raise InputError(
                f"--retrain-every must be 0 or more; got {retrain_every}", hint="0 retrains only on request"
            )
        self.models_dir = Path(models_dir)
        if (self.models_dir / "card.json").exists():
            raise InputError(
                f"{self.models_dir} is a model folder, not a folder of model versions",
                hint=f"serve its parent: --models {self.models_dir.parent}",
            )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.retrain_every = retrain_every
        self.projects = set(projects) if projects else None
        self.labels = Path(labels) if labels else None
        self.sentences = Path(sentences) if sentences else None
        if self.labels is not None and not self.labels.exists():
            raise InputError("no such labels file", path=self.labels, hint="give the labels the first model used")
        self.train_options = dict(DEFAULT_TRAIN_OPTIONS if train_options is None else train_options)
        self.log_path = self.models_dir / LOG_NAME
        self._lock = threading.Lock()  # guards the slot swap, counters and the log file
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="annotate-retrain")
        self._pending = 0
        self._running = False
        self._again = False
        self._idle = threading.Event()
        self._idle.set()
        self.last_error: str | None = None
        self.last_trained: str | None = None
        self.retrains = 0
        self._studio = studio
        # project id -> (Label Studio URL, token) as Label Studio's /setup call gave them; memory only
        self._setup_hosts: dict[int, tuple[str, str]] = {}
        self.learned_from: dict[str, Any] = {}
        self._schemas: dict[str, Schema] = {}
        self.schema, self._slot = self._open(schema)
        self._name = name or (self._slot.model.name if self._slot.model is not None else "live")
        self._keys = _object_keys(self.schema.xml)
        self._pending = self._count_unlearned()

    # --- startup ------------------------------------------------------------------------------

    def _open(self, schema: Schema | None) -> tuple[Schema, ModelSlot]:
        from annotate.models.store import load

        folder = self._current_folder()
        if folder is None:
            schema = schema or Schema.from_file(default_schema_path())
            log.info("no model in %s yet: cold start (model_version %r)", self.models_dir, NO_MODEL)
            return schema, ModelSlot(None, NO_MODEL, None, _now())
        if schema is None:
            schema = self._schema_of_card(folder)
        model = load(folder, schema)
        log.info("serving %s from %s", model.model_version, folder)
        return schema, ModelSlot(model, model.model_version, folder, _now())

    def _schema_of_card(self, folder: Path) -> Schema:
        from annotate.models.store import SCHEMA_FILE, read_card

        card = read_card(folder)
        want = card.get("schema", {}).get("hash")

        carried = folder / SCHEMA_FILE  # the copy the model folder carries comes first
        for cand in (carried, card.get("schema", {}).get("path"), default_schema_path()):
            if cand and Path(cand).is_file():
                s = Schema.from_file(cand)
                if s.hash == want:
                    return s
        raise InputError(
            f"{folder}: cannot find the schema the model was trained for "
            f"({card.get('schema', {}).get('path', '?')}, hash {want})",
            hint="pass the schema with --schema",
        )

    def _model_folders(self) -> list[Path]:
        """Version folders (those with a card), oldest first by the card's ``created``."""
        from annotate.models.store import read_card

        out = []
        for p in self.models_dir.iterdir():
            if p.is_dir() and not p.name.startswith(".") and (p / "card.json").is_file():
                try:
                    created = read_card(p).get("created", "")
                except AnnotateError:  # a broken version is not listed, and never served
                    continue
                out.append((str(created), p.name, p))
        return [p for _c, _n, p in sorted(out)]

    def _current_folder(self) -> Path | None:
        pointer = self.models_dir / CURRENT_NAME
        if pointer.is_file():
            try:
                folder = self.models_dir / json.loads(pointer.read_text("utf-8"))["folder"]
            except (ValueError, KeyError, TypeError):
                raise ModelError(f"{pointer}: not a valid pointer file", hint="delete it to serve the newest") from None
            if not (folder / "card.json").is_file():
                raise ModelError(f"{pointer} names {folder}, which is no model folder", hint="delete the pointer")
            return folder
        folders = self._model_folders()
        return folders[-1] if folders else None

    def _count_unlearned(self) -> int:
        """Annotation events in the log after the last retrain (so a restart keeps counting)."""
        if not self.log_path.is_file():
            return 0
        n = 0
        for _lineno, ev in read_jsonl(self.log_path, allow_empty=True):
            if ev.get("action") == "RETRAINED":
                n = 0
            elif ev.get("action") in LABEL_ACTIONS:
                n += 1
        return n

    # --- state --------------------------------------------------------------------------------

    @property
    def slot(self) -> ModelSlot:
        """The serving model; read it once per request and use that object throughout."""
        return self._slot

    @property
    def model_version(self) -> str:
        return self._slot.version

    @property
    def training(self) -> bool:
        return not self._idle.is_set()

    def health(self) -> dict[str, Any]:
        slot = self._slot
        return {
            "status": "UP",
            "model_version": slot.version,
            "model_class": "annotate",
            "since": slot.since,
            "training": self.training,
            "pending": self._pending,
            "retrain_every": self.retrain_every,
            "retrains": self.retrains,
            "last_trained": self.last_trained,
            "last_error": self.last_error,
            "learned_from": self.learned_from,
        }

    def versions(self) -> dict[str, Any]:
        from annotate.models.store import read_card

        models = []
        for p in self._model_folders():
            card = read_card(p)
            models.append(
                {
                    "model_version": card.get("model_version"),
                    "folder": p.name,
                    "created": card.get("created"),
                    "fields": sorted(card.get("fields", {})),
                    "labels": card.get("training_data", {}).get("rows"),
                }
            )
        return {"versions": [m["model_version"] for m in models], "current": self.model_version, "models": models}

    def check_project(self, project: Any) -> int | None:
        pid = _project_id(project)
        if self.projects is not None and pid not in self.projects:
            served = ", ".join(str(p) for p in sorted(self.projects))
            raise RequestError(
                404,
                f"unknown project {pid if pid is not None else '(none given)'}: "
                f"this backend serves project(s) {served}",
            )
        return pid

    # --- predict ------------------------------------------------------------------------------

    def schema_for(self, label_config: Any, slot: ModelSlot | None = None) -> Schema:
        """The schema to build results with: the request's config, checked against the model's."""
        if label_config is None or label_config == "":
            return self.schema
        if not isinstance(label_config, str):
            raise RequestError(400, f"'label_config' must be an XML string; got {type(label_config).__name__}")
        if label_config.strip() == self.schema.xml.strip():
            return self.schema
        key = sha256_hex(label_config, 16)
        cached = self._schemas.get(key)
        if cached is None:
            try:
                parsed = Schema.from_string(label_config, path="request label_config")
            except AnnotateError as err:
                raise RequestError(422, f"label_config is not a usable Label Studio config: {err}") from None
            unknown = [
                f"'{f.name}' ({f.type})"
                for f in parsed.fields.values()
                if f.name not in self.schema.fields or self.schema.fields[f.name].type != f.type
            ]
            if unknown:
                raise RequestError(
                    422,
                    f"label_config has field(s) {', '.join(unknown)} that the model's schema "
                    f"{Path(self.schema.path).name} (hash {self.schema.hash}) does not know; "
                    f"its fields are: {', '.join(self.schema.fields)}",
                )
            # targets live beside the config, not in it: keep the model's
            cached = replace(parsed, targets=self.schema.targets, target_field=self.schema.target_field)
            with self._lock:
                if len(self._schemas) >= _SCHEMA_CACHE_SIZE:
                    self._schemas.pop(next(iter(self._schemas)))
                self._schemas[key] = cached
        model = (slot or self._slot).model
        if model is not None:
            for fname, meta in model.card["fields"].items():
                f = cached.fields.get(fname)
                if f is None:
                    raise RequestError(422, f"label_config has no field '{fname}', which the model predicts")
                missing = [v for v in meta.get("labels", []) if f.to_value(v) is None]
                if missing:
                    raise RequestError(
                        422,
                        f"field '{fname}' of label_config lacks the choice(s) the model predicts: {', '.join(missing)}",
                    )
        return cached

    def predict(self, tasks: Any, label_config: Any = None) -> dict[str, Any]:
        """One prediction per task, in order: ``{"results": [{"result", "score", "model_version"}]}``."""
        from annotate.models.predict import predict, to_predictions

        slot = self._slot
        if not isinstance(tasks, list):
            raise RequestError(400, f"'tasks' must be a list of tasks; got {type(tasks).__name__}")
        schema = self.schema_for(label_config, slot)
        keys = self._keys if schema is self.schema else _object_keys(schema.xml)
        text_key = keys.get(schema.text_name, "text")
        records: list[dict[str, Any]] = []
        has_target: list[bool] = []
        for i, task in enumerate(tasks):
            data = task.get("data") if isinstance(task, dict) else None
            if not isinstance(data, dict):
                raise RequestError(
                    422, f"task #{i} has no 'data' object; send Label Studio tasks ({{'data': {{...}}}})"
                )
            missing = [k for k in schema.data_keys if k not in data]
            if missing:
                tid = task.get("id", "?")
                raise RequestError(
                    422,
                    f"task #{i} (id {tid}) lacks the data key(s) {', '.join('$' + k for k in missing)} "
                    f"that the schema uses; tasks need: {', '.join('$' + k for k in schema.data_keys)}",
                )
            target = _task_target(data)
            has_target.append(bool(target))
            records.append(
                {
                    "sentence_id": str(i),
                    "text": str(data.get(text_key) or ""),
                    "context": {"previous": data.get("previous") or "", "next": data.get("next") or ""},
                    "speaker": str(data.get("speaker") or ""),
                    "in_quote": float(bool(data.get("in_quote"))),
                    "position": _float(data.get("position")),
                    **({"target": target} if target else {}),
                }
            )
        if slot.model is None or not records:
            return {"results": [{"result": [], "score": 0.0, "model_version": slot.version} for _ in records]}
        import sklearn

        # inputs are built here and never hold NaN: skip sklearn's per-call checks (~10% of a small call)
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            recs = predict(slot.model, records, schema)
        # a task without a target gets no stance answer (predict would try every concerned target)
        recs = [r for r in recs if not r.get("target") or has_target[int(r["sentence_id"])]]
        by_task = {int(p["sentence_id"]): p for p in to_predictions(recs)}
        results = []
        for i in range(len(records)):
            p = by_task.get(i)
            if p is None:
                results.append({"result": [], "score": 0.0, "model_version": slot.version})
            else:
                results.append({"result": p["result"], "score": p["score"], "model_version": slot.version})
        return {"results": results}

    # --- learning -----------------------------------------------------------------------------

    def record(self, payload: Any) -> dict[str, Any]:
        """Append the labels of one webhook payload to the log; schedule a retrain if due."""
        if not isinstance(payload, dict):
            raise RequestError(400, f"webhook body must be a JSON object; got {type(payload).__name__}")
        action = payload.get("action")
        if not isinstance(action, str):
            raise RequestError(400, "webhook body has no 'action'")
        if action not in LABEL_ACTIONS and action != TRAIN_ACTION:
            return {"status": "ignored", "action": action}
        pid = self.check_project(payload.get("project"))
        if action == TRAIN_ACTION:
            self._append([{"received": _now(), "action": action, "project": pid}])
            started = self.request_retrain(force=True)
            return {"status": "training" if started else "queued", "action": action}
        events = self._events(action, payload, pid)
        self._append(events)
        with self._lock:
            self._pending += len(events)
        started = self.request_retrain()
        return {"status": "ok", "action": action, "recorded": len(events), "retrain": started}

    def _events(self, action: str, payload: dict[str, Any], pid: int | None) -> list[dict[str, Any]]:
        from annotate.studio.pull import flatten

        if action == "ANNOTATIONS_DELETED":
            anns = payload.get("annotations")
            if not isinstance(anns, list):
                raise RequestError(422, "ANNOTATIONS_DELETED needs 'annotations': a list of {'id': ...}")
            ids = [a.get("id") if isinstance(a, dict) else a for a in anns]
            if not all(_is_id(i) for i in ids):
                raise RequestError(422, "ANNOTATIONS_DELETED: every annotation id must be a number or a string")
            return [{"received": _now(), "action": action, "project": pid, "annotation_ids": ids}]
        anns = payload.get("annotation")
        tasks = payload.get("task")
        if isinstance(anns, dict):
            anns, tasks = [anns], [tasks]
        if not isinstance(anns, list) or not anns:
            raise RequestError(422, f"{action} needs an 'annotation' object (with 'result') and its 'task'")
        if not isinstance(tasks, list):
            tasks = [tasks] * len(anns)
        by_id = {t.get("id"): t for t in tasks if isinstance(t, dict)}
        out = []
        for ann in anns:
            if not isinstance(ann, dict) or not _is_id(ann.get("id")):
                raise RequestError(422, f"{action}: an annotation has no 'id' (a number or a string)")
            task = by_id.get(ann.get("task")) or (tasks[0] if len(tasks) == 1 else None)
            if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
                raise RequestError(422, f"{action}: annotation {ann['id']} comes without its task's 'data'")
            data = dict(task["data"])
            data.setdefault("sentence_id", f"ls-{pid}-{task.get('id')}")
            if "target_id" not in data:
                data["target_id"] = data.get("target") or ""
            result = ann.get("result", [])
            if not isinstance(result, list) or not all(
                isinstance(item, dict) and isinstance(item.get("value", {}), dict) for item in result
            ):
                raise RequestError(422, f"{action}: annotation {ann['id']} has a malformed 'result' (a list of items)")
            try:
                rows = list(
                    flatten(
                        [{**task, "data": data, "annotations": [ann]}], self.schema, snapshot="live", project=str(pid)
                    )
                )
            except (TypeError, AttributeError, ValueError, KeyError) as err:
                # a result item of the wrong shape (choices that are not a list of strings...): the
                # sender's mistake, answered with 422 rather than a 500
                raise RequestError(
                    422, f"{action}: cannot read annotation {ann['id']} ({type(err).__name__}: {err})"
                ) from None
            keep = ("sentence_id", "doc_id", "text", "target", "target_id", "speaker", "in_quote", "position")
            out.append(
                {
                    "received": _now(),
                    "action": action,
                    "project": pid,
                    "annotation_id": ann["id"],
                    "task_id": task.get("id"),
                    "data": {k: data[k] for k in keep if k in data},
                    "rows": rows,
                }
            )
        return out

    def _append(self, events: list[dict[str, Any]]) -> None:
        with self._lock, open(self.log_path, "a", encoding="utf-8") as fh:
            for ev in events:
                fh.write(dumps(ev) + "\n")

    def request_retrain(self, force: bool = False) -> bool:
        """Start a background retrain if due (or forced); True if one was started or queued."""
        with self._lock:
            if not force and (self.retrain_every == 0 or self._pending < self.retrain_every):
                return False
            self._pending = 0
            if self._running:
                self._again = True
                return True
            self._running = True
            self._idle.clear()
        self._executor.submit(self._retrain_loop)
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no retrain runs or waits (for tests and shutdown); False on timeout."""
        return self._idle.wait(timeout)

    def _retrain_loop(self) -> None:
        while True:
            try:
                self.retrain()
            except AnnotateError as err:  # not yet possible (too few labels, one class): say why, one line
                self.last_error = f"{_now()}: retrain not possible yet: {err}"
                log.warning("%s (still serving %s)", self.last_error, self.model_version)
            except Exception as err:  # a bug: keep serving the old model, and keep the traceback in the log
                self.last_error = f"{_now()}: retrain failed: {type(err).__name__}: {err}"
                log.error("%s (still serving %s)", self.last_error, self.model_version, exc_info=True)
            with self._lock:
                if self._again:
                    self._again = False
                    continue
                self._running = False
                self._idle.set()
                return

    def note_setup(self, data: dict[str, Any]) -> None:
        """Remember the Label Studio URL and token a ``/setup`` call came with (memory only)."""
        pid = _project_id(data.get("project"))
        host, token = data.get("hostname"), data.get("access_token")
        if pid is not None and isinstance(host, str) and host and isinstance(token, str) and token:
            self._setup_hosts[pid] = (host.rstrip("/"), token)

    def _known_projects(self) -> set[int]:
        """The projects to learn from: those given, those that called /setup, those in the log."""
        pids = set(self.projects or ()) | set(self._setup_hosts)
        if self.log_path.is_file():
            for _lineno, ev in read_jsonl(self.log_path, allow_empty=True):
                if isinstance(ev.get("project"), int):
                    pids.add(ev["project"])
        return pids

    def _connect(self, pid: int) -> Any | None:
        """A Label Studio connection for project ``pid``: the configured one, else /setup's."""
        from annotate.studio.client import connect

        if self._studio is not None:
            try:
                return self._studio()
            except AnnotateError:
                if pid not in self._setup_hosts:
                    raise
        if pid in self._setup_hosts:
            return connect(*self._setup_hosts[pid])
        return None

    def studio_labels(self, workdir: Path) -> tuple[list[dict[str, Any]], dict[int, int], list[str]]:
        """Gold label rows of every known project, read from Label Studio as ``pull`` reads them.

        Returns the rows, the projects read (id -> rows) and, for each project that could not be
        read, why. Label Studio is the store: an annotation whose webhook was missed (the server
        was down) is learned all the same, and a deleted one is forgotten.
        """
        from annotate.annotations import load_annotations
        from annotate.resolve import resolve, with_context
        from annotate.studio.pull import pull, snapshot_tasks

        rows: list[dict[str, Any]] = []
        read: dict[int, int] = {}
        notes: list[str] = []
        for pid in sorted(self._known_projects()):
            try:
                studio = self._connect(pid)
                if studio is None:
                    continue
                result = pull(studio, pid, workdir / "pulled", self.schema)
            except AnnotateError as err:
                notes.append(f"project {pid}: {err}")
                continue
            table = load_annotations(result.table_path)
            answered = table[~table["was_cancelled"] & ~table["is_draft"] & table["field"].notna()]
            gold: list[dict[str, Any]] = []
            if len(answered):
                res = with_context(resolve(table, self.schema, on_tie="conflict"), snapshot_tasks(result.table_path))
                gold = self._label_rows(res.gold.to_dict(orient="records"), {})
            rows.extend(gold)
            read[pid] = len(gold)
        return rows, read, notes

    def _label_rows(self, gold: list[dict[str, Any]], data: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Training rows from gold rows; the text comes with the row or from ``data`` (task data by key)."""
        out = []
        for g in gold:
            target = g.get("target") if isinstance(g.get("target"), str) else ""
            d = data.get(f"{g['sentence_id']}@{target}") or data.get(f"{g['sentence_id']}@") or {}
            text = g.get("text") if isinstance(g.get("text"), str) else d.get("text")
            if not text:
                continue
            rec = {
                "sentence_id": g["sentence_id"],
                "doc_id": g.get("doc_id") if isinstance(g.get("doc_id"), str) else d.get("doc_id") or g["sentence_id"],
                "text": text,
                "field": g["field"],
                "label": g["label"],
                "speaker": (g.get("speaker") if isinstance(g.get("speaker"), str) else d.get("speaker")) or "",
                "in_quote": bool(d.get("in_quote")),
            }
            if g["field"] == self.schema.target_field:
                rec["target"] = target or d.get("target")
            out.append(rec)
        return out

    def training_table(self, exclude: Collection[int] = ()) -> list[dict[str, Any]]:
        """Gold label rows from the log: latest version of each annotation, resolved per item.

        Events of the projects in ``exclude`` (read from Label Studio itself) are left out.
        """
        import pandas as pd

        from annotate.annotations import COLUMNS
        from annotate.resolve import resolve

        current: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        data: dict[str, dict[str, Any]] = {}
        if self.log_path.is_file():
            for _lineno, ev in read_jsonl(self.log_path, allow_empty=True):
                if ev.get("project") in exclude:
                    continue
                if ev.get("action") == "ANNOTATIONS_DELETED":
                    for aid in ev.get("annotation_ids", []):
                        current.pop((ev.get("project"), aid), None)
                elif ev.get("action") in LABEL_ACTIONS:
                    current[(ev.get("project"), ev.get("annotation_id"))] = ev.get("rows", [])
                    d = ev.get("data", {})
                    data[f"{d.get('sentence_id')}@{d.get('target_id') or ''}"] = d
                    data.setdefault(f"{d.get('sentence_id')}@", d)
        rows = [r for rs in current.values() for r in rs]
        if not rows:
            return []
        res = resolve(pd.DataFrame(rows, columns=COLUMNS), self.schema, on_tie="conflict")
        return self._label_rows(res.gold.to_dict(orient="records"), data)

    def _inherited_labels(self) -> Path | None:
        """The labels file the serving model carries: its base labels, else all it learned from."""
        from annotate.models.store import TRAINING_LABELS_FILE

        folder = self._slot.folder
        if folder is None:
            return None
        for name in (BASE_LABELS_NAME, TRAINING_LABELS_FILE):
            if (folder / name).is_file():
                return folder / name
        return None

    def retrain(self) -> str | None:
        """Train a new version from everything there is to learn from, save it, swap it in; its version.

        The labels, the newest winning for a (sentence, field, target): the labels the serving
        model carries (its base labels), then ``labels``, then the projects' annotations (from
        Label Studio, or from the webhook log for a project it cannot read). Raises whatever
        training raises; the caller keeps the old model.
        """
        import pandas as pd

        from annotate.labels import label_records, load_labels
        from annotate.models.store import load, save
        from annotate.models.train import train

        self.models_dir.mkdir(parents=True, exist_ok=True)
        sweep_stale_temps(self.models_dir)  # what a server killed mid-retrain left
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix("retrain"), suffix=".building", dir=self.models_dir))
        try:
            from_studio, read, notes = self.studio_labels(tmp)
            live = from_studio + self.training_table(exclude=set(read))
            frames = []
            if live:
                write_jsonl(tmp / LABELS_NAME, live)
                frames.append(load_labels(tmp / LABELS_NAME, self.schema))
            bases = []
            for path in (self._inherited_labels(), self.labels):
                if path is not None:
                    bases.append(load_labels(path, self.schema, sentences=self.sentences, on_missing_label="skip"))
            base = pd.concat(bases, ignore_index=True) if bases else None
            if base is not None and len(base):
                # one row per (sentence, or text when a row has no id; field; target), the newest
                # source winning: the inherited labels, then --labels (often the same file), then
                # the annotations. Only base rows are dropped: the annotations stay as resolved.
                both = pd.concat([base, *frames], ignore_index=True)
                item = both["sentence_id"].where(both["sentence_id"].notna(), "text:" + both["text"])
                later = pd.DataFrame({"i": item, "f": both["field"], "t": both["target"]}).duplicated(keep="last")
                base = base[~later.iloc[: len(base)].to_numpy()].reset_index(drop=True)
                frames.insert(0, base)
            if not frames or not sum(len(f) for f in frames):
                raise InputError("no labels to learn from yet", hint="annotate some tasks, or pass base labels")
            labels = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            labels.attrs.update(
                path=str(self.labels or tmp / LABELS_NAME),
                data_hash=sha256_hex(labels[["text", "field", "label"]].to_json(), 16),
                skipped=0,
                live_labels=len(live),
            )
            self.learned_from = {
                "label_studio": {str(pid): n for pid, n in read.items()},
                "webhook_log": len(live) - len(from_studio),
                "base": 0 if base is None else len(base),
                "not_read": notes,
            }
            slot = self._slot
            fields = self._fields_to_train(labels, slot)
            result = train(labels, self.schema, name=self._name, fields=fields, **self.train_options)
            card = save(result, tmp)  # writes training_labels.jsonl: everything it learned from
            if base is not None:  # what the next version inherits (not the annotations: LS has them)
                write_jsonl(tmp / BASE_LABELS_NAME, label_records(base))
            final = self._next_folder()
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        model = load(final, self.schema)
        new = ModelSlot(model, model.model_version, final, _now())
        with self._lock:
            self._slot = new
            self.retrains += 1
            self.last_trained = new.since
            self.last_error = None
        with atomic_write(self.models_dir / CURRENT_NAME) as fh:
            fh.write(json.dumps({"folder": final.name, "model_version": new.version, "since": new.since}) + "\n")
        self._append(
            [
                {
                    "received": _now(),
                    "action": "RETRAINED",
                    "model_version": new.version,
                    "folder": final.name,
                    "labels": len(labels),
                    "live_labels": len(live),
                }
            ]
        )
        log.info(
            "retrained: now serving %s (%s, %d labels, %d from annotations)",
            card["model_version"],
            final.name,
            len(labels),
            len(live),
        )
        return new.version

    def _fields_to_train(self, labels: Any, slot: ModelSlot) -> list[str]:
        """The serving model's fields plus every field with two classes of enough labels."""
        need = int(self.train_options.get("min_per_class", 5))
        fields = list(slot.model.estimators) if slot.model is not None else []
        for fname, rows in labels.groupby("field"):
            counts = rows["label"].value_counts()
            if (counts >= need).sum() >= 2 and fname not in fields:
                fields.append(str(fname))
        if not fields:
            counts = labels.groupby("field")["label"].nunique().to_dict()
            raise InputError(
                f"not enough labels to train any field yet (classes per field: {counts}); "
                f"a field needs two classes with at least {need} labels each",
                hint="keep annotating",
            )
        return fields

    def _next_folder(self) -> Path:
        base = re.sub(r"-v\d+$", "", self._name)
        n = 1
        for p in self.models_dir.iterdir():
            m = re.fullmatch(re.escape(base) + r"-v(\d+)", p.name)
            if m:
                n = max(n, int(m.group(1)) + 1)
        return self.models_dir / f"{base}-v{n:03d}"

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)


def _task_target(data: dict[str, Any]) -> str:
    """The stance target of a task: ``target`` when ``target_id`` says there is one (push sets both)."""
    if "target_id" in data and not data.get("target_id"):
        return ""
    return str(data.get("target") or "")


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


# --- the ASGI app ---------------------------------------------------------------------------------


def create_app(
    models_dir: str | Path,
    *,
    schema: Schema | None = None,
    basic_auth: tuple[str, str] | str | None = None,
    retrain_every: int = 10,
    projects: set[int] | None = None,
    labels: str | Path | None = None,
    sentences: str | Path | None = None,
    train_options: dict[str, Any] | None = None,
    name: str | None = None,
    studio: Callable[[], Any] | None = None,
) -> Any:
    """A Starlette app speaking the ML backend protocol over ``models_dir`` (see :class:`Backend`).

    ``basic_auth``: ``("user", "pass")`` or ``"user:pass"``; every endpoint then needs it.
    The backend is ``app.state.backend``; it is shut down with the app's lifespan.
    """
    _require("starlette")
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    backend = Backend(
        models_dir,
        schema=schema,
        retrain_every=retrain_every,
        projects=projects,
        labels=labels,
        sentences=sentences,
        train_options=train_options,
        name=name,
        studio=studio,
    )
    auth = _parse_basic_auth(basic_auth)

    async def body(request: Request) -> dict[str, Any]:
        # Only JSON: a cross-site page can POST text/plain or a form to a local port without a
        # preflight, but not application/json (CORS), so a forged webhook cannot retrain the model.
        kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            raise RequestError(415, f"request body must be application/json; got {kind or 'no content type'}")
        raw = await request.body()
        try:
            data = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as err:
            raise RequestError(400, f"request body is not valid JSON ({err})") from None
        if not isinstance(data, dict):
            raise RequestError(400, f"request body must be a JSON object; got {type(data).__name__}")
        return data

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(backend.health())

    async def setup(request: Request) -> JSONResponse:
        data = await body(request)
        backend.check_project(data.get("project"))
        backend.note_setup(data)
        await run_in_threadpool(backend.schema_for, data.get("schema"))
        return JSONResponse({"model_version": backend.model_version})

    async def predict(request: Request) -> JSONResponse:
        data = await body(request)
        backend.check_project(data.get("project"))
        if "tasks" not in data:
            raise RequestError(400, "request has no 'tasks' (a list of Label Studio tasks)")

        return JSONResponse(await run_in_threadpool(backend.predict, data["tasks"], data.get("label_config")))

    async def webhook(request: Request) -> JSONResponse:
        data = await body(request)
        return JSONResponse(await run_in_threadpool(backend.record, data))

    async def versions(request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(backend.versions))

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestError)
        log.info("%s %s -> %d: %s", request.method, request.url.path, exc.status, exc.message)
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    async def user_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        yield
        backend.close()

    routes = [
        Route("/", health, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/setup", setup, methods=["POST"]),
        Route("/predict", predict, methods=["POST"]),
        Route("/webhook", webhook, methods=["POST"]),
        Route("/versions", versions, methods=["GET"]),
    ]
    middleware = []
    if auth is not None:
        from starlette.middleware import Middleware

        middleware.append(Middleware(_BasicAuth, credentials=auth))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            RequestError: refused,
            HTTPException: http_error,
            AnnotateError: user_error,
            Exception: crash,
        },
        lifespan=lifespan,
    )
    app.state.backend = backend
    return app


def _require(module: str) -> None:
    """Name the install command when the optional ``serve`` extra is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise AnnotateError(
            f"`annotate serve` needs {module}, which is not installed", hint="pip install 'annotate[serve]'"
        )


LOOPBACK = ("127.0.0.1", "localhost", "::1")


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
        from starlette.responses import JSONResponse

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


# --- running ----------------------------------------------------------------------------------------


def run(
    models_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 9090,
    log_level: str = "info",
    **kwargs: Any,
) -> None:
    """Serve ``models_dir`` with uvicorn until interrupted; ``kwargs`` go to :func:`create_app`."""
    _require("uvicorn")
    import uvicorn

    app = create_app(models_dir, **kwargs)
    if host not in LOOPBACK and kwargs.get("basic_auth") is None:
        log.warning("serving on %s without credentials: anyone who can reach it can read predictions", host)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, timeout: float = 30) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread (tests, benchmarks); yield its URL; stop on exit.

    ``port=0`` picks a free port.
    """
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="annotate-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on {host}:{port}")
        time.sleep(0.02)
    sock = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{host}:{sock[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout)
