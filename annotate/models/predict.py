"""Predictions as Label Studio pre-annotations, built from the schema.

:func:`predict` scores sentences with every field model of a model folder and returns one record
per sentence (x target, for the stance field) x field::

    {"sentence_id": "s0a1...", "target": "permanent-us-intelligence-platforms",   # stance only
     "field": "stance", "value": "Against", "score": 0.81,
     "model_version": "claims-3f9c2a1b",
     "proba": {"Favor": 0.05, "Against": 0.81, "Neutral": 0.1, "Unrelated": 0.04},
     "result": [{"from_name": "stance", "to_name": "text", "type": "choices",
                 "value": {"choices": ["Against"]}}]}

``result`` is in Label Studio's result format (:func:`annotate.studio.results.encode`: ``from_name``,
``to_name`` and ``type`` from the schema, the choice written as Label Studio stores it, i.e. its
alias if it has one), ``score`` is the calibrated probability of ``value``, and ``model_version``
is the model name plus a hash of its files. A record without ``target`` applies to every task of
its sentence. :func:`to_predictions` groups records into one Label Studio prediction per task
(``annotate push --predictions``).

Stance is predicted for the targets that concern a sentence (``Target.concerns``: its keywords
appear in the sentence or its context), or for the record's own ``target`` when it has one; and
not at all when the predicted claim type hides the stance question (the schema's ``visibleWhen``
condition), because Label Studio would drop a hidden answer anyway.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import numpy as np

from annotate.errors import InputError
from annotate.io import atomic_write, dumps, ensure_not_input, parse_jsonl, read_jsonl
from annotate.models.pipelines import frame
from annotate.models.store import LoadedModel, load
from annotate.schema import Field, Schema
from annotate.sentences import read_sentence_lines, sentences_file
from annotate.studio.results import encode as encode_result

__all__ = [
    "predict", "predict_lines", "predict_file", "to_predictions", "read_records", "iter_record_chunks", "pairs",
    "PredictSummary",
]


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Sentence records (``annotate ingest`` output): each needs ``sentence_id`` and ``text``."""
    return [rec for chunk in iter_record_chunks(path) for rec in chunk]


def iter_record_chunks(path: str | Path, chunksize: int = 2000) -> Iterator[list[dict[str, Any]]]:
    """Sentence records in chunks of whole documents (about ``chunksize`` sentences), streaming.

    Keeping a document's sentences together lets each chunk compute every sentence's relative
    position in its document, and keeps memory flat however long the file is.
    """
    return _group(read_sentence_lines(path), chunksize)


def _group(numbered: Iterable[tuple[int, dict[str, Any]]], chunksize: int) -> Iterator[list[dict[str, Any]]]:
    """Records of checked ``(line, record)`` pairs in chunks of whole documents, with their positions."""
    chunk: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    doc = None
    for _, rec in numbered:
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

# which stance targets a sentence is scored against: those its keywords concern, or every one
TARGET_MODES = ("concerned", "all")


def pairs(records: list[dict[str, Any]], schema: Schema, *, targets: str = "concerned") -> list[dict[str, Any]]:
    """(sentence, target) rows for stance: ``targets="concerned"`` (keyword match) or ``"all"``.

    A record that already has a ``target`` keeps just that one. Rows get ``target`` (the name the
    model reads) and ``target_id`` (the schema id, or the given text when the schema lacks it).
    """
    if targets not in TARGET_MODES:
        raise InputError(f"unknown targets mode '{targets}'", hint="use --targets concerned or --targets all")
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


@dataclass
class _Scored:
    """One field's scores for a chunk: the rows, their probabilities, and which rows are kept."""

    name: str
    field: Field
    stance: bool
    rows: list[dict[str, Any]]
    proba: np.ndarray
    classes: list[str]
    best: np.ndarray
    keep: list[bool]


