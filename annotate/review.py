"""Adjudication: conflicting items go to a review project; the reviewer's answers come back as ground truth.

Label Studio Community Edition has no review workflow, so ``annotate`` builds one from parts it
does have. ``review_push`` resolves the pulled annotations, takes the items left in conflict
(ties are never broken silently), and imports one task per conflicting source task into a
separate review project with the same label config. Each annotator's answer is attached as a
prediction with ``model_version="annotator:<name>"``, so the reviewer sees the answers side by
side (one read-only tab each) and submits the decision. ``review_pull`` snapshots the review
project like any pull and writes its answers as a review table (``ground_truth=True``) that
:func:`annotate.resolve.resolve` honours over every vote. The original project and its
annotations are never changed.

Re-running ``review_push`` imports only conflicts that are not in the review project yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from annotate.annotations import (  # load_review stays importable from here
    REVIEW_TABLE_SUFFIX,
    TABLE_SUFFIX,
    is_vote,
    load_annotations,
    load_review,
)
from annotate.errors import InputError, SchemaError
from annotate.io import write_jsonl
from annotate.resolve import resolve
from annotate.schema import Field, Schema
from annotate.studio.client import Studio, api_call, find_project, project_lock
from annotate.studio.pull import PullResult, pull
from annotate.studio.push import PushSummary, ensure_project, existing_task_keys
from annotate.studio.results import encode as encode_result

__all__ = ["ReviewPushSummary", "ReviewPullResult", "review_project_title", "review_push", "review_pull",
           "load_review", "annotator_results"]

REVIEW_SUFFIX = " (review)"


def review_project_title(project: str) -> str:
    return project + REVIEW_SUFFIX


@dataclass
class ReviewPushSummary:
    project: str
    review_project: str
    review_project_id: int
    conflicts: int = 0
    tasks: int = 0
    imported: int = 0
    existing: int = 0
    predictions: int = 0
    url: str = ""
    fields: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        per_field = ", ".join(f"{k} {v}" for k, v in self.fields.items()) or "none"
        return (
            f"{self.conflicts} conflicting items ({per_field}) of '{self.project}' -> {self.tasks} review tasks in "
            f"'{self.review_project}' (id {self.review_project_id}): {self.imported} imported, {self.existing} "
            f"already there, {self.predictions} annotator answers attached\n"
            f"open {self.url}/projects/{self.review_project_id}/data"
        )


@dataclass
class ReviewPullResult:
    pull: PullResult
    review_path: Path
    answers: int

    def __str__(self) -> str:
        return f"{self.pull}\nreview table {self.review_path} ({self.answers} reviewer answers, ground truth)"


def annotator_results(rows: pd.DataFrame, schema: Schema) -> list[dict[str, Any]]:
    """Label Studio result items rebuilding one annotator's answers on one task.

    An answer the schema no longer takes (a choice since removed from the config) is left out:
    Label Studio could not show it either.
    """
    results: list[dict[str, Any]] = []
    for r in rows.itertuples(index=False):
        f: Field | None = schema.fields.get(r.field)
        if f is None:
            continue
        value, span_text = r.value, None
        if f.type == "labels":
            value, span_text = {"start": int(r.start), "end": int(r.end), "label": str(r.value)}, str(r.span_text)
        elif f.type == "rating":
            value = int(float(r.value))  # a pandas column of ratings may hold floats
        try:
            item = encode_result(f, value, span_text=span_text)
        except SchemaError:
            continue
        if f.type == "labels":
            item = {"id": str(r.region_id) if r.region_id else f"r{len(results)}", **item}
        results.append(item)
    return results


def _pick_tasks(conflicts: pd.DataFrame, votes: pd.DataFrame) -> dict[int, list[tuple[str, str, str]]]:
    """Source task id -> [(item, field, reason)]; per-sentence conflicts share a task when they can."""
    chosen: dict[int, list[tuple[str, str, str]]] = {}
    by_sentence: dict[str, int] = {}
    for c in conflicts.itertuples(index=False):
        rows = votes[(votes["item"] == c.item) & (votes["field"] == c.field)]
        if rows.empty:
            continue
        task_ids = [int(t) for t in rows["task_id"].dropna().unique()]
        sid = str(rows["sentence_id"].iloc[0])
        tid = by_sentence.get(sid) if by_sentence.get(sid) in task_ids else task_ids[0]
        by_sentence.setdefault(sid, tid)
        reason = f"{c.reason}: " + " / ".join(map(str, c.candidates or []))
        chosen.setdefault(tid, []).append((str(c.item), str(c.field), reason))
    return chosen


def review_push(
    studio: Studio,
    annotations: pd.DataFrame,
    schema: Schema,
    *,
    project: str | None = None,
    review_project: str | None = None,
    method: str = "majority",
) -> ReviewPushSummary:
    """Send the items left in conflict by :func:`resolve` to a review project (idempotent)."""
    if annotations.empty:
        raise InputError("the annotations table is empty: nothing to review", hint="run `annotate pull` first")
    project = project or str(annotations["project"].dropna().iloc[0])
    title = review_project or review_project_title(project)
    _gold, conflicts = resolve(annotations, schema, method=method)  # type: ignore[arg-type]
    # "hidden" conflicts are stance answers that the gold claim type hides: nothing to decide
    conflicts = conflicts[conflicts["reason"] == "tie"]
    votes = annotations[is_vote(annotations)]
    per_task = _pick_tasks(conflicts, votes)
    summary = ReviewPushSummary(project=project, review_project=title, review_project_id=0, url=studio.url,
                                conflicts=len(conflicts), tasks=len(per_task),
                                fields=conflicts["field"].value_counts().to_dict() if len(conflicts) else {})
    with project_lock(studio.url, title):  # two review pushes at once: one project, each task once
        return _review_push_locked(studio, project, title, schema, per_task, votes, summary)


def _review_push_locked(
    studio: Studio,
    project: str,
    title: str,
    schema: Schema,
    per_task: dict[Any, Any],
    votes: pd.DataFrame,
    summary: ReviewPushSummary,
) -> ReviewPushSummary:
    created = PushSummary(project=title, project_id=0, url=studio.url)
    proj = ensure_project(studio, title, schema, created)  # the same config as the source project
    summary.review_project_id = proj.id
    have = existing_task_keys(studio, proj.id) if not created.created_project else {}
    ls = studio.client
    batch = []
    for task_id, items in per_task.items():
        source = api_call(studio, ls.tasks.get, id=task_id)
        data = dict(source.data)
        key = str(data.get("task_key") or data.get("sentence_id"))
        if key in have:
            summary.existing += 1
            continue
        what = "; ".join(f"{f} {reason}" for _item, f, reason in items)
        data["meta"] = f"REVIEW ({what}) · " + str(data.get("meta", ""))
        data["review_of_project"] = project
        data["review_of_task"] = task_id
        data["review_fields"] = ",".join(sorted({f for _i, f, _r in items}))
        preds = []
        for annotator, rows in votes[votes["task_id"] == task_id].groupby("annotator", sort=True):
            result = annotator_results(rows, schema)
            if result:
                preds.append({"model_version": f"annotator:{annotator}", "score": 1.0, "result": result})
        summary.predictions += len(preds)
        batch.append({"data": data, "predictions": preds})
    if batch:
        api_call(studio, ls.projects.import_tasks, id=proj.id, request=batch)
        summary.imported = len(batch)
    return summary


def review_pull(
    studio: Studio, review_project: str, out_dir: str | Path = "annotations", schema: Schema | None = None
) -> ReviewPullResult:
    """Snapshot the review project and write its submitted answers as a ground-truth review table."""
    find_project(studio, review_project)  # a clear error before any file is written
    result = pull(studio, review_project, out_dir, schema)
    table = load_annotations(result.table_path)
    answers = table[is_vote(table)]
    records = []
    for rec in answers.astype(object).where(answers.notna(), None).to_dict(orient="records"):
        rec["ground_truth"] = True
        records.append(rec)
    review_path = result.table_path.with_name(result.table_path.name.replace(TABLE_SUFFIX, REVIEW_TABLE_SUFFIX))
    write_jsonl(review_path, records)
    return ReviewPullResult(result, review_path, len(records))
