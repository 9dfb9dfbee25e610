"""Suggestions reach the annotator: the label stream serves the suggested tasks first, in order.

What Label Studio 1.23 (Community Edition) does when an annotator presses "Label All Tasks"
(``POST /api/dm/actions?id=next_task``, see ``docs/queue_order.md``): the frontend drops the
Data Manager tab's ordering and filters from the request, so the server looks at all tasks of
the project, leaves out those the annotator has done and those that are labelled, returns the
task the annotator already holds (a task lock), and otherwise picks by the project's
``sampling``:

- "Sequential sampling": the lowest task id;
- "Uniform sampling": at random;
- "Uncertainty sampling": among the tasks that have a prediction of the project's
  ``model_version``, the one with the lowest prediction score, skipping tasks another annotator
  holds (random only when the project has team members, an Enterprise notion); the tasks without
  such a prediction come after, at random.

So the one lever for an arbitrary order is the prediction score under uncertainty sampling.
:func:`order_queue` sets the project to uncertainty sampling and gives each suggested task one
extra prediction of the project's ``model_version``, marked in its ``neighbors`` field
(``{"annotate_queue": rank}``; Label Studio does not use that field in 1.23), whose ``result`` is
a copy of the model's own pre-annotation of the task (so the pre-filled answer is the same
whichever of the two the labelling view takes) and whose score is below every real score
(:func:`queue_score`: -1 for the first, rising to just below 0 for the last). The model's own
predictions, annotations and drafts are never written.

Re-running is safe: the queue predictions are updated in place, never deleted (an annotator's
open draft may be based on one), and nothing is written when the order has not changed. A task
that leaves the queue keeps its queue prediction with a neutral score: the model's own score
for the task (so it is served as if there were no queue), or 1.0 when the model has none.
Labelled tasks are left as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from annotate.errors import InputError, StudioError
from annotate.progress import progress as progress_line
from annotate.studio.client import Studio, api_call, find_project, iter_task_pages, project_lock

__all__ = [
    "QUEUE_MARK",
    "QUEUE_VERSION",
    "SAMPLING",
    "OrderEntry",
    "QueuePlan",
    "QueueSummary",
    "read_order",
    "queue_score",
    "plan_queue",
    "order_queue",
]

#: the key in a prediction's ``neighbors`` that marks it as a queue prediction (value: rank or None)
QUEUE_MARK = "annotate_queue"
#: the ``model_version`` set on a project that has none (no predictions pushed yet)
QUEUE_VERSION = "annotate-queue"
#: the project sampling under which the label stream follows prediction scores
SAMPLING = "Uncertainty sampling"
#: the score of a queue prediction once its task has left the queue and the model has no score for it
NEUTRAL = 1.0


@dataclass(frozen=True)
class OrderEntry:
    """One line of the order: a sentence (all its tasks) or one sentence x target task."""

    sentence_id: str
    target: str | None = None

    def __str__(self) -> str:
        return self.sentence_id + (f"@{self.target}" if self.target else "")


# --- the order file ----------------------------------------------------------------------------


def _entry(value: Any, where: str, *, path: Path | None = None, line: int | None = None) -> OrderEntry:
    def bad(msg: str) -> InputError:
        return InputError(
            msg,
            path=path,
            line=line,
            hint="give the output of `annotate suggest` (rows with sentence_id) or one sentence_id per line",
        )

    if isinstance(value, dict):
        sid = value.get("sentence_id")
        if not isinstance(sid, str) or not sid.strip():
            raise bad(f"{where} has no 'sentence_id'")
        target = value.get("target", value.get("target_id"))
        if target is not None and not isinstance(target, str):
            raise bad(f"{where}: 'target' is not a string")
        return OrderEntry(sid.strip(), target.strip() or None if target else None)
    if isinstance(value, str):
        text = value.strip()
        if not text or any(c.isspace() for c in text):
            raise bad(f"{where}: {text!r} is not a sentence id")
        sid, _, target = text.partition("@")
        if not sid:
            raise bad(f"{where}: {text!r} is not a sentence id")
        return OrderEntry(sid, target or None)
    raise bad(f"{where} is neither a sentence id nor a row with sentence_id")


def _dedupe_and_sort(items: list[tuple[Any, OrderEntry]]) -> list[OrderEntry]:
    ranks = [r for r, _ in items]
    if items and all(isinstance(r, int) and not isinstance(r, bool) for r in ranks):
        items = sorted(items, key=lambda pair: pair[0])  # stable: equal ranks keep the file's order
    seen: set[OrderEntry] = set()
    out = []
    for _, entry in items:
        if entry not in seen:
            seen.add(entry)
            out.append(entry)
    return out


def read_order(order: str | Path | Iterable[Any]) -> list[OrderEntry]:
    """The suggested order: most useful first, each sentence (x target) once.

    ``order`` is a file or an iterable of ids / rows / :class:`OrderEntry`. A file holds
    ``annotate suggest`` output (JSONL rows with ``sentence_id``, for stance also ``target``; if
    every row has an integer ``rank``, rows are taken by rank), or plain sentence ids one per line
    (``sentence_id@target`` for one task; blank lines and ``#`` comments are skipped; a JSON string
    per line works too), or a JSON array of either. A row without ``target`` stands for every task
    of its sentence. The first place of a repeated entry wins. An empty order is allowed (it
    clears the queue). A bad line raises :class:`InputError` naming file and line.
    """
    if not isinstance(order, str | Path):
        items = []
        for i, value in enumerate(order, start=1):
            entry = value if isinstance(value, OrderEntry) else _entry(value, f"item {i}")
            items.append((value.get("rank") if isinstance(value, dict) else None, entry))
        return _dedupe_and_sort(items)
    path = Path(order)
    if not path.is_file():
        raise InputError("no such order file", path=path, hint="give the output of `annotate suggest`")
    text = path.read_text("utf-8-sig")
    if text.lstrip().startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"not valid JSON ({err.msg})", path=path, line=err.lineno) from None
        items = [
            (v.get("rank") if isinstance(v, dict) else None, _entry(v, f"item {i}", path=path))
            for i, v in enumerate(values, start=1)
        ]
        return _dedupe_and_sort(items)
    items = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        value: Any = line
        if line[0] in '{"[':
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"not valid JSON ({err.msg})", path=path, line=lineno,
                                 hint="one JSON row or one sentence id per line") from None  # fmt: skip
        items.append((value.get("rank") if isinstance(value, dict) else None,
                      _entry(value, "the row", path=path, line=lineno)))  # fmt: skip
    return _dedupe_and_sort(items)


# --- the plan ----------------------------------------------------------------------------------


def queue_score(rank: int, n: int) -> float:
    """The score of the queue prediction of the ``rank``-th of ``n`` tasks: -1 for the first, < 0 for all.

    Below every real score (annotate's scores lie in 0..1), so uncertainty sampling serves the
    queue before any other task, and rising with the rank, so it serves it in order.
    """
    return (rank - 1 - n) / n


def _is_queue(pred: dict[str, Any]) -> bool:
    neighbors = pred.get("neighbors")
    return isinstance(neighbors, dict) and QUEUE_MARK in neighbors


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-12


@dataclass
class QueuePlan:
    """What :func:`order_queue` writes: the queue (task ids, in order) and the prediction writes."""

    queue: list[int] = field(default_factory=list)
    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    cleared: int = 0
    labelled: int = 0
    missing: list[str] = field(default_factory=list)
    unscored: int = 0


def plan_queue(
    tasks: list[dict[str, Any]], predictions: list[dict[str, Any]], order: list[OrderEntry], model_version: str
) -> QueuePlan:
    """Plan the queue predictions for ``order`` (no requests; see :func:`order_queue`).

    ``tasks``: ``{"id", "sentence_id", "target_id", "task_key", "is_labeled"}`` per task;
    ``predictions``: the project's predictions as the API lists them. Tasks are ranked in the
    order's order (a sentence entry: all its tasks, by id; a task already placed is not placed
    twice); labelled tasks keep their rank but are not written, so labelling does not shift the
    others' scores. Only predictions of ``model_version`` count: the others are not served.
    """
    by_key = {t["task_key"]: t for t in tasks}
    by_sentence: dict[str, list[dict[str, Any]]] = {}
    for t in sorted(tasks, key=lambda t: t["id"]):
        by_sentence.setdefault(t["sentence_id"], []).append(t)
    plan = QueuePlan()
    ranked: list[dict[str, Any]] = []
    placed: set[int] = set()
    for entry in order:
        hits = [by_key[str(entry)]] if entry.target and str(entry) in by_key else []
        if not entry.target:
            hits = by_sentence.get(entry.sentence_id, [])
        if not hits:
            plan.missing.append(str(entry))
        for t in hits:
            if t["id"] not in placed:
                placed.add(t["id"])
                ranked.append(t)

    model: dict[int, list[dict[str, Any]]] = {}
    queue: dict[int, list[dict[str, Any]]] = {}
    for p in sorted(predictions, key=lambda p: p["id"]):
        if p.get("model_version") != model_version:
            continue
        (queue if _is_queue(p) else model).setdefault(p["task"], []).append(p)
    plan.unscored = sum(1 for preds in model.values() for p in preds if p.get("score") is None)
    labelled = {t["id"] for t in tasks if t.get("is_labeled")}

    def write(pred: dict[str, Any], score: float, rank: int | None) -> None:
        if _same(pred.get("score"), score) and (pred.get("neighbors") or {}).get(QUEUE_MARK) == rank:
            plan.unchanged += rank is not None
            return
        neighbors = {**(pred.get("neighbors") or {}), QUEUE_MARK: rank}
        plan.updates.append((pred["id"], {"score": score, "neighbors": neighbors}))

    n = len(ranked)
    for rank, t in enumerate(ranked, start=1):
        if t["id"] in labelled:
            plan.labelled += 1
            continue
        plan.queue.append(t["id"])
        score = queue_score(rank, n)
        mine = queue.get(t["id"], [])
        if mine:
            write(mine[0], score, rank)
            for extra in mine[1:]:  # two runs at once on two machines: keep one in the queue
                write(extra, _neutral(model.get(t["id"], [])), None)
        else:
            source = model.get(t["id"], [])
            plan.creates.append({"task": t["id"], "model_version": model_version, "score": score,
                                 "result": source[0]["result"] if source else [],
                                 "neighbors": {QUEUE_MARK: rank}})  # fmt: skip
    in_queue = set(plan.queue)
    for task_id, mine in queue.items():
        if task_id in in_queue or task_id in labelled:
            continue
        for pred in mine:
            plan.cleared += (pred.get("neighbors") or {}).get(QUEUE_MARK) is not None
            write(pred, _neutral(model.get(task_id, [])), None)
    return plan


def _neutral(model_preds: list[dict[str, Any]]) -> float:
    """The score a task that left the queue gets: the model's own (lowest) score, else 1.0."""
    scores = [float(p["score"]) for p in model_preds if p.get("score") is not None]
    return min(scores) if scores else NEUTRAL


