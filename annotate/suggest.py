"""What to label next: informativeness scorers and sorters, as plain functions over streams.

The shape follows Prodigy's ``textcat.teach`` recipe: a *scorer* turns tasks into
``(score, task)`` pairs, a *sorter* orders them. Scorers here read a model's class probabilities
(uncertainty sampling; Settles 2009, "Active Learning Literature Survey", section 3.1):

- :func:`least_confidence`: ``1 - max p``;
- :func:`margin`: ``1 - (p_best - p_second)``;
- :func:`entropy`: ``-sum p log p / log k`` (0 = sure, 1 = uniform).

Higher always means "more informative". Two *mixed* methods (:data:`MIXES`) fill half the
batch from each of two rankings, interleaved (:func:`mix_rankings`):

- ``rare-mix``: the items most likely to be of the field's rarest class (fewest training labels,
  from the model's ``report.json``), and the items of best margin;
- ``margin+random``: the items of best margin, and a uniform sample of the rest (a
  pseudo-random key per sentence, target and model version, so any spread of the work draws the
  same sample).

The default, ``auto`` (:func:`resolve_method`), is ``rare-mix`` for a claim field and
``entropy`` for a stance field. In ``benchmarks/active_learning.py`` (``docs/active_learning.md``;
dev splits, 10 seeds), ``rare-mix`` reached random sampling's final average precision on
CLEF-2019 check-worthiness (2.7% positives) with 35% of its labels, where entropy needed 55%; on
SemEval stance no method saved labels, and ``rare-mix`` was significantly worse than random at
800-900 labels where entropy never was.

:func:`prefer_uncertain` sorts, and :func:`diverse`
walks the sorted stream skipping tasks whose TF-IDF cosine to one already picked is at least
``threshold``, so ten near-identical sentences are not all sent to annotators.

:func:`suggest` and :func:`suggest_file` never hold the scored corpus: sentences are scored in
chunks (in this process, on ``n_jobs`` local processes, or on a Dask cluster, the estimator
scattered once to every worker, through :func:`annotate.parallel.ordered_map`), each chunk keeps
only its best candidates, and a heap keeps the best overall. The bound is ``k`` candidates, or
with ``diversity`` a *pool* of the ``pool`` best (default :func:`pool_size`: ``max(20 k, 1000)``)
that the diversity pass then walks; if the pool runs out of distinct sentences before ``k`` are
picked, fewer are returned and the summary says so (raise ``pool``). Ties in score go to the
earlier sentence in the input, so the output is byte-identical however the work was spread.

>>> import numpy as np
>>> entropy(np.array([[0.5, 0.5], [1.0, 0.0]])).round(3).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
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
    "MIXES",
    "METHODS",
    "DEFAULT_METHOD",
    "AUTO",
    "resolve_method",
    "rare_class",
    "mix_rankings",
    "score_stream",
    "prefer_uncertain",
    "diverse",
    "pool_size",
    "suggest",
    "suggest_file",
    "SuggestSummary",
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


#: Mixed methods: half the batch from each of two rankings (:func:`mix_rankings`). A ranking is a
#: scorer of :data:`SCORERS`, ``"rare-certainty"`` (probability of the rarest class) or ``"random"``.
MIXES: dict[str, tuple[str, str]] = {
    "rare-mix": ("rare-certainty", "margin"),
    "margin+random": ("margin", "random"),
}
#: Every method ``suggest`` takes.
#: ``auto``: per kind of field, the method that did best in ``benchmarks/active_learning.py``
#: (see :data:`AUTO` and ``docs/active_learning.md``).
AUTO: dict[str, str] = {"claim": "rare-mix", "stance": "entropy"}
METHODS: tuple[str, ...] = ("auto", *SCORERS, *MIXES)
#: The method ``annotate suggest`` uses unless told otherwise.
DEFAULT_METHOD = "auto"


def resolve_method(method: str, kind: str, *, has_counts: bool = True) -> str:
    """The method ``method`` stands for on a field of ``kind`` ("claim" or "stance").

    ``auto`` is ``rare-mix`` for a claim field and ``entropy`` for a stance field; a claim model
    without class counts in its report (``rare-mix`` needs them) gets ``entropy`` too. Any other
    method is itself.
    """
    if method != "auto":
        return method
    chosen = AUTO.get(kind, "entropy")
    return chosen if has_counts or chosen != "rare-mix" else "entropy"


def rare_class(classes: Sequence[str], counts: Mapping[str, int] | None, proba: np.ndarray | None = None) -> int:
    """Column of the class with the fewest labels (``counts``; a class absent from it has 0), or,
    without counts, of the class the model gives the least probability mass in ``proba``. Ties
    go to the earlier column."""
    if counts:
        return int(np.argmin([counts.get(str(c), 0) for c in classes]))
    if proba is None:
        raise ValueError("rare_class needs counts or probabilities")
    return int(np.argmin(np.asarray(proba).sum(axis=0)))


def _mix(first: Sequence[Hashable], second: Sequence[Hashable], k: int) -> list[tuple[Hashable, int]]:
    """:func:`mix_rankings` with the ranking (0 or 1) each item came from."""
    k = max(k, 0)
    head = list(dict.fromkeys(first))[: (k + 1) // 2]
    taken = set(head)
    tail = [x for x in dict.fromkeys(second) if x not in taken][: k - len(head)]
    taken.update(tail)
    out = [x for pair in zip([(h, 0) for h in head], [(t, 1) for t in tail], strict=False) for x in pair]
    n = min(len(head), len(tail))
    out += [(h, 0) for h in head[n:]] + [(t, 1) for t in tail[n:]]
    if len(out) < k:  # second ran short: first fills in
        out += [(x, 0) for x in dict.fromkeys(first) if x not in taken][: k - len(out)]
    return out


def mix_rankings(first: Sequence[Hashable], second: Sequence[Hashable], k: int) -> list[Hashable]:
    """Half of ``k`` from each ranking, interleaved: ``first[0], s0, first[1], s1, ...``.

    ``first`` gives its best ``ceil(k / 2)``; ``second`` its best among the rest. If one runs out,
    the other fills in, so ``k`` items come out whenever the two hold ``k`` distinct ones.

    >>> mix_rankings(["a", "b", "c"], ["a", "d", "e"], 4)
    ['a', 'd', 'b', 'e']
    """
    return [x for x, _ in _mix(first, second, k)]


def _random_key(*parts: Any) -> float:
    """A pseudo-random number in [0, 1) fixed by ``parts`` (the same in every process)."""
    digest = hashlib.blake2b("\t".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


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


def prefer_uncertain(
    scored: Iterable[tuple[float, Any]], keep: int | None = None
) -> list[tuple[float, Any]]:
    """Most informative first; ties keep their input order (a stable sort).

    With ``keep``, only the best ``keep`` are returned and held while the stream is read (a
    heap: ``heapq.nlargest`` is as stable as ``sorted``), so memory does not grow with it.
    """
    if keep is None:
        return sorted(scored, key=lambda pair: -pair[0])
    if keep <= 0:
        deque(scored, maxlen=0)  # still read to its end, as with any other keep: its producer may count
        return []
    return heapq.nlargest(keep, scored, key=lambda pair: pair[0])


def diverse(
    ranked: Iterable[tuple[float, dict[str, Any]]],
    k: int,
    *,
    threshold: float = 0.8,
    text_key: str = "text",
) -> list[tuple[float, dict[str, Any]]]:
    """The first ``k`` of ``ranked`` whose text is not a near-duplicate of one already picked.

    Near-duplicate: TF-IDF (word unigrams and bigrams, fitted on the candidates given: in
    :func:`suggest`, the pool) cosine of at least ``threshold``. Greedy, so the more informative
    of two duplicates is the one kept.
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


