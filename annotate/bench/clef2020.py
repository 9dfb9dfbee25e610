"""CheckThat! 2020 Task 2 (verified claim retrieval, English): loader, trec_eval metrics, runner.

The layout is the task's (Shaar et al. 2020, "Overview of CheckThat! 2020 English: Automatic
Identification and Verification of Claims in Social Media"): a folder with
``verified_claims.docs.tsv`` (``vclaim_id, vclaim, title``; the id column has no name) and the
splits ``train/`` and ``dev/``, each with ``tweets.queries.tsv`` (``tweet_id, tweet_content``)
and ``tweet-vclaim-pairs.qrels`` (TREC qrels: ``tweet_id 0 vclaim_id 1``), which
:func:`annotate.matching.load_queries` reads (a desk trains its own re-ranker on such a folder).

:func:`run_clef2020_t2` indexes the verified claims (:class:`annotate.matching.ClaimIndex`),
trains the re-ranker on ``train/`` only, and ranks the claims for the test tweets: ``test`` if
given (a folder laid out as ``dev/``), else ``dev/``. It scores MAP@5 (the official measure)
and MAP@1/3/10, MRR and recall@k as trec_eval computes them, and, in the same run, the two
TF-IDF cosine baselines of the task notes (word 1-2 grams and char_wb 3-5 grams over
``vclaim + title``, scikit-learn defaults), so the gain is measured on the same data.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annotate.errors import InputError
from annotate.matching import ClaimIndex, fit_reranker, load_archive, load_queries, match_records

__all__ = ["load_clef2020_t2", "retrieval_scores", "average_precision_at_k", "run_clef2020_t2"]

CLAIMS_FILE = "verified_claims.docs.tsv"
CUTOFFS = (1, 3, 5, 10)


def load_clef2020_t2(folder: str | Path) -> pd.DataFrame:
    """One split as the benchmarks' tidy table: ``text`` (tweet), ``target`` (""), ``label``
    (the relevant vclaim ids, space-separated), ``group`` (tweet id)."""
    queries, qrels = load_queries(folder)
    ids = [q for q in queries if q in qrels]
    return pd.DataFrame(
        {
            "text": [queries[q] for q in ids],
            "target": "",
            "label": [" ".join(sorted(qrels[q])) for q in ids],
            "group": ids,
        }
    )


def average_precision_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """trec_eval's AP at cutoff k: the sum of precision@i over the ranks i <= k that hold a
    relevant item, divided by the number of relevant items (found or not).

    >>> average_precision_at_k(["a", "b", "c"], {"b", "z"}, 5)  # (1/2) / 2
    0.25
    """
    hits, total = 0, 0.0
    for i, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant) if relevant else 0.0


def retrieval_scores(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]]) -> dict[str, float]:
    """MAP@1/3/5/10, MRR and recall@1/5/10 over the queries of ``qrels`` (a query without a
    ranking scores 0), as trec_eval: means over queries, unweighted."""
    out: dict[str, float] = {}
    for k in CUTOFFS:
        out[f"map@{k}"] = float(np.mean([average_precision_at_k(rankings.get(q, []), r, k) for q, r in qrels.items()]))
    rr = []
    for q, r in qrels.items():
        ranks = [i for i, c in enumerate(rankings.get(q, []), start=1) if c in r]
        rr.append(1 / ranks[0] if ranks else 0.0)
    out["mrr"] = float(np.mean(rr))
    for k in (1, 5, 10):
        out[f"recall@{k}"] = float(np.mean([len(set(rankings.get(q, [])[:k]) & r) / len(r) for q, r in qrels.items()]))
    return out


def _tfidf_baselines(claims: list[Any], queries: list[str], ids: list[str], depth: int = 10) -> dict[str, dict]:
    """The task notes' baselines: cosine over TF-IDF of ``vclaim + title``, scikit-learn defaults."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [f"{c.claim} {c.title}" for c in claims]
    out = {}
    for name, vec in (
        ("word", TfidfVectorizer(ngram_range=(1, 2))),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))),
    ):
        X = vec.fit_transform(docs)
        S = (vec.transform(queries) @ X.T).toarray()
        top = np.argsort(-S, axis=1, kind="stable")[:, :depth]
        out[name] = {q: [claims[j].claim_id for j in row] for q, row in zip(ids, top, strict=True)}
    return out


