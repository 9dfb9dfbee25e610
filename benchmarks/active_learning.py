"""Active-learning simulation: uncertainty sampling vs random sampling from the same seed set.

Data: SemEval-2016 Task 6 subtask A training tweets (``../shared/data/semeval2016_stance``; 2,814
(target, tweet) pairs, 5 targets, FAVOR / AGAINST / NONE), the same (target, text) shape as the
project's stance field. The official test split is not used: 30% of the training file (stratified
by target x stance, seed 0) is the evaluation set, the other 70% the unlabelled pool.

Each run starts from the same random seed set of ``--seed-size`` labels, then repeatedly trains
``make_stance_model()`` and adds ``--batch`` labels chosen either at random or by
:func:`annotate.suggest.entropy` over the pool (the same scorer and sorter ``annotate suggest``
uses), up to ``--budget`` labels. Scores on the evaluation set: macro-F1 over the three classes,
and the official SemEval metric (mean of F1 FAVOR and F1 AGAINST). Repeated for ``--repeats``
seeds; the curves are averaged.

The report ends with the question the issue asks: does uncertainty sampling reach random
sampling's final macro-F1 with fewer labels, and with how many?

Run: ``python benchmarks/active_learning.py [--budget 1000 --batch 50 --seed-size 100 --repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "semeval2016_stance" / "semeval2016-task6-trainingdata.txt"


def load(path: Path = DATA) -> pd.DataFrame:
    # Two tweets hold cp1252 bytes (see ../shared/notes/benchmarks.md); latin-1 reads every byte.
    df = pd.read_csv(path, sep="\t", encoding="latin-1", quoting=3)
    return pd.DataFrame({"target": df["Target"], "text": df["Tweet"], "label": df["Stance"]})


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import f1_score

    macro = f1_score(y_true, y_pred, average="macro")
    fa = f1_score(y_true, y_pred, labels=["FAVOR", "AGAINST"], average=None)
    return float(macro), float(fa.mean())


def simulate(pool: pd.DataFrame, test: pd.DataFrame, strategy: str, seed: int, args) -> list[tuple[int, float, float]]:
    from annotate.models.pipelines import make_stance_model
    from annotate.suggest import entropy, prefer_uncertain

    rng = np.random.default_rng(seed)
    labelled = list(rng.choice(len(pool), args.seed_size, replace=False))
    curve = []
    while True:
        train = pool.iloc[labelled]
        model = make_stance_model(cv=2).fit(train[["target", "text"]], train["label"])
        curve.append((len(labelled), *scores(test["label"].to_numpy(), model.predict(test[["target", "text"]]))))
        if len(labelled) >= args.budget:
            return curve
        rest = np.setdiff1d(np.arange(len(pool)), labelled)
        if strategy == "random":
            pick = rng.choice(rest, args.batch, replace=False)
        else:
            p = model.predict_proba(pool.iloc[rest][["target", "text"]])
            ranked = prefer_uncertain(zip(entropy(p).tolist(), ({"i": int(i)} for i in rest), strict=True))
            pick = [t["i"] for _, t in ranked[: args.batch]]
        labelled.extend(int(i) for i in pick)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--seed-size", type=int, default=100)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from sklearn.model_selection import train_test_split

    df = load(args.data)
    pool, test = train_test_split(df, test_size=0.3, random_state=0, stratify=df["target"] + "/" + df["label"])
    pool, test = pool.reset_index(drop=True), test.reset_index(drop=True)
    print(
        f"# active_learning, {time.strftime('%Y-%m-%d %H:%M')}: SemEval-2016 Task 6 A training file, "
        f"pool {len(pool)}, evaluation {len(test)}; seed {args.seed_size}, batch {args.batch}, "
        f"budget {args.budget}, {args.repeats} repeats; model make_stance_model(cv=2)"
    )
    curves = {}
    t0 = time.perf_counter()
    for strategy in ("random", "entropy"):
        runs = [simulate(pool, test, strategy, seed, args) for seed in range(args.repeats)]
        n = [x[0] for x in runs[0]]
        curves[strategy] = (
            n,
            np.mean([[x[1] for x in r] for r in runs], axis=0),
            np.mean([[x[2] for x in r] for r in runs], axis=0),
        )
    full = __import__("annotate.models.pipelines", fromlist=["make_stance_model"]).make_stance_model(cv=2)
    full.fit(pool[["target", "text"]], pool["label"])
    full_macro, full_semeval = scores(test["label"].to_numpy(), full.predict(test[["target", "text"]]))
    print("| labels | random macro-F1 | entropy macro-F1 | random F1(FAVOR,AGAINST) | entropy F1(FAVOR,AGAINST) |")
    print("|---:|---:|---:|---:|---:|")
    n, r_macro, r_sem = curves["random"]
    _, u_macro, u_sem = curves["entropy"]
    for i, k in enumerate(n):
        print(f"| {k} | {r_macro[i]:.3f} | {u_macro[i]:.3f} | {r_sem[i]:.3f} | {u_sem[i]:.3f} |")
    print(
        f"whole pool ({len(pool)} labels): macro-F1 {full_macro:.3f}, F1(FAVOR,AGAINST) {full_semeval:.3f}; "
        f"simulation took {time.perf_counter() - t0:.0f} s"
    )
    final = r_macro[-1]
    reach = next((k for k, s in zip(n, u_macro, strict=True) if s >= final), None)
    if reach is not None and reach < n[-1]:
        print(
            f"result: uncertainty sampling reaches random's final macro-F1 ({final:.3f} at {n[-1]} labels) "
            f"with {reach} labels ({1 - reach / n[-1]:.0%} fewer)."
        )
    else:
        print(
            f"result: uncertainty sampling does NOT reach random's final macro-F1 ({final:.3f} at {n[-1]} labels) "
            f"with fewer labels (entropy ends at {u_macro[-1]:.3f})."
        )


if __name__ == "__main__":
    main()
