"""Sentences (and predictions) to Label Studio tasks: exactly once, with the schema attached.

One task per sentence x target for the targets that concern the sentence (its text or its
context mentions a keyword); a sentence that concerns no target still gets one task with
target ``""`` so that its claim type is annotated. A schema without a target field gives one
task per sentence. Each task carries ``task_key`` (``sentence_id`` or ``sentence_id@target_id``),
the identity that makes push idempotent: before importing, push lists the keys already in the
project and imports only the missing ones, in batches. An interrupted push leaves whole batches
behind, and the next push imports the rest: never a duplicate.

The schema hash (and target field) are written into the project description, and a changed
schema is refused on a project with annotations unless it keeps every field and choice.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotate.acceptance import HINT_SUFFIX, Gate, is_hint, prefill_gate
from annotate.errors import InputError, SchemaError, StudioError
from annotate.io import read_jsonl, write_jsonl
from annotate.progress import progress as progress_line
from annotate.schema import Field, Schema
from annotate.sentences import TASK_KEYS, read_sentence_lines
from annotate.studio.client import Studio, api_call, find_project, iter_task_pages, project_lock
from annotate.studio.queue import QUEUE_MARK, QueueSummary, order_queue, read_order
from annotate.studio.results import encode

__all__ = [
    "PushSummary",
    "read_sentences",
    "read_predictions",
    "make_tasks",
    "push",
    "push_tasks",
    "check_prediction_source",
    "existing_task_keys",
    "ensure_project",
    "iter_task_keys",
    "describe_project",
    "parse_description",
    "hint_predictions",
]

NO_TARGET_LABEL = "(no target for this sentence: answer the claim type only)"


@dataclass
class PushSummary:
    """What a push did; ``str()`` is the line the CLI prints."""

    project: str
    project_id: int
    url: str
    sentences: int = 0
    tasks: int = 0
    existing: int = 0
    imported: int = 0
    predictions: int = 0
    predictions_unmatched: int = 0
    created_project: bool = False
    updated_schema: bool = False
    model_version: str | None = None
    batches: list[int] = field(default_factory=list)
    queue: QueueSummary | None = None  # with ``order``: how the label stream was ordered after the push
    hints: int = 0  # predictions below ``min_score``: shown as hints, not pre-filled

    def __str__(self) -> str:
        text = (
            f"project '{self.project}' (id {self.project_id}{', new' if self.created_project else ''}): "
            f"{self.sentences} sentences -> {self.tasks} tasks; {self.imported} imported, "
            f"{self.existing} already there"
        )
        if self.predictions or self.model_version:
            text += f"; {self.predictions} predictions attached (model_version {self.model_version})"
        if self.hints:
            text += f"; {self.hints} below --min-score shown as hints ('{HINT_SUFFIX}'), not pre-filled"
        if self.predictions_unmatched:
            text += f"; {self.predictions_unmatched} prediction records match no task (not attached)"
        text += f"\nopen {self.url}/projects/{self.project_id}/data"
        return text + (f"\n{self.queue}" if self.queue is not None else "")


# --- reading inputs ----------------------------------------------------------------------


def read_sentences(path: str | Path) -> list[dict[str, Any]]:
    """Read an ingest-format sentences JSONL, checking every line before anything is pushed.

    Every record needs the task keys (:data:`annotate.sentences.TASK_KEYS`), and ids are unique.
    """
    return [rec for _, rec in read_sentence_lines(path, keys=TASK_KEYS, duplicates="error")]


def _meta(rec: dict[str, Any]) -> str:
    return " · ".join(str(rec[k]) for k in ("title", "source", "date") if rec.get(k))


def make_tasks(sentences: Iterable[dict[str, Any]], schema: Schema) -> Iterator[dict[str, Any]]:
    """Task ``data`` dicts: one per sentence x concerned target (or one per sentence)."""
    for rec in sentences:
        ctx = rec.get("context") or {}
        prev, nxt = ctx.get("previous") or "", ctx.get("next") or ""
        base = {
            "text": rec["text"],
            "previous": prev,
            "next": nxt,
            "meta": _meta(rec),
            "sentence_id": rec["sentence_id"],
            "doc_id": rec["doc_id"],
            "speaker": rec.get("speaker") or "",
            "in_quote": bool(rec.get("in_quote")),
            "start": rec["start"],
            "end": rec["end"],
            "schema_hash": schema.hash,
        }
        for key in ("title", "url"):  # gold and conflicts files carry them for an editor (resolve)
            if rec.get(key):
                base[key] = str(rec[key])
        for key in schema.data_keys:  # custom $vars come from the sentence record
            if key not in base and key not in ("target",) and key in rec:
                base[key] = rec[key]
        if schema.target_field is None:
            yield {**base, "target": "", "target_id": "", "task_key": rec["sentence_id"]}
            continue
        hits = [t for t in schema.targets if t.concerns(rec["text"], prev, nxt)]
        if not hits:
            yield {**base, "target": NO_TARGET_LABEL, "target_id": "", "task_key": rec["sentence_id"]}
        for t in hits:
            label = t.name + (f" — {t.description}" if t.description else "")
            yield {**base, "target": label, "target_id": t.id, "task_key": f"{rec['sentence_id']}@{t.id}"}


def _check_data_keys(schema: Schema, task: dict[str, Any]) -> None:
    missing = [k for k in schema.data_keys if k not in task]
    if missing:
        raise SchemaError(
            f"the schema uses ${', $'.join(missing)}, which the sentence records do not provide",
            path=schema.path,
            hint=f"use the task data keys: {', '.join(sorted(task))}",
        )


def _result_item(f: Field, value: Any, text: str, path: Path, lineno: int) -> dict[str, Any]:
    """One LS result item for a prediction value, validated against the schema; errors name file:line."""
    try:
        return encode(f, value, text)
    except SchemaError as err:
        raise SchemaError(err.message, path=path, line=lineno, hint=err.hint) from None


def read_predictions(path: str | Path, schema: Schema, sentences: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate a predictions JSONL against the schema; one record per line.

    Record: ``sentence_id``, optional ``target`` (target id; required for the target field),
    ``field``, ``value``, ``score`` (0..1), ``model_version``. Returns validated records with
    an LS ``result`` item each. A bad record raises :class:`SchemaError` naming file:line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such predictions file", path=path, hint="give a JSONL of prediction records")
    out = []
    for lineno, rec in read_jsonl(path):
        for key in ("sentence_id", "field", "value", "model_version"):
            if key not in rec:
                raise SchemaError(
                    f"prediction record has no '{key}'",
                    path=path,
                    line=lineno,
                    hint="keys: sentence_id, target (optional), field, value, score, model_version",
                )
        if rec["field"] not in schema.fields:
            raise SchemaError(
                f"the schema has no field '{rec['field']}'",
                path=path,
                line=lineno,
                hint=f"use one of: {', '.join(schema.fields)}",
            )
        f = schema.fields[rec["field"]]
        target = rec.get("target") or ""
        if target and schema.target(target) is None:
            known = ", ".join(t.id for t in schema.targets) or "none"
            raise SchemaError(f"unknown target '{target}'", path=path, line=lineno, hint=f"targets: {known}")
        if f.name == schema.target_field and not target:
            raise SchemaError(
                f"a prediction for '{f.name}' needs a 'target'", path=path, line=lineno, hint="add the target id"
            )
        score = rec.get("score")
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1  # NaN fails too
        ):
            raise SchemaError(
                f"score {score!r} is not a number in 0..1", path=path, line=lineno, hint="give a number in 0..1"
            )
        text = sentences.get(rec["sentence_id"], {}).get("text", "")
        item = _result_item(f, rec["value"], text, path, lineno)
        out.append(
            {
                "sentence_id": rec["sentence_id"],
                "target": schema.target(target).id if target else "",
                "field": f.name,
                "score": float(score) if score is not None else None,
                "model_version": str(rec["model_version"]),
                "result": item,
            }
        )
    return out


def _predictions_for(task: dict[str, Any], by_sentence: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """LS prediction objects for a task: one per model_version, merging its fields' results.

    A record without ``target`` applies to every task of its sentence; the prediction's score is
    the lowest score of its results (the most uncertain field decides uncertainty sampling).
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in by_sentence.get(task["sentence_id"], []):
        if rec["target"] and rec["target"] != task["target_id"]:
            continue
        groups.setdefault(rec["model_version"], []).append(rec)
    preds = []
    for mv, recs in groups.items():
        scores = [r["score"] for r in recs if r["score"] is not None]
        pred: dict[str, Any] = {"model_version": mv, "result": [r["result"] for r in recs]}
        if scores:
            pred["score"] = min(scores)
        preds.append(pred)
    return preds


