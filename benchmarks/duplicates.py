"""`push --group-duplicates` on a corpus whose duplicates are known: CheckThat! 2020 T2 tweets.

Two tweets are true duplicates when they prove the same verified claim (share a vclaim in the
qrels). The train and dev tweets (999) are clustered together by
:func:`annotate.duplicates.group_duplicates`; per threshold the table gives the pairwise precision
and recall of the clusters (pairs of tweets in one cluster vs pairs sharing a vclaim), the share
of labels saved (tweets that are not a cluster's representative, so get their label from the
cluster), and the share of those copied labels that are right (member and representative share
a vclaim)::

    python benchmarks/duplicates.py [--data ../shared/data/clef2020_checkthat_task2]
"""

from __future__ import annotations

import argparse
import time
from itertools import combinations
from pathlib import Path

from annotate.duplicates import group_duplicates
from annotate.matching import load_queries

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/clef2020_checkthat_task2"
    )
    args = ap.parse_args()
    records, rel = [], {}
    for split in ("train", "dev"):
        queries, qrels = load_queries(args.data / split)
        for q, text in queries.items():
            if q in qrels:
                sid = f"{split}-{q}"
                records.append({"sentence_id": sid, "doc_id": sid, "text": text})
                rel[sid] = qrels[q]
    ids = [r["sentence_id"] for r in records]
    true_pairs = {(a, b) for a, b in combinations(ids, 2) if rel[a] & rel[b]}
    best = len({frozenset(v) for v in rel.values()})  # not exact with multi-claim tweets; a guide
    print(
        f"{len(records)} tweets (train+dev), {len(true_pairs)} true duplicate pairs; "
        f"a perfect grouping would save about {1 - best / len(records):.1%} of labels"
    )
    print("threshold  clusters  pair_precision  pair_recall  labels_saved  copied_right  seconds")
    rows = []
    for t in THRESHOLDS:
        start = time.perf_counter()
        clusters = group_duplicates(records, t)
        secs = time.perf_counter() - start
        pairs = {
            tuple(sorted((a["sentence_id"], b["sentence_id"]))) for c in clusters for a, b in combinations(c.members, 2)
        }
        hit = len(pairs & {tuple(sorted(p)) for p in true_pairs})
        precision = hit / len(pairs) if pairs else 1.0
        recall = hit / len(true_pairs)
        copied = [(c.members[0]["sentence_id"], m["sentence_id"]) for c in clusters for m in c.members[1:]]
        right = sum(1 for r, m in copied if rel[r] & rel[m])
        saved = len(copied) / len(records)
        rows.append((t, precision, saved))
        print(
            f"{t:9.2f}  {len(clusters):8d}  {precision:14.3f}  {recall:11.3f}  {saved:12.1%}  "
            f"{(right / len(copied) if copied else 1.0):12.3f}  {secs:7.2f}"
        )
    ok = [(t, s) for t, p, s in rows if p >= 0.95]
    if ok:
        t, s = min(ok)
        print(f"lowest threshold with pairwise precision >= 0.95: {t}; labels saved there: {s:.1%}")
    else:
        print("no threshold reaches pairwise precision 0.95")


if __name__ == "__main__":
    main()
