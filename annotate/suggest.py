"""What to label next: informativeness scorers and sorters, as plain functions over streams.

The shape follows Prodigy's ``textcat.teach`` recipe: a *scorer* turns tasks into
``(score, task)`` pairs, a *sorter* orders them. Scorers here read a model's class probabilities
(uncertainty sampling; Settles 2009, "Active Learning Literature Survey", section 3.1):

- :func:`least_confidence`: ``1 - max p``;
- :func:`margin`: ``1 - (p_best - p_second)``;
- :func:`entropy`: ``-sum p log p / log k`` (0 = sure, 1 = uniform).

Higher always means "more informative". :func:`prefer_uncertain` sorts, and :func:`diverse`
walks the sorted stream skipping tasks whose TF-IDF cosine to one already picked is at least
``threshold``, so ten near-identical sentences are not all sent to annotators.

>>> import numpy as np
>>> entropy(np.array([[0.5, 0.5], [1.0, 0.0]])).round(3).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from annotate.errors import InputError
from annotate.schema import Schema

__all__ = [
    "least_confidence",
    "margin",
    "entropy",
    "SCORERS",
    "score_stream",
    "prefer_uncertain",
    "diverse",
    "suggest",
    "suggest_file",
]


def least_confidence(proba: np.ndarray) -> np.ndarray:
    """``1 - max_c p(c)`` per row."""
    return 1.0 - np.asarray(proba).max(axis=1)


def margin(proba: np.ndarray) -> np.ndarray:
    """``1 - (p_best - p_second)`` per row: 1 when the two best classes tie."""
    p = np.sort(np.asarray(proba), axis=1)
    if p.shape[1] < 2:
        return np.zeros(len(p))
    return 1.0 - (p[:, -1] - p[:, -2])


def entropy(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy of each row, divided by ``log k`` so it lies in [0, 1]."""
    p = np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0)
    k = p.shape[1]
    if k < 2:
        return np.zeros(len(p))
    return np.abs(-(p * np.log(p)).sum(axis=1) / np.log(k))


SCORERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "least-confidence": least_confidence,
    "margin": margin,
    "entropy": entropy,
}


def score_stream(
    tasks: Iterable[dict[str, Any]],
    predict_proba: Callable[[list[dict[str, Any]]], np.ndarray],
    scorer: Callable[[np.ndarray], np.ndarray] = entropy,
    *,
    batch_size: int = 256,
) -> Iterator[tuple[float, dict[str, Any]]]:
    """Yield ``(score, task)`` for each task, scoring in batches with ``predict_proba(tasks)``."""
    batch: list[dict[str, Any]] = []
    for task in tasks:
        batch.append(task)
        if len(batch) >= batch_size:
            yield from zip(scorer(predict_proba(batch)).tolist(), batch, strict=True)
            batch = []
    if batch:
        yield from zip(scorer(predict_proba(batch)).tolist(), batch, strict=True)


def prefer_uncertain(scored: Iterable[tuple[float, dict[str, Any]]]) -> list[tuple[float, dict[str, Any]]]:
    """Most informative first; ties keep their input order (a stable sort)."""
    return sorted(scored, key=lambda pair: -pair[0])


