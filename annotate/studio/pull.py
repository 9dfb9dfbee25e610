"""Label Studio export -> immutable snapshot -> the flat annotations table. Nothing dropped.

``pull`` asks for an export snapshot (the snapshot API, which in Community Edition finishes at
once) that includes skipped annotations, ground truth, drafts, full prediction objects and
expanded annotators, and writes three files that are never overwritten::

    <out>/<project>/<stamp>.export.json         the raw export, byte for byte
    <out>/<project>/<stamp>.annotations.jsonl   the flat table (see ``COLUMNS``)
    <out>/<project>/<stamp>.summary.json        counts: tasks, annotated, skipped, annotators, fields, issues

The flat table has one row per task x annotation x schema-field result (one row per span
region; one row with ``field=None`` for a cancelled or empty annotation). Results the schema
does not explain are kept with an ``issue``: "unknown field", "unknown choice",
"hidden by condition", "offsets do not match text", "no target".
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.errors import InputError, StudioError
from annotate.io import atomic_write, dumps, utc_stamp
from annotate.schema import Schema
from annotate.studio.client import Studio, api_call, find_project
from annotate.studio.push import parse_description

__all__ = ["COLUMNS", "PullResult", "pull", "flatten", "summarize", "schema_of_project", "write_snapshot"]

COLUMNS = [
    "snapshot", "project", "task_id", "sentence_id", "doc_id", "target", "item", "annotation_id", "annotator",
    "annotator_id", "field", "type", "value", "start", "end", "span_text", "region_id", "lead_time", "created_at",
    "updated_at", "was_cancelled", "ground_truth", "is_draft", "model_version", "issue",
]  # fmt: skip

EXPORT_OPTIONS: dict[str, Any] = {
    "task_filter_options": {"only_with_annotations": False},
    "annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": True},
    "serialization_options": {
        "drafts": {"only_id": False},
        "predictions": {"only_id": False},
        "annotations__completed_by": {"only_id": False},
        "include_annotation_history": False,
    },
}


@dataclass
class PullResult:
    export_path: Path
    table_path: Path
    summary_path: Path
    summary: dict[str, Any]

    def __str__(self) -> str:
        s = self.summary
        fields = ", ".join(f"{k} {v}" for k, v in s["fields"].items()) or "none"
        issues = ", ".join(f"{k} {v}" for k, v in s["issues"].items()) or "none"
        return (
            f"project '{s['project']}': {s['tasks']} tasks, {s['annotated_tasks']} annotated, "
            f"{s['annotations']} annotations ({s['skipped']} skipped, {s['drafts']} drafts, "
            f"{s['ground_truth']} ground truth) by {len(s['annotators'])} annotators\n"
            f"fields: {fields}\nissues: {issues}\n"
            + (
                f"WARNING: the server counts {s['server_counted_annotations']} annotations, the export holds "
                f"{s['annotations']}\n"
                if s.get("server_counted_annotations", s["annotations"]) != s["annotations"]
                else ""
            )
            + f"snapshot {self.export_path}\ntable {self.table_path} ({s['rows']} rows)"
        )


def _slug(title: str) -> str:
    return re.sub(r"[^\w.-]+", "-", title).strip("-") or "project"


def schema_of_project(project: Any, schema: Schema | None = None) -> Schema:
    """The schema to read results with: the given one, else the project's own label config."""
    if schema is not None:
        return schema
    s = Schema.from_string(project.label_config or "", path=f"project '{project.title}'")
    _hash, target_field = parse_description(project.description)
    if target_field in s.fields:
        s.target_field = target_field
    return s


# --- flattening -------------------------------------------------------------------------------


def _user(obj: Any, users: dict[int, str]) -> tuple[int | None, str | None]:
    if isinstance(obj, dict):
        uid = obj.get("id")
        name = obj.get("email") or obj.get("username") or (str(uid) if uid is not None else None)
        if uid is not None and name:
            users[uid] = name
        return uid, name
    if isinstance(obj, int):
        return obj, users.get(obj, str(obj))
    return None, None


def _draft_user(draft: dict[str, Any]) -> tuple[int | None, str | None]:
    """Drafts name their author as ``user`` (email) and ``created_username`` ("email, id")."""
    name = draft.get("user") if isinstance(draft.get("user"), str) else None
    tail = str(draft.get("created_username") or "").rpartition(", ")[2]
    return (int(tail) if tail.isdigit() else None), name


