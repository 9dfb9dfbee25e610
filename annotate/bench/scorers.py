"""The official metric of each benchmark, implemented from its published definition.

Labels are compared case-insensitively, so the scorers take both the files' spelling
(``agree``, ``FAVOR``) and the schema's (``Agree``, ``Favor``).

- FNC-1: the weighted score of the official ``scorer.py`` (FakeNewsChallenge/fnc-1-baseline),
  as a percentage of the gold labels' own score; plus the class-wise macro-F1 that
  Hanselowski et al. (2018, "A Retrospective Analysis of the Fake News Challenge Stance
  Detection Task", COLING) recommend as the better diagnostic.
- SemEval-2016 Task 6: (F1_FAVOR + F1_AGAINST) / 2 over all tweets pooled, as the task's
  ``eval.pl`` (Mohammad et al. 2016, "SemEval-2016 Task 6: Detecting Stance in Tweets").
- Emergent: accuracy (Ferreira and Vlachos 2016, "Emergent: a novel data-set for stance
  classification", NAACL).
- CLEF-2019 CheckThat! Task 1: average precision per debate, averaged over debates (MAP), plus
  R-precision and P@10, as the lab's ``scorer/task1.py`` (Atanasova et al. 2019, "Overview of the
  CLEF-2019 CheckThat!: Automatic Identification and Verification of Claims. Task 1").
- ClaimBuster: F1 of the check-worthy class (Hassan et al. 2017, "Toward Automated
  Fact-Checking: Detecting Check-worthy Factual Claims by ClaimBuster", KDD), averaged over folds
  by :func:`annotate.bench.run.run_benchmark`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "FNC_LABELS",
    "fnc_score",
    "fnc_relative_score",
    "fnc_macro_f1",
    "semeval_f_avg",
    "semeval_per_target",
    "accuracy",
    "average_precision",
    "r_precision",
    "precision_at_k",
    "clef_scores",
    "binary_f1",
]

FNC_LABELS = ("agree", "disagree", "discuss", "unrelated")
_RELATED = {"agree", "disagree", "discuss"}


def _norm(labels: Sequence[str]) -> list[str]:
    return [str(x).strip().lower() for x in labels]


def _same_length(gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold and predictions differ in length: {len(gold)} != {len(pred)}")


# --- FNC-1 --------------------------------------------------------------------------------


def fnc_score(gold: Sequence[str], pred: Sequence[str]) -> float:
    """The raw FNC-1 weighted score (official ``score_submission``).

    Per pair: +0.25 if the prediction equals the gold label; +0.50 more if it does and gold is
    related (agree/disagree/discuss); +0.25 if gold and prediction are both related.

    >>> fnc_score(["agree", "unrelated"], ["discuss", "unrelated"])
    0.5
    """
    _same_length(gold, pred)
    score = 0.0
    for g, t in zip(_norm(gold), _norm(pred), strict=True):
        if g == t:
            score += 0.25
            if g != "unrelated":
                score += 0.50
        if g in _RELATED and t in _RELATED:
            score += 0.25
    return score


def fnc_relative_score(gold: Sequence[str], pred: Sequence[str]) -> float:
    """FNC-1 score as a percentage of the maximum (gold scored against itself), 0-100."""
    best = fnc_score(gold, gold)
    return 100.0 * fnc_score(gold, pred) / best if best else 0.0


def _f1_per_class(gold: list[str], pred: list[str], classes: Sequence[str]) -> dict[str, float]:
    out = {}
    for c in classes:
        tp = sum(g == c and t == c for g, t in zip(gold, pred, strict=True))
        fp = sum(g != c and t == c for g, t in zip(gold, pred, strict=True))
        fn = sum(g == c and t != c for g, t in zip(gold, pred, strict=True))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        out[c] = 2 * p * r / (p + r) if p + r else 0.0
    return out


def fnc_macro_f1(gold: Sequence[str], pred: Sequence[str]) -> tuple[float, dict[str, float]]:
    """Class-wise macro-F1 over the four FNC-1 classes (0-1), and the F1 of each class."""
    _same_length(gold, pred)
    per = _f1_per_class(_norm(gold), _norm(pred), FNC_LABELS)
    return float(np.mean(list(per.values()))), per


# --- SemEval-2016 Task 6 ------------------------------------------------------------------


def semeval_f_avg(gold: Sequence[str], pred: Sequence[str]) -> float:
    """(F1_FAVOR + F1_AGAINST) / 2 over all tweets, in percent (0-100), as the task's eval.pl.

    NONE is never scored directly: it only costs recall or precision of the other two.

    >>> round(semeval_f_avg(["FAVOR", "AGAINST", "NONE"], ["FAVOR", "NONE", "AGAINST"]), 2)
    50.0
    """
    _same_length(gold, pred)
    per = _f1_per_class(_norm(gold), _norm(pred), ("favor", "against"))
    return 100.0 * (per["favor"] + per["against"]) / 2


def semeval_per_target(targets: Sequence[str], gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """The F_avg of each target's tweets alone (a diagnostic; the official figure is pooled)."""
    df = pd.DataFrame({"t": list(targets), "g": list(gold), "p": list(pred)})
    return {str(t): semeval_f_avg(d["g"].tolist(), d["p"].tolist()) for t, d in df.groupby("t", sort=True)}


