"""Claim model vs Label Studio's own example pipeline: quality, training time, throughput, memory.

The contrast is ``label_studio_ml/examples/sklearn_text_classifier/model.py`` of
HumanSignal/label-studio-ml-backend: ``make_pipeline(TfidfVectorizer(ngram_range=(1, 3)),
LogisticRegression(C=10))``. Both are measured in the same run, on the same data:

- **quality**: CLEF-2019 CheckThat! Task 1 (``corpora/bootstrap/``, 19 debates), trained on 14
  debates and scored on the other 5 (a split by document; never the official test set): macro-F1
  of the predicted label, and MAP, the task's official metric (average precision of the
  check-worthy class per debate, averaged over debates);
- **speed and memory**: 100,000 sentences drawn with replacement from the same data (seed 0):
  training time, ``predict_proba`` throughput in sentences per CPU-second, and peak resident
  memory. Times are CPU time of the process (``time.process_time``, all threads), because the
  machine is shared and wall-clock time measures the neighbours; wall time is printed beside it. Each model
  runs in its own fresh process, so peak RSS is that model's alone (on top of the data, whose
  size is printed as the baseline).

Run: ``python benchmarks/model_speed.py [--n 100000]``. The acceptance line at the end says
whether ours predicts at least as fast per sentence while scoring higher (on both metrics).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from annotate.resources import data_path  # noqa: E402

TABLE = data_path("corpora", "bootstrap", "clef2019_checkworthy.csv")
POSITIVE = "Check-worthy factual claim"


def load() -> pd.DataFrame:
    df = pd.read_csv(TABLE)
    return df[["doc_id", "text", "label"]]


def make(which: str):
    if which == "ours":
        from annotate.models.pipelines import make_claim_model

        return make_claim_model()
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(ngram_range=(1, 3)), LogisticRegression(C=10))


def _X(which: str, df: pd.DataFrame):
    return df[["text"]] if which == "ours" else df["text"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def quality(which: str, queue) -> None:
    warnings.simplefilter("ignore")
    from sklearn.metrics import average_precision_score, f1_score

    df = load()
    docs = sorted(df["doc_id"].unique())
    test_docs = set(docs[::4])
    train, test = df[~df["doc_id"].isin(test_docs)], df[df["doc_id"].isin(test_docs)]
    model = make(which).fit(_X(which, train), train["label"])
    p = model.predict_proba(_X(which, test))[:, list(model.classes_).index(POSITIVE)]
    pred = model.predict(_X(which, test))
    aps = [
        average_precision_score(test["label"][test["doc_id"] == d] == POSITIVE, p[(test["doc_id"] == d).to_numpy()])
        for d in sorted(test_docs)
    ]
    queue.put(
        {
            "macro_f1": f1_score(test["label"], pred, average="macro"),
            "map": float(np.mean(aps)),
            "train_docs": len(docs) - len(test_docs),
            "test_docs": len(test_docs),
            "test_sentences": len(test),
        }
    )


def speed(which: str, n: int, queue) -> None:
    warnings.simplefilter("ignore")
    df = load().sample(n=n, replace=True, random_state=0).reset_index(drop=True)
    base = _rss_mb()
    model = make(which)
    c0, w0 = time.process_time(), time.perf_counter()
    model.fit(_X(which, df), df["label"])
    fit_cpu, fit_wall = time.process_time() - c0, time.perf_counter() - w0
    c0, w0 = time.process_time(), time.perf_counter()
    model.predict_proba(_X(which, df))
    pred_cpu, pred_wall = time.process_time() - c0, time.perf_counter() - w0
    queue.put(
        {
            "fit_cpu_s": fit_cpu,
            "fit_wall_s": fit_wall,
            "predict_cpu_s": pred_cpu,
            "predict_wall_s": pred_wall,
            "per_cpu_s": n / pred_cpu,
            "base_mb": base,
            "peak_mb": _rss_mb(),
        }
    )


def run(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="sentences for the speed/memory run")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    print(
        f"# model_speed, {time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    res = {}
    for which in ("ours", "ls-example"):
        res[which] = {**run(quality, which), **run(speed, which, args.n)}
    q = res["ours"]
    print(
        f"quality: CLEF-2019, train {q['train_docs']} debates, test {q['test_docs']} debates "
        f"({q['test_sentences']} sentences); speed/memory: {args.n:,} sentences"
    )
    print(
        "| model | macro-F1 | MAP | train CPU s (wall) | predict CPU s (wall) | sentences per CPU-s "
        "| data RSS MB | peak RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for which, r in res.items():
        print(
            f"| {which} | {r['macro_f1']:.3f} | {r['map']:.4f} | {r['fit_cpu_s']:.1f} ({r['fit_wall_s']:.1f}) | "
            f"{r['predict_cpu_s']:.2f} ({r['predict_wall_s']:.2f}) | {r['per_cpu_s']:,.0f} | {r['base_mb']:.0f} | "
            f"{r['peak_mb']:.0f} |"
        )
    o, b = res["ours"], res["ls-example"]
    print(
        f"ratios ours/ls-example: training CPU time {o['fit_cpu_s'] / b['fit_cpu_s']:.2f}, throughput "
        f"{o['per_cpu_s'] / b['per_cpu_s']:.2f}, peak RSS {o['peak_mb'] / b['peak_mb']:.2f}, "
        f"MAP {o['map'] / b['map']:.2f}, macro-F1 {o['macro_f1'] / b['macro_f1']:.2f}"
    )
    faster = o["per_cpu_s"] >= b["per_cpu_s"]
    better = o["map"] > b["map"] and o["macro_f1"] >= b["macro_f1"]
    print(
        f"acceptance: predicts at least as fast per sentence (CPU time): {'yes' if faster else 'NO'}; "
        f"scores higher (MAP, macro-F1 not lower): {'yes' if better else 'NO'}"
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
