"""What a retrain learns from: the labels of every source, the newest answer winning per item.

The sources, oldest first: the labels the serving model carries (its base labels, passed on
from version to version), ``--labels``, then the projects' annotations. Annotations are read
from Label Studio as ``annotate pull`` reads them (:func:`studio_labels`), so an annotation whose
webhook was missed is learned all the same; a project Label Studio cannot be reached for falls
back to the label log (:func:`log_labels`). Both are resolved to one gold label per item and
field by :func:`annotate.resolve.resolve` (majority; ties are left out, never broken).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotate.errors import AnnotateError, InputError
from annotate.io import sha256_hex, write_jsonl
from annotate.schema import Schema
from annotate.serve.label_log import LabelLog
from annotate.serve.protocol import project_id

__all__ = [
    "LABELS_NAME",
    "BASE_LABELS_NAME",
    "StudioSources",
    "TrainingSet",
    "studio_labels",
    "log_labels",
    "label_rows",
    "inherited_labels",
    "training_set",
    "fields_to_train",
]

LABELS_NAME = "live_labels.jsonl"  # scratch file of a retrain
#: The labels a retrained version inherits and passes on: the first model's own, plus --labels.
BASE_LABELS_NAME = "base_labels.jsonl"


class StudioSources:
    """How to reach Label Studio for each project: ``studio`` (a function returning a connected
    :class:`~annotate.studio.client.Studio`), else the URL and token of the project's ``/setup``.

    ``projects``: the projects served (None: any), always read at a retrain.
    """

    def __init__(self, studio: Callable[[], Any] | None = None, projects: Collection[int] | None = None) -> None:
        self._studio = studio
        self.projects = set(projects or ())
        # project id -> (Label Studio URL, token) as Label Studio's /setup call gave them; memory only
        self._setup_hosts: dict[int, tuple[str, str]] = {}

    def note_setup(self, data: dict[str, Any]) -> None:
        """Remember the Label Studio URL and token a ``/setup`` call came with (memory only)."""
        pid = project_id(data.get("project"))
        host, token = data.get("hostname"), data.get("access_token")
        if pid is not None and isinstance(host, str) and host and isinstance(token, str) and token:
            self._setup_hosts[pid] = (host.rstrip("/"), token)

    def known_projects(self, label_log: LabelLog) -> set[int]:
        """The projects to learn from: those served, those that called /setup, those in the log."""
        return self.projects | set(self._setup_hosts) | label_log.projects()

    def connect(self, pid: int) -> Any | None:
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


def label_rows(gold: Iterable[dict[str, Any]], data: dict[str, dict[str, Any]], schema: Schema) -> list[dict[str, Any]]:
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
        if g["field"] == schema.target_field:
            rec["target"] = target or d.get("target")
        out.append(rec)
    return out


def studio_labels(
    sources: StudioSources, projects: Iterable[int], schema: Schema, workdir: Path
) -> tuple[list[dict[str, Any]], dict[int, int], list[str]]:
    """Gold label rows of ``projects``, read from Label Studio as ``pull`` reads them.

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
    for pid in sorted(projects):
        try:
            studio = sources.connect(pid)
            if studio is None:
                continue
            result = pull(studio, pid, workdir / "pulled", schema)
        except AnnotateError as err:
            notes.append(f"project {pid}: {err}")
            continue
        table = load_annotations(result.table_path)
        answered = table[~table["was_cancelled"] & ~table["is_draft"] & table["field"].notna()]
        gold: list[dict[str, Any]] = []
        if len(answered):
            res = with_context(resolve(table, schema, on_tie="conflict"), snapshot_tasks(result.table_path))
            gold = label_rows(res.gold.to_dict(orient="records"), {}, schema)
        rows.extend(gold)
        read[pid] = len(gold)
    return rows, read, notes


def log_labels(label_log: LabelLog, schema: Schema, exclude: Collection[int] = ()) -> list[dict[str, Any]]:
    """Gold label rows from the label log: latest version of each annotation, resolved per item.

    Events of the projects in ``exclude`` (read from Label Studio itself) are left out.
    """
    import pandas as pd

    from annotate.annotations import COLUMNS
    from annotate.resolve import resolve

    rows, data = label_log.current(exclude)
    if not rows:
        return []
    res = resolve(pd.DataFrame(rows, columns=COLUMNS), schema, on_tie="conflict")
    return label_rows(res.gold.to_dict(orient="records"), data, schema)


