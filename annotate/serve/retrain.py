"""Retraining in the background: when to retrain, and building and swapping in a new version.

Every ``every`` new annotations, or on request, one background worker assembles the training set
(:mod:`annotate.serve.training_set`), trains with :func:`annotate.models.train.train` into a new
version folder (built under a temporary name and renamed, so a half-written version never
appears), loads it back with the same checks as any model and swaps it in. Requests that arrive
while a retrain runs are coalesced into one more run. A failed retrain leaves the old model
serving; the reason is logged and kept in :attr:`Retrainer.last_error`.

With ``queue_size``, each new version then re-orders the queue of every project served
(:func:`annotate.serve.live_queue.reorder_queue`): "Label All Tasks" serves its most useful
tasks first. A failed re-order is kept in ``last_error`` too; the new version serves all the same.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any

from annotate.errors import AnnotateError
from annotate.io import sweep_stale_temps, temp_prefix, utc_now, write_jsonl
from annotate.schema import Schema
from annotate.serve.label_log import LabelLog
from annotate.serve.registry import ModelRegistry, ModelSlot
from annotate.serve.training_set import (
    BASE_LABELS_NAME,
    StudioSources,
    fields_to_train,
    inherited_labels,
    training_set,
)

__all__ = ["DEFAULT_TRAIN_OPTIONS", "Retrainer"]

log = logging.getLogger("annotate.serve")

#: What a live retrain passes to :func:`annotate.models.train.train` unless told otherwise: fast
#: (no learning curve, 3 folds) and tolerant of the rare classes early annotation produces.
DEFAULT_TRAIN_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {"n_splits": 3, "learning_curve": False, "on_rare_class": "drop"}
)


class Retrainer:
    """Trains new versions of ``registry``'s model in one background thread, one at a time.

    Parameters
    ----------
    registry, label_log, sources : the versions, the label log and the Label Studio connections.
    schema : the schema every version is trained for.
    every : retrain after this many new annotations (0: only when forced).
    name : model name of the new versions (``NAME-v001``...).
    labels, sentences : a label table (and the sentences file its rows refer to) added at every retrain.
    train_options : keyword arguments for :func:`annotate.models.train.train`.
    queue_size : after each new version, queue this many of its most useful unlabelled tasks
        first in each project's "Label All Tasks" (0: leave the queue alone).
    """

    def __init__(
        self,
        registry: ModelRegistry,
        label_log: LabelLog,
        sources: StudioSources,
        schema: Schema,
        *,
        every: int,
        name: str,
        labels: Path | None = None,
        sentences: Path | None = None,
        train_options: Mapping[str, Any] = DEFAULT_TRAIN_OPTIONS,
        queue_size: int = 0,
    ) -> None:
        self.registry = registry
        self.label_log = label_log
        self.sources = sources
        self.schema = schema
        self.every = every
        self.name = name
        self.labels = labels
        self.sentences = sentences
        self.train_options = dict(train_options)
        self.queue_size = queue_size
        self._lock = threading.Lock()  # guards the counters and flags below
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="annotate-retrain")
        self.pending = label_log.count_unlearned()
        self._running = False
        self._again = False
        self._idle = threading.Event()
        self._idle.set()
        self.last_error: str | None = None
        self.last_trained: str | None = None
        self.retrains = 0
        self.learned_from: dict[str, Any] = {}
        self.queues: dict[str, dict[str, Any]] = {}  # project id -> the last re-order of its queue

    # --- when ---------------------------------------------------------------------------------

    @property
    def training(self) -> bool:
        return not self._idle.is_set()

    def add_pending(self, n: int) -> None:
        """Count ``n`` new annotations toward the next retrain."""
        with self._lock:
            self.pending += n

    def request(self, force: bool = False) -> bool:
        """Start a background retrain if due (or forced); True if one was started or queued."""
        with self._lock:
            if not force and (self.every == 0 or self.pending < self.every):
                return False
            self.pending = 0
            if self._running:
                self._again = True
                return True
            self._running = True
            self._idle.clear()
        self._executor.submit(self._loop)
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no retrain runs or waits (for tests and shutdown); False on timeout."""
        return self._idle.wait(timeout)

    def _loop(self) -> None:
        while True:
            try:
                self.retrain()
            except AnnotateError as err:  # not yet possible (too few labels, one class): say why, one line
                self.last_error = f"{utc_now()}: retrain not possible yet: {err}"
                log.warning("%s (still serving %s)", self.last_error, self.registry.slot.version)
            except Exception as err:  # a bug: keep serving the old model, and keep the traceback in the log
                self.last_error = f"{utc_now()}: retrain failed: {type(err).__name__}: {err}"
                log.error("%s (still serving %s)", self.last_error, self.registry.slot.version, exc_info=True)
            with self._lock:
                if self._again:
                    self._again = False
                    continue
                self._running = False
                self._idle.set()
                return

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)

    # --- how ----------------------------------------------------------------------------------

    def retrain(self) -> str:
        """Train a new version from everything there is to learn from, save it, swap it in; its version.

        The labels, the newest winning for a (sentence, field, target): the labels the serving
        model carries (its base labels), then ``labels``, then the projects' annotations (from
        Label Studio, or from the label log for a project it cannot read). Raises whatever
        training raises; the old model keeps serving.
        """
        from annotate.labels import label_records
        from annotate.models.store import save
        from annotate.models.train import train

        models_dir = self.registry.models_dir
        models_dir.mkdir(parents=True, exist_ok=True)
        sweep_stale_temps(models_dir)  # what a server killed mid-retrain left
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix("retrain"), suffix=".building", dir=models_dir))
        try:
            slot = self.registry.slot
            data = training_set(
                tmp,
                self.schema,
                sources=self.sources,
                label_log=self.label_log,
                base_files=(inherited_labels(slot.folder), self.labels),
                sentences=self.sentences,
                labels_path=self.labels,
            )
            self.learned_from = data.learned_from
            serving = list(slot.model.estimators) if slot.model is not None else []
            fields = fields_to_train(data.labels, serving, int(self.train_options.get("min_per_class", 5)))
            result = train(data.labels, self.schema, name=self.name, fields=fields, **self.train_options)
            card = save(result, tmp)  # writes training_labels.jsonl: everything it learned from
            if data.base is not None:  # what the next version inherits (not the annotations: LS has them)
                write_jsonl(tmp / BASE_LABELS_NAME, label_records(data.base))
            final = self.registry.next_folder(self.name)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        new = self.registry.swap_in(final, self.schema)
        with self._lock:
            self.retrains += 1
            self.last_trained = new.since
            self.last_error = None
        self.registry.write_pointer(new)
        n_labels = len(data.labels)
        self.label_log.append(
            [
                {
                    "received": utc_now(),
                    "action": "RETRAINED",
                    "model_version": new.version,
                    "folder": final.name,
                    "labels": n_labels,
                    "live_labels": data.live,
                }
            ]
        )
        log.info(
            "retrained: now serving %s (%s, %d labels, %d from annotations)",
            card["model_version"],
            final.name,
            n_labels,
            data.live,
        )
        self.reorder(new)
        return new.version

    def reorder(self, slot: ModelSlot) -> None:
        """Re-order the queue of every project served for the model of ``slot`` (with ``queue_size``).

        The projects are those a retrain learns from (:meth:`StudioSources.known_projects`), each
        reached as the retrain reaches it. A project that fails is named in ``last_error`` and
        the others are still re-ordered; the model serves either way. A project no Label Studio
        connection reaches (no URL configured, the server down) is skipped and says why in its
        entry of ``queues``, as the training set notes it: that is the same state the retrain has
        just learned without, not a failure of the re-order.
        """
        if self.queue_size <= 0 or slot.model is None:
            return
        from annotate.serve.live_queue import reorder_queue

        failed = []
        for pid in sorted(self.sources.known_projects(self.label_log)):
            try:
                studio = self.sources.connect(pid)
            except AnnotateError as err:
                with self._lock:
                    self.queues[str(pid)] = {"model_version": slot.version, "skipped": str(err), "at": utc_now()}
                continue
            if studio is None:
                continue
            try:
                summary = reorder_queue(studio, pid, slot.model, self.schema, size=self.queue_size)
            except Exception as err:  # a bug or an unreachable server: the new model still serves
                failed.append(f"project {pid}: {type(err).__name__}: {err}")
                log.warning("re-ordering the queue of project %s failed: %s", pid, err,
                            exc_info=not isinstance(err, AnnotateError))  # fmt: skip
                continue
            with self._lock:
                self.queues[str(pid)] = {"model_version": slot.version, "queued": summary.queued,
                                         "at": utc_now()}  # fmt: skip
            log.info("%s", summary)
        if failed:
            self.last_error = f"{utc_now()}: re-ordering the queue failed: {'; '.join(failed)}"
