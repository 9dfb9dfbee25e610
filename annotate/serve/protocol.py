"""Label Studio's ML backend payloads, translated by plain functions (no web framework needed).

Requests in: a JSON body (:func:`parse_body`), a project reference (:func:`project_id`), a
``label_config`` (:func:`parse_label_config`, :func:`check_config_covers_model`), tasks
(:func:`task_records`) and webhook payloads (:func:`webhook_action`, :func:`webhook_events`).
Answers out: one ``/predict`` result per task, in order (:func:`task_results`). Whatever a
sender got wrong raises :class:`RequestError` with the HTTP status and one sentence.

>>> records, has_target = task_records([{"id": 7, "data": {"text": "Exports rose."}}], ["text"], "text")
>>> records[0]["text"], has_target
('Exports rose.', [False])
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from annotate.acceptance import HINT_SUFFIX, Gate, is_hint
from annotate.errors import AnnotateError
from annotate.io import utc_now
from annotate.schema import Schema

__all__ = [
    "LABEL_ACTIONS",
    "TRAIN_ACTION",
    "RequestError",
    "parse_body",
    "project_id",
    "check_project",
    "object_keys",
    "parse_label_config",
    "check_config_covers_model",
    "task_list",
    "task_records",
    "task_results",
    "empty_results",
    "webhook_action",
    "webhook_events",
]

#: The webhook actions that carry labels; every other action is acknowledged and ignored.
LABEL_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")
TRAIN_ACTION = "START_TRAINING"
#: The task data a webhook event keeps in the log (the text and what the features read).
EVENT_DATA_KEYS = ("sentence_id", "doc_id", "text", "target", "target_id", "speaker", "in_quote", "position")


class RequestError(Exception):
    """A request the server refuses: becomes ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body; 415 unless it is ``application/json``, 400 unless an object."""
    # Only JSON: a cross-site page can POST text/plain or a form to a local port without a
    # preflight, but not application/json (CORS), so a forged webhook cannot retrain the model.
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind != "application/json":
        raise RequestError(415, f"request body must be application/json; got {kind or 'no content type'}")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as err:
        raise RequestError(400, f"request body is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise RequestError(400, f"request body must be a JSON object; got {type(data).__name__}")
    return data


def project_id(value: Any) -> int | None:
    """LS sends ``"<id>.<created_ts>"`` to /setup and /predict, a project dict to /webhook."""
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        return None
    m = re.match(r"^\s*(\d+)(?:\.\d*)?\s*$", str(value))
    if not m:
        raise RequestError(400, f"'project' must look like '<id>.<timestamp>' or be a project id; got {value!r}")
    return int(m.group(1))


def check_project(value: Any, served: Collection[int] | None) -> int | None:
    """The project id of ``value``; 404 unless it is among ``served`` (None: any project)."""
    pid = project_id(value)
    if served is not None and pid not in served:
        listed = ", ".join(str(p) for p in sorted(served))
        raise RequestError(
            404,
            f"unknown project {pid if pid is not None else '(none given)'}: this backend serves project(s) {listed}",
        )
    return pid


def object_keys(xml: str) -> dict[str, str]:
    """Object tag name -> the task data key it shows (``<Text name="text" value="$text"/>``)."""
    out = {}
    for el in ET.fromstring(xml).iter():
        value, name = el.get("value", ""), el.get("name")
        if name and value.startswith("$") and el.tag[:1].isupper():
            out.setdefault(name, value[1:])
    return out


# --- /predict -------------------------------------------------------------------------------------


def parse_label_config(label_config: str, schema: Schema) -> Schema:
    """The request's ``label_config`` as a schema; 422 unless every field is one of ``schema``'s.

    The result keeps ``schema``'s targets: targets live beside the config, not in it.
    """
    try:
        parsed = Schema.from_string(label_config, path="request label_config")
    except AnnotateError as err:
        raise RequestError(422, f"label_config is not a usable Label Studio config: {err}") from None
    unknown = [
        f"'{f.name}' ({f.type})"
        for f in parsed.fields.values()
        if f.name not in schema.fields or schema.fields[f.name].type != f.type
    ]
    if unknown:
        raise RequestError(
            422,
            f"label_config has field(s) {', '.join(unknown)} that the model's schema "
            f"{Path(schema.path).name} (hash {schema.hash}) does not know; "
            f"its fields are: {', '.join(schema.fields)}",
        )
    return replace(parsed, targets=schema.targets, target_field=schema.target_field)


def check_config_covers_model(config: Schema, model_fields: Mapping[str, Any]) -> None:
    """422 unless ``config`` has every field the model predicts, with every label as a choice.

    ``model_fields``: the model card's ``fields`` (name -> ``{"labels": [...], ...}``).
    """
    for fname, meta in model_fields.items():
        f = config.fields.get(fname)
        if f is None:
            raise RequestError(422, f"label_config has no field '{fname}', which the model predicts")
        missing = [v for v in meta.get("labels", []) if f.to_value(v) is None]
        if missing:
            raise RequestError(
                422, f"field '{fname}' of label_config lacks the choice(s) the model predicts: {', '.join(missing)}"
            )


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


def task_list(tasks: Any) -> list[Any]:
    """``tasks`` itself; 400 unless it is a list."""
    if not isinstance(tasks, list):
        raise RequestError(400, f"'tasks' must be a list of tasks; got {type(tasks).__name__}")
    return tasks


def task_records(tasks: Any, data_keys: Sequence[str], text_key: str) -> tuple[list[dict[str, Any]], list[bool]]:
    """Prediction input records from Label Studio tasks, and whether each task has a target.

    ``data_keys``: the task data keys the schema uses (422 if a task lacks one); ``text_key``:
    the key holding the sentence. Record ``i`` has ``sentence_id`` ``str(i)``, so predictions
    find their task again whatever ids the tasks carry.
    """
    records: list[dict[str, Any]] = []
    has_target: list[bool] = []
    for i, task in enumerate(task_list(tasks)):
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            raise RequestError(422, f"task #{i} has no 'data' object; send Label Studio tasks ({{'data': {{...}}}})")
        missing = [k for k in data_keys if k not in data]
        if missing:
            raise RequestError(
                422,
                f"task #{i} (id {task.get('id', '?')}) lacks the data key(s) {', '.join('$' + k for k in missing)} "
                f"that the schema uses; tasks need: {', '.join('$' + k for k in data_keys)}",
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
    return records, has_target


def empty_results(n: int, model_version: str) -> list[dict[str, Any]]:
    """``n`` empty answers: what a task gets when there is no model or no prediction for it."""
    return [{"result": [], "score": 0.0, "model_version": model_version} for _ in range(n)]


def task_results(
    predictions: Sequence[dict[str, Any]],
    has_target: Sequence[bool],
    model_version: str,
    min_score: float | Gate | None = None,
) -> list[Any]:
    """One ``{"result", "score", "model_version"}`` per task, in order, from prediction records.

    ``predictions``: what :func:`annotate.models.predict.predict` returned for :func:`task_records`'
    records (``sentence_id`` is the task's index). A task without a target gets no stance answer:
    ``predict`` tries every concerned target for a sentence without one.

    With ``min_score`` (see :mod:`annotate.acceptance`), the answers below it go into a second
    prediction of the task, of model_version ``<version>-hint``: Label Studio accepts a list of
    predictions per task, shows both, and pre-fills only the one of the project's model_version.
    """
    from annotate.models.predict import to_predictions

    # a task without a target gets no stance answer (predict would try every concerned target)
    kept = [r for r in predictions if not r.get("target") or has_target[int(r["sentence_id"])]]
    sure = [r for r in kept if not is_hint(min_score, r)]
    hints = [r for r in kept if is_hint(min_score, r)] if min_score is not None else []
    results: list[Any] = empty_results(len(has_target), model_version)
    for i, p in ((int(p["sentence_id"]), p) for p in to_predictions(sure)):
        results[i] = {"result": p["result"], "score": p["score"], "model_version": model_version}
    for i, p in ((int(p["sentence_id"]), p) for p in to_predictions(hints)):
        hint = {"result": p["result"], "score": p["score"], "model_version": model_version + HINT_SUFFIX}
        results[i] = [results[i], hint] if results[i]["result"] else hint
    return results


# --- /webhook -------------------------------------------------------------------------------------


def webhook_action(payload: Any) -> str:
    """The ``action`` of a webhook payload; 400 unless the payload is an object with one."""
    if not isinstance(payload, dict):
        raise RequestError(400, f"webhook body must be a JSON object; got {type(payload).__name__}")
    action = payload.get("action")
    if not isinstance(action, str):
        raise RequestError(400, "webhook body has no 'action'")
    return action


def _is_id(value: Any) -> bool:
    """A Label Studio object id: an int (not a bool) or a string."""
    return isinstance(value, int | str) and not isinstance(value, bool)


def webhook_events(action: str, payload: dict[str, Any], pid: int | None, schema: Schema) -> list[dict[str, Any]]:
    """The label log events of one webhook payload of a :data:`LABEL_ACTIONS` action.

    A deletion is one event listing the annotation ids. Every other action gives one event per
    annotation: its ids, the task data the training rows need, and ``rows``, the annotation
    flattened exactly as ``annotate pull`` flattens an export (:func:`annotate.studio.pull.flatten`).
    422 for a payload of the wrong shape, before anything is kept.
    """
    if action == "ANNOTATIONS_DELETED":
        anns = payload.get("annotations")
        if not isinstance(anns, list):
            raise RequestError(422, "ANNOTATIONS_DELETED needs 'annotations': a list of {'id': ...}")
        ids = [a.get("id") if isinstance(a, dict) else a for a in anns]
        if not all(_is_id(i) for i in ids):
            raise RequestError(422, "ANNOTATIONS_DELETED: every annotation id must be a number or a string")
        return [{"received": utc_now(), "action": action, "project": pid, "annotation_ids": ids}]
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
        out.append(
            {
                "received": utc_now(),
                "action": action,
                "project": pid,
                "annotation_id": ann["id"],
                "task_id": task.get("id"),
                "data": {k: data[k] for k in EVENT_DATA_KEYS if k in data},
                "rows": _annotation_rows(action, ann, {**task, "data": data}, pid, schema),
            }
        )
    return out


def _annotation_rows(
    action: str, ann: dict[str, Any], task: dict[str, Any], pid: int | None, schema: Schema
) -> list[dict[str, Any]]:
    from annotate.studio.pull import flatten

    result = ann.get("result", [])
    if not isinstance(result, list) or not all(
        isinstance(item, dict) and isinstance(item.get("value", {}), dict) for item in result
    ):
        raise RequestError(422, f"{action}: annotation {ann['id']} has a malformed 'result' (a list of items)")
    try:
        return list(flatten([{**task, "annotations": [ann]}], schema, snapshot="live", project=str(pid)))
    except (TypeError, AttributeError, ValueError, KeyError) as err:
        # a result item of the wrong shape (choices that are not a list of strings...): the
        # sender's mistake, answered with 422 rather than a 500
        raise RequestError(422, f"{action}: cannot read annotation {ann['id']} ({type(err).__name__}: {err})") from None