def inherited_labels(folder: Path | None) -> Path | None:
    """The labels file the model in ``folder`` carries: its base labels, else all it learned from."""
    from annotate.models.store import TRAINING_LABELS_FILE

    if folder is None:
        return None
    for name in (BASE_LABELS_NAME, TRAINING_LABELS_FILE):
        if (folder / name).is_file():
            return folder / name
    return None


@dataclass
class TrainingSet:
    """The labels of one retrain (a :func:`annotate.labels.load_labels` table) and where they came from.

    ``base`` holds the base label rows that were kept (None without base labels): what the new
    version passes on. ``live`` counts the rows from annotations.
    """

    labels: Any  # pandas.DataFrame
    base: Any  # pandas.DataFrame | None
    live: int
    learned_from: dict[str, Any] = field(default_factory=dict)


def _newest_wins(base: Any, later: list[Any]) -> Any:
    """The rows of ``base`` that no later frame answers for the same item, field and target."""
    import pandas as pd

    # an item is its sentence, or its text when a row has no id. Only base rows are dropped:
    # the annotations stay as resolved.
    both = pd.concat([base, *later], ignore_index=True)
    item = both["sentence_id"].where(both["sentence_id"].notna(), "text:" + both["text"])
    dup = pd.DataFrame({"i": item, "f": both["field"], "t": both["target"]}).duplicated(keep="last")
    return base[~dup.iloc[: len(base)].to_numpy()].reset_index(drop=True)


def training_set(
    workdir: Path,
    schema: Schema,
    *,
    sources: StudioSources,
    label_log: LabelLog,
    base_files: Iterable[Path | None] = (),
    sentences: Path | None = None,
    labels_path: Path | None = None,
) -> TrainingSet:
    """Everything there is to learn from, the newest source winning for a (sentence, field, target).

    ``base_files``: label files, oldest first (the serving model's inherited labels, then
    ``--labels``, often the same file); ``sentences`` is the sentences file their rows refer to.
    The annotations come last: from Label Studio for every project it can be read for, else
    from ``label_log``. ``workdir`` receives the pulled snapshots and a scratch label file;
    ``labels_path`` is the path the table reports (default that scratch file). Raises
    :class:`~annotate.errors.InputError` when there is nothing to learn from.
    """
    import pandas as pd

    from annotate.labels import load_labels

    from_studio, read, notes = studio_labels(sources, sources.known_projects(label_log), schema, workdir)
    live = from_studio + log_labels(label_log, schema, exclude=set(read))
    frames = []
    if live:
        write_jsonl(workdir / LABELS_NAME, live)
        frames.append(load_labels(workdir / LABELS_NAME, schema))
    files = [path for path in base_files if path is not None]
    bases = [load_labels(path, schema, sentences=sentences, on_missing_label="skip") for path in files]
    base = pd.concat(bases, ignore_index=True) if bases else None
    if base is not None and len(base):
        base = _newest_wins(base, frames)
        frames.insert(0, base)
    if not frames or not sum(len(f) for f in frames):
        raise InputError("no labels to learn from yet", hint="annotate some tasks, or pass base labels")
    labels = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    labels.attrs.update(
        path=str(labels_path or workdir / LABELS_NAME),
        data_hash=sha256_hex(labels[["text", "field", "label"]].to_json(), 16),
        skipped=0,
        live_labels=len(live),
    )
    learned_from = {
        "label_studio": {str(pid): n for pid, n in read.items()},
        "webhook_log": len(live) - len(from_studio),
        "base": 0 if base is None else len(base),
        "not_read": notes,
    }
    return TrainingSet(labels, base, len(live), learned_from)


def fields_to_train(labels: Any, serving: Collection[str], min_per_class: int) -> list[str]:
    """The serving model's fields plus every field with two classes of ``min_per_class`` labels."""
    fields = list(serving)
    for fname, rows in labels.groupby("field"):
        counts = rows["label"].value_counts()
        if (counts >= min_per_class).sum() >= 2 and fname not in fields:
            fields.append(str(fname))
    if not fields:
        counts = labels.groupby("field")["label"].nunique().to_dict()
        raise InputError(
            f"not enough labels to train any field yet (classes per field: {counts}); "
            f"a field needs two classes with at least {min_per_class} labels each",
            hint="keep annotating",
        )
    return fields
