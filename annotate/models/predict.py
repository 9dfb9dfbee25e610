"""Predictions as Label Studio pre-annotations, built from the schema.

:func:`predict` scores sentences with every field model of a model folder and returns one record
per sentence (x target, for the stance field) x field::

    {"sentence_id": "s0a1...", "target": "permanent-us-intelligence-platforms",   # stance only
     "field": "stance", "value": "Against", "score": 0.81,
     "model_version": "claims-3f9c2a1b",
     "proba": {"Favor": 0.05, "Against": 0.81, "Neutral": 0.1, "Unrelated": 0.04},
     "result": [{"from_name": "stance", "to_name": "text", "type": "choices",
                 "value": {"choices": ["Against"]}}]}

``result`` is in Label Studio's result format (``from_name``/``to_name``/``type`` from the schema,
the choice written as Label Studio stores it, i.e. its alias if it has one), ``score`` is the
calibrated probability of ``value``, and ``model_version`` is the model name plus a hash of its
files. A record without ``target`` applies to every task of its sentence. :func:`to_predictions`
groups records into one Label Studio prediction per task (``annotate push --predictions``).

Stance is predicted for the targets that concern a sentence (``Target.concerns``: its keywords
appear in the sentence or its context), or for the record's own ``target`` when it has one; and
not at all when the predicted claim type hides the stance question (the schema's ``visibleWhen``
condition), because Label Studio would drop a hidden answer anyway.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from annotate.errors import InputError
from annotate.io import atomic_write, dumps, read_jsonl
from annotate.models.pipelines import frame
from annotate.models.store import LoadedModel, load
from annotate.schema import Field, Schema

__all__ = [
    "predict", "predict_file", "result_item", "to_predictions", "read_records", "iter_record_chunks", "pairs",
]


def result_item(field: Field, value: str) -> dict[str, Any]:
    """One Label Studio result item for a categorical ``field`` answered with ``value``."""
    stored = field.to_stored(value)
    if field.type == "rating":
        payload: Any = int(stored)
    elif field.type == "taxonomy":
        payload = [[stored]]
    else:
        payload = [stored]
    return {"from_name": field.name, "to_name": field.to_name, "type": field.type, "value": {field.type: payload}}


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Sentence records (``annotate ingest`` output): each needs ``sentence_id`` and ``text``."""
    return [rec for chunk in iter_record_chunks(path) for rec in chunk]


