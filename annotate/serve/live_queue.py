"""The live queue: after a retrain, "Label All Tasks" serves the new model's most useful tasks first.

:func:`reorder_queue` reads a project's tasks from Label Studio (the sentence text and ids that
``push`` put in each task's data), ranks the unlabelled sentences with the model
(:func:`annotate.suggest.suggest`, method ``auto`` by default: ``rare-mix`` for a claim field,
``entropy`` for stance) and hands the best ``size`` to :func:`annotate.studio.queue.order_queue`,
the mechanism of ``push --order`` (``docs/queue_order.md``). The retrainer calls it for every
project it serves, right after it swaps a new version in (:mod:`annotate.serve.retrain`).

Only the head of the ranking is queued: each re-order rewrites one queue prediction per task
that moved, and the head is all an annotator reaches before the next retrain. A task that falls
out of the head gets its neutral score back and is served after the queue.

>>> sentence_records([{"id": 1, "data": {"sentence_id": "s1", "text": "Hi.", "doc_id": "d"},
...                    "is_labeled": False}])[0][0]["sentence_id"]
's1'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from annotate.schema import Schema

__all__ = ["DEFAULT_QUEUE_SIZE", "sentence_records", "rank_sentences", "reorder_queue"]

#: How many of the ranked tasks the live queue puts first (``serve --queue-size``).
DEFAULT_QUEUE_SIZE = 50


def sentence_records(tasks: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
    """Sentence records of the tasks still to label, and the ids of the sentences fully labelled.

    ``tasks``: ``{"id", "data", "is_labeled"}`` as :func:`~annotate.studio.client.iter_task_pages`
    lists them. A sentence with several tasks (one per stance target) is one record, in task-id
    order, and counts as labelled only when every one of its tasks is. Tasks without a
    ``sentence_id`` (not pushed by annotate) are left out. A record has what
    :func:`annotate.models.pipelines.frame` reads: ``sentence_id``, ``doc_id``, ``text``,
    ``speaker``, ``in_quote`` and ``context``.
    """
    records: dict[str, dict[str, Any]] = {}
    open_: set[str] = set()
    for task in sorted(tasks, key=lambda t: t["id"]):
        data = task.get("data") or {}
        sid = data.get("sentence_id")
        if not sid or not isinstance(data.get("text"), str):
            continue
        sid = str(sid)
        if not task.get("is_labeled"):
            open_.add(sid)
        records.setdefault(sid, {
            "sentence_id": sid,
            "doc_id": str(data.get("doc_id") or sid),
            "text": data["text"],
            "speaker": data.get("speaker") or "",
            "in_quote": bool(data.get("in_quote")),
            "context": {"previous": data.get("previous") or "", "next": data.get("next") or ""},
        })  # fmt: skip
    return [r for sid, r in records.items() if sid in open_], set(records) - open_


def rank_sentences(
    model: Any, records: list[dict[str, Any]], schema: Schema, *, size: int, method: str = "auto"
) -> list[dict[str, Any]]:
    """The ``size`` most useful of ``records`` for ``model`` (a loaded model), most useful first.

    :func:`annotate.suggest.suggest` rows (``rank``, ``sentence_id``, ``score``, ``method``...),
    ranked on the model's first claim field, else its first field.
    """
    from annotate.suggest import suggest

    if not records or size <= 0:
        return []
    return suggest(model, records, schema, method=method, k=size)


def reorder_queue(
    studio: Any, project: str | int, model: Any, schema: Schema, *, size: int = DEFAULT_QUEUE_SIZE,
    method: str = "auto",
) -> Any:  # fmt: skip
    """Put ``model``'s ``size`` most useful unlabelled tasks of ``project`` first in "Label All Tasks".

    ``studio``: a connected :class:`~annotate.studio.client.Studio`; ``project``: a title or an
    id; ``model``: a :class:`~annotate.models.store.LoadedModel`. Reads the project's tasks,
    ranks their unlabelled sentences (:func:`rank_sentences`) and calls
    :func:`~annotate.studio.queue.order_queue` with the ranking: the project's sampling becomes
    "Uncertainty sampling". Returns its :class:`~annotate.studio.queue.QueueSummary`. Raises
    :class:`~annotate.errors.StudioError` when Label Studio cannot be read or written.
    """
    from annotate.studio.client import find_project, iter_task_pages
    from annotate.studio.queue import order_queue

    pid = find_project(studio, project).id
    tasks = [t for page in iter_task_pages(studio, pid, include="id,data,is_labeled") for t in page]
    records, _labelled = sentence_records(tasks)
    ranked = rank_sentences(model, records, schema, size=size, method=method)
    # a claim ranking names sentences: all of a sentence's tasks (one per stance target) queue together
    order = [{"sentence_id": r["sentence_id"], "target": r.get("target"), "rank": r["rank"]} for r in ranked]
    return order_queue(studio, pid, order)