# --- Emergent -----------------------------------------------------------------------------


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Share of exact matches (0-1)."""
    _same_length(gold, pred)
    if not len(gold):
        return 0.0
    return sum(g == t for g, t in zip(_norm(gold), _norm(pred), strict=True)) / len(gold)


# --- CLEF-2019 CheckThat! Task 1 ----------------------------------------------------------


def _ranked(gold: Sequence[int], scores: Sequence[float]) -> np.ndarray:
    """Gold labels ordered by descending score; ties keep file order (a stable sort)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    return np.asarray(gold, dtype=int)[order]


def average_precision(gold: Sequence[int], scores: Sequence[float]) -> float:
    """Average precision of one ranking: mean of precision@i over the ranks i of the positives.

    As the CLEF-2019 scorer: the sum runs over positives found, divided by all positives;
    0 when there are none.

    >>> average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])  # (1/1 + 2/3) / 2
    0.8333333333333333
    """
    _same_length(gold, scores)
    ranked = _ranked(gold, scores)
    n_pos = int(ranked.sum())
    if n_pos == 0:
        return 0.0
    hits = np.cumsum(ranked)
    ranks = np.arange(1, len(ranked) + 1)
    return float(np.sum((hits / ranks)[ranked == 1]) / n_pos)


def r_precision(gold: Sequence[int], scores: Sequence[float]) -> float:
    """Precision at rank R, where R is the number of positives (0 when there are none)."""
    ranked = _ranked(gold, scores)
    n_pos = int(ranked.sum())
    return float(ranked[:n_pos].sum() / n_pos) if n_pos else 0.0


def precision_at_k(gold: Sequence[int], scores: Sequence[float], k: int = 10) -> float:
    """Positives among the top ``k``, divided by ``k`` (as the CLEF scorer, even if fewer lines)."""
    ranked = _ranked(gold, scores)
    return float(ranked[:k].sum() / k)


def clef_scores(groups: Sequence[str], gold: Sequence[int], scores: Sequence[float]) -> dict[str, object]:
    """MAP, mean R-precision and mean P@10 over debates (``groups``), plus AP per debate.

    Returns ``{"map", "r_precision", "p_at_10", "ap_per_debate"}``; the means are unweighted
    over debates, as the official scorer averages per-debate figures.
    """
    df = pd.DataFrame({"g": list(groups), "y": np.asarray(gold, dtype=int), "s": np.asarray(scores, dtype=float)})
    ap, rp, p10 = {}, [], []
    for name, d in df.groupby("g", sort=True):
        ap[str(name)] = average_precision(d["y"].to_numpy(), d["s"].to_numpy())
        rp.append(r_precision(d["y"].to_numpy(), d["s"].to_numpy()))
        p10.append(precision_at_k(d["y"].to_numpy(), d["s"].to_numpy(), 10))
    return {
        "map": float(np.mean(list(ap.values()))) if ap else 0.0,
        "r_precision": float(np.mean(rp)) if rp else 0.0,
        "p_at_10": float(np.mean(p10)) if p10 else 0.0,
        "ap_per_debate": ap,
    }


# --- ClaimBuster --------------------------------------------------------------------------


def binary_f1(gold: Sequence[int], pred: Sequence[int]) -> float:
    """F1 of the positive class (label 1), 0-1."""
    _same_length(gold, pred)
    g = np.asarray(gold, dtype=int)
    p = np.asarray(pred, dtype=int)
    tp = int(((g == 1) & (p == 1)).sum())
    fp = int(((g == 0) & (p == 1)).sum())
    fn = int(((g == 1) & (p == 0)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