def _score(
    model: LoadedModel, records: list[dict[str, Any]], schema: Schema, fields: list[str] | None, targets: str
) -> list[_Scored]:
    """Score ``records`` with each wanted field model, claim fields first (stance needs their answer)."""
    wanted = fields or list(model.estimators)
    for name in wanted:
        if name not in model.estimators:
            raise InputError(f"model {model.name} has no '{name}' model", hint=f"it has: {', '.join(model.estimators)}")
    out = []
    claim_value: dict[tuple[str, str], str] = {}
    for name in sorted(wanted, key=lambda n: model.kind(n) == "stance"):
        f = schema.field(name)
        stance = model.kind(name) == "stance"
        rows = pairs(records, schema, targets=targets) if stance else records
        proba, classes = _proba(model.estimators[name], rows, stance)
        best = proba.argmax(axis=1) if len(rows) else np.zeros(0, dtype=int)
        keep = [True] * len(rows)
        if stance and f.condition is not None:
            allowed: dict[str, bool] = {}
            for i, r in enumerate(rows):
                hidden_by = claim_value.get((r["sentence_id"], f.condition.tag))
                if hidden_by is not None:
                    if hidden_by not in allowed:
                        allowed[hidden_by] = f.condition.allows([hidden_by])
                    keep[i] = allowed[hidden_by]
        if not stance:
            for r, j in zip(rows, best.tolist(), strict=True):
                claim_value[(r["sentence_id"], name)] = classes[j]
        out.append(_Scored(name, f, stance, rows, proba, classes, best, keep))
    return out


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
    out: list[dict[str, Any]] = []
    for sc in _score(model, records, schema, fields, targets):
        for r, p, j, kept in zip(sc.rows, sc.proba, sc.best, sc.keep, strict=True):
            if not kept:
                continue
            rec: dict[str, Any] = {"sentence_id": r["sentence_id"]}
            if sc.stance:
                rec["target"] = r["target_id"]
            rec.update(
                field=sc.name,
                value=sc.classes[j],
                score=round(float(p[j]), 4),
                model_version=model.model_version,
                proba={c: round(float(x), 4) for c, x in zip(sc.classes, p, strict=True)},
                result=[encode_result(sc.field, sc.classes[j])],
            )
            out.append(rec)
    return out


def _json(value: Any) -> str:
    # json's own C string encoder (what dumps uses with ensure_ascii=False) for the common case
    return encode_basestring(value) if type(value) is str else dumps(value)


def predict_lines(
    model: LoadedModel, records: list[dict[str, Any]], schema: Schema, *, fields: list[str] | None = None,
    targets: str = "concerned",
) -> tuple[list[str], Counter[str]]:
    """:func:`predict`'s records as JSON lines (``dumps`` of each, without the newline), and counts per field.

    Byte for byte ``[dumps(r) for r in predict(...)]`` (a test checks it), but built from
    templates: the field, value, model version and Label Studio result of each class are encoded
    once, leaving only the ids and the rounded numbers per record. Building and encoding a dict per
    record cost as much as the model itself.
    """
    lines: list[str] = []
    counts: Counter[str] = Counter()
    version = _json(model.model_version)
    for sc in _score(model, records, schema, fields, targets):
        keys = [_json(c) + ": " for c in sc.classes]
        heads = [f', "field": {_json(sc.name)}, "value": {_json(c)}, "score": ' for c in sc.classes]
        middle = f', "model_version": {version}, "proba": {{'
        tails = [f'}}, "result": [{dumps(encode_result(sc.field, c))}]}}' for c in sc.classes]
        n_before = len(lines)
        for r, p, j, kept in zip(sc.rows, sc.proba.tolist(), sc.best.tolist(), sc.keep, strict=True):
            if not kept:
                continue
            target = f', "target": {_json(r["target_id"])}' if sc.stance else ""
            proba = ", ".join([k + repr(round(x, 4)) for k, x in zip(keys, p, strict=True)])
            score = repr(round(p[j], 4))  # json writes a float as its repr
            sid = _json(r["sentence_id"])
            lines.append(f'{{"sentence_id": {sid}{target}{heads[j]}{score}{middle}{proba}{tails[j]}')
        if len(lines) > n_before:
            counts[sc.name] += len(lines) - n_before
    return lines, counts


# The document id of a line as `annotate ingest` writes it: sentence_id, then doc_id, neither escaped.
_DOC_ID = re.compile(rb'\{"sentence_id": "[^"\\]*", "doc_id": "([^"\\]*)"')


def _doc_key(raw: bytes, lineno: int) -> bytes | None:
    """``str(record.get("doc_id", ""))`` of a raw line, UTF-8 encoded; ``None`` for a blank or bad line.

    The fast path reads the id without parsing the line: it is exact when the line starts as
    ``annotate ingest`` writes it and ``"doc_id"`` occurs once (inside a JSON string a quote is
    escaped, so any other occurrence is another key or value). Otherwise the line is parsed.
    """
    m = _DOC_ID.match(raw)
    if m is not None and raw.count(b'"doc_id"') == 1:
        return m.group(1)
    try:
        line = raw.decode("utf-8")
        if lineno == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            return None
        rec = json.loads(line)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError: the worker reports it, with its line
        return None
    return str(rec.get("doc_id", "")).encode("utf-8") if isinstance(rec, dict) else None


