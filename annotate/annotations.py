"""The flat annotations table that every later stage reads (agreement, resolve, training).

``annotate pull`` writes it as ``<stamp>.annotations.jsonl`` next to the raw export snapshot;
the columns are :data:`annotate.studio.pull.COLUMNS`: one row per task x annotation x field
result, with skipped annotations (``was_cancelled``, ``field=None``), drafts (``is_draft``),
ground truth and rows the schema does not explain (``issue``) all kept.

>>> df = load_annotations("annotations/claims_stance")      # doctest: +SKIP
>>> df[(~df.was_cancelled) & (~df.is_draft) & df.issue.isna()].groupby("field").size()  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from annotate.errors import InputError
from annotate.io import read_jsonl

__all__ = ["load_annotations", "latest_snapshot", "summary", "table_frame"]

_SUFFIX = ".annotations.jsonl"


def latest_snapshot(path: str | Path) -> Path:
    """The newest ``*.annotations.jsonl`` under a folder (stamps sort by time), or the file given.

    A raw ``*.export.json`` or ``*.summary.json`` path resolves to the table beside it.
    """
    path = Path(path)
    if path.is_file():
        for suffix in (".export.json", ".summary.json"):
            if path.name.endswith(suffix):
                path = path.with_name(path.name[: -len(suffix)] + _SUFFIX)
        if not path.is_file():
            raise InputError("no annotations table beside this snapshot", path=path, hint="run `annotate pull` again")
        return path
    if not path.is_dir():
        raise InputError("no such file or folder", path=path, hint="give a folder written by `annotate pull`")
    found = sorted(path.rglob(f"*{_SUFFIX}"))
    projects = {p.parent for p in found}
    if not found:
        raise InputError("no annotation snapshots here", path=path, hint="run `annotate pull -o` into this folder")
    if len(projects) > 1:
        names = ", ".join(sorted(p.name for p in projects))
        raise InputError("snapshots of several projects here", path=path, hint=f"give one project's folder: {names}")
    return max(found, key=lambda p: p.name)


def load_annotations(path: str | Path) -> pd.DataFrame:
    """Load the flat table of the latest snapshot under ``path`` (or of the snapshot file given)."""
    table = latest_snapshot(path)
    rows = []
    for line, rec in read_jsonl(table, allow_empty=True):
        missing = [key for key in _ROW_KEYS if key not in rec]
        if missing:
            # a sentences file, a gold file or predictions given by mistake: say so, do not
            # compute agreement over an empty table
            raise InputError(
                f"not a row of the annotations table (no {', '.join(missing)})",
                path=table,
                line=line,
                hint="give the folder or table that `annotate pull` wrote",
            )
        rows.append(rec)
    return table_frame(rows, path=table)


#: Keys every row of the annotations table has (a skip row too).
_ROW_KEYS = ("task_id", "annotation_id", "annotator")


def table_frame(rows: list[dict[str, Any]], path: str | Path | None = None) -> pd.DataFrame:
    """Rows of the flat table (pull's or a review table) as a DataFrame with the table's dtypes."""
    from annotate.studio.pull import COLUMNS

    # object columns keep None as None (pandas 3 would infer str columns with NaN) and keep
    # ``value`` as it was written: a string, a list, or an int
    df = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    for col in ("was_cancelled", "ground_truth", "is_draft"):
        df[col] = df[col].astype(bool)
    for col in ("task_id", "annotation_id", "annotator_id", "start", "end"):
        df[col] = df[col].astype("Int64")
    df["lead_time"] = df["lead_time"].astype("float64")
    if path is not None:
        df.attrs["path"] = str(path)
    return df


def summary(df: pd.DataFrame) -> dict[str, Any]:
    """Counts over a loaded table: annotations, skips, drafts, annotators, fields, issues."""
    anns = df.drop_duplicates(["annotation_id", "is_draft"])
    submitted = anns[~anns.is_draft]
    annotated = set(submitted.loc[~submitted.was_cancelled, "task_id"])
    answers = df[df.field.notna() & ~df.was_cancelled & ~df.is_draft]
    return {
        "annotated_tasks": len(annotated),
        "skipped_only_tasks": len(set(submitted.loc[submitted.was_cancelled, "task_id"]) - annotated),
        "annotations": len(submitted),
        "skipped": int(submitted.was_cancelled.sum()),
        "ground_truth": int(submitted.ground_truth.sum()),
        "drafts": int(anns.is_draft.sum()),
        "annotators": dict(Counter(submitted.annotator).most_common()),
        "fields": {str(k): int(v) for k, v in answers.groupby("field").size().items()},
        "issues": {str(k): int(v) for k, v in df.issue.dropna().value_counts().items()},
        "rows": len(df),
    }