def _answers(result: list[dict[str, Any]], schema: Schema) -> dict[str, list[str]]:
    """Choice values picked per field in one annotation (for visibleWhen conditions)."""
    out: dict[str, list[str]] = {}
    for r in result:
        f = schema.fields.get(r.get("from_name", ""))
        if f is not None and r.get("type") == "choices" and not f.per_region:
            picked = (r.get("value") or {}).get("choices") or []
            out[f.name] = [f.to_value(c) or c for c in picked]
    return out


def _rows_for_result(r: dict[str, Any], schema: Schema, text: str, answers: dict[str, list[str]]) -> Iterator[dict]:
    name, rtype, value = r.get("from_name"), r.get("type"), r.get("value") or {}
    f = schema.fields.get(name or "")
    row: dict[str, Any] = {"field": name, "type": rtype, "value": None, "start": None, "end": None,
                           "span_text": None, "region_id": r.get("id"), "issue": None}  # fmt: skip
    if f is None:
        row["issue"] = "unknown field"
    elif f.condition is not None and not f.condition.allows(answers.get(f.condition.tag)):
        row["issue"] = "hidden by condition"
    if "start" in value and "end" in value:
        row["start"], row["end"] = value["start"], value["end"]
        row["span_text"] = value.get("text")
        if (
            not isinstance(row["start"], int)
            or not isinstance(row["end"], int)
            or text[row["start"] : row["end"]] != value.get("text")
        ):
            row["issue"] = row["issue"] or "offsets do not match text"

    def canon(stored: Any) -> Any:
        if f is None or not isinstance(stored, str):
            return stored
        v = f.to_value(stored)
        if v is None:
            row["issue"] = row["issue"] or "unknown choice"
            return stored
        return v

    if rtype == "choices":
        picked = [canon(c) for c in value.get("choices") or []]
        row["value"] = picked if (f is not None and f.multiple) or len(picked) != 1 else picked[0]
        yield row
    elif rtype == "labels":
        labels = value.get("labels") or [None]
        for label in labels:  # one row per label of the region (normally one)
            issue_before = row["issue"]
            canonical = canon(label) if label is not None else None
            yield {**row, "value": canonical}
            row["issue"] = issue_before
    elif rtype == "textarea":
        texts = value.get("text") or []
        row["value"] = "\n".join(texts) if isinstance(texts, list) else texts
        yield row
    elif rtype == "rating":
        row["value"] = value.get("rating")
        yield row
    elif rtype == "taxonomy":
        row["value"] = value.get("taxonomy")
        yield row
    else:
        row["value"] = value
        yield row


def flatten(tasks: Iterable[dict[str, Any]], schema: Schema, *, snapshot: str, project: str) -> Iterator[dict]:
    """Rows of the flat table (``COLUMNS``) from exported task dicts."""
    users: dict[int, str] = {}
    for task in tasks:
        data = task.get("data") or {}
        sid = data.get("sentence_id")
        target = data.get("target_id") or None
        text = data.get("text") or ""
        preds = {p["id"]: p for p in task.get("predictions") or [] if isinstance(p, dict) and "id" in p}
        entries = [(a, False) for a in task.get("annotations") or []]
        entries += [(d, True) for d in task.get("drafts") or [] if isinstance(d, dict)]
        for ann, is_draft in entries:
            uid, name = _draft_user(ann) if is_draft else _user(ann.get("completed_by"), users)
            pred = ann.get("prediction") or {}
            mv = pred.get("model_version") if isinstance(pred, dict) else None
            if mv is None and ann.get("parent_prediction") in preds:
                mv = preds[ann["parent_prediction"]].get("model_version")
            base = {
                "snapshot": snapshot, "project": project, "task_id": task.get("id"), "sentence_id": sid,
                "doc_id": data.get("doc_id"), "target": target, "item": sid, "annotation_id": ann.get("id"),
                "annotator": name, "annotator_id": uid, "lead_time": ann.get("lead_time"),
                "created_at": ann.get("created_at"), "updated_at": ann.get("updated_at"),
                "was_cancelled": bool(ann.get("was_cancelled")), "ground_truth": bool(ann.get("ground_truth")),
                "is_draft": is_draft, "model_version": mv,
            }  # fmt: skip
            result = ann.get("result") or []
            if base["was_cancelled"] or not result:
                # a skip keeps whatever the draft held (e.g. pre-filled predictions): not answers
                yield _ordered({**base, "field": None, "type": None, "value": None, "start": None, "end": None,
                                "span_text": None, "region_id": None, "issue": None})  # fmt: skip
                continue
            answers = _answers(result, schema)
            for r in result:
                for row in _rows_for_result(r, schema, text, answers):
                    if row["field"] is not None and row["field"] == schema.target_field:
                        if target:
                            row["item"] = f"{sid}@{target}"
                        else:
                            row["issue"] = row["issue"] or "no target"
                    yield _ordered({**base, **row, "item": row.get("item", sid)})