def pool_size(k: int, factor: int = 20, minimum: int = 1000) -> int:
    """How many of the best candidates the diversity pass sees: ``max(k * factor, minimum)``.

    Bounded so memory does not grow with the corpus; generous so that a corpus with many
    near-duplicates among its most uncertain sentences still fills ``k``.
    """
    return max(k * factor, minimum, k)


@dataclass(frozen=True)
class _Scoring:
    """What a worker needs besides the estimator (scattered once with it)."""

    method: str
    stance: bool
    keep: int
    schema: Schema
    targets: str
    rare: int | None = None  # column of the rarest class (rare-mix)
    salt: str = ""  # the model version: each model draws its own random sample (margin+random)


def _best(
    scores: list[float],
    tasks: list[dict[str, Any]],
    proba: np.ndarray,
    classes: list[str],
    keep: int,
    by: str | None = None,
) -> list[tuple[float, dict[str, Any]]]:
    """The ``keep`` best-scored tasks of a chunk as ``(score, fields)``, in input order."""
    top = prefer_uncertain(zip(scores, range(len(tasks)), strict=True), keep)
    candidates = []
    for i in sorted(i for _, i in top):  # back in input order
        t, p = tasks[i], proba[i]
        fields = {"sentence_id": t["sentence_id"], "target": t.get("target_id"), "value": classes[int(p.argmax())],
                  "confidence": float(p.max()), "text": t["text"]}  # fmt: skip
        if by is not None:
            fields["by"] = by  # which ranking of a mixed method found it
        candidates.append((float(scores[i]), fields))
    return candidates