# --- against the server ------------------------------------------------------------------------


@dataclass
class QueueSummary:
    """What :func:`order_queue` did; ``str()`` is the line the CLI prints."""

    project: str
    project_id: int
    model_version: str
    entries: int = 0
    queued: int = 0
    labelled: int = 0
    missing: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cleared: int = 0
    sampling_before: str | None = None
    model_version_set: bool = False
    unscored: int = 0

    def __str__(self) -> str:
        text = (
            f"queue of project '{self.project}' (id {self.project_id}): {_n(self.queued, 'suggested task')} "
            f"first in 'Label All Tasks', in order (from {_n(self.entries, 'entry', 'entries')}"
        )
        if self.labelled:
            text += f"; {_n(self.labelled, 'task')} already labelled"
        if self.missing:
            shown = ", ".join(self.missing[:3]) + (
                f" and {len(self.missing) - 3} more" if len(self.missing) > 3 else ""
            )
            text += f"; {len(self.missing)} {'matches' if len(self.missing) == 1 else 'match'} no task: {shown}"
        text += (
            f"); {self.created} queue predictions added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.cleared} cleared (model_version {self.model_version}"
            + (", set for the queue" if self.model_version_set else "")
            + f"); sampling '{SAMPLING}'"
        )
        if self.sampling_before and self.sampling_before != SAMPLING:
            text += f" (was '{self.sampling_before}')"
        if self.unscored:
            text += (
                f"\nwarning: {self.unscored} predictions of model_version {self.model_version} have no score; "
                "Label Studio on sqlite serves their tasks before the queue (push predictions with a score)"
            )
        return text


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _get(http: httpx.Client, studio: Studio, path: str, params: dict[str, Any]) -> httpx.Response:
    try:
        return http.get(path, headers=studio.headers(), params=params)
    except httpx.TransportError as err:
        raise StudioError(f"cannot reach Label Studio at {studio.url} ({type(err).__name__})") from None


