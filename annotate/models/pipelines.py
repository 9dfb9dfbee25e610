"""The two models: ``make_claim_model()`` and ``make_stance_model()``, plain scikit-learn Pipelines.

Both take a DataFrame and end in a calibrated linear classifier, so ``predict_proba`` is a
probability an annotator can read as "how sure" (``CalibratedClassifierCV``, Platt scaling on
out-of-fold decision values; ``ensemble=False`` keeps one linear model, so prediction costs one
sparse dot product). Every keyword is a parameter of the returned Pipeline, so ``set_params``,
``GridSearchCV`` and ``cross_validate`` work on them as on any estimator.

Columns read
------------
claim model   ``text``; with ``hints=True`` also ``speaker`` (str, "" if unknown), ``position``
              (relative position in the document, 0..1) and ``in_quote`` (0/1)
stance model  ``target`` and ``text``

>>> import pandas as pd
>>> df = pd.DataFrame({"text": ["Taxes rose 5% in 2019.", "I love it.", "GDP fell 2%.", "What a day!"] * 3})
>>> make_claim_model(cv=2).fit(df, ["claim", "other", "claim", "other"] * 3).predict(df[:2]).tolist()
['claim', 'other']
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.svm import LinearSVC

from annotate.models.features import ClaimFeatures, PairFeatures, TargetWordTfidf, WordTfidf

__all__ = ["make_claim_model", "make_stance_model", "CLAIM_HINTS", "frame"]

#: Optional columns the claim model reads with ``hints=True``, and their value when unknown.
CLAIM_HINTS: dict[str, Any] = {"speaker": "", "position": 0.0, "in_quote": 0.0}


def _classifier(C: float, class_weight: str | None, calibration: str, cv: int) -> CalibratedClassifierCV:
    return CalibratedClassifierCV(
        LinearSVC(C=C, class_weight=class_weight, max_iter=5000), method=calibration, cv=cv, ensemble=False
    )


def make_claim_model(
    *,
    C: float = 0.1,
    word_ngrams: tuple[int, int] = (1, 1),
    char_ngrams: tuple[int, int] | None = None,
    min_df: int | float = 2,
    max_features: int | None = 200_000,
    cues: bool = True,
    hints: bool = False,
    class_weight: str | None = "balanced",
    calibration: str = "sigmoid",
    cv: int = 3,
) -> Pipeline:
    """Single-text classifier for claim type: word TF-IDF + check-worthiness cues (+ hints).

    Parameters
    ----------
    C : regularisation of the LinearSVC (smaller = simpler).
    word_ngrams, char_ngrams : n-gram ranges; ``char_ngrams=None`` leaves characters out, which
        keeps prediction faster than a 1-3-gram word model (see ``benchmarks/model_speed.py``).
    min_df, max_features : vocabulary pruning of the word (and char) TF-IDF.
    cues : add :class:`~annotate.models.features.ClaimFeatures` (numbers, money, hedges...).
    hints : also read ``speaker``, ``position``, ``in_quote`` (see :data:`CLAIM_HINTS`).
    class_weight : "balanced" so that a rare class (check-worthy claims are ~3% in CLEF-2019)
        still shapes the decision function; calibration then restores real probabilities.
    calibration, cv : method and folds of ``CalibratedClassifierCV``; every class needs at
        least ``cv`` examples.
    """
    blocks: list[tuple[str, Any, Any]] = [
        (
            "words",
            WordTfidf(ngram_range=word_ngrams, min_df=min_df, max_features=max_features, sublinear_tf=True),
            "text",
        )
    ]
    if char_ngrams:
        blocks.append(
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=char_ngrams,
                    min_df=min_df,
                    max_features=max_features,
                    sublinear_tf=True,
                ),
                "text",
            )
        )
    if cues:
        blocks.append(("cues", ClaimFeatures(), ["text"]))
    if hints:
        blocks.append(("speaker", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=3), ["speaker"]))
        blocks.append(("position", "passthrough", ["position", "in_quote"]))
    return Pipeline(
        [
            ("features", ColumnTransformer(blocks, sparse_threshold=1.0)),
            ("clf", _classifier(C, class_weight, calibration, cv)),
        ]
    )


def make_stance_model(
    *,
    C: float = 0.3,
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] | None = None,
    min_df: int | float = 1,
    max_features: int | None = 200_000,
    pair: bool = True,
    joint: bool = True,
    class_weight: str | None = "balanced",
    calibration: str = "sigmoid",
    cv: int = 3,
) -> Pipeline:
    """Pair classifier for stance of ``text`` toward ``target``.

    Target and text are featurised separately (a TF-IDF block each) and jointly:
    :class:`~annotate.models.features.PairFeatures` (cosine, overlap, negation / refutation cues)
    and :class:`~annotate.models.features.TargetWordTfidf` (word weights learnt per target).
    Parameters as in :func:`make_claim_model`, plus ``pair`` and ``joint`` to switch the joint
    blocks off (for ablations).
    """
    blocks: list[tuple[str, Any, Any]] = [
        (
            "text_words",
            WordTfidf(ngram_range=word_ngrams, min_df=min_df, max_features=max_features, sublinear_tf=True),
            "text",
        ),
        ("target_words", WordTfidf(min_df=1, sublinear_tf=True), "target"),
    ]
    if char_ngrams:
        blocks.append(
            (
                "text_chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=char_ngrams,
                    min_df=min_df,
                    max_features=max_features,
                    sublinear_tf=True,
                ),
                "text",
            )
        )
    if pair:
        blocks.append(("pair", PairFeatures(), ["target", "text"]))
    if joint:
        blocks.append(("joint", TargetWordTfidf(min_df=min_df), ["target", "text"]))
    return Pipeline(
        [
            ("features", ColumnTransformer(blocks, sparse_threshold=1.0)),
            ("clf", _classifier(C, class_weight, calibration, cv)),
        ]
    )


def frame(rows: pd.DataFrame | list[dict[str, Any]], *, stance: bool = False) -> pd.DataFrame:
    """The columns a model reads, from any table with ``text`` (and ``target`` for stance).

    Missing hint columns get their "unknown" value from :data:`CLAIM_HINTS`; missing text is "".
    A model ignores columns it was not built to read, so one frame serves both models.
    Records (a list of dicts) are read column by column: building a DataFrame of every key of
    every record first cost more than the model itself at prediction time.
    """
    if not isinstance(rows, pd.DataFrame):
        return _frame_from_records(rows, stance=stance)
    df = rows.reset_index(drop=True)
    out = pd.DataFrame({"text": df["text"].fillna("").astype(str) if "text" in df else [""] * len(df)})
    if stance or "target" in df:
        out["target"] = df["target"].fillna("").astype(str) if "target" in df else ""
    for col, default in CLAIM_HINTS.items():
        if col in df:
            values = df[col]
            out[col] = values.fillna(default).astype(type(default))
        else:
            out[col] = default
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # None or NaN


def _frame_from_records(rows: list[dict[str, Any]], *, stance: bool) -> pd.DataFrame:
    """:func:`frame` of records, with the same columns and values as via ``pd.DataFrame(rows)``."""
    rows = list(rows)
    columns: dict[str, Any] = {"text": [("" if _missing(v := r.get("text")) else str(v)) for r in rows]}
    if stance or any("target" in r for r in rows):
        columns["target"] = [("" if _missing(v := r.get("target")) else str(v)) for r in rows]
    for col, default in CLAIM_HINTS.items():
        cast = type(default)
        columns[col] = [(default if _missing(v := r.get(col)) else cast(v)) for r in rows]
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