def _score_chunks(
    items: list[list[dict[str, Any]]], estimator: Any, how: _Scoring
) -> list[tuple[int, int, list[tuple[float, dict[str, Any]]]]]:
    """Worker side (module-level, so it pickles): score chunks, keep each one's best.

    Returns per chunk ``(sentences, tasks, candidates)``; a candidate is ``(score, fields)``, in
    input order, so that the caller's stable ranking breaks ties by input order. For a mixed
    method, ``candidates`` is one such list per ranking of :data:`MIXES`.
    """
    from annotate.models.pipelines import frame
    from annotate.models.predict import pairs

    out = []
    classes = [str(c) for c in estimator.classes_]
    for records in items:
        tasks = pairs(records, how.schema, targets=how.targets) if how.stance else records
        if not tasks or how.keep <= 0:
            out.append((len(records), len(tasks), []))
            continue
        proba = estimator.predict_proba(frame(tasks, stance=how.stance))

        if how.method in MIXES:
            found = []
            for by in MIXES[how.method]:
                if by == "rare-certainty":
                    scores = proba[:, how.rare].tolist()
                elif by == "random":
                    scores = [_random_key(how.salt, t["sentence_id"], t.get("target_id")) for t in tasks]
                else:
                    scores = SCORERS[by](proba).tolist()
                found.append(_best(scores, tasks, proba, classes, how.keep, by))
            out.append((len(records), len(tasks), found))
        else:
            scores = SCORERS[how.method](proba).tolist()
            out.append((len(records), len(tasks), _best(scores, tasks, proba, classes, how.keep)))
    return out


