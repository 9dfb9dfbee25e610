"""Train -> predict -> push into a real Label Studio: the predictions arrive as pre-annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from models_data import demo_model

from annotate.models.predict import predict_file
from annotate.resources import data_path
from annotate.schema import Schema
from annotate.segment import ingest
from annotate.studio.push import push

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def test_trained_model_predictions_become_preannotations(studio, tmp_path_factory, tmp_path):
    schema_path = data_path("schemas", "claims_stance.xml")
    schema = Schema.from_file(schema_path)
    model = demo_model(tmp_path_factory, schema_path)
    sentences = tmp_path / "sentences.jsonl"
    ingest([data_path("corpora", "sample")], sentences)
    preds = tmp_path / "preds.jsonl"
    summary = predict_file(model, sentences, preds, schema)
    records = [json.loads(x) for x in preds.read_text().splitlines()]
    assert summary.by_field["claim_type"] == summary.sentences

    pushed = push(studio.studio(), sentences, schema, project=studio.project_title("model"), predictions=preds)
    assert pushed.model_version == summary.model_version
    assert pushed.predictions_unmatched == 0
    ls = studio.client()
    assert ls.projects.get(id=pushed.project_id).model_version == summary.model_version
    by_key = {(r["sentence_id"], r.get("target", "")): r for r in records}
    checked = 0
    for task in ls.tasks.list(project=pushed.project_id, fields="all"):
        (pred,) = task.predictions
        pred = pred.model_dump() if hasattr(pred, "model_dump") else pred
        assert pred["model_version"] == summary.model_version
        values = {r["from_name"]: r["value"]["choices"] for r in pred["result"]}
        sid, target = task.data["sentence_id"], task.data.get("target_id", "")
        assert values["claim_type"] == [by_key[(sid, "")]["value"]]
        if "stance" in values:
            assert values["stance"] == [by_key[(sid, target)]["value"]]
        checked += 1
    assert checked >= summary.sentences


def test_push_with_model_from_the_cli(studio, cli, tmp_path_factory, tmp_path):
    schema_path = data_path("schemas", "claims_stance.xml")
    model = demo_model(tmp_path_factory, schema_path)
    sentences = tmp_path / "sentences.jsonl"
    ingest([data_path("corpora", "sample")], sentences)
    title = studio.project_title("cli-model")
    code, out, err = cli("push", sentences, "--model", model, "--project", title, "--url", studio.url,
                         "--token-file", studio.token_file)  # fmt: skip
    assert code == 0, err
    assert "predictions attached (model_version " in out
    ls = studio.client()
    project = next(p for p in ls.projects.list() if p.title == title)
    project = ls.projects.get(id=project.id)
    assert project.model_version and project.model_version in out
    # the guidelines are reachable inside Label Studio, and tasks come in order
    assert project.show_instruction and "Annotation guidelines" in (project.expert_instruction or "")
    code, out, err = cli("push", sentences, "--model", model, "--predictions", sentences, "--url", studio.url)
    assert code == 2 and err.startswith("error: give --model or --predictions, not both")
