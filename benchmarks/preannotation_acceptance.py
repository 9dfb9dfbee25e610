"""Pre-annotation acceptance: the share of pre-filled labels an annotator would keep unchanged.

A pre-annotation is what ``annotate predict`` writes and ``annotate push --predictions`` pre-fills:
the model's most probable label, with that probability as its score. In this simulation an
annotator keeps it when it equals the gold label. For each model the script prints:

- **all pre-filled**: every item gets its pre-annotation; kept = accuracy;
- **gated at 90%**: only items whose score reaches a threshold are pre-filled (the rest would show
  as hints). The threshold is the lowest whose pre-filled labels are right 90% of the time on
  *out-of-fold* predictions of the training part (5 folds: whole debates for CLEF, stratified per
  target and stance for SemEval), picked by :func:`annotate.acceptance.threshold_for_precision`;
  then applied to the dev split, so the dev precision is a measurement, not a target met by
  construction. ``prefilled``: share of dev items pre-filled; ``precision``: share of those kept;
  ``kept``: share of all dev items whose pre-filled label is kept.
- **check-worthy gate** (CLEF): 97% of the sentences are not check-worthy, so the figures above
  are mostly about that class. The gate here pre-fills "Check-worthy" alone, where its
  probability reaches a threshold picked out-of-fold so that those pre-fills are right 90% of the
  time (at least 10 of them), and reports how many dev sentences it pre-fills and how many of
  those are check-worthy.

Data: the dev splits of ``annotate bench`` (``annotate.bench.run``): CLEF-2019 Task 1 training
debates with 20% of the debates held out (claim type: check-worthy or not), and SemEval-2016
Task 6 A training tweets with 20% held out (stance). Official test splits are not used.

Models: what ``annotate train`` builds with the default preset, the benchmark's own preset
(``checkworthy``, ``stance-tweet``), and on CLEF the cold-start recipe of
:func:`annotate.bootstrap.bootstrap` (every positive, three negatives per positive) trained on the
same training debates.

Run: ``python benchmarks/preannotation_acceptance.py [--precision 0.9] [--fast]``.
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
DATA = ROOT.parent / "shared" / "data"
POSITIVE = "Check-worthy"
#: the positive-class gate must pre-fill at least this many training sentences out-of-fold
MIN_POSITIVE_PREFILLS = 10


def _folds(name: str, df: pd.DataFrame, k: int = 5):
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    if name == "semeval2016":
        return StratifiedKFold(k, shuffle=True, random_state=0).split(df, df["target"] + "|" + df["label"])
    return GroupKFold(k, shuffle=True, random_state=0).split(df, groups=df["group"])


def _trainer(name: str, preset: str):
    """A function that fits the model ``annotate train --preset PRESET`` builds on a benchmark table."""
    from annotate.bench import loaders
    from annotate.bench.run import _labels
    from annotate.models.train import train
    from annotate.schema import Schema

    schema = Schema.from_file(loaders.schema_path(name))
    field = loaders.SCHEMAS[name][1]

    def fit(df: pd.DataFrame):
        return train(_labels(name, df), schema, name=name, preset=preset, evaluate=False).models[field].estimator

    return fit


def _cold_start(df: pd.DataFrame):
    """The bootstrap recipe (every positive, three negatives per positive, ``make_claim_model(C=0.1)``)."""
    from annotate.bootstrap import BOOTSTRAP_PARAMS, NEGATIVES_PER_POSITIVE
    from annotate.models.pipelines import frame, make_claim_model

    pos = df[df["label"] == "Check-worthy"]
    neg = df[df["label"] != "Check-worthy"]
    neg = neg.sample(n=min(len(neg), len(pos) * NEGATIVES_PER_POSITIVE), random_state=0)
    sample = pd.concat([pos, neg])
    return make_claim_model(**BOOTSTRAP_PARAMS).fit(frame(sample), sample["label"].to_numpy())


def _predict(name: str, model, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre-annotations as ``annotate predict`` makes them: the argmax label and its probability;
    and the probability of the check-worthy class (zeros for stance)."""
    from annotate.bench.run import _labels
    from annotate.models.pipelines import frame

    proba = model.predict_proba(frame(_labels(name, df), stance=name == "semeval2016"))
    classes = np.array([str(c) for c in model.classes_])
    positive = proba[:, list(classes).index(POSITIVE)] if POSITIVE in classes else np.zeros(len(proba))
    return classes[proba.argmax(axis=1)], proba.max(axis=1), positive