def hint_predictions(sentences: Iterable[dict[str, Any]], schema: Schema, model_version: str = "ingest-hints-1"):
    """Prediction records from ingest's speaker hint: a ``Speaker`` span where the sentence names one.

    A rule, not a model (score 0.5): it gives annotators pre-annotations before any model is
    trained, and shows the predictions path working end to end.
    """
    f = next((f for f in schema.span_fields if f.to_value("Speaker") is not None), None)
    if f is None:
        return
    for rec in sentences:
        speaker = rec.get("speaker")
        at = rec["text"].find(speaker) if speaker else -1
        if at >= 0:
            value = {"start": at, "end": at + len(speaker), "label": "Speaker"}
            yield {"sentence_id": rec["sentence_id"], "field": f.name, "value": value, "score": 0.5,
                   "model_version": model_version}  # fmt: skip


# --- the project ----------------------------------------------------------------------------

_DESC_RE = re.compile(r"annotate schema_hash=(\w+)(?: target_field=(\w*))?")


def describe_project(schema: Schema) -> str:
    """The project description: human text plus a machine-readable line that pull reads back."""
    return (
        f"Sentences pushed by annotate (schema {Path(schema.path).name}).\n"
        f"annotate schema_hash={schema.hash} target_field={schema.target_field or ''}"
    )


