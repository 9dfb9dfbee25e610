"""The benchmark models: scikit-learn estimators over the loaders' tables (``text``, ``target``...).

Each ``make_*`` function returns an unfitted estimator whose ``fit(X, y)`` takes a DataFrame
from :mod:`annotate.bench.loaders` and the ``label`` column:

- :func:`make_semeval_model`: word 1-3 + char 2-5 gram TF-IDF, copied once shared and once per
  target ("frustratingly easy" domain adaptation, Daumé III 2007), one linear SVM with balanced
  class weights. The per-target SVM-ngrams of Mohammad et al. (2016) is the special case
  without the shared copy.
- :func:`make_fnc_model`: pair features (TF-IDF and SVD cosines, token and n-gram overlap of the
  headline with the body and its start, refuting / hedging / supporting word counts, SVD
  components of both sides) into a gradient-boosted tree ensemble, in the spirit of the FNC-1
  baseline and Athene/UCLMR (Hanselowski et al. 2018).
- :func:`make_emergent_model`: Ferreira and Vlachos (2016)'s feature families without a parser
  (headline bag of words, question mark, refuting and hedging words, claim/headline overlap)
  into logistic regression.
- :func:`make_checkworthy_model`: sentence TF-IDF (word and char), neighbouring sentences,
  speaker and turn structure, numbers and capitalised-word counts into logistic regression whose
  ``decision_function`` ranks sentences (CLEF-2019); with ``context=False`` the sentence alone
  (ClaimBuster).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_union
from sklearn.preprocessing import OneHotEncoder, StandardScaler, normalize
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "TargetAugmented",
    "PairFeatures",
    "HeadlineFeatures",
    "SentenceFeatures",
    "make_semeval_model",
    "make_fnc_model",
    "make_emergent_model",
    "make_checkworthy_model",
    "REFUTING",
    "HEDGING",
    "SUPPORTING",
]

#: refuting words: the FNC-1 baseline's list plus a few inflections
REFUTING = [
    "fake",
    "fraud",
    "hoax",
    "false",
    "deny",
    "denies",
    "denied",
    "not",
    "despite",
    "nope",
    "doubt",
    "doubts",
    "bogus",
    "debunk",
    "debunked",
    "pranks",
    "retract",
    "retracted",
    "no",
    "never",
    "refute",
    "refuted",
    "unverified",
    "untrue",
    "misleading",
    "satire",
]
#: hedging words (Ferreira and Vlachos 2016, after Hyland's hedges)
HEDGING = [
    "alleged",
    "allegedly",
    "apparently",
    "appear",
    "appears",
    "claim",
    "claims",
    "claimed",
    "could",
    "evidently",
    "largely",
    "likely",
    "mainly",
    "may",
    "maybe",
    "might",
    "mostly",
    "perhaps",
    "presumably",
    "probably",
    "purported",
    "purportedly",
    "reported",
    "reportedly",
    "rumor",
    "rumour",
    "rumors",
    "rumours",
    "rumored",
    "rumoured",
    "says",
    "said",
    "seem",
    "seems",
    "somewhat",
    "unconfirmed",
    "report",
    "reports",
    "according",
]
SUPPORTING = [
    "confirmed",
    "confirms",
    "confirm",
    "official",
    "officially",
    "announced",
    "revealed",
    "shows",
    "proved",
    "true",
    "indeed",
    "verified",
]
_LEXICON = REFUTING + HEDGING + SUPPORTING
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(ENGLISH_STOP_WORDS)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _column(X: pd.DataFrame, name: str) -> pd.Series:
    if not isinstance(X, pd.DataFrame) or name not in X.columns:
        raise ValueError(f"expected a DataFrame with a '{name}' column, got {type(X).__name__}")
    return X[name].fillna("").astype(str)


# --- SemEval: shared + per-target copies of n-gram features --------------------------------


class TargetAugmented(BaseEstimator, TransformerMixin):
    """Word and char n-gram TF-IDF of ``text``, stacked as [shared, copy for target 1, ...].

    Each target's copy is zero outside that target's rows, so one linear model learns what all
    targets share and what each adds (Daumé III 2007, "Frustratingly Easy Domain Adaptation").
    Targets unseen in ``fit`` get the shared block only.

    Parameters: ``word_ngrams`` and ``char_ngrams`` (ranges), ``char_min_df``, ``shared`` (keep
    the shared block; False gives plain per-target features).
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 3),
        char_ngrams: tuple[int, int] = (2, 5),
        char_min_df: int = 2,
        shared: bool = True,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.char_min_df = char_min_df
        self.shared = shared

    def fit(self, X: pd.DataFrame, y=None) -> TargetAugmented:
        self.vectorizer_ = make_union(
            TfidfVectorizer(ngram_range=self.word_ngrams, sublinear_tf=True),
            TfidfVectorizer(analyzer="char", ngram_range=self.char_ngrams, sublinear_tf=True, min_df=self.char_min_df),
        ).fit(_column(X, "text"))
        self.targets_ = sorted(_column(X, "target").unique())
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        check_is_fitted(self, "targets_")
        base = self.vectorizer_.transform(_column(X, "text")).tocsr()
        target = _column(X, "target").to_numpy()
        blocks = [base] if self.shared else []
        for t in self.targets_:
            blocks.append(sp.diags((target == t).astype(float)) @ base)
        return sp.hstack(blocks).tocsr()


