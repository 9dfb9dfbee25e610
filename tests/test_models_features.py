"""The custom transformers: scikit-learn's estimator checks, and what each feature means."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from annotate.models.features import CLAIM_FEATURES, PAIR_FEATURES, ClaimFeatures, PairFeatures, TargetWordTfidf


@parametrize_with_checks([ClaimFeatures(), PairFeatures(), TargetWordTfidf()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def claim(text: str) -> dict[str, float]:
    row = ClaimFeatures().fit_transform([[text]])[0]
    return dict(zip(CLAIM_FEATURES, row, strict=True))


def test_claim_cues_find_numbers_money_and_percent():
    f = claim("Spending rose 12% to $4.75 billion in 2019.")
    assert f["has_number"] == 1.0
    assert f["percent"] == 1.0
    assert f["money"] == 1.0
    assert f["quantity"] == 1.0
    assert f["year"] == 1.0
    assert f["comparison"] > 0


def test_claim_cues_find_opinion_markers():
    f = claim("I think this is a terrible idea, don't you?")
    assert f["has_number"] == 0.0
    assert f["hedge"] > 0
    assert f["first_person"] > 0
    assert f["second_person"] == 1.0
    assert f["evaluative"] > 0
    assert f["negation"] > 0
    assert f["question"] == 1.0


def test_capitalised_words_after_the_first_count_as_entity_proxy():
    assert claim("The Mexican Navy met the US Department of State.")["capitalised_ratio"] > 0.4
    assert claim("The cat sat on the mat.")["capitalised_ratio"] == 0.0
    assert claim("The FBI said so.")["acronym"] == 1.0


def test_missing_text_counts_as_empty():
    out = ClaimFeatures().fit_transform(pd.DataFrame({"text": [None, np.nan, ""]}))
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[1], out[2])


def pair(target: str, text: str, fit_on: list[list[str]] | None = None) -> dict[str, float]:
    est = PairFeatures().fit(fit_on or [[target, text]])
    return dict(zip(PAIR_FEATURES, est.transform([[target, text]])[0], strict=True))


def test_pair_features_similarity_and_overlap():
    same = pair("intervention in Venezuela", "intervention in Venezuela")
    other = pair("intervention in Venezuela", "solar farms in Sonora", fit_on=[["a b", "c d"]])
    assert same["tfidf_cosine"] == pytest.approx(1.0)
    assert same["target_coverage"] == 1.0
    assert other["tfidf_cosine"] == 0.0
    assert other["target_coverage"] == 0.0


def test_pair_features_see_a_negated_target_and_refutation():
    f = pair("intervention in Venezuela", "Mexico does not accept any intervention and denies the reports.")
    assert f["negated_target"] == 1.0
    assert f["refute"] > 0
    assert pair("intervention in Venezuela", "Mexico accepts the intervention.")["negated_target"] == 0.0


def test_pair_features_need_two_columns():
    with pytest.raises(ValueError, match=r"got 1 feature\(s\)"):
        PairFeatures().fit([["only text"]])


def test_target_word_tfidf_learns_words_per_target():
    X = [["Venezuela", "we reject it"], ["Energy", "we reject it"]]
    est = TargetWordTfidf().fit(X)
    names = set(est.get_feature_names_out())
    assert {"venezuela|reject", "energy|reject"} <= names
    out = est.transform(X).toarray()
    assert not np.allclose(out[0], out[1])


def test_transformers_work_inside_a_column_transformer():
    df = pd.DataFrame({"target": ["Venezuela", "Energy"], "text": ["No to 5% cuts.", "Yes."]})
    ct = ColumnTransformer(
        [
            ("c", ClaimFeatures(), ["text"]),
            ("p", PairFeatures(), ["target", "text"]),
            ("j", TargetWordTfidf(), ["target", "text"]),
        ]
    )
    out = ct.fit_transform(df)
    assert out.shape[0] == 2
    assert out.shape[1] == len(CLAIM_FEATURES) + len(PAIR_FEATURES) + len(
        ct.named_transformers_["j"].get_feature_names_out()
    )


# --- the vectorised transforms agree with the plain-Python definitions ------------------------

_REF_STRIP = "\"'\u201c\u201d\u2018\u2019.,;:!?()[]{}-\u2014\u2013\u2026"


def reference_cues(text: str) -> list[float]:
    """The cue features as first written, one text at a time in Python: ClaimFeatures must agree."""
    import math
    import re

    from annotate.models.features import _CUE_INDEX, _CUE_SLOTS

    lowered = text.lower().split()
    counts = [0] * len(_CUE_SLOTS)
    for word in lowered:
        word = word.strip(_REF_STRIP)
        if word in _CUE_INDEX:
            for i in _CUE_INDEX[word]:
                counts[i] += 1
        elif word.endswith("n't"):
            counts[_CUE_SLOTS["negation"]] += 1
    if counts[_CUE_SLOTS["first_person"]] and " US" in text:
        counts[_CUE_SLOTS["first_person"]] -= len(re.findall(r"\bUS\b", text))
    numbers = len(re.findall(r"\d+(?:[.,]\d+)*", text))
    c = {name: counts[i] for name, i in _CUE_SLOTS.items()}
    return [
        math.log1p(len(lowered)), float(numbers > 0), math.log1p(numbers),
        float(c["percent"] > 0 or "%" in text),
        float(c["money"] > 0 or any(s in text for s in "$€£¥")),
        float(c["quantity"] > 0),
        float(re.search(r"(?<!\d)(?:1[89]|20)\d\d(?!\d)", text) is not None),
        math.log1p(c["comparison"]),
        len(re.findall(r"(?<=\s)[A-Z]", text)) / max(len(lowered) - 1, 1),
        float(re.search(r"\b[A-Z]{2,}\b", text) is not None),
        math.log1p(c["hedge"]), math.log1p(c["first_person"]), float(c["second_person"] > 0),
        math.log1p(c["evaluative"]), math.log1p(c["negation"]),
        float("?" in text), float("!" in text), float(any(q in text for q in "\"\u201c\u201d")),
        float(c["reporting"] > 0),
    ]  # fmt: skip


TRICKY = [
    "", "   ", "Unemployment fell 3.5% in 2019, the US said.", "We (US) are here; we said so.", "I'm sure I don't know",
    "don't can't WON'T", "In 1999, 2020s, 12019 and \u0661\u0669\u0669\u0669 or 1999x", "x\u00a0Y\u2003Z \tQ",
    "\u00c9TATS-UNIS NASA's naSA", "\u201cQuoted\u201d", "50% $5 \u20ac3 \u00a32 \u00a51", "1,000.5 and 3.4.5",
    "the US-led war", "US", "FBI_X ABC_ and __AB__", "ABC\u0301 x", "\u0130stanbul \u03a3\u039f\u03a3 stra\u00dfe",
]


def fuzz_texts(n: int, seed: int) -> list[str]:
    """Random strings over the characters where Python and Arrow could disagree (Unicode digits, spaces, case)."""
    rnd = np.random.default_rng(seed)
    alphabet = list("aAbBzZ09 _.,;'\"-$%?!tnI\t\n\u201c\u201d")
    alphabet += list("\u00a0\u2003\u00e9\u0301\u0661\u00b2\u2167\u0130\u00df\u03a3\u65e5")
    alphabet += ["US", "n't", "we ", " million ", "I ", "1999"]
    return ["".join(rnd.choice(alphabet, size=rnd.integers(0, 30))) for _ in range(n)]


def test_claim_features_match_the_per_text_definition():
    texts = TRICKY + fuzz_texts(3000, seed=0)
    got = ClaimFeatures().fit_transform(np.array(texts, dtype=object).reshape(-1, 1))
    want = np.array([reference_cues(t) for t in texts])
    assert np.allclose(got, want), [t for t, g, w in zip(texts, got, want, strict=True) if not np.allclose(g, w)][:5]


@pytest.mark.parametrize(
    "params",
    [{}, {"ngram_range": (1, 2)}, {"ngram_range": (2, 3), "min_df": 2}, {"binary": True},
     {"sublinear_tf": True, "min_df": 2, "max_features": 300}],
)  # fmt: skip
def test_word_tfidf_gives_exactly_tfidf_vectorizer_matrices(params):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from annotate.models.features import WordTfidf

    train = TRICKY + fuzz_texts(1500, seed=1) + ["Spending rose 12% in 2019.", "Taxes fell, the minister said."] * 5
    test = TRICKY + fuzz_texts(1500, seed=2)
    want = TfidfVectorizer(**params).fit(train).transform(test)
    got = WordTfidf(**params).fit(train).transform(test)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert (got != want).nnz == 0


def test_word_tfidf_is_a_plain_estimator_for_search_and_skops(tmp_path):
    import skops.io as sio
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from annotate.models.features import WordTfidf
    from annotate.models.store import TRUSTED_TYPES

    texts = ["taxes rose", "taxes fell", "what a night", "good night all"] * 6
    labels = ["claim", "claim", "other", "other"] * 6
    grid = {"wordtfidf__ngram_range": [(1, 1), (1, 2)]}
    search = GridSearchCV(make_pipeline(WordTfidf(), LogisticRegression()), grid, cv=2).fit(texts, labels)
    assert search.best_estimator_.predict(["taxes rose again"]).tolist() == ["claim"]
    fitted = WordTfidf(min_df=2).fit(texts)
    assert clone(fitted).get_params() == fitted.get_params()
    assert all(type(i) is int for i in fitted.vocabulary_.values())  # not numpy ints: one skops file each
    path = tmp_path / "w.skops"
    sio.dump(fitted, path)
    assert set(sio.get_untrusted_types(file=path)) <= set(TRUSTED_TYPES)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    assert (loaded.transform(texts) != fitted.transform(texts)).nnz == 0


def test_word_tfidf_falls_back_to_sklearn_for_what_it_does_not_vectorise():
    from annotate.models.features import WordTfidf

    fitted = WordTfidf().fit(["a bb cc", "bb dd"])
    with pytest.raises(ValueError, match="Iterable over raw text documents expected"):
        fitted.transform("bb cc")
    with pytest.raises(ValueError, match="np.nan is an invalid document"):
        fitted.transform(["bb", np.nan])
    assert fitted.transform([b"bb cc"]).nnz == 2  # bytes are decoded, as by TfidfVectorizer
