"""Model presets (`annotate train --preset`): estimator checks, training through `train()`, bad names.

The presets are whole Pipelines over text columns. scikit-learn's estimator checks feed them
random numbers; a number read as text is a word seen once, and a text model does not learn blobs
of numbers. The checks that cannot apply to such a model are listed per preset, each with its
reason (EXPECTED_FAILURES); every other check must pass.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.utils.estimator_checks import parametrize_with_checks

from annotate.labels import load_labels
from annotate.models.features import ClaimFeatures
from annotate.models.pipelines import frame, make_stance_model, make_tweet_stance_model
from annotate.models.presets import PRESETS, make_model
from annotate.models.store import TRUSTED_TYPES
from annotate.models.train import key_classes, train
from annotate.resources import data_path
from annotate.schema import Schema
from tests.models_data import claim_rows, write_csv

_NUMBERS_ARE_NOT_WORDS = "random numbers read as text are words seen once: min_df prunes most of them"
_NO_BLOBS = "a text model does not learn Gaussian blobs of numbers read as words"
_NAN_IS_EMPTY_TEXT = "NaN in a text column is an empty text, by design"
_STRINGS = "strings are this model's input, not an error"
_PIPELINE_STEPS = "sklearn's Pipeline fits the estimators of its 'steps' in place"
_Y_COLUMN = "a column-vector y is raveled by the calibration folds without a DataConversionWarning"
_ONE_COLUMN = "a stance model reads two columns (target, text); one column is the target alone"
_ONE_SAMPLE = "one sample fails in the calibration folds, whose message does not say 'one sample'"

# What each preset's model fails of scikit-learn's checks, and why (measured with
# check_estimator(on_fail=None); a check that starts to pass shows as XPASS).
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "default/claim": {
        "check_classifiers_train": _NO_BLOBS,
        "check_dont_overwrite_parameters": _PIPELINE_STEPS,
        "check_dtype_object": _STRINGS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_estimators_overwrite_params": _PIPELINE_STEPS,
        "check_supervised_y_2d": _Y_COLUMN,
    },
    "default/stance": {
        "check_classifier_data_not_an_array": _NUMBERS_ARE_NOT_WORDS,
        "check_classifiers_train": _NO_BLOBS,
        "check_dont_overwrite_parameters": _PIPELINE_STEPS,
        "check_dtype_object": _STRINGS,
        "check_estimators_dtypes": _NUMBERS_ARE_NOT_WORDS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_estimators_overwrite_params": _PIPELINE_STEPS,
        "check_fit2d_1feature": _ONE_COLUMN,
        "check_supervised_y_2d": _Y_COLUMN,
    },
    "checkworthy/claim": {
        "check_classifier_data_not_an_array": _NUMBERS_ARE_NOT_WORDS,
        "check_classifiers_train": _NO_BLOBS,
        "check_dtype_object": _STRINGS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_fit2d_1sample": _ONE_SAMPLE,
    },
    "checkworthy/stance": {
        "check_classifier_data_not_an_array": _NUMBERS_ARE_NOT_WORDS,
        "check_classifiers_train": _NO_BLOBS,
        "check_dont_overwrite_parameters": _PIPELINE_STEPS,
        "check_dtype_object": _STRINGS,
        "check_estimators_dtypes": _NUMBERS_ARE_NOT_WORDS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_estimators_overwrite_params": _PIPELINE_STEPS,
        "check_fit2d_1feature": _ONE_COLUMN,
        "check_supervised_y_2d": _Y_COLUMN,
    },
    "stance-tweet/claim": {
        "check_classifiers_train": _NO_BLOBS,
        "check_dont_overwrite_parameters": _PIPELINE_STEPS,
        "check_dtype_object": _STRINGS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_estimators_overwrite_params": _PIPELINE_STEPS,
        "check_supervised_y_2d": _Y_COLUMN,
    },
    "stance-tweet/stance": {
        "check_classifier_data_not_an_array": _NUMBERS_ARE_NOT_WORDS,
        "check_classifiers_train": _NO_BLOBS,
        "check_dtype_object": _STRINGS,
        "check_estimators_dtypes": _NUMBERS_ARE_NOT_WORDS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_fit2d_1feature": _ONE_COLUMN,
        "check_fit2d_1sample": _ONE_SAMPLE,
    },
    "stance-headline/claim": {
        "check_classifiers_train": _NO_BLOBS,
        "check_dont_overwrite_parameters": _PIPELINE_STEPS,
        "check_dtype_object": _STRINGS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_estimators_overwrite_params": _PIPELINE_STEPS,
        "check_supervised_y_2d": _Y_COLUMN,
    },
    "stance-headline/stance": {
        "check_classifier_data_not_an_array": _NUMBERS_ARE_NOT_WORDS,
        "check_classifiers_train": _NO_BLOBS,
        "check_dont_overwrite_parameters": _PIPELINE_STEPS,
        "check_dtype_object": _STRINGS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_estimators_overwrite_params": _PIPELINE_STEPS,
    },
    "stance-document/claim": {
        "check_classifiers_train": _NO_BLOBS,
        "check_dont_overwrite_parameters": _PIPELINE_STEPS,
        "check_dtype_object": _STRINGS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_estimators_overwrite_params": _PIPELINE_STEPS,
        "check_supervised_y_2d": _Y_COLUMN,
    },
    "stance-document/stance": {
        "check_classifiers_train": _NO_BLOBS,
        "check_dont_overwrite_parameters": _PIPELINE_STEPS,
        "check_dtype_object": _STRINGS,
        "check_estimators_nan_inf": _NAN_IS_EMPTY_TEXT,
        "check_estimators_overwrite_params": _PIPELINE_STEPS,
    },
}
_KEYS: dict[int, str] = {}
ESTIMATORS = []
for _preset in PRESETS:
    for _kind in ("claim", "stance"):
        _est = make_model(_preset, _kind)
        _KEYS[id(_est)] = f"{_preset}/{_kind}"
        ESTIMATORS.append(_est)


def _expected_failures(estimator) -> dict[str, str]:
    return EXPECTED_FAILURES[_KEYS[id(estimator)]]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_presets_pass_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- training through train(), as `annotate train --preset` and `annotate bench` do ------------


def _stance_table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Two targets on which the same words take opposite sides, sorted by target (as exports are)."""
    rng = np.random.default_rng(seed)
    rows = []
    for target, (pro, con) in {"wind farms": ("love", "hate"), "coal mines": ("hate", "love")}.items():
        for i in range(n // 2):
            label = ["Favor", "Against"][i % 2]
            word = pro if label == "Favor" else con
            filler = " ".join(rng.choice(["today", "really", "the", "plan", "news", "people"], 4))
            text = f"I {word} {target} {filler}"
            rows.append({"text": text, "target": target, "label": label, "group": f"d{i % 10}"})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("factory", [make_stance_model, make_tweet_stance_model])
def test_calibration_folds_are_shuffled_on_a_table_sorted_by_target(factory):
    """Unshuffled calibration folds left whole targets out, and calibrated on nonsense (34 F_avg)."""
    df = _stance_table()
    X = frame(df, stance=True)
    model = factory().fit(X, df["label"])
    assert (model.predict(X) == df["label"]).mean() > 0.95


def test_claim_cues_stay_finite_when_us_is_not_a_pronoun():
    """'US-led' matched the country regex but not the token 'us': the count went to -1, log1p to -inf."""
    out = ClaimFeatures().fit_transform([["We back US-led and US-backed talks."]])
    assert np.isfinite(out).all()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_trains_through_train_and_round_trips_skops(preset, tmp_path):
    from annotate.models.store import load, save

    schema = Schema.from_file(data_path("schemas", "claims_stance.xml"))
    rows = load_labels(write_csv(tmp_path / "l.csv", claim_rows()), schema)
    result = train(rows, schema, name="m", preset=preset, n_splits=3, learning_curve=False)
    report = result.models["claim_type"].report
    assert report["preset"] == preset
    assert set(report["baselines"]) == {"majority", "tfidf_logreg"}
    card = save(result, tmp_path / "m")
    assert card["fields"]["claim_type"]["preset"] == preset
    assert set(sio.get_untrusted_types(file=tmp_path / "m" / "claim_type.skops")) <= set(TRUSTED_TYPES)
    loaded = load(tmp_path / "m", schema)
    X = frame([{"text": "Imports rose 7% in 2018.", "context": {"previous": "Trade.", "next": "Then."}}])
    assert loaded.estimators["claim_type"].predict(X)[0] in schema.field("claim_type").values


def test_cli_train_preset_is_recorded_and_compared_with_baselines(cli, tmp_path):
    labels = write_csv(tmp_path / "l.csv", claim_rows())
    code, out, err = cli(
        "train", labels, "-o", tmp_path / "m", "--preset", "checkworthy", "--n-splits", "3", "--no-learning-curve"
    )
    assert code == 0, err
    assert "preset checkworthy" in out
    assert "TF-IDF + LR baseline" in out and "majority" in out
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    r = report["fields"]["claim_type"]
    assert r["key_metric"]["name"] == "F1 Check-worthy factual claim"
    html = (tmp_path / "m" / "report.html").read_text()
    assert "Beside the baselines" in html and "Label Studio&#x27;s example" in html


def test_cli_unknown_preset_is_one_line_exit_2(cli, tmp_path):
    labels = write_csv(tmp_path / "l.csv", claim_rows())
    code, out, err = cli("train", labels, "-o", tmp_path / "m", "--preset", "bert")
    assert code == 2
    assert err.count("\n") == 1 and "'--preset': 'bert' is not one of" in err and "stance-tweet" in err
    assert not (tmp_path / "m").exists()


def test_cli_unknown_rare_class_policy_is_one_line_exit_2(cli, tmp_path):
    """`--on-rare-class bogus` printed a ValueError traceback."""
    labels = write_csv(tmp_path / "l.csv", claim_rows())
    code, _, err = cli("train", labels, "-o", tmp_path / "m", "--on-rare-class", "bogus")
    assert code == 2
    assert err.count("\n") == 1 and "bogus" in err and "Traceback" not in err


def test_weak_model_warns_against_the_plain_baseline(tmp_path):
    """Labels that are noise: the model cannot beat TF-IDF + LR by a margin, and the report says so."""
    schema = Schema.from_file(data_path("schemas", "claims_stance.xml"))
    rng = np.random.default_rng(1)
    noise = claim_rows()
    for row, label in zip(noise, rng.permutation([r["label"] for r in noise]), strict=True):
        row["label"] = label
    rows = load_labels(write_csv(tmp_path / "l.csv", noise), schema)
    result = train(rows, schema, n_splits=3, learning_curve=False)
    r = result.models["claim_type"].report
    beats = (
        r["key_metric"]["model"] > r["baselines"]["tfidf_logreg"]["key_f1"]
        and r["metrics"]["macro_f1"] > (r["baselines"]["tfidf_logreg"]["macro_f1"])
    )
    assert beats != any("does not beat the plain TF-IDF" in w for w in r["warnings"])


@pytest.mark.parametrize(
    ("labels", "kind", "expected"),
    [
        (["Favor", "Against", "Neutral", "Unrelated"], "stance", (["Favor", "Against"], "F1 Favor/Against")),
        (["Agree", "Disagree", "Discuss", "Unrelated"], "stance", (["Agree", "Disagree"], "F1 Agree/Disagree")),
        (["Check-worthy", "Not check-worthy"], "claim", (["Check-worthy"], "F1 Check-worthy")),
        (["Opinion", "Not a claim"], "claim", (["Opinion", "Not a claim"], "macro-F1")),
    ],
)
def test_key_classes(labels, kind, expected):
    assert key_classes(labels, kind) == expected
