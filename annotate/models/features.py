"""Hand-built features for check-worthiness and stance, as scikit-learn transformers.

Word n-grams alone miss what makes a sentence worth checking (a number, a percentage, an amount
of money, a named body, a comparison) and what makes a reply disagree with its target (a
denial, a negation near the target's words). These transformers add a few dense, interpretable
columns beside the TF-IDF blocks of :mod:`annotate.models.pipelines`.

All three take a 2-D input, one text per cell, like ``OneHotEncoder`` (a ``ColumnTransformer``
gives them ``df[["text"]]`` or ``df[["target", "text"]]``). Missing cells (``None``/NaN) count as
empty text, and any other cell is read as ``str(cell)``, which is also what lets them pass
``sklearn.utils.estimator_checks`` on numeric arrays.

- :class:`ClaimFeatures` (stateless): cue counts per text column.
- :class:`PairFeatures`: column 0 is the reference (the stance target), every further column is
  compared with it: TF-IDF cosine, token overlap, negation / refutation / support cues.
- :class:`TargetWordTfidf`: TF-IDF over ``target x word`` tokens, so a linear model can learn that
  "wall" means Favor for one target and Against for another (the per-target models of the
  SemEval-2016 SVM baseline, in one model).
"""

from __future__ import annotations

import math
import re
import weakref
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "ClaimFeatures",
    "PairFeatures",
    "TargetWordTfidf",
    "WordTfidf",
    "OptionalWordTfidf",
    "TextTransformer",
    "as_texts",
    "validate_text_columns",
]

_WORD = re.compile(r"\w+(?:'\w+)?")
_NEGATION = re.compile(r"\b(?:not|no|never|nor|none|neither|nobody|nothing|without|cannot)\b|n't\b", re.I)
_REFUTE = re.compile(
    r"\b(?:den(?:y|ies|ied|ial)|false(?:ly)?|fake|hoax|reject\w*|refut\w*|debunk\w*|dismiss\w*|"
    r"contrar\w*|oppos\w*|against|doubt\w*|untrue|misleading|lie[sd]?|myth|rumou?rs?|claims?|"
    r"alleg\w*|disput\w*|condemn\w*|criticis\w*|criticiz\w*|refus\w*|halt\w*|stop\w*|ban\w*)\b",
    re.I,
)
_SUPPORT = re.compile(
    r"\b(?:confirm\w*|agree\w*|support\w*|welcom\w*|approv\w*|prais\w*|back(?:s|ed|ing)?|endorse\w*|"
    r"favou?r\w*|true|indeed|announc\w*|sign(?:s|ed)?|will|committed|cooperat\w*|proud)\b",
    re.I,
)
_REPORTING = re.compile(r"\b(?:according|reported(?:ly)?|said|says|told|sources?|reports?|unconfirmed)\b", re.I)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Words too common to count as overlap between a target and a sentence.
_STOP = frozenset(
    _words(
        "a an the of in on at to for from by with and or but is are was were be been being it its this that these "
        "those as into about over under than then there their they them he she his her we our you your i me my "
        "not no do does did has have had will would can could should may might must so such if also just more "
        "most very what which who whom whose when where why how all any some each other"
    )
)

CLAIM_FEATURES = (
    "n_words_log",
    "has_number",
    "n_numbers_log",
    "percent",
    "money",
    "quantity",
    "year",
    "comparison",
    "capitalised_ratio",
    "acronym",
    "hedge",
    "first_person",
    "second_person",
    "evaluative",
    "negation",
    "question",
    "exclamation",
    "quote",
    "reporting",
)
PAIR_FEATURES = (
    "tfidf_cosine",
    "target_coverage",
    "jaccard",
    "negation",
    "refute",
    "support",
    "reporting",
    "negated_target",
    "question",
)


def as_texts(column: np.ndarray) -> list[str]:
    """One column of cells as strings; ``None`` and NaN become "" (a missing text is empty)."""
    out = []
    for cell in column:
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            out.append("")
        else:
            out.append(str(cell))
    return out


def validate_text_columns(est: BaseEstimator, X, *, reset: bool, min_columns: int = 1) -> np.ndarray:
    # dtype=None keeps strings as objects; NaN is allowed because it means "no text".
    X = validate_data(est, X, reset=reset, dtype=None, ensure_all_finite=False)
    if X.shape[1] < min_columns:
        raise ValueError(
            f"{type(est).__name__} needs at least {min_columns} columns (reference, text...); "
            f"got {X.shape[1]} feature(s)"
        )
    return X