def measure(name: str, fit, train_df: pd.DataFrame, dev: pd.DataFrame, precision: float) -> dict:
    from annotate.acceptance import acceptance, threshold_for_precision

    conf_oof = np.zeros(len(train_df))
    pos_oof = np.zeros(len(train_df))
    right_oof = np.zeros(len(train_df), dtype=bool)
    for tr, te in _folds(name, train_df):
        label, conf, pos = _predict(name, fit(train_df.iloc[tr]), train_df.iloc[te])
        conf_oof[te], pos_oof[te] = conf, pos
        right_oof[te] = label == train_df["label"].to_numpy()[te]
    threshold = threshold_for_precision(conf_oof, right_oof, precision)
    label, conf, pos = _predict(name, fit(train_df), dev)
    gold = dev["label"].to_numpy()
    right = label == gold
    out = {"all": acceptance(conf, right), "gated": acceptance(conf, right, threshold), "threshold": threshold,
           "oof": acceptance(conf_oof, right_oof, threshold)}  # fmt: skip
    gate = conf >= threshold if threshold is not None else np.zeros(len(conf), dtype=bool)
    per_class = {}
    for c in sorted(set(gold)):
        as_c = label == c
        per_class[c] = {
            "gold": int((gold == c).sum()),
            "predicted": int(as_c.sum()),
            "right": int((as_c & right).sum()),
            "gated_predicted": int((as_c & gate).sum()),
            "gated_right": int((as_c & gate & right).sum()),
        }
    out["per_class"] = per_class
    if name == "clef2019":
        # the positive-class gate: pre-fill "Check-worthy" only where its probability reaches a
        # threshold picked out-of-fold for the target precision of those pre-fills alone
        t_pos = threshold_for_precision(pos_oof, train_df["label"].to_numpy() == POSITIVE, precision,
                                        min_prefilled=MIN_POSITIVE_PREFILLS)  # fmt: skip
        is_pos = gold == POSITIVE
        out["positive_gate"] = {
            "threshold": t_pos,
            "dev": acceptance(pos, is_pos, t_pos) if t_pos is not None else None,
            "dev_positives": int(is_pos.sum()),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    ap.add_argument("--precision", type=float, default=0.9, help="target precision of the pre-filled labels")
    ap.add_argument("--fast", action="store_true", help="subsample the training data (CI smoke run)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from annotate.bench.run import BENCHMARKS, _dev_split, _subsample

    t0 = time.perf_counter()
    print(f"# preannotation_acceptance, {time.strftime('%Y-%m-%d %H:%M')}: dev splits of annotate bench; "
          f"threshold for {args.precision:.0%} precision chosen out-of-fold on the training part"
          + (" (fast: subsampled)" if args.fast else ""))  # fmt: skip
    rows = []
    for name, task, models in (
        ("clef2019", "claim type (check-worthy or not)",
         [("default preset", _trainer("clef2019", "default")),
          ("checkworthy preset", _trainer("clef2019", "checkworthy")),
          ("cold-start recipe", _cold_start)]),
        ("semeval2016", "stance (favor / against / none)",
         [("default preset", _trainer("semeval2016", "default")),
          ("stance-tweet preset", _trainer("semeval2016", "stance-tweet"))]),
    ):  # fmt: skip
        df = BENCHMARKS[name].load(args.data / BENCHMARKS[name].data)
        if args.fast:
            df = _subsample(name, df)
        train_df, dev = _dev_split(name, df)
        train_df, dev = train_df.reset_index(drop=True), dev.reset_index(drop=True)
        print(f"\n{name} ({task}): train {len(train_df)}, dev {len(dev)}")
        for model_name, fit in models:
            r = measure(name, fit, train_df, dev, args.precision)
            rows.append((name, model_name, r))
            print(f"  {model_name}: " + "; ".join(
                f"{c}: gold {v['gold']}, predicted {v['predicted']} ({v['right']} right), gated {v['gated_predicted']} "
                f"({v['gated_right']} right)" for c, v in r["per_class"].items()))  # fmt: skip
    print(
        f"\n| dev split | model | kept, all pre-filled | threshold ({args.precision:.0%} out-of-fold) | "
        "pre-filled | precision | kept |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, model_name, r in rows:
        g = r["gated"]
        t = "none reaches it" if r["threshold"] is None else f"{r['threshold']:.3f}"
        print(f"| {name} | {model_name} | {r['all']['kept']:.1%} | {t} | {g['prefilled']:.1%} | "
              f"{g['precision']:.1%} | {g['kept']:.1%} |")  # fmt: skip
    gates = [(model_name, r["positive_gate"]) for name, model_name, r in rows if "positive_gate" in r]
    if gates:
        print(
            f"\nclef2019, pre-filling only 'Check-worthy' where its probability reaches a threshold picked "
            f"out-of-fold for {args.precision:.0%} precision of those pre-fills (at least {MIN_POSITIVE_PREFILLS}):"
        )
        for model_name, g in gates:
            if g["threshold"] is None:
                print(f"  {model_name}: no threshold reaches {args.precision:.0%} out-of-fold")
                continue
            d = g["dev"]
            print(
                f"  {model_name}: threshold {g['threshold']:.3f}; on dev {d['prefilled_items']} pre-filled, "
                f"{d['kept_items']} right ({d['precision']:.1%}) of {g['dev_positives']} check-worthy sentences"
            )
    print(f"\ntook {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
