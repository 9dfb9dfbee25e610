"""Training, the report and model card, persistence, and every bad input through the CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from models_data import claim_rows, demo_model, stance_rows, write_csv, write_jsonl
from sklearn.model_selection import GridSearchCV, cross_validate

from annotate.errors import InputError
from annotate.labels import load_labels
from annotate.models.pipelines import frame, make_claim_model, make_stance_model
from annotate.models.store import TRUSTED_TYPES, load, save
from annotate.models.train import train
from annotate.resources import data_path
from annotate.schema import Schema


@pytest.fixture(scope="module")
def demo(tmp_path_factory, schema_path) -> Path:
    return demo_model(tmp_path_factory, schema_path)


@pytest.fixture(scope="module")
def schema_path() -> Path:
    return data_path("schemas", "claims_stance.xml")


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# --- the pipelines are ordinary estimators ------------------------------------------------


def test_claim_model_composes_with_grid_search_and_cross_validate():
    rows = claim_rows()
    X, y = frame(rows), [r["label"] for r in rows]
    grid = GridSearchCV(make_claim_model(cv=2), {"clf__estimator__C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert grid.best_params_["clf__estimator__C"] in (0.1, 1.0)
    scores = cross_validate(make_claim_model(cv=2), X, y, cv=3, scoring="f1_macro")
    assert len(scores["test_score"]) == 3


def test_stance_model_probabilities_are_distributions_and_target_matters():
    rows = stance_rows()
    X = frame([{**r, "target": r["target"]} for r in rows], stance=True)
    model = make_stance_model(cv=2).fit(X, [r["label"] for r in rows])
    p = model.predict_proba(X)
    assert p.shape == (len(rows), 2)
    assert p.sum(axis=1) == pytest.approx(1.0)
    assert (model.predict(X) == [r["label"] for r in rows]).mean() > 0.9


def test_set_params_reaches_every_keyword():
    model = make_claim_model(C=0.5, char_ngrams=(2, 4), hints=True)
    assert model.get_params()["clf__estimator__C"] == 0.5
    assert "chars" in model.named_steps["features"].get_params()["transformers"][1]
    assert model.set_params(clf__cv=2).get_params()["clf__cv"] == 2


# --- train(): report and grouping ---------------------------------------------------------


def test_train_report_has_metrics_confusion_curve_and_balance(tmp_path, schema_path):
    schema = Schema.from_file(schema_path)
    df = load_labels(write_csv(tmp_path / "l.csv", claim_rows()), schema)
    result = train(df, schema, name="t", n_splits=2)
    r = result.report["fields"]["claim_type"]
    assert r["labels"] == ["Check-worthy factual claim", "Opinion", "Not a claim"]
    assert r["class_balance"] == {"Check-worthy factual claim": 18, "Opinion": 18, "Not a claim": 18}
    assert r["cv"] == {"n_splits": 2, "grouped": True, "n_groups": 6, "random_state": 0}
    assert set(r["metrics"]["per_class"]["Opinion"]) == {"precision", "recall", "f1", "support", "average_precision"}
    assert sum(map(sum, r["confusion_matrix"]["matrix"])) == 54
    assert [p["fraction"] for p in r["learning_curve"]] == [0.25, 0.5, 0.75, 1.0]
    assert r["metrics"]["macro_f1"] > 0.8  # the three classes are separable by their cue words


def test_one_document_falls_back_to_ungrouped_folds_and_says_so(tmp_path, schema_path):
    schema = Schema.from_file(schema_path)
    rows = [{**r, "doc_id": "only"} for r in claim_rows()]
    df = load_labels(write_csv(tmp_path / "l.csv", rows), schema)
    r = train(df, schema, n_splits=3, learning_curve=False).report["fields"]["claim_type"]
    assert r["cv"]["grouped"] is False
    assert any("one document" in w for w in r["warnings"])


def test_rare_class_can_be_dropped_with_a_warning(tmp_path, schema_path):
    schema = Schema.from_file(schema_path)
    rows = claim_rows() + [{"text": "Wind is great.", "label": "Other factual claim", "doc_id": "doc0"}]
    df = load_labels(write_csv(tmp_path / "l.csv", rows), schema)
    result = train(df, schema, n_splits=3, learning_curve=False, on_rare_class="drop")
    assert result.models["claim_type"].labels == ["Check-worthy factual claim", "Opinion", "Not a claim"]
    assert "Other factual claim (1)" in result.report["fields"]["claim_type"]["warnings"][0]


# --- the model folder -------------------------------------------------------------------------


def test_model_folder_has_card_report_and_skops_files(demo):
    assert sorted(p.name for p in demo.iterdir()) == [
        "card.json",
        "claim_type.skops",
        "report.html",
        "report.json",
        "schema.targets.toml",
        "schema.xml",
        "stance.skops",
        "training_labels.jsonl",
    ]
    card = json.loads((demo / "card.json").read_text())
    assert card["model_version"].startswith("demo-") and len(card["model_version"]) == len("demo-") + 8
    assert card["fields"]["stance"]["kind"] == "stance"
    assert card["fields"]["claim_type"]["labels"] == ["Check-worthy factual claim", "Opinion", "Not a claim"]
    assert set(card["libraries"]) >= {"scikit-learn", "skops", "numpy", "python"}
    assert len(card["training_data"]["hash"]) == 16 and card["schema"]["hash"]
    # the labels it learned from travel with it, readable again, so a live model can retrain on them
    kept = card["training_data"]["training_labels"]
    assert kept["file"] == "training_labels.jsonl" and len(kept["sha256"]) == 64
    html = (demo / "report.html").read_text()
    assert "<script" not in html and "http" not in html.split("</style>")[1].split("xmlns")[0]
    assert "Confusion matrix" in html and "<svg" in html


def test_saved_files_contain_only_trusted_types(tmp_path, schema_path):
    import skops.io as sio

    for model in (make_claim_model(hints=True, char_ngrams=(2, 3)), make_stance_model(char_ngrams=(2, 3))):
        rows = stance_rows()
        X = frame(rows, stance=True)
        model.set_params(clf__cv=2).fit(X, [r["label"] for r in rows])
        assert set(sio.get_untrusted_types(data=sio.dumps(model))) <= set(TRUSTED_TYPES)


def test_load_round_trip_predicts_the_same(demo, schema_path):
    m = load(demo, Schema.from_file(schema_path))
    X = frame([{"text": "Imports rose 7% in 2018."}])
    assert m.estimators["claim_type"].predict(X)[0] == "Check-worthy factual claim"


# --- bad input: one line, exit 2 ---------------------------------------------------------------


def test_cli_train_writes_model_and_prints_summary(cli, tmp_path):
    labels = write_csv(tmp_path / "l.csv", claim_rows())
    code, out, err = cli("train", labels, "-o", tmp_path / "m", "--n-splits", "3", "--no-learning-curve")
    assert code == 0, err
    assert "claim_type (claim, preset default): 54 labels, 3 classes, CV macro-F1" in out
    assert "TF-IDF + LR baseline" in out
    assert (tmp_path / "m" / "card.json").exists()
    # where pre-filling can start, per label: the lowest score whose CV predictions were right 90% of the time
    gate = json.loads((tmp_path / "m" / "report.json").read_text())["fields"]["claim_type"]["prefill"]
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert gate["precision_target"] == 0.9 and card["fields"]["claim_type"]["min_score"] == gate["min_score"]
    assert set(gate["min_score"]) == {"Check-worthy factual claim", "Opinion", "Not a claim"}
    assert all(t is None or 0 < t <= 1 for t in gate["min_score"].values())
    assert gate["precision"] is None or gate["precision"] >= 0.9
    assert "claim_type: `push --min-score auto` pre-fills " in out

    from annotate.acceptance import prefill_gate

    auto = prefill_gate("auto", tmp_path / "m")
    assert auto == {"claim_type": {k: 1.01 if t is None else t for k, t in gate["min_score"].items()}}


def test_cli_one_class_only(cli, tmp_path):
    rows = [r for r in claim_rows() if r["label"] == "Opinion"]
    labels = write_csv(tmp_path / "l.csv", rows)
    code, _, err = cli("train", labels, "-o", tmp_path / "m")
    assert code == 2
    assert one_line(err) == (
        f"error: {labels}: field 'claim_type' has one class only ('Opinion', 18 labels); "
        "a classifier needs at least two. label examples of the other classes."
    )
    assert not (tmp_path / "m").exists()


def test_cli_too_few_labels_for_a_class(cli, tmp_path):
    rows = claim_rows() + [{"text": "Wind is great.", "label": "Other factual claim", "doc_id": "doc0"}]
    labels = write_csv(tmp_path / "l.csv", rows)
    code, _, err = cli("train", labels, "-o", tmp_path / "m")
    assert code == 2
    assert one_line(err) == (
        f"error: {labels}: class 'Other factual claim' of field 'claim_type' has 1 label; each class needs at "
        "least 5. label more examples of it, or drop rare classes (--on-rare-class drop)."
    )


def test_cli_label_not_in_schema_names_file_and_line(cli, tmp_path):
    rows = claim_rows()[:3] + [{"text": "Hm.", "label": "Maybe", "field": "claim_type", "doc_id": "d"}]
    labels = write_jsonl(tmp_path / "l.jsonl", rows)
    code, _, err = cli("train", labels, "-o", tmp_path / "m")
    assert code == 2
    assert one_line(err) == (
        f"error: {labels}:4: label 'Maybe' is not a choice of field 'claim_type'. use one of: "
        "Check-worthy factual claim, Other factual claim, Opinion, Not a claim."
    )


def test_cli_model_from_another_schema(cli, demo, tmp_path, schema_path):
    other = tmp_path / "other.xml"
    other.write_text(schema_path.read_text().replace("Opinion", "Opinion or comment"))
    sents = write_jsonl(tmp_path / "s.jsonl", [{"sentence_id": "s1", "text": "Hi."}])
    code, _, err = cli("predict", demo, sents, "--schema", other, "-o", tmp_path / "p.jsonl")
    assert code == 2
    line = one_line(err)
    assert line.startswith(f"error: {demo}: model was trained for schema ")
    other_hash = Schema.from_file(other).hash
    assert line.endswith(
        f"not {other} (hash {other_hash}). use the schema it was trained with, or retrain with this one."
    )
    assert not (tmp_path / "p.jsonl").exists()


def test_cli_tampered_model_file(cli, demo, tmp_path):
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(demo, copy)
    with zipfile.ZipFile(copy / "claim_type.skops", "a") as z:
        z.writestr("extra.txt", "x")
    sents = write_jsonl(tmp_path / "s.jsonl", [{"sentence_id": "s1", "text": "Hi."}])
    code, _, err = cli("predict", copy, sents, "-o", tmp_path / "p.jsonl")
    assert code == 1  # a model failure, not the user's input
    assert one_line(err) == (
        f"error: {copy / 'claim_type.skops'}: file differs from the one the model card recorded (sha256 mismatch); "
        "it was changed or damaged after training. retrain the model or restore the file."
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda card: card["fields"]["claim_type"]["labels"].reverse(),  # predict would name the wrong labels
        lambda card: card["fields"]["claim_type"].update(kind="stance"),
        lambda card: card.update(name="other"),
    ],
)
def test_cli_edited_model_card_is_refused(cli, demo, tmp_path, edit):
    """Editing card.json changed what predict wrote without changing model_version."""
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(demo, copy)
    card = json.loads((copy / "card.json").read_text())
    edit(card)
    (copy / "card.json").write_text(json.dumps(card))
    sents = write_jsonl(tmp_path / "s.jsonl", [{"sentence_id": "s1", "text": "Hi."}])
    code, _, err = cli("predict", copy, sents, "-o", tmp_path / "p.jsonl")
    assert code == 1
    assert "the model card was changed after training" in one_line(err)
    assert not (tmp_path / "p.jsonl").exists()


class Sneaky(make_claim_model().__class__):  # a Pipeline subclass that skops does not know
    pass


def test_cli_untrusted_types_are_refused(cli, tmp_path, schema_path):
    schema = Schema.from_file(schema_path)
    df = load_labels(write_csv(tmp_path / "l.csv", claim_rows()), schema)
    result = train(df, schema, name="bad", n_splits=2, learning_curve=False)
    fitted = result.models["claim_type"].estimator
    result.models["claim_type"].estimator = Sneaky(fitted.steps)
    save(result, tmp_path / "bad")
    sents = write_jsonl(tmp_path / "s.jsonl", [{"sentence_id": "s1", "text": "Hi."}])
    code, _, err = cli("predict", tmp_path / "bad", sents, "-o", tmp_path / "p.jsonl")
    assert code == 1  # a model failure, not the user's input
    line = one_line(err)
    assert line.startswith(f"error: {tmp_path / 'bad' / 'claim_type.skops'}: refusing to load untrusted types: ")
    assert line.endswith(f"{Sneaky.__module__}.Sneaky. only load models trained by annotate; retrain it.")


def test_missing_model_folder(tmp_path):
    with pytest.raises(InputError, match="no such model folder"):
        load(tmp_path / "nope")


def test_stance_rows_keep_their_targets(tmp_path, schema_path):
    df = load_labels(write_csv(tmp_path / "l.csv", stance_rows()), Schema.from_file(schema_path))
    assert set(df["target"]) == {"Foreign intervention in Venezuela", "New renewable energy projects in Mexico"}
    assert isinstance(df, pd.DataFrame)