# Word lists of the claim cues, looked up per token (one regex pass per text keeps the cue
# block cheaper than the TF-IDF block; see benchmarks/model_speed.py).
_CUE_WORDS: dict[str, tuple[str, ...]] = {
    "percent": ("percent", "percentage", "percentages"),
    "money": _words(
        "dollar dollars peso pesos euro euros pound pounds usd mxn budget budgets tax taxes cost costs "
        "spend spending spent paid pay funding fund funds debt deficit"
    ),
    "quantity": _words(
        "hundred hundreds thousand thousands million millions billion billions trillion trillions dozen dozens "
        "half twice double doubled triple tripled km kilometers kilometres miles tons tonnes megawatts mw gw "
        "barrels hectares acres jobs people workers deaths killed victims homicides cases percent"
    ),
    "comparison": _words(
        "more less fewer most least highest lowest largest biggest smallest record increase increased increases "
        "decrease decreased decreases rose risen fell fallen grew grown drop dropped doubled cut than since ago "
        "average rate first only"
    ),
    "hedge": _words(
        "may might could perhaps possibly probably likely seem seems appear appears believe think guess suggest "
        "suggests reportedly allegedly apparently maybe hope should would"
    ),
    "first_person": _words("i i'm i've i'll me my mine we we're we've we'll us our ours"),
    "second_person": _words("you your yours you're"),
    "evaluative": _words(
        "great terrible horrible disaster disastrous wonderful amazing best worst bad good wrong right shame "
        "shameful ridiculous incredible tremendous beautiful stupid unfair fair"
    ),
    "negation": _words("not no never nor none neither nobody nothing without cannot"),
    "reporting": _words("according reported reportedly said says told source sources report reports unconfirmed"),
}
_CUE_INDEX: dict[str, tuple[int, ...]] = {}
for _i, _name in enumerate(_CUE_WORDS):
    for _w in _CUE_WORDS[_name]:
        _CUE_INDEX[_w] = (*_CUE_INDEX.get(_w, ()), _i)
_CUE_SLOTS = {name: i for i, name in enumerate(_CUE_WORDS)}


# The cues are computed for a whole column at once with Apache Arrow's compute kernels (C++,
# RE2 regexes, hash lookups) instead of a Python loop per text: about 4x cheaper per sentence,
# which matters at a million sentences (see benchmarks/model_speed.py). The definitions are
# those of the original per-text loop (tests/test_models_features.py keeps it as the reference):
# tokens are the lower-cased text split on whitespace and stripped of the punctuation in
# _STRIP, looked up in the cue word lists; a token ending in "n't" counts as a negation.
# Python's Unicode \d, \s and \b are spelt out for RE2, whose shorthands are ASCII-only.
_STRIP = "\"'\u201c\u201d\u2018\u2019.,;:!?()[]{}-\u2014\u2013\u2026"
_RE2_DIGIT = r"\p{Nd}"
_RE2_SPACE = r"[\t-\r\x1c-\x1f\x85\p{Z}]"  # Python's str.isspace()
_RE2_WORD = r"[\p{L}\p{N}_]"  # Python's \w: str.isalnum() or "_"
_RE2_NONWORD = r"[^\p{L}\p{N}_]"
_NUMBER_RE2 = rf"{_RE2_DIGIT}+(?:[.,]{_RE2_DIGIT}+)*"
_YEAR_RE2 = r"(?:^|\P{Nd})(?:1[89]|20)\p{Nd}\p{Nd}(?:$|\P{Nd})"
_CAPS_RE2 = rf"{_RE2_SPACE}[A-Z]"
_ACRONYM_RE2 = rf"(?:^|{_RE2_NONWORD})[A-Z]{{2,}}(?:$|{_RE2_NONWORD})"
_US_RE2 = rf"(?:^|{_RE2_NONWORD})US(?:$|{_RE2_NONWORD})"
_NEG_SLOT = _CUE_SLOTS["negation"]
_FIRST_SLOT = _CUE_SLOTS["first_person"]
_CUE_TERMS = pa.array(list(_CUE_INDEX), pa.string())
# cue word -> the lists it is in ("percent" is in two), padded with -1
_CUE_WIDTH = max(len(slots) for slots in _CUE_INDEX.values())
_CUE_LOOKUP = np.array([[*slots, *[-1] * (_CUE_WIDTH - len(slots))] for slots in _CUE_INDEX.values()])


