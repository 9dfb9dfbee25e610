"""The backend of one served models folder: the parts of :mod:`annotate.serve`, composed.

:class:`Backend` answers each ML backend call with one method (``health``, ``note_setup``,
``predict``, ``record``, ``versions``), over a :class:`~annotate.serve.registry.ModelRegistry`,
a :class:`~annotate.serve.label_log.LabelLog` and a :class:`~annotate.serve.retrain.Retrainer`,
translating payloads with :mod:`annotate.serve.protocol`. All state lives on it; nothing is global.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import annotate.serve.protocol as protocol
from annotate.acceptance import gate_from_card, parse_min_score
from annotate.errors import InputError
from annotate.io import sha256_hex, utc_now
from annotate.schema import Schema
from annotate.serve.label_log import LOG_NAME, LabelLog
from annotate.serve.protocol import LABEL_ACTIONS, TRAIN_ACTION, RequestError
from annotate.serve.registry import ModelRegistry, ModelSlot
from annotate.serve.retrain import DEFAULT_TRAIN_OPTIONS, Retrainer
from annotate.serve.training_set import StudioSources, log_labels

__all__ = ["Backend"]

_SCHEMA_CACHE_SIZE = 16


class Backend:
    """One served models folder: the current model, the label log and the retrain worker.

    Parameters
    ----------
    models_dir : folder of model versions (see :mod:`annotate.serve`); created if missing.
    schema : the schema the models were trained for. Default: the path recorded in the current
        model's card (if it still has the same hash), else the repository's default schema.
    retrain_every : retrain after this many new annotations (0: only on ``START_TRAINING``).
    projects : Label Studio project ids this backend serves (None: any project).
    labels, sentences : a label table (and the sentences file its rows refer to) added to the
        live annotations at every retrain, e.g. the labels the first model was trained on.
    train_options : keyword arguments for :func:`annotate.models.train.train`
        (default :data:`~annotate.serve.retrain.DEFAULT_TRAIN_OPTIONS`).
    name : model name of retrained versions (default: the current model's name, else ``"live"``).
    min_score : pre-fill only answers scored at least this (0-1); the others go to a second
        prediction of the task, a hint (see :func:`annotate.serve.protocol.task_results`).
        ``"auto"``: the serving model's own per-label thresholds (its card's ``min_score``), so
        each retrained version brings its own.
    studio : a function returning a connected :class:`~annotate.studio.client.Studio`. At every
        retrain the backend reads each project's current annotations from it, as ``pull`` does
        (the webhook log is then only the trigger, and the fallback when Label Studio cannot be
        reached). Without it, the URL and token of Label Studio's own ``/setup`` call are used.

    A retrain learns from everything: the labels the serving model learned from (kept in its
    folder, carried from version to version), ``labels``, and the annotations of the projects,
    the newest answer winning for a sentence, field and target.

    >>> backend = Backend("models/", retrain_every=10)  # doctest: +SKIP
    >>> backend.predict([{"id": 1, "data": {...}}])["results"]  # doctest: +SKIP
    """

    def __init__(
        self,
        models_dir: str | Path,
        *,
        schema: Schema | None = None,
        retrain_every: int = 10,
        projects: Collection[int] | None = None,
        labels: str | Path | None = None,
        sentences: str | Path | None = None,
        train_options: dict[str, Any] | None = None,
        name: str | None = None,
        studio: Callable[[], Any] | None = None,
        min_score: float | str | None = None,
        queue_size: int = 0,
    ) -> None:
        if retrain_every < 0:
            raise InputError(
                f"--retrain-every must be 0 or more; got {retrain_every}", hint="0 retrains only on request"
            )
        if queue_size < 0:
            raise InputError(f"--queue-size must be 0 or more; got {queue_size}", hint="0 leaves the queue alone")
        self.min_score = parse_min_score(min_score)
        self._auto_gate: tuple[str, Any] | None = None  # (model_version, its per-label gate)
        self.registry = ModelRegistry(models_dir)
        self.projects = set(projects) if projects else None
        labels = Path(labels) if labels else None
        if labels is not None and not labels.exists():
            raise InputError("no such labels file", path=labels, hint="give the labels the first model used")
        self.label_log = LabelLog(self.registry.models_dir / LOG_NAME)
        self.sources = StudioSources(studio, self.projects)
        self.schema = self.registry.open(schema)
        model = self.registry.slot.model
        self.retrainer = Retrainer(
            self.registry,
            self.label_log,
            self.sources,
            self.schema,
            every=retrain_every,
            name=name or (model.name if model is not None else "live"),
            labels=labels,
            sentences=Path(sentences) if sentences else None,
            train_options=DEFAULT_TRAIN_OPTIONS if train_options is None else train_options,
            queue_size=queue_size,
        )
        self._keys = protocol.object_keys(self.schema.xml)
        self._schemas: dict[str, Schema] = {}  # request label_config hash -> its checked schema
        self._schemas_lock = threading.Lock()

    # --- state --------------------------------------------------------------------------------

    @property
    def models_dir(self) -> Path:
        return self.registry.models_dir

    @property
    def slot(self) -> ModelSlot:
        """The serving model; read it once per request and use that object throughout."""
        return self.registry.slot

    @property
    def model_version(self) -> str:
        return self.registry.slot.version

    @property
    def training(self) -> bool:
        return self.retrainer.training

    @property
    def last_error(self) -> str | None:
        return self.retrainer.last_error

    @property
    def learned_from(self) -> dict[str, Any]:
        return self.retrainer.learned_from

    def health(self) -> dict[str, Any]:
        slot, r = self.registry.slot, self.retrainer
        return {
            "status": "UP",
            "model_version": slot.version,
            "model_class": "annotate",
            "since": slot.since,
            "training": r.training,
            "pending": r.pending,
            "retrain_every": r.every,
            "retrains": r.retrains,
            "last_trained": r.last_trained,
            "last_error": r.last_error,
            "learned_from": r.learned_from,
            "queue_size": r.queue_size,
            "queues": dict(r.queues),
        }

    def versions(self) -> dict[str, Any]:
        return self.registry.versions()

    def check_project(self, project: Any) -> int | None:
        """The project id of a request; 404 unless this backend serves it."""
        return protocol.check_project(project, self.projects)

    def note_setup(self, data: dict[str, Any]) -> None:
        """Remember the Label Studio URL and token a ``/setup`` call came with (memory only)."""
        self.sources.note_setup(data)

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
            cached = protocol.parse_label_config(label_config, self.schema)
            with self._schemas_lock:
                if len(self._schemas) >= _SCHEMA_CACHE_SIZE:
                    self._schemas.pop(next(iter(self._schemas)))
                self._schemas[key] = cached
        model = (slot or self.registry.slot).model
        if model is not None:
            protocol.check_config_covers_model(cached, model.card["fields"])
        return cached

    def predict(self, tasks: Any, label_config: Any = None) -> dict[str, Any]:
        """One prediction per task, in order: ``{"results": [{"result", "score", "model_version"}]}``."""
        slot = self.registry.slot
        tasks = protocol.task_list(tasks)  # before the config: a body without a task list says so first
        schema = self.schema_for(label_config, slot)
        keys = self._keys if schema is self.schema else protocol.object_keys(schema.xml)
        records, has_target = protocol.task_records(tasks, schema.data_keys, keys.get(schema.text_name, "text"))
        if slot.model is None or not records:
            return {"results": protocol.empty_results(len(records), slot.version)}
        import sklearn

        from annotate.models.predict import predict

        # inputs are built here and never hold NaN: skip sklearn's per-call checks (~10% of a small call)
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            recs = predict(slot.model, records, schema)
        return {"results": protocol.task_results(recs, has_target, slot.version, self._gate(slot))}

    def _gate(self, slot: ModelSlot) -> Any:
        """The pre-fill gate for ``slot``'s model: ``min_score``, or with "auto" its card's thresholds,
        built once per version rather than on every /predict (a hot path)."""
        if self.min_score != "auto":
            return self.min_score
        cached = self._auto_gate  # one read: a swap replaces the tuple whole
        if cached is None or cached[0] != slot.version:
            cached = (slot.version, gate_from_card(slot.model.card))
            self._auto_gate = cached
        return cached[1]

    # --- learning -----------------------------------------------------------------------------

    def record(self, payload: Any) -> dict[str, Any]:
        """Append the labels of one webhook payload to the log; schedule a retrain if due."""
        action = protocol.webhook_action(payload)
        if action not in LABEL_ACTIONS and action != TRAIN_ACTION:
            return {"status": "ignored", "action": action}
        pid = self.check_project(payload.get("project"))
        if action == TRAIN_ACTION:
            self.label_log.append([{"received": utc_now(), "action": action, "project": pid}])
            started = self.retrainer.request(force=True)
            return {"status": "training" if started else "queued", "action": action}
        events = protocol.webhook_events(action, payload, pid, self.schema)
        self.label_log.append(events)
        self.retrainer.add_pending(len(events))
        started = self.retrainer.request()
        return {"status": "ok", "action": action, "recorded": len(events), "retrain": started}

    def training_table(self, exclude: Collection[int] = ()) -> list[dict[str, Any]]:
        """Gold label rows from the label log (see :func:`~annotate.serve.training_set.log_labels`)."""
        return log_labels(self.label_log, self.schema, exclude)

    def request_retrain(self, force: bool = False) -> bool:
        """Start a background retrain if due (or forced); True if one was started or queued."""
        return self.retrainer.request(force)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no retrain runs or waits (for tests and shutdown); False on timeout."""
        return self.retrainer.wait_idle(timeout)

    def retrain(self) -> str:
        """Train, save and swap in a new version now, in this thread; its ``model_version``."""
        return self.retrainer.retrain()

    def close(self) -> None:
        self.retrainer.close()