def parse_description(description: str | None) -> tuple[str | None, str | None]:
    """(schema_hash, target_field) from a project description written by :func:`describe_project`."""
    m = _DESC_RE.search(description or "")
    return (m.group(1), m.group(2) or None) if m else (None, None)


def _check_compatible(old_xml: str, new: Schema, project_title: str) -> None:
    """Refuse a new schema that drops a field or a stored choice the project's annotations may use."""
    try:
        old = Schema.from_string(old_xml, path=f"project '{project_title}'")
    except SchemaError:
        raise StudioError(
            f"project '{project_title}' has annotations and a label config annotate cannot read",
            hint="push to a new --project",
        ) from None
    lost = []
    for name, f in old.fields.items():
        nf = new.fields.get(name)
        if nf is None or nf.type != f.type:
            lost.append(f"field '{name}'")
            continue
        kept = {c.stored for c in nf.choices}
        lost += [f"choice '{c.stored}' of '{name}'" for c in f.choices if c.stored not in kept and f.type != "rating"]
    if lost:
        raise StudioError(
            f"project '{project_title}' has annotations and the new schema drops {', '.join(lost[:5])}"
            + (f" and {len(lost) - 5} more" if len(lost) > 5 else ""),
            hint="keep every existing field and choice, or push to a new --project",
        )


def ensure_project(
    studio: Studio, title: str, schema: Schema, summary: PushSummary, guidelines: str | Path | None = None
) -> Any:
    """The project titled ``title``, with ``schema`` as its label config and the instructions of
    ``guidelines``: created, updated, or as it was.

    ``summary`` records whether it was created or its schema updated; a schema that drops fields
    or choices of a project with annotations is refused.
    """
    from annotate.guidelines import instructions_html

    ls = studio.client
    instructions = instructions_html(schema, guidelines)
    project = find_project(studio, title, required=False)
    if project is None:
        project = api_call(
            studio,
            ls.projects.create,
            title=title,
            label_config=schema.xml,
            description=describe_project(schema),
            show_skip_button=True,
            # the guidelines (the desk's, else the packaged ones) open when the label stream
            # starts, and from the top bar's Instructions button; tasks come in order so context
            # reads naturally
            expert_instruction=instructions,
            show_instruction=True,
            sampling="Sequential sampling",
        )
        summary.created_project = True
        return project
    old_hash, _ = parse_description(project.description)
    if old_hash == schema.hash and (project.label_config or "").strip() == schema.xml.strip():
        if (getattr(project, "expert_instruction", None) or "") != instructions:
            # the desk edited its guidelines: annotators read the new ones from the next task on
            api_call(studio, ls.projects.update, id=project.id, expert_instruction=instructions)
        return project
    project = api_call(studio, ls.projects.get, id=project.id)
    has_annotations = (project.total_annotations_number or 0) + (project.skipped_annotations_number or 0) > 0
    if has_annotations:
        _check_compatible(project.label_config or "", schema, title)
    api_call(
        studio,
        ls.projects.update,
        id=project.id,
        label_config=schema.xml,
        description=describe_project(schema),
        expert_instruction=instructions,
    )
    summary.updated_schema = True
    return api_call(studio, ls.projects.get, id=project.id)