def _arrow_texts(texts: list[str]) -> pa.Array:
    return pa.array(texts, pa.large_string())


def _count(texts: pa.Array, pattern: str) -> np.ndarray:
    return pc.count_substring_regex(texts, pattern).to_numpy(zero_copy_only=False).astype(np.float64)


def _has(texts: pa.Array, pattern: str, regex: bool = False) -> np.ndarray:
    found = pc.match_substring_regex(texts, pattern) if regex else pc.match_substring(texts, pattern)
    return found.to_numpy(zero_copy_only=False).astype(np.float64)


def _cue_block(texts: list[str]) -> np.ndarray:
    """The ``CLAIM_FEATURES`` columns for a list of texts (no missing values)."""
    n = len(texts)
    if n == 0:
        return np.zeros((0, len(CLAIM_FEATURES)))
    arr = _arrow_texts(texts)
    # Python's lower-casing (Arrow's differs for a few letters, e.g. dotted capital I), then trimmed:
    # Arrow keeps the empty strings before leading and after trailing whitespace
    trimmed = pc.utf8_trim_whitespace(_arrow_texts([t.lower() for t in texts]))
    words = pc.utf8_split_whitespace(trimmed)
    n_words = pc.list_value_length(words).to_numpy(zero_copy_only=False).astype(np.float64)
    n_words[pc.equal(trimmed, "").to_numpy(zero_copy_only=False)] = 0  # "" splits into [""]
    tokens = pc.utf8_trim(pc.list_flatten(words), characters=_STRIP)
    rows = pc.list_parent_indices(words).to_numpy(zero_copy_only=False)
    hit = pc.index_in(tokens, value_set=_CUE_TERMS)
    found = hit.is_valid().to_numpy(zero_copy_only=False)
    word = hit.fill_null(0).to_numpy()
    n_slots = len(_CUE_WORDS)
    counts = np.zeros(n * n_slots)
    for k in range(_CUE_WIDTH):  # each list the cue word is in
        slot = _CUE_LOOKUP[word[found], k]
        ok = slot >= 0
        counts += np.bincount(rows[found][ok] * n_slots + slot[ok], minlength=n * n_slots)
    counts = counts.reshape(n, n_slots)
    not_cue = ~found & pc.ends_with(tokens, "n't").to_numpy(zero_copy_only=False)
    counts[:, _NEG_SLOT] += np.bincount(rows[not_cue], minlength=n)
    first = counts[:, _FIRST_SLOT]
    us = (first > 0) & _has(arr, " US").astype(bool)
    if us.any():  # "US" the country is not first person
        # at most the "us" tokens counted: "US-led" matches the regex but is not the token "us"
        first[us] = np.maximum(first[us] - _count(pc.filter(arr, pa.array(us)), _US_RE2), 0)
    numbers = _count(arr, _NUMBER_RE2)
    c = _CUE_SLOTS
    out = np.empty((n, len(CLAIM_FEATURES)))
    out[:, 0] = np.log1p(n_words)
    out[:, 1] = numbers > 0
    out[:, 2] = np.log1p(numbers)
    out[:, 3] = (counts[:, c["percent"]] > 0) | (_has(arr, "%") > 0)
    out[:, 4] = (counts[:, c["money"]] > 0) | (_has(arr, "[$€£¥]", regex=True) > 0)
    out[:, 5] = counts[:, c["quantity"]] > 0
    out[:, 6] = _has(arr, _YEAR_RE2, regex=True)
    out[:, 7] = np.log1p(counts[:, c["comparison"]])
    out[:, 8] = _count(arr, _CAPS_RE2) / np.maximum(n_words - 1, 1)
    capitals = _has(arr, "[A-Z][A-Z]", regex=True).astype(bool)  # cheap pre-filter of the Unicode-aware regex
    out[:, 9] = 0.0
    if capitals.any():
        out[capitals, 9] = _has(pc.filter(arr, pa.array(capitals)), _ACRONYM_RE2, regex=True)
    out[:, 10] = np.log1p(counts[:, c["hedge"]])
    out[:, 11] = np.log1p(first)
    out[:, 12] = counts[:, c["second_person"]] > 0
    out[:, 13] = np.log1p(counts[:, c["evaluative"]])
    out[:, 14] = np.log1p(counts[:, c["negation"]])
    out[:, 15] = _has(arr, "?")
    out[:, 16] = _has(arr, "!")
    out[:, 17] = _has(arr, '["\u201c\u201d]', regex=True)
    out[:, 18] = counts[:, c["reporting"]] > 0
    return out