def make_semeval_model(C: float = 0.3, shared: bool = True) -> Pipeline:
    """Target-augmented word 1-3 + char 2-5 gram TF-IDF into a balanced linear SVM."""
    return Pipeline([("features", TargetAugmented(shared=shared)), ("svm", LinearSVC(C=C, class_weight="balanced"))])


# --- FNC-1: headline/body pair features into boosted trees ---------------------------------


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return set(zip(*[tokens[i:] for i in range(n)], strict=False))


class _TextInfo:
    """Token sets and lexicon counts of one text, computed once per distinct text."""

    __slots__ = ("tokens", "set", "content", "start", "grams", "start_grams", "lexicon", "counts", "n", "question")

    def __init__(self, text: str, start_tokens: int = 50) -> None:
        t = _tokens(text)
        head = t[:start_tokens]
        self.tokens = t
        self.set = set(t)
        self.content = self.set - _STOP
        self.start = set(head) - _STOP
        self.grams = {n: _ngrams(t, n) for n in (2, 3, 4)}
        self.start_grams = {n: _ngrams(head, n) for n in (2, 3, 4)}
        self.counts = Counter(t)
        self.lexicon = np.array([self.counts[w] for w in _LEXICON], dtype=float)
        self.n = len(t)
        self.question = "?" in text


def _overlap_features(h: _TextInfo, b: _TextInfo) -> list[float]:
    hs = h.content or h.set
    f = [
        len(h.set & b.set) / max(1, len(h.set | b.set)),
        len(hs & b.content) / max(1, len(hs)),
        len(hs & b.start) / max(1, len(hs)),
        float(len(hs & b.content)),
        float(len(hs)),
        float(h.n),
        float(np.log1p(b.n)),
        float(h.question),
        float(np.log1p(sum(b.counts[w] for w in hs))),
    ]
    for n in (2, 3, 4):
        f.append(len(h.grams[n] & b.grams[n]) / max(1, len(h.grams[n])))
        f.append(len(h.grams[n] & b.start_grams[n]) / max(1, len(h.grams[n])))
    return f


class PairFeatures(BaseEstimator, TransformerMixin):
    """Dense features of (``target`` = headline, ``text`` = body) pairs.

    Columns: token and 2-4-gram overlap of the headline with the body and with its first
    ``start_tokens`` tokens; lexicon words (refuting, hedging, supporting) present in the headline
    and counted in the body; TF-IDF cosine of the headline with the body and with its first 300
    characters; cosine in an ``n_components`` SVD space, and the first ``n_svd_features`` SVD
    components of both sides and their product. Distinct headlines and bodies are processed once.
    """

    def __init__(self, n_components: int = 100, n_svd_features: int = 50, start_tokens: int = 50) -> None:
        self.n_components = n_components
        self.n_svd_features = n_svd_features
        self.start_tokens = start_tokens

    def fit(self, X: pd.DataFrame, y=None) -> PairFeatures:
        heads = _column(X, "target").drop_duplicates()
        bodies = _column(X, "text").drop_duplicates()
        corpus = pd.concat([heads, bodies], ignore_index=True)
        self.tfidf_ = TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, max_features=50000, stop_words="english", sublinear_tf=True
        ).fit(corpus)
        n_comp = max(2, min(self.n_components, len(corpus) - 1, len(self.tfidf_.vocabulary_) - 1))
        self.svd_ = TruncatedSVD(n_comp, random_state=0).fit(self.tfidf_.transform(corpus))
        return self

    def _side(self, texts: pd.Series, prefix_chars: int | None = None):
        uniq = texts.drop_duplicates()
        index = pd.Index(uniq).get_indexer(texts)
        src = uniq.str.slice(0, prefix_chars) if prefix_chars else uniq
        tf = self.tfidf_.transform(src)
        return uniq, index, tf

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "svd_")
        heads, bodies = _column(X, "target"), _column(X, "text")
        hu, hi, htf = self._side(heads)
        bu, bi, btf = self._side(bodies)
        _, _, bstf = self._side(bodies, prefix_chars=300)
        hinfo = [_TextInfo(t, self.start_tokens) for t in hu]
        binfo = [_TextInfo(t, self.start_tokens) for t in bu]
        hand = np.array(
            [_overlap_features(hinfo[a], binfo[b]) for a, b in zip(hi, bi, strict=True)], dtype=float
        ).reshape(len(X), -1)
        hlex = np.vstack([i.lexicon for i in hinfo])[hi] > 0
        blex = np.log1p(np.vstack([i.lexicon for i in binfo]))[bi]
        cos = np.asarray(htf[hi].multiply(btf[bi]).sum(axis=1)).ravel()
        cos_start = np.asarray(htf[hi].multiply(bstf[bi]).sum(axis=1)).ravel()
        hs = normalize(self.svd_.transform(htf))[hi]
        bs = normalize(self.svd_.transform(btf))[bi]
        k = min(self.n_svd_features, hs.shape[1])
        return np.hstack(
            [
                hand,
                hlex.astype(float),
                blex,
                np.column_stack([cos, cos_start, (hs * bs).sum(axis=1)]),
                hs[:, :k],
                bs[:, :k],
                hs[:, :k] * bs[:, :k],
            ]
        )


