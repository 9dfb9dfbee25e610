"""Claim matching speed: building the index and matching sentences, against plain TF-IDF cosine.

Both run in the same invocation, on the same archive and sentences, each in a fresh process (so
peak resident memory is that run's alone):

- **reference**: ``TfidfVectorizer()`` (word unigrams, scikit-learn defaults) fitted on
  ``claim + title``; matching is one sparse product and a top-k per sentence: the cheapest
  sensible matcher, and the baseline of the task notes;
- **ours**: :class:`annotate.matching.ClaimIndex` (word and char TF-IDF, BM25) and the
  calibrated re-ranker over the candidates' pair features (:func:`annotate.matching.match_records`);
  the re-ranker is trained before the clock starts (on the CheckThat! 2020 training tweets, over
  an index of its own, with the stemmer's memo emptied before each timing, so that nothing it
  computed is cached for the timed runs), and the retrieval stage alone is timed too.

The archive is CheckThat! 2020 Task 2's 10,375 verified claims, repeated up to ``--claims``
(each copy's ids suffixed, its text given a copy number, so the vocabulary grows a little); the
sentences are its training and dev tweets, repeated up to ``--sentences``. Times are wall-clock
and CPU (``time.process_time``) seconds; the ratios at the end are ours over the reference.

Run: ``python benchmarks/match_speed.py [--claims 10375] [--sentences 500]
[--data ../shared/data/clef2020_checkthat_task2]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "clef2020_checkthat_task2"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _archive(data: Path, n: int):
    from annotate.matching import Archive, Claim, load_archive

    base = load_archive(data / "verified_claims.docs.tsv").claims
    claims = []
    for copy in range(-(-n // len(base))):
        for c in base:
            if len(claims) == n:
                break
            if copy == 0:
                claims.append(c)
            else:
                claims.append(Claim(f"{c.claim_id}.{copy}", f"{c.claim} ({copy})", c.title))
    return Archive(claims)


def _sentences(data: Path, n: int) -> list[str]:
    from annotate.matching import load_queries

    texts = [t for split in ("train", "dev") for t in load_queries(data / split)[0].values()]
    return [texts[i % len(texts)] for i in range(n)]


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def run(which: str, data: Path, n_claims: int, n_sentences: int, k: int, queue) -> None:
    from threadpoolctl import threadpool_limits

    archive = _archive(data, n_claims)
    sentences = _sentences(data, n_sentences)
    base_rss = _rss_mb()
    out: dict = {"which": which, "data_rss_mb": round(base_rss)}
    with threadpool_limits(1):
        if which == "reference":
            from sklearn.feature_extraction.text import TfidfVectorizer

            def build():
                vec = TfidfVectorizer()
                return vec, vec.fit_transform([f"{c.claim} {c.title}" for c in archive.claims])

            (vec, X), out["index_s"], out["index_cpu_s"] = _timed(build)

            def match():
                found = []
                for start in range(0, len(sentences), 256):
                    S = (vec.transform(sentences[start : start + 256]) @ X.T).toarray()
                    top = np.argpartition(-S, k, axis=1)[:, :k]
                    for row, cand in zip(S, top, strict=True):
                        found.append([archive.claims[j].claim_id for j in cand[np.argsort(-row[cand])]])
                return found

            _, out["match_s"], out["match_cpu_s"] = _timed(match)
        else:
            from annotate.matching import ClaimIndex, _stem, fit_reranker, load_queries, match_records

            queries, qrels = load_queries(data / "train")
            ids = [q for q in queries if q in qrels]
            # trained on an index of its own, and the stemmer's memo emptied before each timing,
            # so that nothing computed for training makes the timed runs faster
            reranker = fit_reranker(ClaimIndex().build(archive), [queries[q] for q in ids], [qrels[q] for q in ids])
            _stem().cache_clear()
            index, out["index_s"], out["index_cpu_s"] = _timed(lambda: ClaimIndex().build(archive))
            _stem().cache_clear()
            _, out["match_s"], out["match_cpu_s"] = _timed(
                lambda: match_records(index, sentences, k=k, reranker=reranker)
            )
            _, out["retrieval_s"], out["retrieval_cpu_s"] = _timed(lambda: match_records(index, sentences, k=k))
    out["peak_rss_mb"] = round(_rss_mb())
    queue.put(out)


def _in_process(which: str, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=run, args=(which, *args, queue))
    p.start()
    out = queue.get()
    p.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--claims", type=int, default=10375, help="archive size (the real archive repeated)")
    ap.add_argument("--sentences", type=int, default=500, help="sentences to match")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--data", type=Path, default=DATA, help="the CheckThat! 2020 Task 2 folder")
    args = ap.parse_args()
    if not (args.data / "verified_claims.docs.tsv").is_file():
        sys.exit(f"error: {args.data}: no verified_claims.docs.tsv. give --data the CheckThat! 2020 Task 2 folder.")
    print(
        f"# match_speed: {args.claims} claims, {args.sentences} sentences, k={args.k}; {platform.machine()}, 1 thread"
    )
    results = {w: _in_process(w, args.data, args.claims, args.sentences, args.k) for w in ("reference", "ours")}
    ref, ours = results["reference"], results["ours"]
    print("| matcher | index s (cpu) | match s (cpu) | sentences/s | peak RSS MB |")
    print("|---|---|---|---|---|")
    rows = [("plain TF-IDF cosine", ref, "match"), ("ours, retrieval only", ours, "retrieval"), ("ours", ours, "match")]
    for name, r, key in rows:
        index = f"{r['index_s']:.2f} ({r['index_cpu_s']:.2f})"
        rate = args.sentences / r[f"{key}_s"]
        print(f"| {name} | {index} | {r[f'{key}_s']:.2f} ({r[f'{key}_cpu_s']:.2f}) | {rate:.0f} | {r['peak_rss_mb']} |")
    summary = {
        "claims": args.claims,
        "sentences": args.sentences,
        "index_ratio": round(ours["index_s"] / ref["index_s"], 1),
        "match_ratio": round(ours["match_s"] / ref["match_s"], 1),
        "retrieval_ratio": round(ours["retrieval_s"] / ref["match_s"], 1),
        "ours_index_s": round(ours["index_s"], 2),
        "ours_sentences_per_s": round(args.sentences / ours["match_s"]),
        "ours_peak_rss_mb": ours["peak_rss_mb"],
    }
    print(json.dumps(summary))
    print(
        f"ours / plain TF-IDF: index {summary['index_ratio']}x the time, matching {summary['match_ratio']}x "
        f"(retrieval alone {summary['retrieval_ratio']}x)"
    )


if __name__ == "__main__":
    main()