def _list_tasks(http: httpx.Client, studio: Studio, project_id: int, page_size: int = 1000) -> list[dict[str, Any]]:
    """Every task's id, keys and ``is_labeled`` (the one raw pager, :func:`~annotate.studio.client.iter_task_pages`)."""
    out = []
    for tasks in iter_task_pages(studio, project_id, page_size, include="id,data,is_labeled"):
        for t in tasks:
            data = t.get("data") or {}
            sid = data.get("sentence_id")
            if not sid:
                continue
            key = data.get("task_key") or sid
            out.append({"id": t["id"], "sentence_id": str(sid), "target_id": data.get("target_id") or "",
                        "task_key": str(key), "is_labeled": bool(t.get("is_labeled"))})  # fmt: skip
    return out


def _write(http: httpx.Client, studio: Studio, method: str, path: str, body: dict[str, Any]) -> None:
    try:
        r = http.request(method, path, headers=studio.headers(), json=body)
    except httpx.TransportError as err:
        raise StudioError(f"cannot reach Label Studio at {studio.url} ({type(err).__name__})") from None
    if r.status_code not in (200, 201):
        raise StudioError(
            f"writing a queue prediction failed: HTTP {r.status_code} {r.text[:200]}",
            hint="run the same command again: what was written stays, the rest is written then",
        )


