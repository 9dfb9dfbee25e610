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

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted, validate_data

from annotate.models.document import DocumentPairFeatures, HeadlineFeatures, PerTargetNgrams
from annotate.models.features import (
    ClaimFeatures,
    OptionalWordTfidf,
    PairFeatures,
    TargetWordTfidf,
    WordTfidf,
    as_texts,
)

__all__ = [
    "make_claim_model",
    "make_stance_model",
    "FrameColumns",
    "make_checkworthy_model",
    "make_tweet_stance_model",
    "make_document_stance_model",
    "make_headline_stance_model",
    "calibration_folds",
    "CLAIM_HINTS",
    "CONTEXT",
    "COLUMNS",
    "frame",
]

#: Optional columns the claim model reads with ``hints=True``, and their value when unknown.
CLAIM_HINTS: dict[str, Any] = {"speaker": "", "position": 0.0, "in_quote": 0.0}
#: Neighbouring sentences (a sentence record's ``context``), read by the ``checkworthy`` preset.
CONTEXT: dict[str, Any] = {"previous": "", "next": ""}
#: Every column a model may read, in :func:`frame`'s order, with its value when unknown.
COLUMNS: dict[str, Any] = {"text": "", "target": "", **CLAIM_HINTS, **CONTEXT}


class FrameColumns(TransformerMixin, BaseEstimator):
    """The first step of every model: the named columns it reads, as a DataFrame.

    A DataFrame (what :func:`frame` gives) is read by column name, and a column it lacks takes its
    :data:`COLUMNS` default; a 2-D array or list of rows is read by position, in ``columns``'
    order. The array path is what lets a whole model go through scikit-learn's estimator checks
    (``tests/test_models_presets.py``) and be used on plain rows like any estimator.

    Parameters
    ----------
    columns : names the later steps read, from :data:`COLUMNS`.
    """

    def __init__(self, columns: tuple[str, ...] = ("text",)) -> None:
        self.columns = columns

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        unknown = [c for c in self.columns if c not in COLUMNS]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown}; a model reads: {', '.join(COLUMNS)}")
        self._frame(X, reset=True)
        return self

    def transform(self, X) -> pd.DataFrame:
        check_is_fitted(self, "n_features_in_")
        return self._frame(X, reset=False)

    def _frame(self, X, reset: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
            if reset:
                self.n_features_in_ = X.shape[1]
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif X.shape[1] != self.n_features_in_ and not set(self.columns) <= set(names):
                raise ValueError(f"X has {X.shape[1]} features, but FrameColumns is expecting {self.n_features_in_}")
            cols = {c: X[c].to_numpy() for c in self.columns if c in X.columns}
            n = len(X)
        else:
            A = validate_data(self, X, reset=reset, dtype=None, ensure_all_finite=False)
            cols = {c: A[:, j] for j, c in enumerate(self.columns[: A.shape[1]])}
            n = A.shape[0]
        out = {}
        for c in self.columns:
            default = COLUMNS[c]
            if c not in cols:
                out[c] = [default] * n
            elif isinstance(default, str):
                out[c] = as_texts(cols[c])
            else:
                out[c] = (
                    pd.to_numeric(pd.Series(cols[c], dtype=object), errors="coerce").fillna(default).to_numpy(float)
                )
        return pd.DataFrame(out, index=pd.RangeIndex(n))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.columns, dtype=object)


def calibration_folds(cv: int) -> StratifiedKFold:
    """The folds a model calibrates on: shuffled, because label tables often come sorted.

    Unshuffled folds of a table sorted by target leave whole targets out of a fold's training
    part; the out-of-fold scores of those targets are then meaningless and so is the calibration
    (on SemEval-2016, sorted by target, the per-target model fell from 67 to 34 F_avg).
    """
    return StratifiedKFold(cv, shuffle=True, random_state=0)