def iter_task_keys(
    studio: Studio, project_id: int, page_size: int = 1000, *, progress: bool = False
) -> Iterator[tuple[str, int]]:
    """``(task_key, task id)`` of every task in the project, duplicates included, page by page.

    Read with the raw pager :func:`~annotate.studio.client.iter_task_pages` (which says why not
    the SDK's); ``benchmarks/push_pull.py`` measures the two.
    """
    seen = 0
    with progress_line(progress, "listing", "tasks") as tick:
        for tasks in iter_task_pages(studio, project_id, page_size):
            for t in tasks:
                data = t.get("data") or {}
                key = data.get("task_key") or data.get("sentence_id")
                if key:
                    yield key, t["id"]
            seen += len(tasks)
            tick(seen)


def existing_task_keys(
    studio: Studio, project_id: int, page_size: int = 1000, *, progress: bool = False
) -> dict[str, int]:
    """``task_key -> task id`` for every task in the project (see :func:`iter_task_keys`)."""
    return dict(iter_task_keys(studio, project_id, page_size, progress=progress))


def _attach_to_existing(
    studio: Studio, project_id: int, tasks: list[dict[str, Any]], keys: dict[str, int], by_sentence: dict
) -> int:
    """Add predictions to tasks already in the project, skipping model versions they already have."""
    ls = studio.client
    have: set[tuple[int, str]] = set()
    for p in api_call(studio, lambda: list(ls.predictions.list(project=project_id))):
        if isinstance(p.neighbors, dict) and QUEUE_MARK in p.neighbors:
            continue  # a queue prediction (push --order) is not the model's pre-annotation
        have.add((p.task, p.model_version or ""))
    batch = []
    for task in tasks:
        tid = keys.get(task["task_key"])
        if tid is None:
            continue
        for pred in _predictions_for(task, by_sentence):
            if (tid, pred["model_version"]) not in have:
                batch.append({"task": tid, **pred})
    if batch:
        api_call(studio, ls.projects.import_predictions, id=project_id, request=batch)
    return len(batch)


def push(
    studio: Studio,
    sentences: str | Path | list[dict[str, Any]],
    schema: Schema,
    *,
    project: str | None = None,
    predictions: str | Path | None = None,
    model: str | Path | None = None,
    order: str | Path | Iterable[Any] | None = None,
    min_score: float | str | None = None,
    progress: bool = False,
    **options: Any,
) -> PushSummary:
    """Push the sentences as tasks (see :func:`push_tasks`), pre-annotated by ``model`` or ``predictions``.

    ``model`` (a folder written by ``annotate train``) predicts the sentences first, into a
    temporary file, and its predictions go with the tasks; give it or ``predictions``, not both.
    ``order`` (``annotate suggest``'s output, or sentence ids) then makes "Label All Tasks" serve
    those tasks first (:func:`annotate.studio.queue.order_queue`): after the push, because the
    predictions it brings decide the project's ``model_version`` the queue is built on.
    ``min_score`` gates the pre-filling (see :func:`push_tasks`); ``"auto"`` takes, per field, the
    threshold ``annotate train`` found for 90% precision in cross-validation (needs ``model``).
    Every input is read and checked before anything changes in Label Studio.
    """
    check_prediction_source(model, predictions)
    gate = prefill_gate(min_score, model)
    entries = read_order(order) if order is not None else None
    with tempfile.TemporaryDirectory(prefix="annotate-push-") as tmp:
        if model is not None:
            # deferred: predicting needs scikit-learn, which a push without a model never loads
            from annotate.models.predict import predict_file

            source = sentences
            if isinstance(sentences, list):
                source = Path(tmp) / "sentences.jsonl"
                write_jsonl(source, sentences)
            predictions = Path(tmp) / "predictions.jsonl"
            predict_file(model, source, predictions, schema)
        summary = push_tasks(studio, sentences, schema, project=project, predictions=predictions, progress=progress,
                             min_score=gate, **options)  # fmt: skip
    if entries is not None:
        summary.queue = order_queue(studio, summary.project_id, entries, progress=progress)
    return summary


