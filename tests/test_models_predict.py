"""Predictions: Label Studio's result format from the schema, scores, model_version, task grouping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface
from models_data import ENERGY, VENEZUELA, demo_model, sentences, write_jsonl

from annotate.io import dumps
from annotate.models.predict import predict, predict_file, predict_lines, result_item, to_predictions
from annotate.models.store import load
from annotate.schema import Schema

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "Exports rose 15% in 2021, the ministry said.",
    "I think the new solar energy projects are a terrible idea.",
    "Good morning to everyone here today.",
    "Mexico rejects any foreign intervention in Venezuela, the president said.",
]


@pytest.fixture(scope="module")
def schema_path() -> Path:
    return ROOT / "schemas" / "claims_stance.xml"


@pytest.fixture(scope="module")
def schema(schema_path) -> Schema:
    return Schema.from_file(schema_path)


@pytest.fixture(scope="module")
def model(tmp_path_factory, schema_path, schema):
    return load(demo_model(tmp_path_factory, schema_path), schema)


def test_claim_predictions_have_value_score_version_and_ls_result(model, schema):
    preds = predict(model, sentences(TEXTS), schema, fields=["claim_type"])
    assert [p["sentence_id"] for p in preds] == ["s000", "s001", "s002", "s003"]
    first = preds[0]
    assert first["value"] == "Check-worthy factual claim"
    assert first["score"] == max(first["proba"].values())
    assert sum(first["proba"].values()) == pytest.approx(1.0, abs=1e-3)
    assert first["model_version"] == model.model_version
    assert "target" not in first
    assert first["result"] == [
        {
            "from_name": "claim_type",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["Check-worthy factual claim"]},
        }
    ]
    assert preds[2]["value"] == "Not a claim"


def test_stance_is_predicted_for_concerned_targets_only(model, schema):
    preds = predict(model, sentences(TEXTS), schema)
    stance = [(p["sentence_id"], p["target"]) for p in preds if p["field"] == "stance"]
    # s001 mentions "solar energy", and s000 has it in its context (the next sentence); s003 mentions
    # "Venezuela". s002 has both in its context, but it is "Not a claim", which hides the stance question.
    assert stance == [("s000", ENERGY), ("s001", ENERGY), ("s003", VENEZUELA)]
    s3 = next(p for p in preds if p["field"] == "stance" and p["sentence_id"] == "s003")
    assert s3["value"] == "Against"


def test_stance_is_not_predicted_when_the_claim_type_hides_it(model, schema):
    recs = sentences(["Good morning, welcome to the meeting on Venezuela."])
    preds = predict(model, recs, schema)
    claim = [p for p in preds if p["field"] == "claim_type"]
    assert claim[0]["value"] == "Not a claim"
    assert not [p for p in preds if p["field"] == "stance"]


def test_every_prediction_validates_with_the_sdk(model, schema):
    li = LabelInterface(schema.xml)
    for pred in to_predictions(predict(model, sentences(TEXTS), schema, targets="all")):
        assert li.validate_prediction(pred, return_errors=True) == []


def test_alias_is_what_the_result_stores(tmp_path):
    xml = (ROOT / "schemas" / "claims_stance.xml").read_text()
    xml = xml.replace('<Choice value="Opinion" hotkey="3"/>', '<Choice value="Opinion" alias="OPN" hotkey="3"/>')
    (tmp_path / "aliased.xml").write_text(xml)
    field = Schema.from_file(tmp_path / "aliased.xml").field("claim_type")
    assert result_item(field, "Opinion")["value"] == {"choices": ["OPN"]}
    assert result_item(field, "Not a claim")["value"] == {"choices": ["Not a claim"]}


def test_to_predictions_joins_claim_results_to_each_target_task():
    def rec(sid, field, value, score, target=None):
        r = {"sentence_id": sid, "field": field, "value": value, "score": score, "model_version": "m-1"}
        if target:
            r["target"] = target
        r["result"] = [{"from_name": field, "value": {"choices": [value]}}]
        return r

    preds = to_predictions(
        [
            rec("a", "claim_type", "Opinion", 0.9),
            rec("a", "stance", "Favor", 0.6, "t1"),
            rec("a", "stance", "Against", 0.7, "t2"),
            rec("b", "claim_type", "Not a claim", 0.8),
        ]
    )
    got = {(p["sentence_id"], p["target"]): (p["score"], [r["from_name"] for r in p["result"]]) for p in preds}
    assert got == {
        ("a", "t1"): (0.6, ["claim_type", "stance"]),
        ("a", "t2"): (0.7, ["claim_type", "stance"]),
        ("b", None): (0.8, ["claim_type"]),
    }


def test_cli_predict_writes_records_push_reads(cli, model, tmp_path):
    sents = write_jsonl(tmp_path / "s.jsonl", sentences(TEXTS))
    code, out, err = cli("predict", model.path, sents, "-o", tmp_path / "p.jsonl")
    assert code == 0, err
    assert out.splitlines()[0].startswith("wrote 7 predictions (claim_type: 4, stance: 3) for 4 sentences")
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert {k for r in lines for k in r} == {
        "sentence_id",
        "target",
        "field",
        "value",
        "score",
        "model_version",
        "proba",
        "result",
    }


def test_cli_predict_bad_sentences_file(cli, model, tmp_path):
    bad = write_jsonl(tmp_path / "s.jsonl", [{"sentence_id": "x", "text": "fine"}, {"text": "no id"}])
    code, _, err = cli("predict", model.path, bad, "-o", tmp_path / "p.jsonl")
    assert code == 2
    assert err.strip() == f"error: {bad}:2: record needs 'sentence_id' and 'text'. use `annotate ingest` output."


def test_predict_lines_are_the_json_of_predict_records(model, schema):
    """predict_file writes templated lines: byte for byte the records of predict(), escapes included."""
    recs = sentences(TEXTS * 3)
    recs[0]["sentence_id"] = 'odd "id" \u00e9\u2028\x01'
    recs[5]["target"] = "a target the schema lacks"
    for targets in ("concerned", "all"):
        want = [dumps(p) for p in predict(model, recs, schema, targets=targets)]
        lines, counts = predict_lines(model, recs, schema, targets=targets)
        assert lines == want
        assert sum(counts.values()) == len(want) and counts["claim_type"] == len(recs)


def test_predict_file_progress_and_automatic_jobs_change_nothing_in_the_output(model, schema, tmp_path):
    sents = write_jsonl(tmp_path / "s.jsonl", sentences(TEXTS, doc_id="a") + sentences(TEXTS[::-1], doc_id="b"))
    plain = predict_file(model.path, sents, tmp_path / "plain.jsonl", schema, chunksize=3)
    auto = predict_file(model.path, sents, tmp_path / "auto.jsonl", schema, n_jobs=None, progress=True, chunksize=3)
    assert auto["n_jobs"] == 1  # a small file stays in this process: starting workers would cost more
    assert (tmp_path / "auto.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
    assert plain["predictions"] == auto["predictions"] == len((tmp_path / "plain.jsonl").read_text().splitlines())