def order_queue(
    studio: Studio, project: str | int, order: str | Path | Iterable[Any], *, progress: bool = False
) -> QueueSummary:
    """Make "Label All Tasks" serve the tasks of ``order`` first, in that order (see the module doc).

    ``project`` is a title or an id; ``order`` is what :func:`read_order` takes (the output of
    ``annotate suggest``, or sentence ids). Sets the project's sampling to uncertainty sampling
    (and a ``model_version`` if it has none), then writes only the queue predictions that differ.
    Idempotent; never writes annotations, drafts or the model's predictions.
    """
    entries = read_order(order)
    proj = find_project(studio, project)
    title = proj.title
    summary = QueueSummary(project=title, project_id=proj.id, model_version="", entries=len(entries))
    with project_lock(studio.url, title, purpose="order"):
        ls = studio.client
        proj = api_call(studio, ls.projects.get, id=proj.id)
        summary.sampling_before = proj.sampling
        model_version = proj.model_version or ""
        if not model_version:
            model_version = QUEUE_VERSION
            summary.model_version_set = True
        summary.model_version = model_version
        with httpx.Client(base_url=studio.url, timeout=300) as http:
            tasks = _list_tasks(http, studio, proj.id)
            r = _get(http, studio, "/api/predictions/", {"project": proj.id})
            if r.status_code != 200:
                raise StudioError(f"listing predictions of project {proj.id} failed: HTTP {r.status_code}")
            plan = plan_queue(tasks, r.json(), entries, model_version)
            done = 0
            with progress_line(progress, "ordering", "queue predictions") as tick:
                for payload in plan.creates:
                    _write(http, studio, "POST", "/api/predictions/", payload)
                    done += 1
                    tick(done)
                for pred_id, patch in plan.updates:
                    _write(http, studio, "PATCH", f"/api/predictions/{pred_id}", patch)
                    done += 1
                    tick(done)
        # after the writes: Label Studio accepts a model_version only once a prediction carries it
        update: dict[str, Any] = {}
        if proj.sampling != SAMPLING:
            update["sampling"] = SAMPLING
        if summary.model_version_set and (plan.creates or plan.updates or plan.unchanged):
            update["model_version"] = model_version
        else:
            summary.model_version_set = False
        if update:
            api_call(studio, ls.projects.update, id=proj.id, **update)
    summary.queued = len(plan.queue)
    summary.labelled = plan.labelled
    summary.missing = plan.missing
    summary.created = len(plan.creates)
    summary.updated = sum(1 for _, patch in plan.updates if patch["neighbors"][QUEUE_MARK] is not None)
    summary.unchanged = plan.unchanged
    summary.cleared = plan.cleared
    summary.unscored = plan.unscored
    return summary