def run_clef2020_t2(
    train: str | Path, test: str | Path | None = None, *, fast: bool = False, k: int = 10
) -> dict[str, Any]:
    """Train the re-ranker on ``train/train`` and score ``test`` (default ``train/dev``).

    Returns the figures that :func:`annotate.bench.run.run_benchmark` wraps in a ``BenchResult``: ``score``
    (MAP@5), ``map@1`` ... ``map@10``, ``mrr``, ``recall@1/5/10``, ``retrieval_map@5`` (the fused
    first stage alone), ``baseline_word_tfidf`` / ``baseline_char_tfidf`` (MAP@5 of the task
    notes' baselines on the same test tweets), ``top1_mean_probability`` and ``top1_precision``
    (is the probability of the best match calibrated?), ``embeddings`` (the index's semantic view:
    ``"wordllama"`` when that package is installed, else None), sizes and timings. ``fast`` trains on
    200 training tweets (a smoke run; not comparable with published figures).
    """
    train = Path(train)
    if not train.is_dir():
        raise InputError("no such folder", path=train, hint=f"give the folder holding {CLAIMS_FILE}, train/ and dev/")
    if not (train / CLAIMS_FILE).is_file():
        raise InputError(f"no {CLAIMS_FILE} in this folder", path=train, hint="give the task's data folder")
    test_dir = Path(test) if test is not None else train / "dev"
    archive = load_archive(train / CLAIMS_FILE)
    tr_queries, tr_qrels = load_queries(train / "train")
    te_queries, te_qrels = load_queries(test_dir)
    tr_ids = [q for q in tr_queries if q in tr_qrels]
    if fast and len(tr_ids) > 200:
        rng = np.random.default_rng(0)
        tr_ids = sorted(rng.choice(tr_ids, 200, replace=False).tolist(), key=tr_ids.index)
    te_ids = [q for q in te_queries if q in te_qrels]

    start, cpu = time.perf_counter(), time.process_time()
    index = ClaimIndex().build(archive)
    index_seconds = time.perf_counter() - start
    reranker = fit_reranker(
        index, [tr_queries[q] for q in tr_ids], [tr_qrels[q] for q in tr_ids], source=str(train / "train")
    )
    fit_seconds = time.perf_counter() - start
    fit_cpu = time.process_time() - cpu

    start = time.perf_counter()
    texts = [te_queries[q] for q in te_ids]
    ranked = match_records(index, texts, k=k, reranker=reranker)
    match_seconds = time.perf_counter() - start
    rankings = {q: [m["claim_id"] for m in found] for q, found in zip(te_ids, ranked, strict=True)}
    scores = retrieval_scores(rankings, te_qrels)
    first_stage = {
        q: [m["claim_id"] for m in found] for q, found in zip(te_ids, match_records(index, texts, k=k), strict=True)
    }
    baselines = _tfidf_baselines(archive.claims, texts, te_ids)
    top1 = [found[0] for found in ranked if found]
    top1_hit = [found[0]["claim_id"] in te_qrels[q] for q, found in zip(te_ids, ranked, strict=True) if found]
    split = "test folder" if test is not None else "dev split"
    return {
        "benchmark": "clef2020-t2",
        "metric": "MAP@5",
        "score": scores["map@5"],
        **scores,
        "retrieval_map@5": retrieval_scores(first_stage, te_qrels)["map@5"],
        "baseline_word_tfidf": retrieval_scores(baselines["word"], te_qrels)["map@5"],
        "baseline_char_tfidf": retrieval_scores(baselines["char"], te_qrels)["map@5"],
        "top1_mean_probability": float(np.mean([m["probability"] for m in top1])) if top1 else 0.0,
        "top1_precision": float(np.mean(top1_hit)) if top1_hit else 0.0,
        "candidate_recall_train": reranker.card["candidate_recall"],
        "evaluation": f"{split} {test_dir} (re-ranker trained on {train / 'train'} only)"
        + ("" if test is not None else "; not the official test split"),
        "model": "annotate.matching: word/char TF-IDF + BM25 candidates, calibrated gradient-boosting re-ranker"
        + (f", {index.embeddings_} embedding view" if index.embeddings_ else ", no embedding view"),
        "embeddings": index.embeddings_,
        "fast": fast,
        "subsampled": fast and len(tr_ids) < len(tr_qrels),
        "n_claims": len(archive),
        "n_train": len(tr_ids),
        "n_test": len(te_ids),
        "index_seconds": round(index_seconds, 2),
        "fit_seconds": round(fit_seconds, 2),
        "fit_cpu_seconds": round(fit_cpu, 2),
        "match_seconds": round(match_seconds, 2),
    }