class TextTransformer(TransformerMixin, BaseEstimator):
    """Shared tags: string cells and NaN (= empty text) are valid input."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


class ClaimFeatures(TextTransformer):
    """Check-worthiness cues per text column: numbers, quantities, money, entities, hedges...

    Input: 2-D, each cell a text (``df[["text"]]``). Output: dense float array with
    ``len(CLAIM_FEATURES)`` columns per input column, flags in {0, 1} and counts as ``log1p``
    so that they sit on the same scale as TF-IDF weights. Stateless: ``fit`` only records the
    input shape.

    >>> ClaimFeatures().fit_transform([["Unemployment fell 3.5% in 2019."]])[0, :3].round(2).tolist()
    [1.79, 1.0, 1.1]
    """

    def fit(self, X, y=None):
        validate_text_columns(self, X, reset=True)
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        X = validate_text_columns(self, X, reset=False)
        blocks = [_cue_block(as_texts(X[:, j])) for j in range(X.shape[1])]
        out = np.hstack(blocks) if blocks else np.empty((X.shape[0], 0))
        return out.reshape(X.shape[0], len(CLAIM_FEATURES) * X.shape[1])

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        names = _input_names(self, input_features)
        return np.array([f"{c}__{f}" for c in names for f in CLAIM_FEATURES], dtype=object)


class PairFeatures(TextTransformer):
    """How a text relates to its reference (stance target): similarity and cue counts.

    Input: 2-D with at least two columns; column 0 is the reference, and each further column is
    compared with it (``df[["target", "text"]]``). Output: ``len(PAIR_FEATURES)`` dense columns per
    compared column: TF-IDF cosine (vocabulary fitted on both columns), share of the reference's
    content words found in the text, Jaccard overlap, negation / refutation / support / reporting
    cue counts, whether a negation precedes a shared word within four tokens, and a question flag.

    Parameters
    ----------
    sublinear_tf : bool
        Passed to the internal ``TfidfVectorizer`` used for the cosine.
    """

    def __init__(self, sublinear_tf: bool = True) -> None:
        self.sublinear_tf = sublinear_tf

    def fit(self, X, y=None):
        X = validate_text_columns(self, X, reset=True, min_columns=2)
        docs = [t for j in range(X.shape[1]) for t in as_texts(X[:, j])]
        vec = TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", sublinear_tf=self.sublinear_tf)
        try:
            vec.fit(docs)
            self.vectorizer_ = vec
        except ValueError:  # every cell empty: there is no vocabulary, and the cosine is 0
            self.vectorizer_ = None
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        X = validate_text_columns(self, X, reset=False, min_columns=2)
        ref = as_texts(X[:, 0])
        blocks = [self._pair_block(ref, as_texts(X[:, j])) for j in range(1, X.shape[1])]
        return np.hstack(blocks)

    def _pair_block(self, ref: list[str], texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(PAIR_FEATURES)), dtype=np.float64)
        if self.vectorizer_ is not None:
            a = self.vectorizer_.transform(ref)
            b = self.vectorizer_.transform(texts)
            out[:, 0] = np.asarray(a.multiply(b).sum(axis=1)).ravel()  # rows are L2-normalised
        for i, (r, t) in enumerate(zip(ref, texts, strict=True)):
            rw = [w.lower() for w in _WORD.findall(r)]
            tw = [w.lower() for w in _WORD.findall(t)]
            rc = {w for w in rw if w not in _STOP}
            tc = {w for w in tw if w not in _STOP}
            shared = rc & tc
            negated = any(
                w in shared and any(_NEGATION.fullmatch(x) or x.endswith("n't") for x in tw[max(0, k - 4) : k])
                for k, w in enumerate(tw)
            )
            out[i, 1:] = [
                len(shared) / len(rc) if rc else 0.0,
                len(shared) / len(rc | tc) if rc | tc else 0.0,
                math.log1p(len(_NEGATION.findall(t))),
                math.log1p(len(_REFUTE.findall(t))),
                math.log1p(len(_SUPPORT.findall(t))),
                math.log1p(len(_REPORTING.findall(t))),
                float(negated),
                float("?" in t),
            ]
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        names = _input_names(self, input_features)
        return np.array([f"{names[0]}~{c}__{f}" for c in names[1:] for f in PAIR_FEATURES], dtype=object)


class TargetWordTfidf(TextTransformer):
    """TF-IDF over (target, word) tokens: target and text featurised jointly.

    Input: 2-D with at least two columns; column 0 is the target, the others are joined as the
    text. Each lower-cased word of the text becomes the token ``<target>|<word>``, so its weight is
    learnt per target. Equivalent to a ``TfidfVectorizer(token_pattern=r"\\S+", lowercase=False)``
    fitted on the rewritten texts (built in ``fit`` as ``vectorizer_``).

    Parameters
    ----------
    min_df : int or float
        Passed to the internal ``TfidfVectorizer``.
    sublinear_tf : bool
        Passed to the internal ``TfidfVectorizer``.
    """

    def __init__(self, min_df: int | float = 1, sublinear_tf: bool = True) -> None:
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    def _docs(self, X: np.ndarray) -> list[str]:
        targets = as_texts(X[:, 0])
        texts = [" ".join(parts) for parts in zip(*(as_texts(X[:, j]) for j in range(1, X.shape[1])), strict=True)]
        docs = []
        for target, text in zip(targets, texts, strict=True):
            key = "_".join(w.lower() for w in _WORD.findall(target)) or "_"
            docs.append(" ".join(f"{key}|{w.lower()}" for w in _WORD.findall(text)))
        return docs

    def fit(self, X, y=None):
        X = validate_text_columns(self, X, reset=True, min_columns=2)
        vec = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, min_df=self.min_df, sublinear_tf=self.sublinear_tf)
        try:
            vec.fit(self._docs(X))
            self.vectorizer_ = vec
        except ValueError:  # no words at all (or all pruned by min_df): an empty block
            self.vectorizer_ = None
        return self

    def transform(self, X) -> sp.csr_matrix:
        check_is_fitted(self, "n_features_in_")
        X = validate_text_columns(self, X, reset=False, min_columns=2)
        if self.vectorizer_ is None:
            return sp.csr_matrix((X.shape[0], 0), dtype=np.float64)
        return self.vectorizer_.transform(self._docs(X)).tocsr()

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        if self.vectorizer_ is None:
            return np.array([], dtype=object)
        return np.asarray(self.vectorizer_.get_feature_names_out(), dtype=object)


def _input_names(est: BaseEstimator, input_features) -> list[str]:
    if input_features is not None:
        return [str(c) for c in input_features]
    if hasattr(est, "feature_names_in_"):
        return [str(c) for c in est.feature_names_in_]
    return [f"x{i}" for i in range(est.n_features_in_)]


# sklearn's default word analyzer, the one WordTfidf vectorises: lower-case, then maximal runs of
# two or more Python \w characters (letters, digits, underscore).
_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_TERMS_CACHE: weakref.WeakKeyDictionary[Any, tuple[int, pa.Array]] = weakref.WeakKeyDictionary()


class WordTfidf(TfidfVectorizer):
    """``TfidfVectorizer`` whose ``transform`` counts words with Apache Arrow kernels.

    sklearn tokenises each text and looks up each token in Python (about 20 µs a sentence, the
    largest cost of prediction); Arrow's C++ kernels (an RE2 split, a hash lookup into the
    vocabulary) give the same counts about three times faster, and the idf weighting and
    normalisation are sklearn's own (``tests/test_models_features.py`` checks the matrices are
    identical). Only the default word analyzer (any ``ngram_range``) takes this path; any other
    setting, or input that is not all strings, falls back to ``TfidfVectorizer.transform``.

    ``fit`` is ``TfidfVectorizer.fit``, then stores the vocabulary's indices as Python ints:
    skops writes each NumPy integer as a file of its own, which made loading a model slow.
    """

    def fit(self, raw_documents, y=None):
        super().fit(raw_documents, y)
        self.vocabulary_ = {term: int(i) for term, i in self.vocabulary_.items()}
        return self

    def fit_transform(self, raw_documents, y=None):
        X = super().fit_transform(raw_documents, y)
        self.vocabulary_ = {term: int(i) for term, i in self.vocabulary_.items()}
        return X

    def _arrow_path(self) -> bool:
        return (
            self.analyzer == "word"
            and self.tokenizer is None
            and self.preprocessor is None
            and self.token_pattern == _DEFAULT_TOKEN_PATTERN
            and self.lowercase
            and self.strip_accents is None
            and self.stop_words is None
            and self.input == "content"
        )

    def transform(self, raw_documents):
        if isinstance(raw_documents, str) or not self._arrow_path():
            return super().transform(raw_documents)
        check_is_fitted(self, "vocabulary_")
        docs = list(raw_documents)
        if not all(isinstance(doc, str) for doc in docs):
            return super().transform(docs)  # sklearn decodes bytes, or says what is wrong
        # Python's own lower-casing (context-dependent for a few letters, unlike Arrow's), as sklearn
        counts = self._arrow_counts(pa.array([doc.lower() for doc in docs], pa.large_string()))
        if self.binary:
            counts.data.fill(1)
        return self._tfidf.transform(counts, copy=False)

    def _terms(self) -> pa.Array:
        """The vocabulary as an Arrow array in column order (cached per fitted vocabulary)."""
        cached = _TERMS_CACHE.get(self)
        if cached is None or cached[0] != id(self.vocabulary_):
            terms = [""] * len(self.vocabulary_)
            for term, i in self.vocabulary_.items():
                terms[i] = term
            cached = (id(self.vocabulary_), pa.array(terms, pa.large_string()))
            _TERMS_CACHE[self] = cached
        return cached[1]

    def _arrow_counts(self, docs: pa.Array) -> sp.csr_matrix:
        """Term counts of lower-cased ``docs``, as ``CountVectorizer.transform`` gives them."""
        n = len(docs)
        words = pc.split_pattern_regex(docs, _RE2_NONWORD + "+")
        tokens = pc.list_flatten(words)
        rows = pc.list_parent_indices(words).to_numpy(zero_copy_only=False)
        keep = pc.greater_equal(pc.utf8_length(tokens), 2)  # the pattern's \w\w+; drops "" too
        tokens = pc.filter(tokens, keep)
        rows = rows[keep.to_numpy(zero_copy_only=False)]
        min_n, max_n = self.ngram_range
        grams, gram_rows = [], []
        if min_n == 1:
            grams.append(tokens)
            gram_rows.append(rows)
        for size in range(max(2, min_n), max_n + 1):  # n-grams of consecutive tokens of one text
            if len(tokens) < size:
                break
            same = rows[: len(rows) - size + 1] == rows[size - 1 :]
            parts = [tokens.slice(k, len(tokens) - size + 1) for k in range(size)]
            joined = pc.binary_join_element_wise(*parts, pa.scalar(" ", pa.large_string()))
            grams.append(pc.filter(joined, pa.array(same)))
            gram_rows.append(rows[: len(rows) - size + 1][same])
        if not grams:
            return sp.csr_matrix((n, len(self.vocabulary_)), dtype=self.dtype)
        column = pc.index_in(pa.chunked_array(grams, pa.large_string()), value_set=self._terms())
        found = column.is_valid().to_numpy(zero_copy_only=False)
        cols = column.fill_null(0).to_numpy()[found]
        counts = sp.csr_matrix(
            (np.ones(len(cols), dtype=self.dtype), (np.concatenate(gram_rows)[found], cols)),
            shape=(n, len(self.vocabulary_)),
            dtype=self.dtype,
        )
        counts.sum_duplicates()  # coo -> csr adds repeated tokens up, with sorted indices
        return counts


class OptionalWordTfidf(WordTfidf):
    """:class:`WordTfidf` of a column that may hold no word that survives ``min_df``.

    The neighbouring sentences of a table of lone sentences (ClaimBuster's) are all empty, and a
    small project may have no word used twice; instead of ``TfidfVectorizer``'s "empty
    vocabulary" error this gives one column of zeros (a ``ColumnTransformer`` refuses a block of
    width 0), and the model learns from its other blocks (the claim cues, the char n-grams).
    """

    def fit(self, raw_documents, y=None):
        self.fit_transform(raw_documents, y)
        return self

    def fit_transform(self, raw_documents, y=None):
        docs = list(raw_documents)
        try:
            self.empty_ = False
            return super().fit_transform(docs, y)
        except ValueError:  # "empty vocabulary" or "after pruning, no terms remain"
            self.empty_ = True
            self.vocabulary_ = {}
            return sp.csr_matrix((len(docs), 1), dtype=self.dtype)

    def transform(self, raw_documents):
        check_is_fitted(self, "empty_")
        if self.empty_:
            return sp.csr_matrix((len(list(raw_documents)), 1), dtype=self.dtype)
        return super().transform(raw_documents)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "empty_")
        if self.empty_:
            return np.array(["(no words)"], dtype=object)
        return super().get_feature_names_out(input_features)
