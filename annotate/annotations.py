"""The flat annotations table: its columns, its checks, reading it from disk, and the votes in it.

``annotate pull`` writes it as ``<stamp>.annotations.jsonl`` next to the raw export snapshot;
the columns are :data:`COLUMNS`: one row per task x annotation x field result, with skipped
annotations (``was_cancelled``, ``field=None``), drafts (``is_draft``), ground truth and rows the
schema does not explain (``issue``) all kept. Agreement, resolve, review and the report read it
through this module: :func:`prepare` checks a table (a notebook's small frame needs only
:data:`REQUIRED_COLUMNS`; the :data:`OPTIONAL_COLUMNS` get their defaults), :func:`votes` and
:func:`span_votes` say which rows count and how.

>>> df = load_annotations("annotations/claims_stance")      # doctest: +SKIP
>>> df[(~df.was_cancelled) & (~df.is_draft) & df.issue.isna()].groupby("field").size()  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annotate.errors import InputError, SchemaError
from annotate.io import read_jsonl
from annotate.schema import Field, Schema

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "TABLE_SUFFIX",
    "REVIEW_TABLE_SUFFIX",
    "table_row",
    "table_frame",
    "latest_snapshot",
    "load_annotations",
    "load_review",
    "summary",
    "prepare",
    "is_vote",
    "votes",
    "span_votes",
    "votes_by_item",
]

#: The columns of the table, in the order ``annotate pull`` writes them.
COLUMNS = [
    "snapshot", "project", "task_id", "sentence_id", "doc_id", "target", "item", "annotation_id", "annotator",
    "annotator_id", "field", "type", "value", "start", "end", "span_text", "region_id", "lead_time", "created_at",
    "updated_at", "was_cancelled", "ground_truth", "is_draft", "model_version", "issue",
]  # fmt: skip
#: The columns :func:`prepare` cannot do without.
REQUIRED_COLUMNS = ("item", "sentence_id", "annotator", "field", "value")
#: The columns :func:`prepare` fills in when a table lacks them, with their defaults.
OPTIONAL_COLUMNS: dict[str, Any] = {
    "target": None,
    "annotation_id": None,  # default: one annotation per row
    "type": None,
    "start": None,
    "end": None,
    "span_text": None,
    "lead_time": np.nan,
    "created_at": None,
    "updated_at": None,
    "was_cancelled": False,
    "ground_truth": False,
    "is_draft": False,
    "issue": None,
}
_FLAGS = ("was_cancelled", "ground_truth", "is_draft")
#: Keys every row of the annotations table has (a skip row too).
_ROW_KEYS = ("task_id", "annotation_id", "annotator")
#: How the files of the table (``annotate pull``) and of a review table (``annotate review pull``) end.
TABLE_SUFFIX = ".annotations.jsonl"
REVIEW_TABLE_SUFFIX = ".review.jsonl"


def table_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as a row of the table: every column of :data:`COLUMNS` in order, a flag not given
    False and any other column not given None; keys that are not columns are left out."""
    return {c: values.get(c, False if c in _FLAGS else None) for c in COLUMNS}


def table_frame(rows: list[dict[str, Any]], path: str | Path | None = None) -> pd.DataFrame:
    """Rows of the flat table (pull's or a review table) as a DataFrame with the table's dtypes."""
    # object columns keep None as None (pandas 3 would infer str columns with NaN) and keep
    # ``value`` as it was written: a string, a list, or an int
    df = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    for col in _FLAGS:
        df[col] = df[col].astype(bool)
    for col in ("task_id", "annotation_id", "annotator_id", "start", "end"):
        df[col] = df[col].astype("Int64")
    df["lead_time"] = df["lead_time"].astype("float64")
    if path is not None:
        df.attrs["path"] = str(path)
    return df


# --- reading ----------------------------------------------------------------------------------