def check_prediction_source(model: str | Path | None, predictions: str | Path | None) -> None:
    """Pre-annotations come from a model or from a predictions file, not both (raises InputError)."""
    if model is not None and predictions is not None:
        raise InputError("give --model or --predictions, not both", hint="predict first, then push the file")


def push_tasks(
    studio: Studio,
    sentences: str | Path | list[dict[str, Any]],
    schema: Schema,
    *,
    project: str | None = None,
    predictions: str | Path | None = None,
    batch_size: int = 1000,
    on_batch: Callable[[int, int], None] | None = None,
    progress: bool = False,
    guidelines: str | Path | None = None,
    hints: bool = False,
    matches: str | Path | None = None,
    match_threshold: float | None = None,
    group_duplicates: bool = False,
    duplicate_threshold: float | None = None,
    min_score: float | Gate | None = None,
) -> PushSummary:
    """Create or find the project, set its config, import the missing tasks (with predictions).

    Inputs are read and validated completely before the first request that changes anything.
    Tasks go in batches of ``batch_size``, each one request that Label Studio commits whole, so
    an interrupted push leaves whole batches and the next push resumes after them.
    ``on_batch(imported_so_far, to_import)`` is called after each imported batch; ``progress``
    draws a progress line with the rate (on a terminal). ``guidelines`` (Markdown; default
    the packaged ``docs/guidelines.md``) become the project's instructions. ``hints`` adds ingest's speaker
    hints as pre-annotated Speaker spans (:func:`hint_predictions`), beside any ``predictions``.
    ``matches`` (``annotate match``'s output) shows each task's likely matches and adds the
    ``checked`` field, pre-annotated above ``match_threshold`` (:mod:`annotate.studio.matches`).
    ``group_duplicates`` pushes one sentence per cluster of near-identical ones, its task listing
    the members (:mod:`annotate.duplicates`; ``duplicate_threshold`` is the cosine similarity).
    """
    from annotate.studio import matches as match_view

    records = sentences if isinstance(sentences, list) else read_sentences(sentences)
    clusters = None
    if group_duplicates:
        from annotate.duplicates import group_for_push

        records, schema, clusters = group_for_push(records, schema, duplicate_threshold)
    found = match_view.read_matches(matches) if matches is not None else None
    if found is not None:
        schema = match_view.with_checked_field(schema)
    tasks = list(make_tasks(records, schema))
    if clusters is not None:
        from annotate.duplicates import add_cluster_data

        add_cluster_data(tasks, clusters)
    if found is not None:
        match_view.add_match_data(tasks, found)
    if tasks:
        _check_data_keys(schema, tasks[0])
    by_sentence: dict[str, list[dict[str, Any]]] = {}
    unmatched = 0
    model_versions: list[str] = []
    with contextlib.ExitStack() as stack:
        if hints or found is not None:
            # hints and matches go through the same validation as a predictions file: one combined file
            rows = [rec for _, rec in read_jsonl(predictions)] if predictions is not None else []
            extra = list(hint_predictions(records, schema)) if hints else []
            if found is not None:
                extra += match_view.match_predictions(
                    found,
                    [r["sentence_id"] for r in records],
                    match_view.DEFAULT_THRESHOLD if match_threshold is None else match_threshold,
                    match_view.model_version_for(rows),
                )
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="annotate-hints-")))
            write_jsonl(folder / "predictions.jsonl", [*rows, *extra])
            if predictions is not None:
                # validated as given first, so an error names the user's file and line
                read_predictions(predictions, schema, {r["sentence_id"]: r for r in records})
            predictions = folder / "predictions.jsonl"
        unmatched, gated = _collect_predictions(
            predictions, schema, records, tasks, by_sentence, model_versions, min_score
        )
    title = project or Path(schema.path).stem
    summary = PushSummary(project=title, project_id=0, url=studio.url, sentences=len(records), tasks=len(tasks))
    summary.predictions_unmatched = unmatched
    summary.hints = gated
    with project_lock(studio.url, title):
        return _push_locked(studio, title, schema, tasks, by_sentence, model_versions, summary, batch_size,
                            on_batch, progress, guidelines)  # fmt: skip


