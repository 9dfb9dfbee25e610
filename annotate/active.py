"""Batch selection for active learning: which ``k`` unlabelled items to label next, in memory.

:mod:`annotate.suggest` streams a corpus through one per-item score; the strategies here see
the whole pool at once, which some of them need (clustering, density), and are what
``benchmarks/active_learning.py`` compares. Every strategy takes the model's class
probabilities over the pool (``proba``, columns in ``classes`` order) and returns the indices
of the ``k`` items to label, most wanted first.

- ``random``: ``k`` items drawn uniformly (the baseline every study compares with).
- ``entropy``, ``margin``, ``least-confidence``: the ``k`` best of the
  :data:`annotate.suggest.SCORERS` score (uncertainty sampling; Settles 2009). With two classes
  the three rank items the same way (each falls as ``|p - 0.5|`` grows).
- ``rare-mix`` (imbalance): half the batch by certainty on the rarest class among the labels so
  far (the items most likely to be of it), half by margin, interleaved
  (:func:`annotate.suggest.mix_rankings`, as ``annotate suggest --method rare-mix``). On a task with 2.7% positives,
  random sampling finds 27 positives in 1,000 labels; certainty on the rare class finds them
  faster, and the margin half keeps refining the boundary (Attenberg and Provost 2010,
  "Why label when you can search?"; the "positive-certainty mix").
- ``margin+random``: half the batch by margin, half drawn uniformly from the rest (exploration:
  a model that is wrong with confidence is still shown some of what it is sure about).
- ``cluster-margin`` (diversity): the ``m * k`` items of best margin, clustered into ``k``
  groups on their (L2-normalised) vectors; the best-margin item of each group (Citovsky et al.
  2021, "Batch Active Learning at Scale", with k-means in place of their one-off HAC).
- ``density``: margin times the item's mean cosine similarity to the pool (Settles and Craven
  2008, "information density"), so outliers are not chosen for being odd.

>>> import numpy as np
>>> p = np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4], [0.2, 0.8]])
>>> select("margin", p, ["a", "b"], 2).tolist()
[1, 2]
>>> select("rare-mix", p, ["a", "b"], 2, counts={"a": 90, "b": 10}).tolist()
[3, 1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from annotate.errors import InputError
from annotate.suggest import SCORERS, margin, mix_rankings, rare_class

__all__ = ["STRATEGIES", "select", "rare_class", "mean_similarity"]

STRATEGIES = (
    "random",
    "entropy",
    "margin",
    "least-confidence",
    "rare-mix",
    "margin+random",
    "cluster-margin",
    "density",
)


def _top(score: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` highest scores, highest first; ties keep index order (stable)."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    if exclude is not None and exclude.any():
        order = order[~exclude[order]]
    return order[: max(k, 0)]


def _interleave(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a[0], b[0], a[1], b[1], ...``, the longer one's rest at the end."""
    out = [x for pair in zip(a.tolist(), b.tolist(), strict=False) for x in pair]
    n = min(len(a), len(b))
    return np.array(out + a[n:].tolist() + b[n:].tolist(), dtype=int)


def mean_similarity(vectors: Any) -> np.ndarray:
    """Mean cosine similarity of each row to all rows (rows L2-normalised): one product with the mean row."""
    centre = np.asarray(vectors.mean(axis=0)).ravel()
    return np.asarray(vectors @ centre).ravel()


def select(
    strategy: str,
    proba: np.ndarray,
    classes: Sequence[str],
    k: int,
    *,
    rng: np.random.Generator | None = None,
    counts: Mapping[str, int] | None = None,
    vectors: Any = None,
    density: np.ndarray | None = None,
    candidates_per_pick: int = 10,
) -> np.ndarray:
    """Indices (into the rows of ``proba``) of the ``k`` items to label next, most wanted first.

    Parameters
    ----------
    strategy : one of :data:`STRATEGIES`.
    proba : class probabilities over the pool, ``(n, len(classes))``; ignored by ``random``.
    k : batch size (fewer if the pool is smaller).
    rng : for ``random`` and the k-means of ``cluster-margin``.
    counts : labels per class so far, for ``rare-mix``.
    vectors : L2-normalised rows (e.g. TF-IDF) for ``cluster-margin``.
    density : :func:`mean_similarity` of the pool, for ``density``.
    """
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy '{strategy}'", hint=f"use one of: {', '.join(STRATEGIES)}")
    rng = rng if rng is not None else np.random.default_rng(0)
    n = len(proba)
    k = min(k, n)
    if k <= 0:
        return np.array([], dtype=int)
    if strategy == "random":
        return rng.choice(n, k, replace=False)
    proba = np.asarray(proba, dtype=float)
    if strategy in SCORERS:
        return _top(SCORERS[strategy](proba), k)
    m = margin(proba)
    if strategy == "rare-mix":
        rare = rare_class(classes, counts, proba)
        return np.array(mix_rankings(_top(proba[:, rare], n).tolist(), _top(m, n).tolist(), k), dtype=int)
    if strategy == "margin+random":
        unsure = _top(m, (k + 1) // 2)
        taken = np.zeros(n, dtype=bool)
        taken[unsure] = True
        rest = np.flatnonzero(~taken)
        return _interleave(unsure, rest[rng.choice(len(rest), min(k - len(unsure), len(rest)), replace=False)])
    if strategy == "density":
        if density is None:
            raise ValueError("density needs the pool's mean similarities (mean_similarity)")
        return _top(m * np.clip(density, 0.0, None), k)
    # cluster-margin
    if vectors is None:
        raise ValueError("cluster-margin needs vectors of the pool")
    pool = _top(m, candidates_per_pick * k)
    if len(pool) <= k:
        return pool
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit_predict(vectors[pool])
    best: dict[int, int] = {}
    for i, c in zip(pool.tolist(), labels.tolist(), strict=True):  # pool is best margin first
        best.setdefault(c, i)
    picked = np.array(sorted(best.values(), key=lambda i: -m[i]), dtype=int)
    if len(picked) < k:
        taken = np.zeros(n, dtype=bool)
        taken[picked] = True
        picked = np.concatenate([picked, _top(m, k - len(picked), exclude=taken)])
    return picked