def latest_snapshot(path: str | Path) -> Path:
    """The newest ``*.annotations.jsonl`` under a folder (stamps sort by time), or the file given.

    A raw ``*.export.json`` or ``*.summary.json`` path resolves to the table beside it.
    """
    path = Path(path)
    if path.is_file():
        for suffix in (".export.json", ".summary.json"):
            if path.name.endswith(suffix):
                path = path.with_name(path.name[: -len(suffix)] + TABLE_SUFFIX)
        if not path.is_file():
            raise InputError("no annotations table beside this snapshot", path=path, hint="run `annotate pull` again")
        return path
    if not path.is_dir():
        raise InputError("no such file or folder", path=path, hint="give a folder written by `annotate pull`")
    found = sorted(path.rglob(f"*{TABLE_SUFFIX}"))
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


def load_review(path: str | Path) -> pd.DataFrame:
    """The latest ``*.review.jsonl`` under a folder (or the file given), for ``resolve(review=...)``."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.rglob(f"*{REVIEW_TABLE_SUFFIX}"), key=lambda p: p.name)
        if not found:
            raise InputError("no review table here", path=path, hint="run `annotate review pull -o` into this folder")
        path = found[-1]
    if not path.is_file():
        raise InputError("no such file or folder", path=path, hint="give a folder written by `annotate review pull`")
    return table_frame([rec for _line, rec in read_jsonl(path, allow_empty=True)], path=path)


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


# --- checks and votes ------------------------------------------------------------------------


def prepare(df: pd.DataFrame, schema: Schema | None = None, *, what: str = "annotations table") -> pd.DataFrame:
    """Check the columns, fill in optional ones, and (given a schema) check the table belongs to it.

    Raises :class:`InputError` for an empty table or missing columns, and :class:`SchemaError`
    when none of the table's fields is a field of ``schema`` (a table from another schema).
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame as the {what}, got {type(df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing and len(df):
        raise InputError(
            f"the {what} lacks the column(s) {', '.join(missing)}",
            hint=f"give the table `annotate pull` writes (columns {', '.join(REQUIRED_COLUMNS)}, ...)",
        )
    if len(df) == 0:
        raise InputError(
            f"the {what} is empty: no annotations, so no agreement or gold label can be computed",
            hint="pull annotations first (annotate pull) or check the path",
        )
    out = df.copy()
    for col, default in OPTIONAL_COLUMNS.items():
        if col not in out.columns:
            out[col] = [default] * len(out) if col != "annotation_id" else [f"row-{i}" for i in range(len(out))]
    for col in _FLAGS:
        out[col] = out[col].fillna(False).astype(bool)
    out["_when"] = pd.to_datetime(
        out["updated_at"].fillna(out["created_at"]), utc=True, errors="coerce", format="mixed"
    )
    if schema is not None:
        present = sorted({str(f) for f in out["field"].dropna().unique()})
        known = [f for f in present if f in schema.fields]
        if present and not known:
            raise SchemaError(
                f"the {what} is from another schema: its fields ({', '.join(present)}) are not fields of "
                f"{schema.path} ({', '.join(schema.fields)}); nothing can be computed",
                hint="give the schema the annotations were made with (--schema)",
            )
    return out


def is_vote(df: pd.DataFrame) -> pd.Series:
    """Rows that count: an answered field, not cancelled, not a draft, no issue flagged by pull."""
    return df["field"].notna() & ~df["was_cancelled"].astype(bool) & ~df["is_draft"].astype(bool) & df["issue"].isna()


def _present(x: Any) -> bool:
    if isinstance(x, list | tuple | np.ndarray):
        return len(x) > 0
    return x is not None and not pd.isna(x)


def _label(value: Any, f: Field) -> str | None:
    """The canonical label of an answer: a choice value, or choices joined by '|' (multiple)."""
    if isinstance(value, list | tuple | np.ndarray):
        vals = [str(v) for v in value]
        if not vals or any(f.choices and f.to_value(v) is None for v in vals):
            return None
        return "|".join(sorted(f.to_value(v) or v for v in vals))
    if not _present(value):
        return None
    value = str(value)
    if f.choices:
        return f.to_value(value)
    return value
    if f.choices:
        return f.to_value(value)
    return value


def votes(df: pd.DataFrame, schema: Schema, field: str, *, prepared: bool = False) -> pd.DataFrame:
    """One vote per (item, annotator) for a categorical field: their latest valid answer.

    Returns columns ``item, sentence_id, target, annotator, label, annotation_id, ground_truth,
    when``; ``df.attrs`` of the result counts what was left out: ``hidden`` (the condition field
    of the same annotation hides this field), ``unknown`` (a value that is not a choice),
    ``superseded`` (an older answer by the same annotator to the same item).
    """
    f = schema.field(field)
    d = df if prepared else prepare(df, schema)
    ok = d[is_vote(d)]
    rows = ok[ok["field"] == f.name].copy()
    hidden = 0
    if f.condition is not None and len(rows):
        cond = f.condition
        answers: dict[Any, list[str]] = {}
        for aid, val in ok.loc[ok["field"] == cond.tag, ["annotation_id", "value"]].itertuples(index=False):
            answers.setdefault(aid, []).extend(
                [str(v) for v in val] if isinstance(val, list | tuple | np.ndarray) else [str(val)]
            )
        allowed = rows["annotation_id"].map(lambda a: cond.allows(answers.get(a)))
        hidden = int((~allowed).sum())
        rows = rows[allowed]
    rows["label"] = [_label(v, f) for v in rows["value"]]
    unknown = int(rows["label"].isna().sum())
    rows = rows[rows["label"].notna()]
    n_before = len(rows)
    rows = rows.sort_values("_when", kind="stable", na_position="first").drop_duplicates(
        ["item", "annotator"], keep="last"
    )
    if f.name != schema.target_field:  # a per-sentence answer, whichever target's task it came from
        rows["target"] = None
    out = rows[["item", "sentence_id", "target", "annotator", "label", "annotation_id", "ground_truth", "_when"]]
    out = out.rename(columns={"_when": "when"}).sort_values(["item", "annotator"]).reset_index(drop=True)
    out.attrs = {"hidden": hidden, "unknown": unknown, "superseded": n_before - len(rows)}
    return out


def span_votes(df: pd.DataFrame, schema: Schema, field: str, *, prepared: bool = False) -> pd.DataFrame:
    """Spans per (sentence, annotator) from that annotator's latest annotation of the sentence.

    An annotation that submitted the sentence without any span of this field is a vote for "no
    spans" (a row with ``spans`` = empty set). Returns ``sentence_id, annotator, spans`` where
    ``spans`` is a frozenset of ``(start, end, label)``.
    """
    f = schema.field(field)
    d = df if prepared else prepare(df, schema)
    ok = d[is_vote(d)]
    latest = ok.sort_values("_when", kind="stable", na_position="first").drop_duplicates(
        ["sentence_id", "annotator"], keep="last"
    )[["sentence_id", "annotator", "annotation_id"]]
    spans: dict[Any, set[tuple[int, int, str]]] = {}
    for aid, s, e, v in ok.loc[ok["field"] == f.name, ["annotation_id", "start", "end", "value"]].itertuples(
        index=False
    ):
        if _present(s) and _present(e):
            label = "|".join(map(str, v)) if isinstance(v, list | tuple | np.ndarray) else str(v)
            spans.setdefault(aid, set()).add((int(s), int(e), label))
    latest["spans"] = [frozenset(spans.get(a, ())) for a in latest["annotation_id"]]
    return (
        latest[["sentence_id", "annotator", "spans"]].sort_values(["sentence_id", "annotator"]).reset_index(drop=True)
    )


def votes_by_item(v: pd.DataFrame) -> dict[Any, dict[str, str]]:
    """item -> {annotator: label} for a frame of :func:`votes`."""
    out: dict[Any, dict[str, str]] = {}
    for item, ann, lab in zip(v["item"], v["annotator"], v["label"], strict=True):
        out.setdefault(item, {})[ann] = lab
    return out
