"""Gold labels from the flat annotations table: aggregation, ground truth, reviewer answers.

For every categorical field of the schema and every item answered, :func:`resolve` gives one gold
row, or a conflict row when it cannot decide. Votes are those of :func:`annotate.annotations.votes`
(latest valid answer per annotator and item; the conditioned field only where the same
annotation's answer to its condition field allows it). Precedence, highest first:

1. ``review``: answers from the review project (``annotate review pull``), method ``"review"``;
2. a ground-truth annotation in Label Studio (``ground_truth=True``), method ``"ground_truth"``;
3. the aggregate of all annotators' votes, method ``"majority"`` or ``"dawid-skene"``.

Within 1 and 2 the latest answer (``updated_at``) wins. A tie in the aggregate is never broken:
with ``on_tie="conflict"`` (the default) the item goes to ``conflicts`` for review, with
``on_tie="error"`` :func:`resolve` raises. A gold label of the conditioned field (stance) whose
gold condition (claim_type) hides it is moved to ``conflicts`` with reason ``"hidden"``.

The review table has the columns of the annotations table (at least ``item, sentence_id,
annotator, field, value``; ``target, annotation_id, updated_at`` recommended) and every row has
``ground_truth=True``: review pull marks the reviewer's answers as ground truth. Nothing in the
original annotations is changed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from annotate.annotations import latest_snapshot, load_annotations, load_review, prepare, votes, votes_by_item
from annotate.errors import InputError
from annotate.io import ensure_not_input, write_jsonl
from annotate.schema import Field, Schema

__all__ = [
    "Resolution",
    "ResolveSummary",
    "GOLD_COLUMNS",
    "CONFLICT_COLUMNS",
    "CONTEXT_COLUMNS",
    "METHODS",
    "resolve",
    "resolve_annotations",
    "with_context",
    "write_gold",
    "gold_records",
]

GOLD_COLUMNS = [
    "item",
    "sentence_id",
    "target",
    "field",
    "label",
    "confidence",
    "agreement",
    "n_annotators",
    "method",
    "votes",
]
#: What :func:`with_context` adds to gold and conflict rows, from the tasks: enough for an editor
#: to read a row, and for ``train`` / ``serve --labels`` to learn from the gold file alone.
CONTEXT_COLUMNS = ["doc_id", "text", "target_name", "speaker", "title", "url"]
CONFLICT_COLUMNS = [
    "item",
    "sentence_id",
    "target",
    "field",
    "reason",
    "candidates",
    "n_annotators",
    "votes",
    "detail",
]
METHODS = ("majority", "dawid-skene")
TIE_POLICIES = ("conflict", "error")  # list a tie for review, or refuse to resolve
_TIE_TOL = 1e-9


class Resolution(NamedTuple):
    """What :func:`resolve` returns: ``gold, conflicts = resolve(df, schema)``.

    ``gold``: one row per (item, field) decided, columns :data:`GOLD_COLUMNS`. ``agreement`` is
    the share of the votes for the label. ``confidence`` counts how many votes there were, so one
    annotator's answer is not as sure as three who agree: for a majority it is Laplace's rule of
    succession, ``(k + 1) / (n + 2)`` for ``k`` of ``n`` votes (1/1: 0.67, 2/2: 0.75, 3/3: 0.8,
    2/3: 0.6); for Dawid-Skene the posterior probability; 1.0 for ground truth and review.
    ``votes`` maps annotator -> label.

    ``conflicts``: one row per (item, field) not decided, columns :data:`CONFLICT_COLUMNS`;
    ``reason`` is ``"tie"`` (``candidates`` = the tied labels), ``"hidden"`` (the gold answer
    of the condition field hides this field; ``candidates`` = the label it would have had) or
    ``"few_annotators"`` (fewer than ``min_annotators`` votes; ``candidates`` = the majority).
    """

    gold: pd.DataFrame
    conflicts: pd.DataFrame


def _majority(v: pd.DataFrame) -> dict[Any, tuple[list[str], float]]:
    """item -> (labels with the most votes, sorted; Laplace's ``(k + 1) / (n + 2)`` of their ``k`` votes)."""
    counts = pd.crosstab(v["item"], v["label"])
    values, labels = counts.to_numpy(), np.asarray(counts.columns, dtype=object)
    top = values.max(axis=1)
    succession = (top + 1) / (values.sum(axis=1) + 2)
    return {
        item: (sorted(labels[row == t]), float(c))
        for item, row, t, c in zip(counts.index, values, top, succession, strict=True)
    }


def _dawid_skene(v: pd.DataFrame, n_iter: int) -> dict[Any, tuple[list[str], float]]:
    """Dawid & Skene (1979) EM via crowd-kit; an exact tie in the posterior is a tie.

    Dawid, A. P., Skene, A. M. (1979). Maximum likelihood estimation of observer error-rates using
    the EM algorithm. Applied Statistics 28(1), 20-28. https://doi.org/10.2307/2346806
    """
    from crowdkit.aggregation import DawidSkene

    data = v.rename(columns={"item": "task", "annotator": "worker"})[["task", "worker", "label"]]
    data = data.astype({"task": object, "worker": object, "label": object})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # crowd-kit on pandas 3 (Pandas4Warning)
        warnings.simplefilter("ignore", FutureWarning)
        probas = DawidSkene(n_iter=n_iter).fit(data).probas_
    out = {}
    for item, p in probas.iterrows():
        best = float(p.max())
        out[item] = (sorted(str(lab) for lab in p.index[np.isclose(p.to_numpy(float), best, atol=_TIE_TOL)]), best)
    return out


def _override(v: pd.DataFrame) -> dict[Any, str]:
    """Latest label per item among authoritative answers (ground truth or review)."""
    latest = v.sort_values("when", kind="stable", na_position="first").drop_duplicates("item", keep="last")
    return dict(zip(latest["item"], latest["label"], strict=True))


def _order(schema: Schema, fields: list[Field]) -> list[Field]:
    """Condition fields before the fields they condition (claim_type before stance)."""
    return sorted(fields, key=lambda f: f.condition is not None)


def resolve(
    df: pd.DataFrame,
    schema: Schema,
    method: Literal["majority", "dawid-skene"] = "majority",
    *,
    on_tie: Literal["conflict", "error"] = "conflict",
    review: pd.DataFrame | None = None,
    field: str | None = None,
    n_iter: int = 100,
    min_annotators: int = 1,
) -> Resolution:
    """Gold labels per item and categorical field, plus the conflicts left for review.

    Parameters
    ----------
    df : the flat annotations table (see :mod:`annotate.annotations`).
    schema : the schema the annotations were made with.
    method : ``"majority"`` (share of votes) or ``"dawid-skene"`` (crowd-kit ``DawidSkene``,
        which weighs annotators by their estimated confusion matrices).
    on_tie : ``"conflict"`` lists tied items in ``conflicts`` (default); ``"error"`` raises
        :class:`InputError` naming them. A tie is never broken silently.
    review : optional table of reviewer answers (same columns, all ``ground_truth=True``),
        e.g. from ``annotate review pull``; overrides everything else.
    field : resolve just this field (default: every categorical field).
    n_iter : EM iterations for Dawid-Skene.
    min_annotators : an aggregate of fewer votes goes to ``conflicts`` (reason ``"few_annotators"``)
        instead of gold; ground truth and review answers stand alone.

    >>> gold, conflicts = resolve(df, schema)  # doctest: +SKIP
    """
    if method not in METHODS:
        raise InputError(f"unknown method '{method}'", hint=f"use one of: {', '.join(METHODS)}")
    if on_tie not in TIE_POLICIES:
        raise InputError(f"unknown on_tie policy '{on_tie}'", hint="use 'conflict' or 'error'")
    if min_annotators < 1:
        raise InputError(f"min_annotators must be 1 or more; got {min_annotators}", hint="e.g. --min-annotators 2")
    d = prepare(df, schema)
    r = None
    if review is not None and len(review):
        r = prepare(review, schema, what="review table")
        if not r["ground_truth"].all():
            n = int((~r["ground_truth"]).sum())
            raise InputError(
                f"the review table has {n} row(s) with ground_truth=False; reviewer answers must be ground truth",
                hint="use the table `annotate review pull` writes, or set ground_truth=True on the reviewer's rows",
            )
    fields = schema.categorical_fields if field is None else [schema.field(field)]
    gold_rows: list[dict[str, Any]] = []
    conflict_rows: list[dict[str, Any]] = []
    gold_by_sentence: dict[str, dict[str, str]] = {}
    for f in _order(schema, fields):
        v = votes(d, schema, f.name, prepared=True)
        agg = {} if not len(v) else (_majority(v) if method == "majority" else _dawid_skene(v, n_iter))
        gt = _override(v[v["ground_truth"]])
        rvotes = votes(r, schema, f.name, prepared=True) if r is not None else v.iloc[:0]
        rv = _override(rvotes)
        by_item = votes_by_item(v)
        meta = {
            item: (sid, None if pd.isna(tgt) else tgt)
            for item, sid, tgt in (pd.concat([rvotes, v]) if len(rvotes) else v)[
                ["item", "sentence_id", "target"]
            ].itertuples(index=False)
        }  # annotators' rows last, so they win
        for item in sorted(meta, key=str):
            sid, tgt = meta[item]
            vote_map = by_item.get(item, {})
            base = {
                "item": item,
                "sentence_id": sid,
                "target": tgt,
                "field": f.name,
                "n_annotators": len(vote_map),
                "votes": vote_map,
            }
            labels_of = list(vote_map.values())
            if item in rv:
                row = {**base, "label": rv[item], "confidence": 1.0, "method": "review"}
            elif item in gt:
                row = {**base, "label": gt[item], "confidence": 1.0, "method": "ground_truth"}
            else:
                labels, conf = agg[item]
                if len(labels) > 1:
                    conflict_rows.append(
                        {
                            **base,
                            "reason": "tie",
                            "candidates": labels,
                            "detail": f"{method} tie between {' / '.join(labels)}",
                        }
                    )
                    continue
                if len(vote_map) < min_annotators:
                    conflict_rows.append(
                        {
                            **base,
                            "reason": "few_annotators",
                            "candidates": labels,
                            "detail": f"{len(vote_map)} annotator(s), fewer than the {min_annotators} required",
                        }
                    )
                    continue
                row = {**base, "label": labels[0], "confidence": conf, "method": method}
            row["agreement"] = labels_of.count(row["label"]) / len(labels_of) if labels_of else None
            cond = f.condition
            if cond is not None and cond.tag in gold_by_sentence.get(sid, {}):
                cond_label = gold_by_sentence[sid][cond.tag]
                if not cond.allows([cond_label]):
                    conflict_rows.append(
                        {
                            **base,
                            "reason": "hidden",
                            "candidates": [row["label"]],
                            "detail": f"gold {cond.tag} is '{cond_label}', which hides {f.name}",
                        }
                    )
                    continue
            gold_rows.append(row)
            gold_by_sentence.setdefault(sid, {})[f.name] = row["label"]
    gold = pd.DataFrame(gold_rows, columns=GOLD_COLUMNS)
    conflicts = pd.DataFrame(conflict_rows, columns=CONFLICT_COLUMNS)
    gold["confidence"] = gold["confidence"].astype(float)
    gold["agreement"] = gold["agreement"].astype(float)
    gold["n_annotators"] = gold["n_annotators"].astype(int)
    if on_tie == "error" and (conflicts["reason"] == "tie").any():
        ties = conflicts[conflicts["reason"] == "tie"]
        shown = ", ".join(f"{r.item} ({r.field}: {' / '.join(r.candidates)})" for r in ties.head(3).itertuples())
        raise InputError(
            f"{len(ties)} tied item(s) with on_tie='error': {shown}" + (" ..." if len(ties) > 3 else ""),
            hint="use on_tie='conflict' to list them for review (annotate review push)",
        )
    return Resolution(gold.reset_index(drop=True), conflicts.reset_index(drop=True))


def gold_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records of a gold or conflicts frame (NaN/NA -> None, numpy -> Python)."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple | np.ndarray):
            return [clean(v) for v in x]
        if isinstance(x, np.generic):
            x = x.item()
        if isinstance(x, float) and np.isnan(x):
            return None
        if x is pd.NA or x is pd.NaT:
            return None
        return x

    return [{k: clean(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")]


def write_gold(
    resolution: Resolution,
    path: str | Path,
    conflicts_path: str | Path | None = None,
    *,
    inputs: tuple[str | Path | None, ...] = (),
) -> tuple[int, int]:
    """Write gold labels (and conflicts) as JSONL, atomically; return (n_gold, n_conflicts).

    ``conflicts_path`` defaults to ``<path stem>.conflicts.jsonl`` beside ``path``. Every line of
    gold.jsonl: ``{"item", "sentence_id", "target", "field", "label", "confidence",
    "n_annotators", "method", "votes"}``; of conflicts: :data:`CONFLICT_COLUMNS`. ``inputs`` (the
    annotations folder or table, the review file) are refused as outputs, and so is any path
    inside an input folder, where a later ``agree`` would read the gold file as annotations.
    """
    path = Path(path)
    conflicts_path = Path(conflicts_path) if conflicts_path else path.with_name(path.stem + ".conflicts.jsonl")
    ensure_not_input(path, *inputs)
    ensure_not_input(conflicts_path, *inputs, path)
    n = write_jsonl(path, gold_records(resolution.gold))
    k = write_jsonl(conflicts_path, gold_records(resolution.conflicts))
    return n, k


def _target_name(label: Any) -> str | None:
    # push shows a target as "Name — description"; the name is what an editor needs
    return str(label).split(" — ", 1)[0] if label not in (None, "") else None


def with_context(
    resolution: Resolution,
    tasks: Mapping[tuple[str, str], dict[str, Any]],
    sentences: Mapping[str, dict[str, Any]] | None = None,
) -> Resolution:
    """Gold and conflicts with :data:`CONTEXT_COLUMNS`: the text, document, target name, speaker,
    title and URL of each row, from the tasks (:func:`annotate.studio.pull.snapshot_tasks`) or,
    failing those, a sentences file (:func:`annotate.labels.read_sentences`)."""
    by_sentence: dict[str, dict[str, Any]] = {}
    for (sid, _target), data in tasks.items():
        by_sentence.setdefault(sid, data)
    sentences = sentences or {}

    def context(sid: Any, target: Any) -> dict[str, Any]:
        sid = str(sid)
        data = tasks.get((sid, str(target or ""))) or by_sentence.get(sid) or {}
        sent = sentences.get(sid, {})
        pick = {k: data.get(k, sent.get(k)) for k in ("doc_id", "text", "speaker", "title", "url")}
        pick["target_name"] = _target_name(data.get("target")) if target not in (None, "") else None
        return {k: (None if v in ("", None) else v) for k, v in pick.items()}

    def add(frame: pd.DataFrame) -> pd.DataFrame:
        extra = pd.DataFrame(
            [context(s, t) for s, t in zip(frame["sentence_id"], frame["target"], strict=True)],
            columns=CONTEXT_COLUMNS,
            index=frame.index,
            dtype=object,
        )
        return pd.concat([frame, extra], axis=1)

    return Resolution(add(resolution.gold), add(resolution.conflicts))


@dataclass
class ResolveSummary:
    """What :func:`resolve_annotations` wrote; ``str()`` is the CLI's report."""

    output: Path
    conflicts_path: Path
    gold: int
    conflicts: int
    by_method: dict[str, int]
    by_reason: dict[str, int]
    with_text: bool

    def __str__(self) -> str:
        by = ", ".join(f"{m}: {c}" for m, c in self.by_method.items())
        why = ", ".join(f"{r}: {c}" for r, c in self.by_reason.items())
        lines = [
            f"wrote {self.gold} gold labels to {self.output}" + (f" ({by})" if by else ""),
            f"wrote {self.conflicts} conflicts to {self.conflicts_path}" + (f" ({why})" if why else ""),
        ]
        if not self.with_text and self.gold + self.conflicts:
            lines.append("note: no sentence text found (no export beside the table): pass --sentences to add it")
        return "\n".join(lines)


def resolve_annotations(
    path: str | Path,
    schema: Schema,
    output: str | Path = "gold.jsonl",
    *,
    method: Literal["majority", "dawid-skene"] = "majority",
    on_tie: Literal["conflict", "error"] = "conflict",
    review: str | Path | None = None,
    conflicts: str | Path | None = None,
    min_annotators: int = 1,
    sentences: str | Path | None = None,
) -> ResolveSummary:
    """``annotate resolve``: gold labels of the latest snapshot under ``path``, with their text.

    The text, document, target name, title and URL of every row come from the export beside the
    table (``pull`` keeps it), else from ``sentences``, so the gold file stands alone: an editor
    can read it, and ``train`` and ``serve --labels`` learn from it without the sentences file.
    A project pushed with ``--group-duplicates`` gives every member of a cluster its
    representative's gold rows, method ``"cluster"`` and ``from_cluster`` naming the representative
    (:func:`annotate.duplicates.expand_cluster_gold`).
    """
    from annotate.duplicates import expand_cluster_gold
    from annotate.labels import read_sentences
    from annotate.studio.matches import schema_for_table
    from annotate.studio.pull import snapshot_tasks

    table = latest_snapshot(path)
    df = load_annotations(table)
    schema = schema_for_table(schema, df)  # a project pushed with --matches has the `checked` field
    rv = load_review(review) if review is not None else None
    res = resolve(df, schema, method=method, on_tie=on_tie, review=rv, min_annotators=min_annotators)
    tasks = snapshot_tasks(table)
    res = with_context(res, tasks, read_sentences(sentences) if sentences else None)
    res = Resolution(expand_cluster_gold(res.gold, tasks), res.conflicts)  # push --group-duplicates
    output = Path(output)
    conflicts_path = Path(conflicts) if conflicts else output.with_name(output.stem + ".conflicts.jsonl")
    n, k = write_gold(res, output, conflicts_path, inputs=(path, review, sentences))
    return ResolveSummary(
        output=output,
        conflicts_path=conflicts_path,
        gold=n,
        conflicts=k,
        by_method={str(m): int(c) for m, c in res.gold["method"].value_counts().items()},
        by_reason={str(r): int(c) for r, c in res.conflicts["reason"].value_counts().items()},
        with_text=bool(res.gold["text"].notna().any() or res.conflicts["text"].notna().any()),
    )
