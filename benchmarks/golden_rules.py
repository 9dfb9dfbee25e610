"""Sentence segmentation on the 48 English Golden Rules (pySBD's set, MIT).

Prints the exact-match score of annotate's segmenter (newline split + syntok) and the failed
case ids. The score is tracked, not must-pass: no library gets all 48 (see
../shared/notes/segmentation.md). The issue's floor is 34/48.

    python benchmarks/golden_rules.py [PATH]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from annotate.segment import split_spans

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "sbd_golden_rules_en.jsonl"


def score(path: Path) -> tuple[int, int, list[int]]:
    cases = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    failed = []
    for case in cases:
        got = [case["text"][s:e].strip() for _p, s, e in split_spans(case["text"])]
        if got != [s.strip() for s in case["sentences"]]:
            failed.append(case["id"])
    return len(cases) - len(failed), len(cases), failed


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    t0 = time.perf_counter()
    ok, n, failed = score(path)
    print(
        f"golden rules: {ok}/{n} = {100 * ok / n:.1f}%  (floor 34/48; failed ids: {' '.join(map(str, failed))})"
        f"  [{time.perf_counter() - t0:.2f}s]"
    )


if __name__ == "__main__":
    main()