def _ordered(row: dict[str, Any]) -> dict[str, Any]:
    return {c: row.get(c) for c in COLUMNS}


def summarize(tasks: list[dict[str, Any]], rows: list[dict[str, Any]], *, snapshot: str, project: str) -> dict:
    """Counts for the pull report; every row with an issue is counted, none is dropped."""
    anns = {(r["annotation_id"], r["is_draft"]): r for r in rows}
    submitted = [r for r in anns.values() if not r["is_draft"]]
    annotated_tasks = {r["task_id"] for r in submitted if not r["was_cancelled"]}
    skipped_tasks = {r["task_id"] for r in submitted if r["was_cancelled"]} - annotated_tasks
    fields = Counter(
        r["field"] for r in rows if r["field"] is not None and not r["was_cancelled"] and not r["is_draft"]
    )
    return {
        "snapshot": snapshot,
        "project": project,
        "tasks": len(tasks),
        "annotated_tasks": len(annotated_tasks),
        "skipped_only_tasks": len(skipped_tasks),
        "unannotated_tasks": len(tasks) - len(annotated_tasks) - len(skipped_tasks),
        "annotations": len(submitted),
        "skipped": sum(r["was_cancelled"] for r in submitted),
        "ground_truth": sum(r["ground_truth"] for r in submitted),
        "drafts": sum(1 for k in anns if k[1]),
        "annotators": dict(Counter(r["annotator"] for r in submitted).most_common()),
        "fields": dict(sorted(fields.items())),
        "issues": dict(Counter(r["issue"] for r in rows if r["issue"]).most_common()),
        "rows": len(rows),
        # the server's own per-task counters: a difference means the export left annotations out
        "server_counted_annotations": sum(
            (t.get("total_annotations") or 0) + (t.get("cancelled_annotations") or 0) for t in tasks
        ),
    }


def write_snapshot(raw: bytes, schema: Schema, out_dir: str | Path, project: str) -> PullResult:
    """Write the raw export, the flat table and the summary; refuse to overwrite anything."""
    try:
        tasks = json.loads(raw)
    except ValueError as err:
        raise StudioError(f"Label Studio returned an export that is not JSON ({err})") from None
    folder = Path(out_dir) / _slug(project)
    stamp = utc_stamp()
    paths = [folder / f"{stamp}.{kind}" for kind in ("export.json", "annotations.jsonl", "summary.json")]
    for p in paths:
        if p.exists():
            raise InputError("snapshot already exists; snapshots are never overwritten", path=p)
    export_path, table_path, summary_path = paths
    rows = list(flatten(tasks, schema, snapshot=export_path.name, project=project))
    summary = summarize(tasks, rows, snapshot=export_path.name, project=project)
    with atomic_write(export_path, "wb") as fh:
        fh.write(raw)
    with atomic_write(table_path) as fh:
        for row in rows:
            fh.write(dumps(row) + "\n")
    with atomic_write(summary_path) as fh:
        fh.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return PullResult(export_path, table_path, summary_path, summary)


def export_raw(studio: Studio, project_id: int) -> bytes:
    """A full JSON export through the snapshot API (skips, ground truth, drafts, predictions)."""
    ls = studio.client
    snap = api_call(studio, ls.projects.exports.create, id=project_id, title="annotate pull", **EXPORT_OPTIONS)
    for _ in range(600):  # CE completes at once; Enterprise works in the background
        if getattr(snap, "status", "completed") == "completed":
            break
        if snap.status == "failed":
            raise StudioError(f"Label Studio failed to build export {snap.id} of project {project_id}")
        time.sleep(1)
        snap = api_call(studio, ls.projects.exports.get, id=project_id, export_pk=snap.id)
    chunks = api_call(studio, lambda: b"".join(ls.projects.exports.download(id=project_id, export_pk=snap.id)))
    api_call(studio, ls.projects.exports.delete, id=project_id, export_pk=snap.id)  # keep the server tidy
    return chunks


def pull(studio: Studio, project: str, out_dir: str | Path = "annotations", schema: Schema | None = None) -> PullResult:
    """Export ``project`` and write an immutable snapshot plus its flat table and summary."""
    proj = find_project(studio, project)
    schema = schema_of_project(proj, schema)
    raw = export_raw(studio, proj.id)
    return write_snapshot(raw, schema, out_dir, proj.title)