def iter_record_chunks(path: str | Path, chunksize: int = 2000) -> Iterator[list[dict[str, Any]]]:
    """Sentence records in chunks of whole documents (about ``chunksize`` sentences), streaming.

    Keeping a document's sentences together lets each chunk compute every sentence's relative
    position in its document, and keeps memory flat however long the file is.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such sentences file", path=path, hint="give the output of `annotate ingest`")
    chunk: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    doc = None
    for lineno, rec in read_jsonl(path):
        if not rec.get("sentence_id") or not isinstance(rec.get("text"), str):
            raise InputError(
                "record needs 'sentence_id' and 'text'", path=path, line=lineno, hint="use `annotate ingest` output"
            )
        d = str(rec.get("doc_id", ""))
        if current and d != doc:
            _add_position(current)
            chunk.extend(current)
            current = []
            if len(chunk) >= chunksize:
                yield chunk
                chunk = []
        doc = d
        current.append(rec)
    if current:
        _add_position(current)
        chunk.extend(current)
    if chunk:
        yield chunk


def _add_position(records: list[dict[str, Any]]) -> None:
    last: dict[str, int] = {}
    for r in records:
        doc = str(r.get("doc_id", ""))
        last[doc] = max(last.get(doc, 0), int(r.get("index", 0) or 0))
    for r in records:
        if "position" not in r:
            n = last.get(str(r.get("doc_id", "")), 0)
            r["position"] = int(r.get("index", 0) or 0) / n if n else 0.0


def pairs(records: list[dict[str, Any]], schema: Schema, *, targets: str = "concerned") -> list[dict[str, Any]]:
    """(sentence, target) rows for stance: ``targets="concerned"`` (keyword match) or ``"all"``.

    A record that already has a ``target`` keeps just that one. Rows get ``target`` (the name the
    model reads) and ``target_id`` (the schema id, or the given text when the schema lacks it).
    """
    if targets not in ("concerned", "all"):
        raise ValueError(f"targets must be 'concerned' or 'all'; got {targets!r}")
    out = []
    for r in records:
        if r.get("target"):
            known = schema.target(str(r["target"]))
            out.append(
                {
                    **r,
                    "target": known.name if known else str(r["target"]),
                    "target_id": known.id if known else r["target"],
                }
            )
            continue
        ctx = r.get("context") or {}
        for t in schema.targets:
            if targets == "all" or t.concerns(r["text"], ctx.get("previous") or "", ctx.get("next") or ""):
                out.append({**r, "target": t.name, "target_id": t.id})
    return out


def _proba(estimator: Any, rows: list[dict[str, Any]], stance: bool) -> tuple[np.ndarray, list[str]]:
    if not rows:
        return np.zeros((0, len(estimator.classes_))), list(estimator.classes_)
    return estimator.predict_proba(frame(rows, stance=stance)), [str(c) for c in estimator.classes_]


def predict(
    model: LoadedModel | str | Path,
    records: list[dict[str, Any]],
    schema: Schema,
    *,
    fields: list[str] | None = None,
    targets: str = "concerned",
) -> list[dict[str, Any]]:
    """Score sentence ``records`` with each field model; return prediction records (see module doc).

    ``model`` is a loaded model or a model folder (loaded against ``schema``, so a model from
    another schema is refused). Records are returned claim fields first, in sentence order.
    """
    if not isinstance(model, LoadedModel):
        model = load(model, schema)
    wanted = fields or list(model.estimators)
    for name in wanted:
        if name not in model.estimators:
            raise InputError(f"model {model.name} has no '{name}' model", hint=f"it has: {', '.join(model.estimators)}")
    out: list[dict[str, Any]] = []
    claim_value: dict[tuple[str, str], str] = {}
    order = sorted(wanted, key=lambda n: model.kind(n) == "stance")
    for name in order:
        f = schema.field(name)
        stance = model.kind(name) == "stance"
        rows = pairs(records, schema, targets=targets) if stance else records
        proba, classes = _proba(model.estimators[name], rows, stance)
        best = proba.argmax(axis=1) if len(rows) else np.zeros(0, dtype=int)
        for r, p, j in zip(rows, proba, best, strict=True):
            value = classes[j]
            if stance and f.condition is not None:
                hidden_by = claim_value.get((r["sentence_id"], f.condition.tag))
                if hidden_by is not None and not f.condition.allows([hidden_by]):
                    continue
            rec: dict[str, Any] = {"sentence_id": r["sentence_id"]}
            if stance:
                rec["target"] = r["target_id"]
            rec.update(
                field=name,
                value=value,
                score=round(float(p[j]), 4),
                model_version=model.model_version,
                proba={c: round(float(x), 4) for c, x in zip(classes, p, strict=True)},
                result=[result_item(f, value)],
            )
            out.append(rec)
            if not stance:
                claim_value[(r["sentence_id"], name)] = value
    return out


def _predict_chunks(
    chunks: list[list[dict[str, Any]]], model: LoadedModel, schema: Schema, fields: list[str] | None, targets: str
) -> list[tuple[int, list[str], Counter[str]]]:
    """Worker side of :func:`predict_file` (module-level, so it pickles): JSON lines per chunk."""
    out = []
    for chunk in chunks:
        preds = predict(model, chunk, schema, fields=fields, targets=targets)
        out.append((len(chunk), [dumps(p) for p in preds], Counter(p["field"] for p in preds)))
    return out


def predict_file(
    model_path: str | Path,
    sentences: str | Path,
    output: str | Path,
    schema: Schema,
    *,
    fields: list[str] | None = None,
    targets: str = "concerned",
    n_jobs: int = 1,
    dask: Any = None,
    chunksize: int = 2000,
) -> dict[str, Any]:
    """Predict a sentences file in chunks of whole documents; write prediction records as JSONL.

    Streams: memory holds the model and a few chunks, whatever the file's size. Chunks run in
    this process, on ``n_jobs`` local processes, or on a Dask cluster (``dask=ADDRESS``; the
    model is scattered to the workers once); the output is byte-identical in every case.
    Written atomically. Returns a summary dict.
    """
    from annotate.parallel import ordered_map

    model = load(model_path, schema)
    counts: Counter[str] = Counter()
    n_sentences = n_predictions = 0
    with atomic_write(output) as fh:
        results = ordered_map(
            _predict_chunks,
            iter_record_chunks(sentences, chunksize),
            chunksize=1,
            n_jobs=n_jobs,
            dask=dask,
            shared=(model, schema, fields, targets),
        )
        for n, lines, fields_seen in results:
            n_sentences += n
            n_predictions += len(lines)
            counts.update(fields_seen)
            fh.writelines(line + "\n" for line in lines)
    return {
        "model_version": model.model_version,
        "sentences": n_sentences,
        "predictions": n_predictions,
        "by_field": dict(counts),
        "output": str(output),
    }


def to_predictions(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group prediction records into one Label Studio prediction per task (sentence x target).

    A record without ``target`` (claim type) joins every task of its sentence; a sentence with no
    targeted record gets one task-level prediction of its own (``target`` None). The prediction's
    ``score`` is the lowest score of its items: the model is only as sure as its weakest answer.

    Returns ``[{"sentence_id", "target", "model_version", "score", "result": [...]}]``.
    """
    records = list(records)
    by_task: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    untargeted: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.get("target"):
            by_task.setdefault((r["sentence_id"], r["target"]), []).append(r)
        else:
            untargeted.setdefault(r["sentence_id"], []).append(r)
    for sid, recs in untargeted.items():
        keys = [k for k in by_task if k[0] == sid]
        if not keys:
            by_task[(sid, None)] = []
            keys = [(sid, None)]
        for k in keys:
            by_task[k] = recs + by_task[k]
    out = []
    for (sid, target), recs in by_task.items():
        out.append(
            {
                "sentence_id": sid,
                "target": target,
                "model_version": recs[0]["model_version"],
                "score": min(r["score"] for r in recs),
                "result": [item for r in recs for item in r["result"]],
            }
        )
    return out