def diverse(
    ranked: Iterable[tuple[float, dict[str, Any]]],
    k: int,
    *,
    threshold: float = 0.8,
    text_key: str = "text",
) -> list[tuple[float, dict[str, Any]]]:
    """The first ``k`` of ``ranked`` whose text is not a near-duplicate of one already picked.

    Near-duplicate: TF-IDF (word unigrams and bigrams, fitted on all candidates) cosine of at
    least ``threshold``. Greedy, so the more informative of two duplicates is the one kept.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    ranked = list(ranked)
    if not ranked or k <= 0:
        return []
    texts = [str(t.get(text_key, "")) for _, t in ranked]
    try:
        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    except ValueError:  # no words at all: nothing can be a duplicate
        return ranked[:k]
    picked: list[int] = []
    for i in range(len(ranked)):
        if picked and (vectors[picked] @ vectors[i].T).max() >= threshold:
            continue
        picked.append(i)
        if len(picked) == k:
            break
    return [ranked[i] for i in picked]


def suggest(
    model: Any,
    records: list[dict[str, Any]],
    schema: Schema,
    *,
    field: str | None = None,
    method: str = "entropy",
    k: int = 50,
    diversity: float | None = None,
    exclude: Iterable[str] = (),
    targets: str = "concerned",
) -> list[dict[str, Any]]:
    """Rank unlabelled sentences (x targets, for stance) by how much a label would teach ``model``.

    Parameters
    ----------
    model : a :class:`~annotate.models.store.LoadedModel` or a model folder.
    records : sentence records (``annotate ingest`` output).
    field : which field's model scores (default: the first claim field of the model).
    method : ``"entropy"``, ``"margin"`` or ``"least-confidence"``.
    k : how many to return.
    diversity : if given, a TF-IDF cosine threshold above which a sentence counts as a duplicate of
        one already picked (see :func:`diverse`).
    exclude : sentence ids that are labelled already.

    Returns ``[{"rank", "sentence_id", "target"?, "field", "score", "method", "value",
    "confidence", "text"}]``, most informative first.
    """
    from annotate.models.pipelines import frame
    from annotate.models.predict import pairs
    from annotate.models.store import LoadedModel, load

    if method not in SCORERS:
        raise InputError(f"unknown method '{method}'", hint=f"use one of: {', '.join(SCORERS)}")
    if not isinstance(model, LoadedModel):
        model = load(model, schema)
    if field is None:
        field = next((n for n in model.estimators if model.kind(n) == "claim"), next(iter(model.estimators)))
    if field not in model.estimators:
        raise InputError(f"model {model.name} has no '{field}' model", hint=f"it has: {', '.join(model.estimators)}")
    stance = model.kind(field) == "stance"
    skip = set(exclude)
    tasks = [r for r in records if r["sentence_id"] not in skip]
    if stance:
        tasks = pairs(tasks, schema, targets=targets)
    estimator = model.estimators[field]
    classes = [str(c) for c in estimator.classes_]
    cache: dict[int, np.ndarray] = {}

    def proba(batch: list[dict[str, Any]]) -> np.ndarray:
        p = estimator.predict_proba(frame(batch, stance=stance))
        for t, row in zip(batch, p, strict=True):
            cache[id(t)] = row
        return p

    ranked = prefer_uncertain(score_stream(tasks, proba, SCORERS[method]))
    chosen = diverse(ranked, k, threshold=diversity) if diversity is not None else ranked[:k]
    out = []
    for rank, (score, t) in enumerate(chosen, start=1):
        p = cache[id(t)]
        rec: dict[str, Any] = {"rank": rank, "sentence_id": t["sentence_id"]}
        if stance:
            rec["target"] = t["target_id"]
        rec.update(
            field=field,
            score=round(float(score), 4),
            method=method,
            value=classes[int(p.argmax())],
            confidence=round(float(p.max()), 4),
            model_version=model.model_version,
            text=t["text"],
        )
        out.append(rec)
    return out


def suggest_file(
    model_path: str | Path,
    sentences: str | Path,
    output: str | Path,
    schema: Schema,
    *,
    exclude_path: str | Path | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Read sentences (and labelled ids to leave out), rank them, write the top ``k`` as JSONL."""
    from annotate.io import write_jsonl
    from annotate.labels import read_table
    from annotate.models.predict import read_records

    exclude: set[str] = set()
    if exclude_path is not None:
        exclude = {str(r["sentence_id"]) for _, r in read_table(exclude_path) if r.get("sentence_id")}
    records = read_records(sentences)
    picked = suggest(model_path, records, schema, exclude=exclude, **kwargs)
    write_jsonl(output, picked)
    return {"candidates": len(records) - len(exclude & {r["sentence_id"] for r in records}), "written": len(picked)}