def _class_counts(model: Any, field: str) -> dict[str, int]:
    """Training labels per class of ``field``, from the model folder's ``report.json``."""
    try:
        report = json.loads((Path(model.path) / "report.json").read_text("utf-8"))
        return {str(c): int(n) for c, n in report["fields"][field]["class_balance"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InputError(
            f"model {model.name} has no class counts for '{field}' (report.json)",
            hint="retrain it with annotate train, or use --method margin",
        ) from None


def _rank(
    model: Any,
    chunks: Iterable[list[dict[str, Any]]],
    schema: Schema,
    *,
    field: str | None,
    method: str,
    k: int,
    diversity: float | None,
    pool: int | None,
    exclude: Iterable[str],
    targets: str,
    n_jobs: int,
    dask: Any,
    tick: Callable[..., None],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The streaming core of :func:`suggest` and :func:`suggest_file`: suggestions and counts."""
    from annotate.models.store import LoadedModel, load
    from annotate.parallel import ordered_map

    if method not in METHODS:
        raise InputError(f"unknown method '{method}'", hint=f"use one of: {', '.join(METHODS)}")
    if not isinstance(model, LoadedModel):
        model = load(model, schema)
    if field is None:
        field = next((n for n in model.estimators if model.kind(n) == "claim"), next(iter(model.estimators)))
    if field not in model.estimators:
        raise InputError(f"model {model.name} has no '{field}' model", hint=f"it has: {', '.join(model.estimators)}")
    if pool is not None and pool < 1:
        raise InputError(f"--pool {pool} holds no candidate", hint="give a pool of at least k, or leave it out")
    stance = model.kind(field) == "stance"
    keep = max(k, 0) if diversity is None else max(pool or pool_size(k), k, 0)
    skip = set(exclude)
    kept = ([r for r in chunk if r["sentence_id"] not in skip] for chunk in chunks) if skip else chunks
    if method == "auto":
        try:
            counts_known = bool(_class_counts(model, field))
        except InputError:
            counts_known = False
        method = resolve_method(method, model.kind(field), has_counts=counts_known)
    rare = None
    if method in MIXES and "rare-certainty" in MIXES[method]:
        classes = [str(c) for c in model.estimators[field].classes_]
        rare = rare_class(classes, _class_counts(model, field))
    how = _Scoring(method=method, stance=stance, keep=keep, schema=schema, targets=targets, rare=rare,
                   salt=model.model_version)  # fmt: skip
    results = ordered_map(_score_chunks, kept, chunksize=1, n_jobs=n_jobs, dask=dask,
                          shared=(model.estimators[field], how))  # fmt: skip
    counts = {"sentences": 0, "tasks": 0}

    def chunk_results() -> Iterator[Any]:
        for sentences, tasks, best in results:
            counts["sentences"] += sentences
            counts["tasks"] += tasks
            tick(counts["sentences"])
            yield best

    if method in MIXES:
        ranked = _mixed(chunk_results(), keep)
    else:
        ranked = prefer_uncertain((c for best in chunk_results() for c in best), keep)
    n_sentences, n_tasks = counts["sentences"], counts["tasks"]
    chosen = diverse(ranked, k, threshold=diversity) if diversity is not None else ranked[:k]
    out = []
    for rank, (score, t) in enumerate(chosen, start=1):
        rec: dict[str, Any] = {"rank": rank, "sentence_id": t["sentence_id"]}
        if stance:
            rec["target"] = t["target"]
        rec.update(
            field=field,
            score=round(score, 4),
            method=method,
            value=t["value"],
            confidence=round(t["confidence"], 4),
            model_version=model.model_version,
            text=t["text"],
        )
        if "by" in t:  # a mixed method: which of its two rankings picked it
            rec["by"] = t["by"]
        out.append(rec)
    stats: dict[str, Any] = {"candidates": n_sentences, "scored": n_tasks, "written": len(out), "method": method}
    if diversity is not None:
        stats["pool"] = keep
        # the diversity pass saw only the pool: fewer than k distinct ones there, but more beyond it
        stats["pool_exhausted"] = len(out) < k and n_tasks > keep
    return out, stats


def _mixed(chunks: Iterable[list[list[tuple[float, dict[str, Any]]]]], keep: int) -> list[tuple[float, dict[str, Any]]]:
    """The best ``keep`` of each of the two rankings (bounded heaps; ties go to the earlier
    input, as :func:`prefer_uncertain`), mixed by :func:`mix_rankings`."""
    heaps: list[list[tuple[float, int, dict[str, Any]]]] = [[], []]
    seq = 0
    for per_ranking in chunks:
        for heap, found in zip(heaps, per_ranking, strict=True):
            for score, fields in found:
                seq += 1
                item = (score, -seq, fields)
                if len(heap) < keep:
                    heapq.heappush(heap, item)
                elif keep > 0 and item[:2] > heap[0][:2]:
                    heapq.heapreplace(heap, item)
    rankings = [sorted(heap, key=lambda x: (-x[0], -x[1])) for heap in heaps]
    found = [{(f["sentence_id"], f.get("target")): (score, f) for score, _, f in r} for r in rankings]
    keys = [[(f["sentence_id"], f.get("target")) for _, _, f in r] for r in rankings]
    return [found[source][key] for key, source in _mix(keys[0], keys[1], keep)]


def suggest(
    model: Any,
    records: Iterable[dict[str, Any]] | Any,
    schema: Schema,
    *,
    field: str | None = None,
    method: str = DEFAULT_METHOD,
    k: int = 50,
    diversity: float | None = None,
    pool: int | None = None,
    exclude: Iterable[str] = (),
    targets: str = "concerned",
    n_jobs: int = 1,
    dask: Any = None,
    chunksize: int = 2000,
) -> list[dict[str, Any]]:
    """Rank unlabelled sentences (x targets, for stance) by how much a label would teach ``model``.

    Parameters
    ----------
    model : a :class:`~annotate.models.store.LoadedModel` or a model folder.
    records : sentence records (``annotate ingest`` output): a list, any iterable, or a DataFrame.
    field : which field's model scores (default: the first claim field of the model).
    method : ``"auto"`` (default: ``rare-mix`` for a claim field, ``entropy`` for a stance
        field), ``"rare-mix"``, ``"margin+random"``, ``"entropy"``, ``"margin"`` or
        ``"least-confidence"`` (see the module doc). The records carry the method used.
    k : how many to return.
    diversity : if given, a TF-IDF cosine threshold above which a sentence counts as a duplicate of
        one already picked (see :func:`diverse`).
    pool : with ``diversity``, how many of the best candidates the diversity pass walks
        (default :func:`pool_size`).
    exclude : sentence ids that are labelled already.
    n_jobs, dask : score chunks on local processes or a Dask cluster (same result).

    Returns ``[{"rank", "sentence_id", "target"?, "field", "score", "method", "value",
    "confidence", "text", "by"?}]``, most informative first; with a mixed method, ``by`` names the
    ranking that picked the sentence and ``score`` is its score there.
    """
    from annotate.parallel import chunked

    if hasattr(records, "to_dict"):  # a DataFrame
        records = records.to_dict("records")
    out, _stats = _rank(model, chunked(records, chunksize), schema, field=field, method=method, k=k,
                        diversity=diversity, pool=pool, exclude=exclude, targets=targets, n_jobs=n_jobs, dask=dask,
                        tick=lambda done, documents=None: None)  # fmt: skip
    return out


@dataclass(frozen=True)
class SuggestSummary:
    """What :func:`suggest_file` wrote; ``str()`` is the CLI's report.

    ``candidates``: sentences not excluded; ``scored``: tasks scored; ``method``: the one used
    (``auto`` resolved); ``pool`` and ``pool_exhausted`` only mean something with ``diversity``.
    """

    output: Path
    candidates: int
    scored: int
    written: int
    method: str
    pool: int | None = None
    pool_exhausted: bool = False

    def __str__(self) -> str:
        text = f"wrote {self.written} suggestions (of {self.candidates} candidates, by {self.method}) to {self.output}"
        if self.pool_exhausted:
            text += f"\nnote: only {self.written} distinct sentences among the best {self.pool}; raise --pool for more"
        return text


def suggest_file(
    model_path: str | Path,
    sentences: str | Path,
    output: str | Path,
    schema: Schema,
    *,
    exclude_path: str | Path | None = None,
    field: str | None = None,
    method: str = DEFAULT_METHOD,
    k: int = 50,
    diversity: float | None = None,
    pool: int | None = None,
    targets: str = "concerned",
    n_jobs: int | None = 1,
    dask: Any = None,
    chunksize: int = 2000,
    progress: bool = False,
) -> SuggestSummary:
    """Stream a sentences file (leaving out the ids labelled in ``exclude_path``); write the top ``k`` as JSONL.

    Memory holds the model, a few chunks of ``chunksize`` sentences and the bounded candidate
    set, whatever the file's size; the other arguments are :func:`suggest`'s (``n_jobs=None``:
    every core for a big file, see :func:`annotate.parallel.auto_jobs`). Written atomically.
    Returns a :class:`SuggestSummary`: the counts, the method used, and with ``diversity`` the
    ``pool`` size and whether it ran out of distinct sentences.
    """
    from annotate.io import ensure_not_input

    ensure_not_input(output, sentences, exclude_path, model_path)
    from annotate.io import write_jsonl
    from annotate.labels import read_table
    from annotate.models.predict import iter_record_chunks
    from annotate.parallel import auto_jobs
    from annotate.progress import progress as progress_line

    n_jobs = auto_jobs(n_jobs, sentences)
    exclude: set[str] = set()
    if exclude_path is not None:
        exclude = {str(r["sentence_id"]) for _, r in read_table(exclude_path) if r.get("sentence_id")}
    with progress_line(progress, "suggesting", "sentences") as tick:
        picked, stats = _rank(model_path, iter_record_chunks(sentences, chunksize), schema, field=field, method=method,
                              k=k, diversity=diversity, pool=pool, exclude=exclude, targets=targets, n_jobs=n_jobs,
                              dask=dask, tick=tick)  # fmt: skip
    write_jsonl(output, picked)
    return SuggestSummary(output=Path(output), **stats)
