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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from annotate.errors import InputError

__all__ = [
    "threshold_for_precision",
    "acceptance",
    "HINT_SUFFIX",
    "Gate",
    "parse_min_score",
    "gate_from_card",
    "prefill_gate",
    "prefill_floor",
    "is_hint",
]


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


# --- the gate: push --min-score and serve --min-score ---------------------------------------------

#: appended to the model_version of a prediction below the gate: Label Studio pre-fills only the
#: predictions of the project's model_version, so these show in the predictions tab as hints
HINT_SUFFIX = "-hint"

#: per field, per predicted label, the lowest score that is pre-filled
Gate = dict[str, dict[str, float]]

_NEVER = 1.01  # above every score: a label without a threshold is never pre-filled


def parse_min_score(value: float | str | None) -> float | str | None:
    """``--min-score`` as given: a number in 0..1, ``"auto"`` or None (raises InputError otherwise)."""
    if value is None or value == "auto":
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not 0 <= number <= 1:
        raise InputError(f"--min-score {value!r} is not a number in 0..1 or 'auto'", hint="e.g. --min-score 0.9")
    return number


def gate_from_card(card: Mapping[str, Any]) -> Gate:
    """The per-label thresholds ``annotate train`` recorded in a model card (``min_score`` of each
    field: the lowest score at which the cross-validated predictions of a label were right 90% of
    the time). A label no score got there for is never pre-filled."""
    return {
        name: {label: _NEVER if t is None else t for label, t in (f.get("min_score") or {}).items()}
        for name, f in card["fields"].items()
    }


def prefill_gate(min_score: float | str | None, model: str | Path | None = None) -> float | Gate | None:
    """The gate ``--min-score`` asks for: a number, or with ``"auto"`` the thresholds of ``model``."""
    value = parse_min_score(min_score)
    if value != "auto":
        return value  # type: ignore[return-value]
    if model is None:
        raise InputError("--min-score auto needs --model", hint="give the model folder, or a number in 0..1")
    from annotate.models.store import read_card  # deferred: the card reader is not needed for a number

    return gate_from_card(read_card(Path(model)))


def prefill_floor(gate: float | Gate | None, rec: Mapping[str, Any]) -> float | None:
    """The lowest score at which the prediction record ``rec`` (field, value) is pre-filled; None: no gate."""
    if not isinstance(gate, dict):
        return gate
    by_label = gate.get(rec["field"])
    if by_label is None:
        return None  # the model card says nothing about this field: no gate
    return by_label.get(str(rec["value"]), _NEVER)  # a label the model never earned a threshold for


def is_hint(gate: float | Gate | None, rec: Mapping[str, Any]) -> bool:
    """Whether ``rec`` falls below the gate: shown as a hint, not pre-filled."""
    floor = prefill_floor(gate, rec)
    return floor is not None and (rec.get("score") is None or rec["score"] < floor)