def make_fnc_model(fast: bool = False, max_iter: int = 300, learning_rate: float = 0.1) -> Pipeline:
    """Pair features into a HistGradientBoostingClassifier over the four FNC-1 classes.

    ``fast`` shrinks the SVD and the number of boosting rounds for CI smoke runs.
    """
    return Pipeline(
        [
            ("features", PairFeatures(n_components=30 if fast else 100, n_svd_features=10 if fast else 50)),
            (
                "trees",
                HistGradientBoostingClassifier(
                    max_iter=60 if fast else max_iter,
                    learning_rate=learning_rate,
                    early_stopping=False,
                    random_state=0,
                ),
            ),
        ]
    )


# --- Emergent: Ferreira and Vlachos (2016) features without a parser ------------------------


class HeadlineFeatures(BaseEstimator, TransformerMixin):
    """Features of an article headline (``text``) toward a claim (``target``).

    After Ferreira and Vlachos (2016): the headline's bag of words (1-2 grams; char 2-5 grams too
    with ``char_ngrams=True``, which did not help in grouped CV), whether it ends in / holds a
    question mark, refuting and hedging words present, and the claim/headline alignment
    approximated by token, content-word and bigram overlap and TF-IDF cosine (their PPDB
    alignment and dependency features need a parser; these stand in).
    """

    def __init__(self, char_ngrams: bool = False) -> None:
        self.char_ngrams = char_ngrams

    def fit(self, X: pd.DataFrame, y=None) -> HeadlineFeatures:
        text = _column(X, "text")
        self.words_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit(text)
        self.chars_ = (
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3).fit(text)
            if self.char_ngrams
            else None
        )
        self.pair_tfidf_ = TfidfVectorizer(sublinear_tf=True).fit(pd.concat([text, _column(X, "target")]))
        self.scaler_ = StandardScaler().fit(self._dense(X))
        return self

    def _dense(self, X: pd.DataFrame) -> np.ndarray:
        rows = []
        for head, claim in zip(_column(X, "text"), _column(X, "target"), strict=True):
            h, c = _tokens(head), _tokens(claim)
            hs, cs = set(h), set(c)
            hc, cc = hs - _STOP, cs - _STOP
            rows.append(
                [
                    float("?" in head),
                    float(head.rstrip().endswith("?")),
                    len(hs & cs) / max(1, len(hs | cs)),
                    len(hc & cc) / max(1, len(cc)),
                    len(hc & cc) / max(1, len(hc)),
                    len(_ngrams(h, 2) & _ngrams(c, 2)) / max(1, len(_ngrams(c, 2))),
                    float(len(h)),
                    *[float(w in hs) for w in REFUTING],
                    *[float(w in hs) for w in HEDGING],
                    float(sum(w in hs for w in REFUTING)),
                    float(sum(w in hs for w in HEDGING)),
                    float(sum(w in cs for w in REFUTING)),
                ]
            )
        dense = np.array(rows, dtype=float).reshape(len(X), -1)
        a = self.pair_tfidf_.transform(_column(X, "text"))
        b = self.pair_tfidf_.transform(_column(X, "target"))
        cos = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        return np.column_stack([dense, cos])

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        check_is_fitted(self, "scaler_")
        text = _column(X, "text")
        blocks = [self.words_.transform(text), sp.csr_matrix(self.scaler_.transform(self._dense(X)))]
        if self.chars_ is not None:
            blocks.append(self.chars_.transform(text))
        return sp.hstack(blocks).tocsr()


