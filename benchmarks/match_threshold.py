"""The pre-annotation threshold of `push --matches`: how often "Match 1" is right above it.

Trains the re-ranker on CheckThat! 2020 T2's training tweets, matches the dev tweets against all
verified claims, and prints, per threshold on the top match's probability, the share of dev tweets
pre-annotated and the precision of the "Match 1" pre-annotation (the top match is a relevant claim)::

    python benchmarks/match_threshold.py [--data ../shared/data/clef2020_checkthat_task2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from annotate.bench.clef2020 import CLAIMS_FILE
from annotate.matching import ClaimIndex, fit_reranker, load_archive, load_queries, match_records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/clef2020_checkthat_task2"
    )
    args = ap.parse_args()
    archive = load_archive(args.data / CLAIMS_FILE)
    tr_q, tr_rel = load_queries(args.data / "train")
    dev_q, dev_rel = load_queries(args.data / "dev")
    tr_ids = [q for q in tr_q if q in tr_rel]
    dev_ids = [q for q in dev_q if q in dev_rel]
    index = ClaimIndex().build(archive)
    reranker = fit_reranker(index, [tr_q[q] for q in tr_ids], [tr_rel[q] for q in tr_ids])
    ranked = match_records(index, [dev_q[q] for q in dev_ids], k=1, reranker=reranker)
    top = [
        (found[0]["probability"], found[0]["claim_id"] in dev_rel[q])
        for q, found in zip(dev_ids, ranked, strict=True)
        if found
    ]
    print(f"{len(dev_ids)} dev tweets; threshold: pre-annotated share, precision of 'Match 1'")
    for t in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95):
        above = [hit for p, hit in top if p >= t]
        prec = sum(above) / len(above) if above else float("nan")
        print(f"{t:.2f}: {len(above) / len(dev_ids):.2f} ({len(above)}), precision {prec:.3f}")


if __name__ == "__main__":
    main()
