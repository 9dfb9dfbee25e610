"""Features for the presets beyond the default models: per-target n-grams, text-vs-document pairs.

The default models (:mod:`annotate.models.pipelines`) read one sentence and a short target. The
presets of :mod:`annotate.models.presets` add what the public benchmarks showed matters:

- :class:`PerTargetNgrams` (preset ``stance-tweet``): word and char n-gram TF-IDF copied once per
  target, each copy zero outside its target's rows, so one linear model is a per-target model
  (the SVM-ngrams baseline of Mohammad et al. 2016); ``shared=True`` adds a shared copy
  ("frustratingly easy" domain adaptation, Daumé III 2007).
- :class:`DocumentPairFeatures` (preset ``stance-document``): how a text (an article body or a
  headline) relates to a claim: token and 2-4-gram overlap with the text and its opening,
  refuting / hedging / supporting words on both sides, TF-IDF and SVD cosines, and the SVD
  components of both sides, in the spirit of the FNC-1 baseline and of Athene / UCLMR
  (Hanselowski et al. 2018).
- :class:`HeadlineFeatures` (preset ``stance-headline``): a headline's words, question marks,
  refuting and hedging words, and its overlap with the claim (Ferreira and Vlachos 2016).

All three take a 2-D input whose column 0 is the target and column 1 the text (``df[["target",
"text"]]``), cells read as text like :class:`annotate.models.features.PairFeatures`.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.pipeline import make_union
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from annotate.models.features import TextTransformer, as_texts, validate_text_columns

__all__ = ["PerTargetNgrams", "DocumentPairFeatures", "HeadlineFeatures", "REFUTING", "HEDGING", "SUPPORTING"]

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


def _target_text(est, X, reset: bool) -> tuple[list[str], list[str]]:
    X = validate_text_columns(est, X, reset=reset, min_columns=2)
    return as_texts(X[:, 0]), [
        " ".join(p) for p in zip(*(as_texts(X[:, j]) for j in range(1, X.shape[1])), strict=True)
    ]


class PerTargetNgrams(TextTransformer):
    """Word and char n-gram TF-IDF of the text, one copy per target (plus a shared one).

    Input ``[[target, text], ...]``. Each target's copy is zero outside that target's rows, so
    a linear model learns one weight vector per target; targets unseen in ``fit`` get the
    shared block only (all zeros with ``shared=False``).

    Parameters
    ----------
    word_ngrams, char_ngrams : n-gram ranges of the word and character (``char``) TF-IDF.
    char_min_df : ``min_df`` of the char TF-IDF.
    shared : also keep a block shared by all targets.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 3),
        char_ngrams: tuple[int, int] = (2, 5),
        char_min_df: int = 2,
        shared: bool = False,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.char_min_df = char_min_df
        self.shared = shared

    def fit(self, X, y=None):
        targets, texts = _target_text(self, X, reset=True)
        self.vectorizer_ = make_union(
            TfidfVectorizer(ngram_range=self.word_ngrams, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"),
            TfidfVectorizer(analyzer="char", ngram_range=self.char_ngrams, sublinear_tf=True, min_df=self.char_min_df),
        )
        try:
            self.vectorizer_.fit(texts)
        except ValueError:  # no text at all (or every n-gram pruned): no vocabulary, an empty block
            self.vectorizer_ = None
        self.targets_ = sorted(set(targets))
        return self

    def transform(self, X) -> sp.csr_matrix:
        check_is_fitted(self, "targets_")
        targets, texts = _target_text(self, X, reset=False)
        if self.vectorizer_ is None:
            return sp.csr_matrix((len(texts), 0))
        base = self.vectorizer_.transform(texts).tocsr()
        target = np.asarray(targets, dtype=object)
        blocks = [base] if self.shared else []
        for t in self.targets_:
            blocks.append(sp.diags((target == t).astype(float)) @ base)
        return sp.hstack(blocks).tocsr()


class _TextInfo:
    """Token sets and lexicon counts of one text, computed once per distinct text."""

    __slots__ = ("tokens", "set", "content", "start", "grams", "start_grams", "lexicon", "counts", "n", "question")

    def __init__(self, text: str, start_tokens: int) -> None:
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


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return set(zip(*[tokens[i:] for i in range(n)], strict=False))


def _overlap(h: _TextInfo, b: _TextInfo) -> list[float]:
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
        float(b.question),
        float(np.log1p(sum(b.counts[w] for w in hs))),
    ]
    for n in (2, 3, 4):
        f.append(len(h.grams[n] & b.grams[n]) / max(1, len(h.grams[n])))
        f.append(len(h.grams[n] & b.start_grams[n]) / max(1, len(h.grams[n])))
    return f