def _raw_chunks(path: Path, chunksize: int) -> Iterator[tuple[int, bytes]]:
    """The file's raw lines in chunks of whole documents (as :func:`iter_record_chunks` cuts them).

    Yields ``(first line number, lines)``: this process only finds where documents end; parsing,
    checking and positions are left to whoever predicts the chunk (:func:`_predict_raw_chunks`).
    A blank or bad line stays with the document before it; the worker reports a bad one.
    """
    path = sentences_file(path)
    buf: list[bytes] = []
    first = 1
    done = current = total = 0  # records: in the chunk's finished documents, in the current one, in all
    doc: bytes | None = None
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            key = _doc_key(raw, lineno)
            if key is not None:
                if current and key != doc:
                    done += current
                    current = 0
                    if done >= chunksize:
                        yield first, b"".join(buf)
                        buf, first, done = [], lineno, 0
                doc = key
                current += 1
                total += 1
            buf.append(raw)
    if total == 0:
        for _ in read_jsonl(path):  # raises the exact error: an empty file, or its first bad line
            pass
    if buf:
        yield first, b"".join(buf)


def _predict_raw_chunks(
    chunks: list[tuple[int, bytes]], path: str, model: LoadedModel, schema: Schema, fields: list[str] | None,
    targets: str,
) -> list[tuple[int, str, Counter[str], InputError | None]]:
    """Worker side of :func:`predict_file` (module-level, so it pickles): one block of JSON lines per chunk.

    One string per chunk, not a list of lines: it travels back from a worker process in one piece.
    A bad line's error is returned, not raised, so that the caller raises the first in file order
    whichever worker finishes first.
    """
    out: list[tuple[int, str, Counter[str], InputError | None]] = []
    for first, data in chunks:
        try:
            numbered = parse_jsonl(io.BytesIO(data), path, start=first)  # BytesIO splits lines as a file does
            checked = read_sentence_lines(path, lines=numbered)
            records = [rec for chunk in _group(checked, sys.maxsize) for rec in chunk]
        except InputError as err:
            out.append((0, "", Counter(), err))
            break
        lines, counts = predict_lines(model, records, schema, fields=fields, targets=targets)
        out.append((len(records), "".join(line + "\n" for line in lines), counts, None))
    return out


@dataclass(frozen=True)
class PredictSummary:
    """What :func:`predict_file` wrote; ``str()`` is the CLI's report."""

    output: Path
    sentences: int
    predictions: int
    by_field: dict[str, int]
    model_version: str
    n_jobs: int

    def __str__(self) -> str:
        by = ", ".join(f"{k}: {v}" for k, v in self.by_field.items())
        return (
            f"wrote {self.predictions} predictions ({by}) for {self.sentences} sentences to {self.output}\n"
            f"model_version {self.model_version}"
        )


def predict_file(
    model_path: str | Path,
    sentences: str | Path,
    output: str | Path,
    schema: Schema,
    *,
    fields: list[str] | None = None,
    targets: str = "concerned",
    n_jobs: int | None = 1,
    dask: Any = None,
    chunksize: int = 2000,
    progress: bool = False,
) -> PredictSummary:
    """Predict a sentences file in chunks of whole documents; write prediction records as JSONL.

    Streams: memory holds the model and a few chunks, whatever the file's size. Chunks run in
    this process, on ``n_jobs`` local processes, or on a Dask cluster (``dask=ADDRESS``; the
    model is scattered to the workers once); the output is byte-identical in every case.
    This process only cuts the file into raw chunks at document ends; the workers parse them,
    so with ``-j`` it is not the bottleneck.
    ``n_jobs=None`` chooses: every core for a file of :data:`annotate.parallel.AUTO_JOBS_BYTES` or more, else one.
    ``progress`` draws a line with the rate on stderr (:func:`annotate.progress.progress`).
    Written atomically: nothing is written when a line is bad. Returns a :class:`PredictSummary`.
    """
    from annotate.parallel import auto_jobs, ordered_map
    from annotate.progress import progress as progress_line

    ensure_not_input(output, sentences, model_path)
    n_jobs = auto_jobs(n_jobs, sentences)
    model = load(model_path, schema)
    counts: Counter[str] = Counter()
    n_sentences = n_predictions = 0
    chunks = _raw_chunks(Path(sentences), chunksize)
    shared = (str(sentences), model, schema, fields, targets)
    with atomic_write(output) as fh, progress_line(progress, "predicting") as tick:
        results = ordered_map(_predict_raw_chunks, chunks, chunksize=1, n_jobs=n_jobs, dask=dask, shared=shared)
        for n, block, fields_seen, error in results:
            if error is not None:
                raise error
            n_sentences += n
            n_predictions += sum(fields_seen.values())
            counts.update(fields_seen)
            fh.write(block)
            tick(n_sentences)
    return PredictSummary(
        output=Path(output),
        sentences=n_sentences,
        predictions=n_predictions,
        by_field=dict(counts),
        model_version=model.model_version,
        n_jobs=n_jobs,
    )


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
