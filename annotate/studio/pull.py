"""Label Studio export -> immutable snapshot -> the flat annotations table. Nothing dropped.

``pull`` asks for an export snapshot (the snapshot API, which in Community Edition finishes at
once) that includes skipped annotations, ground truth, drafts, full prediction objects and
expanded annotators, and writes three files that are never overwritten::

    <out>/<project>/<stamp>.export.json         the raw export, byte for byte
    <out>/<project>/<stamp>.annotations.jsonl   the flat table (:data:`annotate.annotations.COLUMNS`)
    <out>/<project>/<stamp>.summary.json        counts: tasks, annotated, skipped, annotators, fields, issues

The flat table has one row per task x annotation x schema-field result (one row per span
region; one row with ``field=None`` for a cancelled or empty annotation). Results the schema
does not explain are kept with an ``issue``: "unknown field", "unknown choice",
"hidden by condition", "offsets do not match text", "no target".

Everything streams, so a pull of a million tasks needs no more memory than a pull of ten: the
download goes chunk by chunk into the (temporary) export file, which is then read back task by
task with ijson (``use_float=True``, so numbers come out as ``json.loads`` gives them), each task
flattened straight into the table file, and the summary counted as the tasks go by. The three
files are renamed into place only when all three are complete; any failure leaves none.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from annotate.annotations import COLUMNS, table_row  # COLUMNS stays importable from here
from annotate.errors import InputError, StudioError
from annotate.io import atomic_write, dumps, utc_stamp
from annotate.progress import progress as progress_line
from annotate.schema import Field, Schema
from annotate.studio.client import Studio, api_call, find_project, project_lock
from annotate.studio.push import parse_description
from annotate.studio.results import decode

_T = TypeVar("_T")

__all__ = [
    "COLUMNS",
    "PullResult",
    "SummaryCounter",
    "pull",
    "flatten",
    "task_rows",
    "summarize",
    "schema_of_project",
    "write_snapshot",
    "create_export",
    "download_export",
]

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

#: The title of the export snapshots ``pull`` creates; the host name and process id follow it.
EXPORT_TITLE = "annotate pull"


#: Seconds to wait for Label Studio to build an export snapshot (about 2 minutes per 100k tasks here).
EXPORT_TIMEOUT = 3600.0


@dataclass
class PullResult:
    export_path: Path
    table_path: Path
    summary_path: Path
    summary: dict[str, Any]
    #: export snapshots that killed pulls of this machine had left on the server, removed by this one
    stale_exports_removed: int = 0

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
            + (
                f"\nremoved {self.stale_exports_removed} export snapshot(s) an interrupted pull had left on the server"
                if self.stale_exports_removed
                else ""
            )
        )


def _slug(title: str) -> str:
    # no separators, and no leading or trailing dots: ".." or "/.." must not lead out of -o
    return re.sub(r"[^\w.-]+", "-", title).strip("-.") or "project"


#: The file in a snapshot folder that says which project (server id and title) it belongs to.
OWNER_FILE = ".project.json"


def project_folder(out_dir: str | Path, title: str, project_id: int | None = None) -> Path:
    """The snapshot folder of a project: ``<out_dir>/<slug of title>``, owned by its project id.

    Two titles can slug alike ('rel mix', 'rel-mix'): a folder records the id of the project it
    belongs to, and another project gets ``<slug>-<id>`` instead of sharing it.
    """
    folder = Path(out_dir) / _slug(title)
    if project_id is None:
        return folder
    owner = folder / OWNER_FILE
    if owner.is_file():
        try:
            mine = json.loads(owner.read_text("utf-8")).get("id") == project_id
        except (ValueError, AttributeError):
            mine = False
        if not mine:
            folder = Path(out_dir) / f"{_slug(title)}-{project_id}"
    return folder


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
            picked = decode(r, f)
            out[f.name] = picked if isinstance(picked, list) else [picked]
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

    decoded = decode(r, f)
    if rtype == "labels":
        for span in decoded if isinstance(decoded, list) else [decoded]:  # a row per label (normally one)
            yield {**row, "value": span["label"], "issue": row["issue"] or _unknown_choice(f, [span["label"]])}
        return
    if rtype in ("choices", "taxonomy"):
        row["issue"] = row["issue"] or _unknown_choice(f, decoded if isinstance(decoded, list) else [decoded])
    row["value"] = decoded
    yield row


def _unknown_choice(f: Field | None, values: list[Any]) -> str | None:
    """The issue of decoded choices of which one is not the field's (decode keeps those as stored)."""
    if f is not None and any(isinstance(v, str) and f.to_value(v) is None for v in values):
        return "unknown choice"
    return None