def make_emergent_model(C: float = 1.0, char_ngrams: bool = False) -> Pipeline:
    """Headline features into multinomial logistic regression (as Ferreira and Vlachos 2016)."""
    return Pipeline(
        [
            ("features", HeadlineFeatures(char_ngrams=char_ngrams)),
            ("lr", LogisticRegression(C=C, max_iter=3000)),
        ]
    )


# --- check-worthiness: sentence, context, speaker and turn structure -----------------------


_NUMERIC = re.compile(r"percent|%|\$|\bmillion|\bbillion|\btrillion|\bthousand", re.I)
_CAPITALISED = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]+")


class SentenceFeatures(BaseEstimator, TransformerMixin):
    """Features of one sentence among its neighbours, for check-worthiness ranking.

    Columns: word 1-2 and char 2-5 gram TF-IDF of ``text``; with ``context``, the word TF-IDF of
    the previous and next sentences of the same ``group`` (debate), scaled by
    ``context_weight``, the speaker (one-hot, rare ones pooled) and turn structure (speaker's share
    of the debate, first/last sentence of a turn, position in the turn and the debate); always
    length, digits, quantities and capitalised-word counts. Rows must be in document order
    within each group (the loaders keep file order).
    """

    def __init__(self, context: bool = True, context_weight: float = 0.5, min_speaker_count: int = 20) -> None:
        self.context = context
        self.context_weight = context_weight
        self.min_speaker_count = min_speaker_count

    def _structure(self, X: pd.DataFrame) -> np.ndarray:
        text = _column(X, "text")
        cols = [
            text.str.split().str.len().fillna(0).to_numpy(float),
            text.str.contains(r"\d").to_numpy(float),
            text.str.contains(_NUMERIC).to_numpy(float),
            text.map(lambda t: len(_CAPITALISED.findall(t))).to_numpy(float),
            text.str.rstrip().str.endswith("?").to_numpy(float),
        ]
        if self.context:
            group, speaker = _column(X, "group"), _column(X, "speaker")
            new_turn = (speaker != speaker.groupby(group).shift(1)).to_numpy()
            turn = pd.Series(np.cumsum(new_turn), index=X.index)
            size = turn.map(turn.value_counts()).to_numpy(float)
            pos = turn.groupby(turn).cumcount().to_numpy(float)
            share = speaker.groupby([group, speaker]).transform("size") / group.map(group.value_counts())
            rank = group.groupby(group).cumcount() / group.map(group.value_counts())
            cols += [share.to_numpy(float), new_turn.astype(float), pos, np.log1p(size), (pos == size - 1) * 1.0]
            cols.append(rank.to_numpy(float))
        return np.column_stack(cols)

    def _neighbours(self, X: pd.DataFrame, shift: int) -> pd.Series:
        return _column(X, "text").groupby(_column(X, "group")).shift(shift).fillna("")

    def fit(self, X: pd.DataFrame, y=None) -> SentenceFeatures:
        text = _column(X, "text")
        self.words_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit(text)
        self.chars_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3, max_features=100000
        ).fit(text)
        self.scaler_ = StandardScaler().fit(self._structure(X))
        if self.context:
            self.speakers_ = OneHotEncoder(handle_unknown="ignore", min_frequency=self.min_speaker_count).fit(
                _column(X, "speaker").to_frame()
            )
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        check_is_fitted(self, "scaler_")
        text = _column(X, "text")
        blocks = [
            self.words_.transform(text),
            self.chars_.transform(text),
            sp.csr_matrix(self.scaler_.transform(self._structure(X))),
        ]
        if self.context:
            w = self.context_weight
            blocks += [
                w * self.words_.transform(self._neighbours(X, 1)),
                w * self.words_.transform(self._neighbours(X, -1)),
                self.speakers_.transform(_column(X, "speaker").to_frame()),
            ]
        return sp.hstack(blocks).tocsr()


def make_checkworthy_model(context: bool = True, C: float = 0.1) -> Pipeline:
    """Sentence features into balanced logistic regression; rank by ``decision_function``.

    ``context=True`` for debates (CLEF-2019: needs ``group`` and ``speaker``), False for single
    sentences (ClaimBuster).
    """
    return Pipeline(
        [
            ("features", SentenceFeatures(context=context)),
            ("lr", LogisticRegression(C=C, class_weight="balanced", max_iter=3000, solver="liblinear")),
        ]
    )