class DocumentPairFeatures(TextTransformer):
    """Dense features of (target = claim or headline, text = body or headline) pairs.

    Columns: token and 2-4-gram overlap of the target with the text and with its first
    ``start_tokens`` tokens; lexicon words (refuting, hedging, supporting) in the target, and
    counted in the text; TF-IDF cosine of the target with the text and with its first 300
    characters; the cosine in an ``n_components`` SVD space, and the first ``n_svd_features`` SVD
    components of both sides and their product. Distinct targets and texts are processed once.
    """

    def __init__(self, n_components: int = 100, n_svd_features: int = 50, start_tokens: int = 50) -> None:
        self.n_components = n_components
        self.n_svd_features = n_svd_features
        self.start_tokens = start_tokens

    def fit(self, X, y=None):
        targets, texts = _target_text(self, X, reset=True)
        corpus = list(dict.fromkeys(targets + texts))
        self.tfidf_ = TfidfVectorizer(ngram_range=(1, 2), max_features=50000, stop_words="english", sublinear_tf=True)
        try:
            m = self.tfidf_.fit_transform(corpus)
        except ValueError:  # no word left: cosines are 0 and there is no SVD
            self.tfidf_, self.svd_ = None, None
            return self
        n_comp = min(self.n_components, m.shape[0] - 1, m.shape[1] - 1)
        self.svd_ = TruncatedSVD(n_comp, random_state=0).fit(m) if n_comp >= 1 else None
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "tfidf_")
        targets, texts = _target_text(self, X, reset=False)
        heads, bodies = pd.Series(targets, dtype=object), pd.Series(texts, dtype=object)
        hu = heads.drop_duplicates()
        bu = bodies.drop_duplicates()
        hi = pd.Index(hu).get_indexer(heads)
        bi = pd.Index(bu).get_indexer(bodies)
        hinfo = [_TextInfo(t, self.start_tokens) for t in hu]
        binfo = [_TextInfo(t, self.start_tokens) for t in bu]
        n = len(targets)
        hand = np.array([_overlap(hinfo[a], binfo[b]) for a, b in zip(hi, bi, strict=True)], dtype=float).reshape(n, -1)
        hlex = (np.vstack([i.lexicon for i in hinfo])[hi] > 0).astype(float).reshape(n, -1)
        blex = np.log1p(np.vstack([i.lexicon for i in binfo]))[bi].reshape(n, -1)
        blocks = [hand, hlex, blex]
        if self.tfidf_ is None:
            blocks.append(np.zeros((n, 3)))
            return np.hstack(blocks)
        htf, btf = self.tfidf_.transform(hu), self.tfidf_.transform(bu)
        bstf = self.tfidf_.transform(bu.str.slice(0, 300))
        cos = np.asarray(htf[hi].multiply(btf[bi]).sum(axis=1)).ravel()
        cos_start = np.asarray(htf[hi].multiply(bstf[bi]).sum(axis=1)).ravel()
        if self.svd_ is None:
            blocks.append(np.column_stack([cos, cos_start, np.zeros(n)]))
            return np.hstack(blocks)
        hs = normalize(self.svd_.transform(htf))[hi]
        bs = normalize(self.svd_.transform(btf))[bi]
        k = min(self.n_svd_features, hs.shape[1])
        blocks += [
            np.column_stack([cos, cos_start, (hs * bs).sum(axis=1)]),
            hs[:, :k],
            bs[:, :k],
            hs[:, :k] * bs[:, :k],
        ]
        return np.hstack(blocks)


class HeadlineFeatures(TextTransformer):
    """Features of a headline (the text) toward a claim (the target), after Ferreira and Vlachos (2016).

    Input ``[[target, text], ...]``. Columns: the headline's bag of words (1-2 grams, TF-IDF),
    whether it holds or ends in a question mark, refuting and hedging words present (each word
    one column, and their counts), and the claim/headline alignment approximated by token,
    content-word and bigram overlap and TF-IDF cosine (their PPDB alignment and dependency
    features need a parser; these stand in). The dense columns are standardised.
    """

    def fit(self, X, y=None):
        targets, texts = _target_text(self, X, reset=True)
        self.words_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        try:
            self.words_.fit(texts)
        except ValueError:  # no word used twice: the dense columns alone
            self.words_ = None
        self.pair_tfidf_ = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
        try:
            self.pair_tfidf_.fit(texts + targets)
        except ValueError:
            self.pair_tfidf_ = None
        dense = self._dense(targets, texts)
        self.mean_, self.scale_ = dense.mean(axis=0), dense.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        return self

    def _dense(self, targets: list[str], texts: list[str]) -> np.ndarray:
        rows = []
        for head, claim in zip(texts, targets, strict=True):
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
        dense = np.array(rows, dtype=float).reshape(len(texts), -1)
        if self.pair_tfidf_ is None:
            return np.column_stack([dense, np.zeros(len(texts))])
        a, b = self.pair_tfidf_.transform(texts), self.pair_tfidf_.transform(targets)
        return np.column_stack([dense, np.asarray(a.multiply(b).sum(axis=1)).ravel()])

    def transform(self, X) -> sp.csr_matrix:
        check_is_fitted(self, "scale_")
        targets, texts = _target_text(self, X, reset=False)
        dense = sp.csr_matrix((self._dense(targets, texts) - self.mean_) / self.scale_)
        if self.words_ is None:
            return dense
        return sp.hstack([self.words_.transform(texts), dense]).tocsr()
