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