def _classifier(C: float, class_weight: str | None, calibration: str, cv: int) -> CalibratedClassifierCV:
    # random_state: LinearSVC's dual solver visits samples in random order; fixed, a refit gives
    # the same model (sklearn's check_fit_idempotent)
    svm = LinearSVC(C=C, class_weight=class_weight, max_iter=5000, random_state=0)
    return CalibratedClassifierCV(svm, method=calibration, cv=calibration_folds(cv), ensemble=False)


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
            OptionalWordTfidf(ngram_range=word_ngrams, min_df=min_df, max_features=max_features, sublinear_tf=True),
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
            ("columns", FrameColumns(("text", "speaker", "position", "in_quote") if hints else ("text",))),
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
            ("columns", FrameColumns(("target", "text"))),
            ("features", ColumnTransformer(blocks, sparse_threshold=1.0)),
            ("clf", _classifier(C, class_weight, calibration, cv)),
        ]
    )


def frame(rows: pd.DataFrame | list[dict[str, Any]], *, stance: bool = False) -> pd.DataFrame:
    """The columns a model reads, from any table with ``text`` (and ``target`` for stance).

    Missing hint columns get their "unknown" value from :data:`COLUMNS`; missing text is "".
    ``previous`` and ``next`` come from those columns or from a sentence record's ``context``
    (``{"previous": ..., "next": ...}``). A model ignores columns it was not built to read, so one
    frame serves every model. Records (a list of dicts) are read column by column: building a
    DataFrame of every key of every record first cost more than the model itself at prediction
    time.
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
    context = df.get("context")
    for col in CONTEXT:
        if col in df:
            out[col] = df[col].fillna("").astype(str)
        elif context is not None:
            out[col] = [("" if not isinstance(c, dict) or _missing(v := c.get(col)) else str(v)) for c in context]
        else:
            out[col] = ""
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
    for col in CONTEXT:
        columns[col] = [_context(r, col) for r in rows]
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def _context(record: dict[str, Any], col: str) -> str:
    value = record.get(col)
    if _missing(value):
        ctx = record.get("context")
        value = ctx.get(col) if isinstance(ctx, dict) else None
    return "" if _missing(value) else str(value)


# --- the presets' models (see annotate.models.presets) ------------------------------------


def make_checkworthy_model(
    *,
    C: float = 0.1,
    context: bool = False,
    context_weight: float = 0.5,
    speaker: bool = True,
    min_speaker_count: int = 20,
    class_weight: str | None = "balanced",
    ngram_C: float = 10.0,
    calibration: str = "sigmoid",
    cv: int = 3,
) -> VotingClassifier:
    """Claim model of the ``checkworthy`` preset: a sentence's words and cues, who speaks, and where.

    Two models whose probabilities are averaged (soft voting):

    - word 1-2 and char 2-5 gram TF-IDF and the claim cues of the sentence; with ``speaker`` the
      speaker (one-hot, speakers seen fewer than ``min_speaker_count`` times pooled) and the
      relative position in the document; with ``context`` the word TF-IDF of the previous and next
      sentences (the record's ``context``), scaled by ``context_weight``. Into a calibrated,
      class-balanced logistic regression (check-worthy claims are rare: 2.7% of the CLEF-2019
      debate sentences).
    - word 1-3 gram TF-IDF into a lightly regularised logistic regression (``ngram_C``).

    In 5-fold CV by debate on the CLEF-2019 training debates, MAP 0.238 for the pair against
    0.227 for the first alone and 0.213 for the second alone; the neighbouring sentences did not
    help there (0.227 with, 0.231 without), so ``context`` is off by default.
    """
    blocks: list[tuple[str, Any, Any]] = [
        ("words", OptionalWordTfidf(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "text"),
        (
            "chars",
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, max_features=100_000, sublinear_tf=True),
            "text",
        ),
        ("cues", ClaimFeatures(), ["text"]),
    ]
    weights: dict[str, float] = {}
    columns = ["text"]
    if context:
        for col in CONTEXT:
            blocks.append((col, OptionalWordTfidf(ngram_range=(1, 1), min_df=2, sublinear_tf=True), col))
            weights[col] = context_weight
        columns += list(CONTEXT)
    if speaker:
        speakers = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_speaker_count)
        blocks.append(("speaker", speakers, ["speaker"]))
        blocks.append(("position", "passthrough", ["position"]))
        columns += ["speaker", "position"]
    features = Pipeline(
        [
            ("columns", FrameColumns(tuple(columns))),
            ("features", ColumnTransformer(blocks, sparse_threshold=1.0, transformer_weights=weights or None)),
            (
                "clf",
                CalibratedClassifierCV(
                    LogisticRegression(C=C, class_weight=class_weight, max_iter=3000),
                    method=calibration,
                    cv=calibration_folds(cv),
                    ensemble=False,
                ),
            ),
        ]
    )
    ngrams = Pipeline(
        [
            ("columns", FrameColumns(("text",))),
            ("features", ColumnTransformer([("ngrams", OptionalWordTfidf(ngram_range=(1, 3)), "text")])),
            ("clf", LogisticRegression(C=ngram_C, max_iter=3000)),
        ]
    )
    return VotingClassifier([("features", features), ("ngrams", ngrams)], voting="soft")


def make_tweet_stance_model(
    *,
    C: float = 1.0,
    pooled_C: float = 0.3,
    word_ngrams: tuple[int, int] = (1, 3),
    char_ngrams: tuple[int, int] = (2, 5),
    class_weight: str | None = "balanced",
    calibration: str = "sigmoid",
    cv: int = 3,
) -> VotingClassifier:
    """Stance model of the ``stance-tweet`` preset: per-target and pooled n-gram SVMs, averaged.

    Two calibrated linear SVMs on word and char n-grams
    (:class:`~annotate.models.document.PerTargetNgrams`): one with a copy of the features per
    target, which is the SVM-ngrams model of SemEval-2016 (Mohammad et al. 2016) as one
    estimator, and one that also has a copy shared by all targets (Daumé III's feature
    augmentation, ``pooled_C``). Their probabilities are averaged (soft voting): in 5-fold CV on
    the SemEval-2016 training tweets, 69.7 F_avg against 69.0 and 69.2 for each alone.
    """

    def member(shared: bool, c: float) -> Pipeline:
        return Pipeline(
            [
                ("columns", FrameColumns(("target", "text"))),
                (
                    "features",
                    ColumnTransformer(
                        [("ngrams", PerTargetNgrams(word_ngrams, char_ngrams, shared=shared), ["target", "text"])],
                        sparse_threshold=1.0,
                    ),
                ),
                ("clf", _classifier(c, class_weight, calibration, cv)),
            ]
        )

    return VotingClassifier([("per_target", member(False, C)), ("pooled", member(True, pooled_C))], voting="soft")


def make_document_stance_model(
    *,
    n_components: int = 100,
    n_svd_features: int = 0,
    max_iter: int = 200,
    learning_rate: float = 0.1,
) -> Pipeline:
    """Stance model of the ``stance-document`` preset: a claim against a long text or a headline.

    :class:`~annotate.models.document.DocumentPairFeatures` (overlap, cosines, lexicon cues) into
    gradient-boosted trees, whose probabilities are already usable. The raw SVD components of
    both sides (``n_svd_features``) are off by default: they learn the training topics, and on
    new topics (FNC-1's test has none of the training headlines or bodies) they cost more than
    they give.
    """
    return Pipeline(
        [
            ("columns", FrameColumns(("target", "text"))),
            (
                "features",
                ColumnTransformer(
                    [("pair", DocumentPairFeatures(n_components, n_svd_features), ["target", "text"])],
                    sparse_threshold=0.0,
                ),
            ),
            (
                "clf",
                HistGradientBoostingClassifier(
                    max_iter=max_iter, learning_rate=learning_rate, early_stopping=False, random_state=0
                ),
            ),
        ]
    )


def make_headline_stance_model(*, C: float = 1.0) -> Pipeline:
    """Stance model of the ``stance-headline`` preset: a short text (a headline) toward a claim.

    :class:`~annotate.models.document.HeadlineFeatures` (Ferreira and Vlachos 2016's feature
    families without a parser) into multinomial logistic regression, whose probabilities are
    usable as they are.
    """
    return Pipeline(
        [
            ("columns", FrameColumns(("target", "text"))),
            (
                "features",
                ColumnTransformer([("headline", HeadlineFeatures(), ["target", "text"])], sparse_threshold=1.0),
            ),
            ("clf", LogisticRegression(C=C, max_iter=3000)),
        ]
    )
