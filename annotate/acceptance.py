"""Pre-annotations that earn trust: how many an annotator would keep, and a confidence gate.

A pre-annotation is *kept* when the annotator leaves it unchanged, which in a simulation with gold
labels is when the model's label equals the gold label. Pre-filling only the predictions whose
confidence (the top class probability) reaches a threshold trades coverage for precision:

- ``prefilled``: share of all items that get a pre-filled label;
- ``precision``: share of the pre-filled labels that are right (kept);
- ``kept``: share of *all* items whose pre-filled label is kept, ``prefilled * precision``: the
  labelling an annotator is spared.

:func:`threshold_for_precision` picks the lowest threshold whose pre-filled labels reach a target
precision; pick it on held-out predictions of the training data (out-of-fold), then check it on
other data, as ``benchmarks/preannotation_acceptance.py`` does.

>>> conf = [0.99, 0.95, 0.9, 0.8, 0.6]
>>> right = [True, True, True, False, True]
>>> threshold_for_precision(conf, right, 0.9)
0.9
>>> acceptance(conf, right, 0.9)["kept"]
0.6
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["threshold_for_precision", "acceptance"]


def threshold_for_precision(
    confidence: Sequence[float], correct: Sequence[bool], precision: float = 0.9, *, min_prefilled: int = 1
) -> float | None:
    """The lowest confidence threshold whose pre-filled items (confidence >= it) are right at
    least ``precision`` of the time, with at least ``min_prefilled`` of them; None if no
    threshold gets there. Items of equal confidence are pre-filled together."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if conf.shape != ok.shape:
        raise ValueError(f"confidence and correct differ in length: {len(conf)} != {len(ok)}")
    if not len(conf):
        return None
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    hits = np.cumsum(ok)
    count = np.arange(1, len(conf) + 1)
    last_of_value = np.r_[conf[1:] != conf[:-1], True]  # a threshold keeps every item of a value
    good = last_of_value & (hits >= precision * count - 1e-12) & (count >= min_prefilled)
    if not good.any():
        return None
    return float(conf[np.flatnonzero(good)[-1]])


def acceptance(confidence: Sequence[float], correct: Sequence[bool], threshold: float | None = None) -> dict[str, Any]:
    """Shares ``prefilled``, ``precision`` and ``kept`` (see the module doc) when only items with
    confidence >= ``threshold`` are pre-filled (None: every item), with the counts behind them."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if conf.shape != ok.shape:
        raise ValueError(f"confidence and correct differ in length: {len(conf)} != {len(ok)}")
    n = len(conf)
    filled = np.ones(n, dtype=bool) if threshold is None else conf >= threshold
    n_filled, n_kept = int(filled.sum()), int((filled & ok).sum())
    return {
        "threshold": threshold,
        "items": n,
        "prefilled_items": n_filled,
        "kept_items": n_kept,
        "prefilled": n_filled / n if n else 0.0,
        "precision": n_kept / n_filled if n_filled else float("nan"),
        "kept": n_kept / n if n else 0.0,
    }