def _collect_predictions(
    predictions: str | Path | None,
    schema: Schema,
    records: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    by_sentence: dict[str, list[dict[str, Any]]],
    model_versions: list[str],
    min_score: float | Gate | None = None,
) -> tuple[int, int]:
    """Group the validated predictions by sentence; how many match no pushed task, how many are hints.

    A prediction scored below ``min_score`` (one number, or one per field and label) becomes a hint: its
    model_version gets :data:`HINT_SUFFIX`, so Label Studio shows it without pre-filling it, and
    it does not count toward the project's model_version.
    """
    unmatched = gated = 0
    if predictions is not None:
        sent_index = {r["sentence_id"]: r for r in records}
        task_targets = {(t["sentence_id"], t["target_id"]) for t in tasks}
        for rec in read_predictions(predictions, schema, sent_index):
            # a sentence we do not push, or a target the sentence has no task for: counted, not attached
            if rec["sentence_id"] not in sent_index or (
                rec["target"] and (rec["sentence_id"], rec["target"]) not in task_targets
            ):
                unmatched += 1
                continue
            if is_hint(min_score, rec):
                rec = {**rec, "model_version": rec["model_version"] + HINT_SUFFIX}
                gated += 1
            else:
                model_versions.append(rec["model_version"])
            by_sentence.setdefault(rec["sentence_id"], []).append(rec)
    return unmatched, gated


def _push_locked(
    studio: Studio,
    title: str,
    schema: Schema,
    tasks: list[dict[str, Any]],
    by_sentence: dict[str, list[dict[str, Any]]],
    model_versions: list[str],
    summary: PushSummary,
    batch_size: int,
    on_batch: Callable[[int, int], None] | None,
    progress: bool,
    guidelines: str | Path | None = None,
) -> PushSummary:
    proj = ensure_project(studio, title, schema, summary, guidelines)
    summary.project_id = proj.id
    keys = existing_task_keys(studio, proj.id, progress=progress) if not summary.created_project else {}
    todo, seen = [], set(keys)
    for t in tasks:
        if t["task_key"] not in seen:
            seen.add(t["task_key"])
            todo.append(t)
    summary.existing = len(tasks) - len(todo)
    if by_sentence and keys:
        summary.predictions += _attach_to_existing(studio, proj.id, tasks, keys, by_sentence)
    ls = studio.client
    with progress_line(progress, "pushing", "tasks") as tick:
        for i in range(0, len(todo), batch_size):
            batch = []
            for data in todo[i : i + batch_size]:
                item: dict[str, Any] = {"data": data}
                preds = _predictions_for(data, by_sentence) if by_sentence else []
                if preds:
                    item["predictions"] = preds
                    summary.predictions += len(preds)
                batch.append(item)
            res = api_call(studio, ls.projects.import_tasks, id=proj.id, request=batch)
            count = getattr(res, "task_count", None)
            if count is not None and count != len(batch):
                raise StudioError(f"Label Studio imported {count} of {len(batch)} tasks in a batch; run push again")
            summary.imported += len(batch)
            summary.batches.append(len(batch))
            if on_batch is not None:
                on_batch(summary.imported, len(todo))
            tick(summary.imported)
    if model_versions:
        # the most frequent version becomes the one the UI pre-fills annotations from
        mv = max(set(model_versions), key=model_versions.count)
        api_call(studio, ls.projects.update, id=proj.id, model_version=mv)
        summary.model_version = mv
    return summary
