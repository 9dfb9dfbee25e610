"""Predictions: Label Studio's result format from the schema, scores, model_version, task grouping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface
from models_data import ENERGY, VENEZUELA, demo_model, sentences, write_jsonl

from annotate.errors import InputError
from annotate.io import dumps
from annotate.models.predict import (
    iter_record_chunks,
    predict,
    predict_file,
    predict_lines,
    to_predictions,
)
from annotate.models.store import load
from annotate.resources import data_path
from annotate.schema import Schema
from annotate.studio.results import encode

ROOT = Path(__file__).resolve().parents[1]
#: what to do about a bad line of a sentences file (annotate.sentences)
HINT = "give the output of `annotate ingest` (each line needs sentence_id, text)."
TEXTS = [
    "Exports rose 15% in 2021, the ministry said.",
    "I think the new solar energy projects are a terrible idea.",
    "Good morning to everyone here today.",
    "Mexico rejects any foreign intervention in Venezuela, the president said.",
]


@pytest.fixture(scope="module")
def schema_path() -> Path:
    return data_path("schemas", "claims_stance.xml")


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
    xml = data_path("schemas", "claims_stance.xml").read_text()
    xml = xml.replace('<Choice value="Opinion" hotkey="3"/>', '<Choice value="Opinion" alias="OPN" hotkey="3"/>')
    (tmp_path / "aliased.xml").write_text(xml)
    field = Schema.from_file(tmp_path / "aliased.xml").field("claim_type")
    assert encode(field, "Opinion")["value"] == {"choices": ["OPN"]}
    assert encode(field, "Not a claim")["value"] == {"choices": ["Not a claim"]}


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
    assert err.strip() == f"error: {bad}:2: not a sentence record: 'sentence_id' is missing. {HINT}"


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
    assert auto.n_jobs == 1  # a small file stays in this process: starting workers would cost more
    assert (tmp_path / "auto.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
    assert plain.predictions == auto.predictions == len((tmp_path / "plain.jsonl").read_text().splitlines())


def test_documents_longer_than_a_chunk_stay_whole_however_the_work_is_spread(model, schema, tmp_path):
    """Chunks are cut at document ends, found without parsing each line; ids it cannot read fast are parsed."""
    rows = []
    for doc in ("a", "caf\u00e9", "b", "a"):  # "a" again: a new run of sentences, with positions of its own
        rows += sentences(TEXTS + TEXTS[:1], doc_id=doc)
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines[6] = json.dumps(rows[6])  # the same document, its id escaped ("caf\\u00e9"): no cut before this line
    # starts as if in document "a", but a second "doc_id" key wins: it is in "b", so no cut before it
    lines[11] = lines[11].replace('"doc_id": "b"', '"doc_id": "a"')[:-1] + ', "doc_id": "b"}'
    lines.insert(13, "   ")  # blank lines count for the line numbers only
    lines.insert(5, "")
    sents = tmp_path / "s.jsonl"
    sents.write_text("\n".join(lines) + "\n", encoding="utf-8")
    want = "".join(
        line + "\n"
        for chunk in iter_record_chunks(sents, 1)  # the reference: parse every line, group by document
        for line in predict_lines(model, chunk, schema)[0]
    )
    assert [len(c) for c in iter_record_chunks(sents, 1)] == [5, 5, 5, 5]
    for n_jobs in (1, 2):
        summary = predict_file(model.path, sents, tmp_path / f"{n_jobs}.jsonl", schema, chunksize=1, n_jobs=n_jobs)
        assert (tmp_path / f"{n_jobs}.jsonl").read_text("utf-8") == want
        assert summary.sentences == 20


def test_a_bad_line_found_by_a_worker_is_the_first_in_the_file_and_nothing_is_written(model, schema, tmp_path):
    rows = sentences(TEXTS * 100, doc_id="a") + sentences(TEXTS, doc_id="b") + sentences(TEXTS, doc_id="c")
    lines = [json.dumps(r) for r in rows]
    lines[399] = lines[399][:-30]  # truncated, at the end of the first chunk: it starts well, only a worker parses it
    lines[400] = json.dumps({k: v for k, v in rows[400].items() if k != "text"})  # first line of the next chunk
    sents = tmp_path / "s.jsonl"
    sents.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "p.jsonl"
    for n_jobs in (1, 2):
        with pytest.raises(InputError) as err:
            predict_file(model.path, sents, out, schema, chunksize=5, n_jobs=n_jobs)
        assert str(err.value).startswith(f"{sents}:400: not valid JSON (")
        assert not out.exists() and not list(tmp_path.glob(".p.jsonl*"))
    lines[399] = json.dumps(rows[399])
    sents.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        predict_file(model.path, sents, out, schema, chunksize=5, n_jobs=2)
    assert str(err.value) == f"{sents}:401: not a sentence record: 'text' is missing. {HINT}"
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [("\n \n", ": file is empty (no JSON lines)."), ("\n[1]\nnot json\n", ":2: expected a JSON object, got list.")],
)
def test_a_file_without_a_record_is_refused(model, schema, tmp_path, text, error):
    sents = tmp_path / "s.jsonl"
    sents.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        predict_file(model.path, sents, tmp_path / "p.jsonl", schema, n_jobs=2)
    assert str(err.value).startswith(f"{sents}{error}")
    assert not (tmp_path / "p.jsonl").exists()
