"""Batch selection (annotate.active) and pre-annotation acceptance (annotate.acceptance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from script_modules import script_module

from annotate.acceptance import acceptance, threshold_for_precision
from annotate.active import STRATEGIES, mean_similarity, rare_class, select
from annotate.errors import InputError
from annotate.resources import data_path
from annotate.suggest import margin

ROOT = Path(__file__).resolve().parents[1]


def _proba(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(k), size=n)


def _unit_rows(n: int, dim: int = 20, seed: int = 0) -> sp.csr_matrix:
    x = np.abs(np.random.default_rng(seed).normal(size=(n, dim)))
    return sp.csr_matrix(x / np.linalg.norm(x, axis=1, keepdims=True))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_picks_k_distinct_pool_items(strategy):
    p = _proba(300, 3)
    vectors = _unit_rows(300)
    picked = select(strategy, p, ["a", "b", "c"], 25, rng=np.random.default_rng(1), counts={"a": 5, "b": 9, "c": 2},
                    vectors=vectors, density=mean_similarity(vectors))  # fmt: skip
    assert len(picked) == 25
    assert len(set(picked.tolist())) == 25
    assert picked.min() >= 0 and picked.max() < 300
    # a pool smaller than the batch gives the whole pool, once
    small = select(strategy, p[:7], ["a", "b", "c"], 25, counts={"a": 1}, vectors=vectors[:7],
                   density=mean_similarity(vectors[:7]))  # fmt: skip
    assert sorted(small.tolist()) == list(range(7))


def test_with_two_classes_entropy_margin_and_least_confidence_pick_the_same_items():
    # the benchmark runs margin once for the three on a two-class task: this is why it may
    for seed in range(5):
        p1 = np.random.default_rng(seed).beta(0.3, 3.0, size=2000)  # mostly unlikely positives, as in CLEF
        p = np.c_[1 - p1, p1]
        picks = [select(s, p, ["no", "yes"], 100).tolist() for s in ("entropy", "margin", "least-confidence")]
        assert picks[0] == picks[1] == picks[2]
    # with three classes they differ
    p = _proba(2000, 3)
    assert select("entropy", p, "abc", 100).tolist() != select("least-confidence", p, "abc", 100).tolist()


def test_uncertainty_picks_the_least_sure_first():
    p = _proba(500, 3, seed=3)
    picked = select("margin", p, "abc", 10)
    m = margin(p)
    assert m[picked].min() >= np.sort(m)[-10]
    assert list(m[picked]) == sorted(m[picked], reverse=True)


def test_rare_mix_takes_half_by_certainty_on_the_rarest_class_half_by_margin():
    p = _proba(400, 3, seed=2)
    counts = {"a": 50, "b": 3, "c": 40}  # b is the rarest among the labels
    picked = select("rare-mix", p, ["a", "b", "c"], 10, counts=counts)
    sure, unsure = picked[0::2], picked[1::2]
    assert set(sure.tolist()) == set(np.argsort(-p[:, 1])[:5].tolist())
    rest = np.setdiff1d(np.arange(400), sure)
    assert set(unsure.tolist()) == set(rest[np.argsort(-margin(p[rest]), kind="stable")[:5]].tolist())
    # another rarest class, other picks
    assert set(select("rare-mix", p, ["a", "b", "c"], 10, counts={"a": 1, "b": 9, "c": 9})[0::2].tolist()) == set(
        np.argsort(-p[:, 0])[:5].tolist()
    )


def test_rare_class_without_counts_is_the_one_with_least_probability_mass():
    p = np.array([[0.7, 0.1, 0.2], [0.6, 0.3, 0.1], [0.5, 0.1, 0.4]])
    assert rare_class(["a", "b", "c"], None, p) == 1
    assert rare_class(["a", "b", "c"], {"a": 0, "b": 4, "c": 4}, p) == 0
    assert rare_class(["a", "b", "c"], {"b": 4}, p) == 0  # a class never labelled counts 0


def test_rare_mix_finds_more_of_a_rare_class_than_margin():
    # a model that ranks positives higher but is nowhere near 0.5 for most of them
    rng = np.random.default_rng(0)
    y = rng.random(5000) < 0.03
    p1 = np.clip(np.where(y, rng.beta(2, 5, 5000), rng.beta(1, 12, 5000)), 1e-6, 1 - 1e-6)
    p = np.c_[1 - p1, p1]
    found = {
        s: int(y[select(s, p, ["no", "yes"], 200, counts={"no": 95, "yes": 5})].sum()) for s in ("rare-mix", "random")
    }
    assert found["rare-mix"] > 2 * found["random"]


def test_margin_plus_random_is_half_margin_half_seeded_random():
    p = _proba(1000, 3, seed=4)
    a = select("margin+random", p, "abc", 20, rng=np.random.default_rng(7))
    b = select("margin+random", p, "abc", 20, rng=np.random.default_rng(7))
    c = select("margin+random", p, "abc", 20, rng=np.random.default_rng(8))
    assert a.tolist() == b.tolist()
    assert a[0::2].tolist() == c[0::2].tolist() == select("margin", p, "abc", 10).tolist()
    assert a[1::2].tolist() != c[1::2].tolist()


def test_cluster_margin_spreads_the_batch_over_groups_that_margin_would_fill_from_one():
    # three tight groups of items; the 30 most uncertain are all in group 0
    rng = np.random.default_rng(0)
    centres = np.eye(3, 30) * 5 + 0.1
    groups = np.repeat([0, 1, 2], 40)
    x = centres[groups] + rng.normal(scale=0.05, size=(120, 30))
    vectors = sp.csr_matrix(x / np.linalg.norm(x, axis=1, keepdims=True))
    top = np.where(groups == 0, 0.45 + rng.random(120) * 0.05, 0.1 + rng.random(120) * 0.2)
    p = np.c_[1 - top, top]
    assert set(groups[select("margin", p, "ny", 3)].tolist()) == {0}
    picked = select("cluster-margin", p, "ny", 3, vectors=vectors, candidates_per_pick=40)
    assert set(groups[picked].tolist()) == {0, 1, 2}
    assert picked[0] == select("margin", p, "ny", 1)[0]  # the most uncertain of all is still first


def test_density_passes_over_an_outlier_that_is_as_uncertain():
    x = np.vstack([np.tile([1.0, 0.0, 0.0], (9, 1)) + np.random.default_rng(0).normal(0, 0.01, (9, 3)), [[0, 0, 1.0]]])
    vectors = sp.csr_matrix(np.abs(x) / np.linalg.norm(x, axis=1, keepdims=True))
    p = np.full((10, 2), 0.5)
    p[:9] = [0.55, 0.45]
    p[9] = [0.5, 0.5]  # the outlier is the most uncertain
    assert select("margin", p, "ny", 1)[0] == 9
    assert select("density", p, "ny", 1, density=mean_similarity(vectors))[0] != 9


def test_mean_similarity_is_the_mean_cosine_to_every_row():
    v = _unit_rows(30, seed=5)
    full = (v @ v.T).toarray().mean(axis=1)
    assert mean_similarity(v) == pytest.approx(full)


def test_unknown_strategy_and_missing_inputs_are_refused():
    p = _proba(10, 2)
    with pytest.raises(InputError, match="unknown strategy 'vibes'"):
        select("vibes", p, "ny", 2)
    with pytest.raises(ValueError, match="vectors"):
        select("cluster-margin", p, "ny", 2)
    with pytest.raises(ValueError, match="density"):
        select("density", p, "ny", 2)


# --- pre-annotation acceptance ------------------------------------------------------------------


def test_threshold_is_the_lowest_that_reaches_the_precision():
    conf = [0.99, 0.97, 0.95, 0.9, 0.85, 0.8, 0.7]
    right = [True, True, False, True, True, True, False]
    # prefix precision: 1, 1, .67, .75, .8, .83, .71
    assert threshold_for_precision(conf, right, 0.8) == 0.8
    assert threshold_for_precision(conf, right, 0.84) == 0.97  # .83 at 0.8 and below falls short
    assert threshold_for_precision(conf, right, 0.75) == 0.8  # 5/7 = .71 at 0.7
    assert threshold_for_precision(conf, right, 0.7) == 0.7
    assert threshold_for_precision([0.9, 0.8], [False, False], 0.9) is None
    assert threshold_for_precision([], [], 0.9) is None


def test_items_of_equal_confidence_are_prefilled_together():
    # at 0.9 two items come in together, one wrong: a threshold of 0.9 gives 2/3, not 1/1
    assert threshold_for_precision([0.95, 0.9, 0.9, 0.5], [True, True, False, False], 0.9) == 0.95


def test_min_prefilled_refuses_a_threshold_that_fills_too_few():
    assert threshold_for_precision([0.99, 0.6, 0.5], [True, False, True], 0.9, min_prefilled=2) is None


@pytest.mark.parametrize("seed", range(5))
def test_the_chosen_threshold_reaches_the_precision_on_its_own_data(seed):
    rng = np.random.default_rng(seed)
    conf = rng.random(500)
    right = rng.random(500) < conf  # higher confidence, more often right
    t = threshold_for_precision(conf, right, 0.9)
    a = acceptance(conf, right, t)
    assert a["precision"] >= 0.9
    assert a["kept"] == pytest.approx(a["prefilled"] * a["precision"])
    # any lower threshold among the scores falls below the target
    for lower in conf[conf < t]:
        assert acceptance(conf, right, lower)["precision"] < 0.9


def test_acceptance_counts():
    a = acceptance([0.9, 0.8, 0.3, 0.2], [True, False, True, False])
    assert (a["prefilled"], a["precision"], a["kept"]) == (1.0, 0.5, 0.5)
    g = acceptance([0.9, 0.8, 0.3, 0.2], [True, False, True, False], 0.85)
    assert (g["prefilled_items"], g["kept_items"], g["prefilled"], g["precision"], g["kept"]) == (1, 1, 0.25, 1.0, 0.25)
    with pytest.raises(ValueError):
        acceptance([0.9], [True, False])


# --- the study's statistics ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def study():
    with script_module("benchmarks/active_learning.py", "al_study") as module:
        yield module


def test_labels_to_reach_is_the_first_budget_at_or_above_the_goal(study):
    budgets = np.array([100, 200, 300, 400])
    assert study.labels_to_reach(np.array([0.1, 0.3, 0.25, 0.5]), budgets, 0.3) == 200
    assert study.labels_to_reach(np.array([0.1, 0.2, 0.25, 0.29]), budgets, 0.3) == float("inf")


def test_reach_interval_contains_the_point_and_is_degenerate_for_identical_seeds(study):
    budgets = np.arange(1, 11) * 100
    rand = np.tile(np.linspace(0.1, 0.5, 10), (5, 1))
    fast = np.tile(np.linspace(0.2, 0.9, 10), (5, 1))
    point, lo, hi = study.reach_with_interval(fast, rand, budgets)
    assert point == lo == hi == 500  # 0.2 + 0.7 * 4/9 = 0.51 >= 0.5 at the 5th budget, 0.43 at the 4th
    noisy = fast + np.random.default_rng(0).normal(0, 0.05, fast.shape)
    point, lo, hi = study.reach_with_interval(noisy, rand, budgets)
    assert lo <= point <= hi


def test_significantly_worse_needs_every_seed_pair_to_agree_enough(study):
    budgets = np.array([100, 200])
    rand = np.array([[0.5, 0.6], [0.52, 0.62], [0.48, 0.58], [0.51, 0.6], [0.49, 0.61]])
    worse = rand - np.array([0.1, 0.0])  # 0.1 lower at 100 on every seed, equal at 200
    assert study.significantly_worse(worse, rand, budgets) == [100]
    mixed = rand + np.array([[0.05, 0], [-0.05, 0], [0.04, 0], [-0.06, 0], [0.01, 0]])
    assert study.significantly_worse(mixed, rand, budgets) == []


# --- the mixed methods of annotate suggest --------------------------------------------------------

def _records(n: int = 90) -> list[dict]:
    from models_data import recurring_records

    return recurring_records(n)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from models_data import demo_model

    from annotate.models.store import load
    from annotate.schema import Schema

    schema = Schema.from_file(data_path("schemas", "claims_stance.xml"))
    path = demo_model(tmp_path_factory, data_path("schemas", "claims_stance.xml"))
    return path, schema, load(path, schema)


def _model_proba(model, records):
    from annotate.models.pipelines import frame

    est = model.estimators["claim_type"]
    return est.predict_proba(frame(records)), [str(c) for c in est.classes_]


def _counts(path) -> dict:
    import json

    return json.loads((path / "report.json").read_text("utf-8"))["fields"]["claim_type"]["class_balance"]


@pytest.mark.parametrize("k", [1, 6, 11])
def test_streamed_rare_mix_picks_what_select_picks_on_the_whole_pool(demo, k):
    from annotate.suggest import suggest

    path, schema, model = demo
    recs = _records()
    proba, classes = _model_proba(model, recs)
    want = [recs[i]["sentence_id"] for i in select("rare-mix", proba, classes, k, counts=_counts(path))]
    for chunksize in (7, 1000):
        out = suggest(path, recs, schema, field="claim_type", k=k, method="rare-mix", chunksize=chunksize)
        assert [r["sentence_id"] for r in out] == want
        assert [r["by"] for r in out] == ["rare-certainty", "margin"] * (k // 2) + ["rare-certainty"] * (k % 2)
        assert {r["method"] for r in out} == {"rare-mix"}


def test_rare_mix_reads_the_rarest_class_from_the_model_report(demo, tmp_path):
    import json
    import shutil

    from annotate.suggest import suggest

    path, schema, model = demo
    recs = _records()
    proba, classes = _model_proba(model, recs)
    for rare in ("Opinion", "Not a claim"):
        copy = tmp_path / rare.replace(" ", "-")
        shutil.copytree(path, copy)
        report = json.loads((copy / "report.json").read_text("utf-8"))
        report["fields"]["claim_type"]["class_balance"][rare] = 2
        (copy / "report.json").write_text(json.dumps(report), "utf-8")
        first = suggest(copy, recs, schema, field="claim_type", k=2, method="rare-mix")[0]
        best = int(np.argmax(proba[:, classes.index(rare)]))  # the first of the most likely, by input order
        assert first["sentence_id"] == recs[best]["sentence_id"]
        assert first["by"] == "rare-certainty" and first["value"] == rare
    (copy / "report.json").unlink()
    with pytest.raises(InputError, match="no class counts"):
        suggest(copy, recs, schema, field="claim_type", k=2, method="rare-mix")


def test_margin_plus_random_in_suggest_is_half_margin_and_the_same_however_chunked(demo):
    from annotate.suggest import suggest

    path, schema, model = demo
    recs = _records(120)
    runs = [
        suggest(path, recs, schema, field="claim_type", k=10, method="margin+random", chunksize=c) for c in (5, 33, 500)
    ]
    ids = [[r["sentence_id"] for r in out] for out in runs]
    assert ids[0] == ids[1] == ids[2]
    proba, classes = _model_proba(model, recs)
    assert ids[0][0::2] == [recs[i]["sentence_id"] for i in select("margin", proba, classes, 5)]
    assert [r["by"] for r in runs[0]] == ["margin", "random"] * 5
    assert len(set(ids[0])) == 10
    # the random half is not the next best by margin: it reaches into the confident sentences
    m = margin(proba)
    random_half = [int(s[1:]) for s in ids[0][1::2]]
    assert m[random_half].min() < np.sort(m)[-10]


def test_the_default_method_is_auto_everywhere():
    import inspect

    from annotate import suggest as sg
    from annotate.cli import suggest_command

    assert sg.DEFAULT_METHOD == "auto"
    assert inspect.signature(sg.suggest).parameters["method"].default == sg.DEFAULT_METHOD
    assert inspect.signature(sg.suggest_file).parameters["method"].default == sg.DEFAULT_METHOD
    assert inspect.signature(suggest_command).parameters["method"].default == sg.DEFAULT_METHOD


def test_auto_is_rare_mix_for_a_claim_field_and_entropy_for_stance():
    from annotate.suggest import resolve_method

    assert resolve_method("auto", "claim") == "rare-mix"
    assert resolve_method("auto", "stance") == "entropy"
    assert resolve_method("auto", "claim", has_counts=False) == "entropy"
    assert resolve_method("margin", "claim") == "margin"


def test_suggest_auto_on_each_field_of_the_demo_model(demo, tmp_path):
    import shutil

    from annotate.suggest import suggest

    path, schema, model = demo
    recs = _records(40)
    claim = suggest(path, recs, schema, field="claim_type", k=6)
    assert {r["method"] for r in claim} == {"rare-mix"}
    assert [r["sentence_id"] for r in claim] == [
        r["sentence_id"] for r in suggest(path, recs, schema, field="claim_type", k=6, method="rare-mix")
    ]
    stance = suggest(path, recs, schema, field="stance", k=6)
    assert {r["method"] for r in stance} == {"entropy"}
    assert [(r["sentence_id"], r["target"]) for r in stance] == [
        (r["sentence_id"], r["target"]) for r in suggest(path, recs, schema, field="stance", k=6, method="entropy")
    ]
    # a model folder without class counts: auto falls back to entropy rather than failing
    bare = tmp_path / "bare"
    shutil.copytree(path, bare)
    (bare / "report.json").unlink()
    assert {r["method"] for r in suggest(bare, recs, schema, field="claim_type", k=3)} == {"entropy"}


def test_cli_suggest_uses_auto_by_default_and_says_what_it_used(cli, demo, tmp_path):
    import json

    from models_data import write_jsonl

    path, _, _ = demo
    sents = write_jsonl(tmp_path / "s.jsonl", _records(30))
    code, out, err = cli("suggest", path, sents, "-k", "4", "-o", tmp_path / "sg.jsonl")
    assert code == 0, err
    assert "(of 30 candidates, by rare-mix)" in out
    rows = [json.loads(x) for x in (tmp_path / "sg.jsonl").read_text().splitlines()]
    assert [r["by"] for r in rows] == ["rare-certainty", "margin"] * 2
    code, out, err = cli("suggest", path, sents, "-k", "4", "--field", "stance", "-o", tmp_path / "st.jsonl")
    assert code == 0, err
    assert "by entropy" in out


def test_mix_rankings_fills_from_either_side_and_never_repeats():
    from annotate.suggest import mix_rankings

    assert mix_rankings([1, 2, 3], [1, 2, 4], 4) == [1, 4, 2, 3]  # second's 1 and 2 are taken: 4, then first fills
    assert mix_rankings([1, 2], [3, 4, 5, 6], 5) == [1, 3, 2, 4, 5]
    assert mix_rankings([1], [1], 3) == [1]
    assert mix_rankings([1, 2, 3], [4], 0) == []
