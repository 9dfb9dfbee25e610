"""Official benchmark metrics on small cases computed by hand."""

from __future__ import annotations

import pytest

from annotate.bench import scorers


def test_fnc_four_pairs_by_hand():
    gold = ["agree", "disagree", "unrelated", "discuss"]
    pred = ["agree", "discuss", "unrelated", "unrelated"]
    # 1.0 (related, right) + 0.25 (related, wrong related) + 0.25 (unrelated, right) + 0 (related -> unrelated)
    assert scorers.fnc_score(gold, pred) == 1.5
    # max: three related pairs at 1.0 + one unrelated at 0.25
    assert scorers.fnc_score(gold, gold) == 3.25
    assert scorers.fnc_relative_score(gold, pred) == pytest.approx(100 * 1.5 / 3.25)
    macro, per = scorers.fnc_macro_f1(gold, pred)
    assert per == pytest.approx({"agree": 1.0, "disagree": 0.0, "discuss": 0.0, "unrelated": 2 / 3})
    assert macro == pytest.approx((1 + 2 / 3) / 4)


def test_fnc_takes_schema_spelling_and_unrelated_confusions_score_zero():
    assert scorers.fnc_relative_score(["Agree", "Unrelated"], ["agree", "unrelated"]) == 100.0
    assert scorers.fnc_score(["unrelated", "agree"], ["discuss", "unrelated"]) == 0.0


def test_fnc_length_mismatch():
    with pytest.raises(ValueError, match="differ in length: 2 != 1"):
        scorers.fnc_score(["agree", "agree"], ["agree"])


def test_semeval_f_avg_ignores_none_f1():
    gold = ["FAVOR", "FAVOR", "AGAINST", "AGAINST", "NONE"]
    pred = ["FAVOR", "FAVOR", "AGAINST", "NONE", "AGAINST"]
    # FAVOR: P = R = 1; AGAINST: P = 1/2, R = 1/2 -> (1 + 0.5) / 2
    assert scorers.semeval_f_avg(gold, pred) == pytest.approx(75.0)
    # all NONE predicted: both F1 are 0, whatever NONE's own F1
    assert scorers.semeval_f_avg(["NONE", "FAVOR"], ["NONE", "NONE"]) == 0.0


def test_semeval_per_target():
    per = scorers.semeval_per_target(
        ["a", "a", "b", "b"], ["FAVOR", "AGAINST"] * 2, ["FAVOR", "AGAINST", "AGAINST", "AGAINST"]
    )
    # b: FAVOR F1 0; AGAINST P 1/2 R 1 -> 2/3
    assert per == pytest.approx({"a": 100.0, "b": 100 * (2 / 3) / 2})


def test_accuracy():
    assert scorers.accuracy(["for", "against", "observing"], ["For", "for", "observing"]) == pytest.approx(2 / 3)


def test_average_precision_r_precision_p_at_10_by_hand():
    gold = [0, 1, 0, 1, 1]
    scores = [0.9, 0.8, 0.7, 0.6, 0.1]
    # positives at ranks 2, 4, 5: (1/2 + 2/4 + 3/5) / 3
    assert scorers.average_precision(gold, scores) == pytest.approx((0.5 + 0.5 + 0.6) / 3)
    assert scorers.r_precision(gold, scores) == pytest.approx(1 / 3)
    assert scorers.precision_at_k(gold, scores, 10) == pytest.approx(0.3)
    assert scorers.average_precision([0, 0], [0.5, 0.1]) == 0.0


def test_ties_keep_file_order():
    assert scorers.average_precision([1, 0], [0.5, 0.5]) == 1.0
    assert scorers.average_precision([0, 1], [0.5, 0.5]) == 0.5


def test_clef_map_is_unweighted_mean_over_debates():
    groups = ["a", "a", "b", "b", "b", "b", "b"]
    gold = [1, 0, 0, 1, 0, 1, 1]
    scores = [0.9, 0.1, 0.9, 0.8, 0.7, 0.6, 0.1]
    r = scorers.clef_scores(groups, gold, scores)
    assert r["ap_per_debate"] == pytest.approx({"a": 1.0, "b": 1.6 / 3})
    assert r["map"] == pytest.approx((1.0 + 1.6 / 3) / 2)
    assert r["r_precision"] == pytest.approx((1.0 + 1 / 3) / 2)
    assert r["p_at_10"] == pytest.approx((0.1 + 0.3) / 2)


def test_binary_f1():
    assert scorers.binary_f1([1, 1, 0, 0], [1, 0, 1, 0]) == pytest.approx(0.5)
    assert scorers.binary_f1([1, 0], [0, 0]) == 0.0