def flatten(tasks: Iterable[dict[str, Any]], schema: Schema, *, snapshot: str, project: str) -> Iterator[dict]:
    """Rows of the flat table (``COLUMNS``) from exported task dicts."""
    users: dict[int, str] = {}
    for task in tasks:
        yield from task_rows(task, schema, users, snapshot=snapshot, project=project)


def task_rows(
    task: dict[str, Any], schema: Schema, users: dict[int, str], *, snapshot: str, project: str
) -> Iterator[dict]:
    """The rows of one exported task; ``users`` (id -> email, filled as annotators are seen) is shared
    across the tasks of one export, so a later bare user id still gets its email."""
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
            yield table_row(base)  # field, value and span columns None
            continue
        answers = _answers(result, schema)
        for r in result:
            for row in _rows_for_result(r, schema, text, answers):
                if row["field"] is not None and row["field"] == schema.target_field:
                    if target:
                        row["item"] = f"{sid}@{target}"
                    else:
                        row["issue"] = row["issue"] or "no target"
                yield table_row({**base, **row, "item": row.get("item", sid)})


class SummaryCounter:
    """The pull summary, counted one task at a time (memory does not grow with the export).

    Feed each task with its rows (:meth:`add`), then read :meth:`result`. An annotation is
    identified by ``(annotation_id, is_draft)`` within its task: Label Studio's annotation ids are
    database keys, so one never appears under two tasks.
    """

    def __init__(self, *, snapshot: str, project: str) -> None:
        self.snapshot, self.project = snapshot, project
        self.tasks = self.annotated_tasks = self.skipped_only_tasks = 0
        self.annotations = self.skipped = self.ground_truth = self.drafts = self.rows = self.server_counted = 0
        self.annotators: Counter[str | None] = Counter()
        self.fields: Counter[str] = Counter()
        self.issues: Counter[str] = Counter()

    def add(self, task: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """Count one task and its table rows."""
        self.tasks += 1
        # the server's own per-task counters: a difference means the export left annotations out
        self.server_counted += (task.get("total_annotations") or 0) + (task.get("cancelled_annotations") or 0)
        anns = {(r["annotation_id"], r["is_draft"]): r for r in rows}
        submitted = [r for r in anns.values() if not r["is_draft"]]
        annotated = any(not r["was_cancelled"] for r in submitted)
        self.annotated_tasks += annotated
        self.skipped_only_tasks += not annotated and any(r["was_cancelled"] for r in submitted)
        self.annotations += len(submitted)
        self.skipped += sum(r["was_cancelled"] for r in submitted)
        self.ground_truth += sum(r["ground_truth"] for r in submitted)
        self.drafts += sum(1 for k in anns if k[1])
        self.annotators.update(r["annotator"] for r in submitted)
        self.fields.update(
            r["field"] for r in rows if r["field"] is not None and not r["was_cancelled"] and not r["is_draft"]
        )
        self.issues.update(r["issue"] for r in rows if r["issue"])
        self.rows += len(rows)

    def result(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "project": self.project,
            "tasks": self.tasks,
            "annotated_tasks": self.annotated_tasks,
            "skipped_only_tasks": self.skipped_only_tasks,
            "unannotated_tasks": self.tasks - self.annotated_tasks - self.skipped_only_tasks,
            "annotations": self.annotations,
            "skipped": self.skipped,
            "ground_truth": self.ground_truth,
            "drafts": self.drafts,
            "annotators": dict(self.annotators.most_common()),
            "fields": dict(sorted(self.fields.items())),
            "issues": dict(self.issues.most_common()),
            "rows": self.rows,
            "server_counted_annotations": self.server_counted,
        }


def summarize(tasks: list[dict[str, Any]], rows: list[dict[str, Any]], *, snapshot: str, project: str) -> dict:
    """Counts for the pull report; every row with an issue is counted, none is dropped."""
    by_task: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_task[r["task_id"]].append(r)
    counter = SummaryCounter(snapshot=snapshot, project=project)
    for task in tasks:
        counter.add(task, by_task.pop(task.get("id"), []))
    return counter.result()


class _BigInteger(Exception):
    """The fast (C) parser met an integer beyond 64 bits; the pure-Python one reads it."""


def _export_tasks(fh: IO[bytes], backend: Any) -> Iterator[dict[str, Any]]:
    """The tasks of an export file, one at a time (ijson), numbers as ``json.loads`` reads them."""
    import ijson

    fh.seek(0)
    head = fh.read(4096).lstrip()
    fh.seek(0)
    if not head.startswith(b"["):
        what = "empty" if not head else "not a JSON list of tasks"
        raise StudioError(f"Label Studio returned an export that is {what}")
    items = backend.items(fh, "item", use_float=True)
    while True:
        try:
            task = next(items)
        except StopIteration:
            return
        except ijson.JSONError as err:
            if "integer overflow" in str(err):
                raise _BigInteger from None
            raise StudioError(f"Label Studio returned an export that is not JSON ({err})") from None
        if not isinstance(task, dict):
            raise StudioError(f"Label Studio returned an export with a {type(task).__name__} where a task should be")
        yield task


def _parse_export(export: IO[bytes], parse: Callable[[Iterator[dict[str, Any]]], _T]) -> _T:
    """``parse`` the tasks of an export file, with ijson's C backend, else its pure-Python one.

    The C backend is several times faster; an integer beyond 64 bits (which json.loads reads)
    sends the whole file through the pure-Python backend instead, from the start: ``parse`` must
    start its work afresh on each call.
    """
    import ijson

    for backend in (ijson, ijson.get_backend("python")):
        try:
            return parse(_export_tasks(export, backend))
        except _BigInteger:
            continue
    raise AssertionError("the pure-Python backend reads integers of any size")  # pragma: no cover


def _flatten_export(
    export: IO[bytes], table: IO[str], schema: Schema, *, snapshot: str, project: str, tick: Callable[..., None]
) -> SummaryCounter:
    """Parse the export file task by task, writing each task's rows to ``table``; return the counts."""

    def flatten_all(tasks: Iterator[dict[str, Any]]) -> SummaryCounter:
        table.seek(0)
        table.truncate()
        counter = SummaryCounter(snapshot=snapshot, project=project)
        users: dict[int, str] = {}
        for task in tasks:
            rows = list(task_rows(task, schema, users, snapshot=snapshot, project=project))
            counter.add(task, rows)
            table.writelines(dumps(row) + "\n" for row in rows)
            if counter.tasks % 256 == 0:
                tick(counter.tasks)
        tick(counter.tasks)
        return counter

    return _parse_export(export, flatten_all)


#: The keys of a task's data that gold and conflicts files carry, so an editor can read them.
TASK_CONTEXT_KEYS = ("doc_id", "text", "target", "speaker", "title", "url", "meta", "cluster_id", "members")


def snapshot_tasks(table_path: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The data of each task of the export beside an annotations table, by (sentence_id, target_id).

    Only :data:`TASK_CONTEXT_KEYS` are kept (streamed with ijson: an export of 100k tasks is read
    one task at a time). An empty dict when the table has no export beside it.
    """
    name = Path(table_path).name
    export = Path(table_path).with_name(name.removesuffix(".annotations.jsonl") + ".export.json")
    if not export.is_file():
        return {}

    def context(tasks: Iterator[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for task in tasks:
            data = task.get("data") if isinstance(task, dict) else None
            if not isinstance(data, dict) or not data.get("sentence_id"):
                continue
            out[(str(data["sentence_id"]), str(data.get("target_id") or ""))] = {
                k: data[k] for k in TASK_CONTEXT_KEYS if data.get(k) not in (None, "")
            }
        return out

    with export.open("rb") as fh:
        return _parse_export(fh, context)


def write_snapshot(
    raw: bytes | Iterable[bytes],
    schema: Schema,
    out_dir: str | Path,
    project: str,
    *,
    progress: bool = False,
    project_id: int | None = None,
) -> PullResult:
    """Write the raw export, the flat table and the summary; refuse to overwrite anything.

    ``raw`` is the export as bytes or as an iterable of byte chunks (a download in progress): it
    is copied into the export file chunk by chunk, then parsed back task by task, so neither the
    export nor the table is ever held in memory whole. All three files appear together or, if
    anything fails (a broken download, invalid JSON), not at all.
    """
    chunks: Iterable[bytes] = (raw,) if isinstance(raw, bytes | bytearray | memoryview) else raw
    folder = project_folder(out_dir, project, project_id)
    stamp = utc_stamp()
    paths = [folder / f"{stamp}.{kind}" for kind in ("export.json", "annotations.jsonl", "summary.json")]
    for p in paths:
        if p.exists():
            raise InputError("snapshot already exists; snapshots are never overwritten", path=p)
    export_path, table_path, summary_path = paths
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # folders this call creates
    try:
        summary = _write_snapshot_files(chunks, schema, project, paths, progress)
    except BaseException:
        for empty in made:  # a failed pull leaves no empty folder behind either
            with contextlib.suppress(OSError):
                empty.rmdir()
        raise
    owner = folder / OWNER_FILE
    if project_id is not None and not owner.exists():
        with atomic_write(owner) as fh:
            fh.write(json.dumps({"id": project_id, "title": project}) + "\n")
    return PullResult(export_path, table_path, summary_path, summary)


def _write_snapshot_files(
    chunks: Iterable[bytes], schema: Schema, project: str, paths: list[Path], progress: bool
) -> dict[str, Any]:
    export_path, table_path, summary_path = paths
    with contextlib.ExitStack() as stack:
        # on success the renames run in reverse: summary, export, then the table, which is what
        # loaders look for; on any failure every temporary file is removed
        table = stack.enter_context(atomic_write(table_path))
        export = stack.enter_context(atomic_write(export_path, "w+b"))
        summary_fh = stack.enter_context(atomic_write(summary_path))
        with progress_line(progress, "downloading export", "kB") as tick:
            size = 0
            for chunk in chunks:
                export.write(chunk)
                size += len(chunk)
                tick(size // 1000)
        export.flush()
        with progress_line(progress, "flattening", "tasks") as tick:
            counter = _flatten_export(export, table, schema, snapshot=export_path.name, project=project, tick=tick)
        summary = counter.result()
        summary_fh.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def create_export(studio: Studio, project_id: int, title: str = EXPORT_TITLE) -> int:
    """Ask for a full JSON export snapshot (skips, ground truth, drafts, predictions); its id once built."""
    ls = studio.client
    # Community Edition builds the snapshot inside this one request (no job queue without Redis):
    # at 100k tasks that takes minutes, past the client's default timeout; a retry would build a second
    snap = api_call(studio, ls.projects.exports.create, id=project_id, title=title, **EXPORT_OPTIONS,
                    request_options={"timeout": EXPORT_TIMEOUT, "max_retries": 0})  # fmt: skip
    for _ in range(600):  # CE completes at once; Enterprise works in the background
        if getattr(snap, "status", "completed") == "completed":
            break
        if snap.status == "failed":
            raise StudioError(f"Label Studio failed to build export {snap.id} of project {project_id}")
        time.sleep(1)
        snap = api_call(studio, ls.projects.exports.get, id=project_id, export_pk=snap.id)
    return snap.id


def _export_title() -> str:
    return f"{EXPORT_TITLE} {socket.gethostname()} {os.getpid()}"


def remove_stale_exports(studio: Studio, project_id: int) -> int:
    """Delete the export snapshots that killed pulls of this machine left on the server; how many.

    Called with the project's pull lock held, so no other pull of this machine is running: every
    export titled by one of them (or by a version that did not name its host) is a leftover.
    Exports of other machines, and ones a user made in the UI, are left alone.
    """
    mine = f"{EXPORT_TITLE} {socket.gethostname()} "
    stale = [
        e.id
        for e in api_call(studio, studio.client.projects.exports.list, id=project_id)
        if (e.title or "") == EXPORT_TITLE or (e.title or "").startswith(mine)
    ]
    for export_id in stale:
        with contextlib.suppress(StudioError):  # already gone: nothing to do
            api_call(studio, studio.client.projects.exports.delete, id=project_id, export_pk=export_id)
    return len(stale)


def download_export(studio: Studio, project_id: int, export_id: int, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The export file as a stream of byte chunks (never the whole file in memory)."""
    stream = studio.client.projects.exports.download(
        id=project_id, export_pk=export_id, request_options={"chunk_size": chunk_size}
    )
    try:
        while (chunk := api_call(studio, next, stream, None)) is not None:
            yield chunk
    finally:
        stream.close()  # a download given up half-way releases its connection now, not at garbage collection


def pull(
    studio: Studio,
    project: str | int,
    out_dir: str | Path = "annotations",
    schema: Schema | None = None,
    *,
    progress: bool = False,
) -> PullResult:
    """Export ``project`` and write an immutable snapshot plus its flat table and summary (streaming).

    Pulls of one project take turns (a lock of this machine, see :func:`project_lock`); each one
    first removes what a killed pull left: its export snapshots on the server and, through
    :func:`~annotate.io.atomic_write`, its temporary files in the snapshot folder.
    """
    proj = find_project(studio, project)
    schema = schema_of_project(proj, schema)
    with project_lock(studio.url, proj.title, "pull"):
        removed = remove_stale_exports(studio, proj.id)
        export_id = create_export(studio, proj.id, _export_title())
        try:
            result = write_snapshot(download_export(studio, proj.id, export_id), schema, out_dir, proj.title,
                                    progress=progress, project_id=proj.id)  # fmt: skip
        finally:
            with contextlib.suppress(StudioError):  # keep the server tidy; a failure here loses nothing
                api_call(studio, studio.client.projects.exports.delete, id=proj.id, export_pk=export_id)
    result.stale_exports_removed = removed
    return result
