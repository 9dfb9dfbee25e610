"""Scorers and sorters on hand-checkable probabilities; suggest() and the CLI on the demo model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from models_data import demo_model, sentences, write_csv, write_jsonl

from annotate.schema import Schema
from annotate.suggest import diverse, entropy, least_confidence, margin, prefer_uncertain, score_stream, suggest

ROOT = Path(__file__).resolve().parents[1]
P = np.array([[0.5, 0.5, 0.0], [0.9, 0.05, 0.05], [1 / 3, 1 / 3, 1 / 3], [0.6, 0.3, 0.1]])


def test_least_confidence():
    assert least_confidence(P).tolist() == pytest.approx([0.5, 0.1, 2 / 3, 0.4])


def test_margin():
    assert margin(P).tolist() == pytest.approx([1.0, 0.15, 1.0, 0.7])


def test_entropy_is_normalised():
    h = entropy(P)
    assert h[2] == pytest.approx(1.0)
    assert h[0] == pytest.approx(math.log(2) / math.log(3), abs=1e-6)
    assert entropy(np.array([[1.0, 0.0]]))[0] == pytest.approx(0.0, abs=1e-9)


def test_score_stream_batches_and_keeps_tasks():
    tasks = [{"i": i} for i in range(5)]
    calls = []

    def proba(batch):
        calls.append(len(batch))
        return P[[t["i"] % 4 for t in batch]]

    scored = list(score_stream(tasks, proba, least_confidence, batch_size=2))
    assert calls == [2, 2, 1]
    assert [t["i"] for _, t in scored] == [0, 1, 2, 3, 4]
    assert [round(s, 3) for s, _ in prefer_uncertain(scored)] == [0.667, 0.5, 0.5, 0.4, 0.1]


def test_prefer_uncertain_is_stable_on_ties():
    ranked = prefer_uncertain([(0.5, {"id": "a"}), (0.9, {"id": "b"}), (0.5, {"id": "c"})])
    assert [t["id"] for _, t in ranked] == ["b", "a", "c"]


def test_diverse_skips_near_duplicates():
    ranked = [
        (0.9, {"text": "Exports rose 15% in 2021."}),
        (0.8, {"text": "Exports rose 15% in 2021!"}),
        (0.7, {"text": "The minister welcomed the solar projects."}),
        (0.6, {"text": "Homicides fell sharply last year."}),
    ]
    picked = diverse(ranked, 2, threshold=0.8)
    assert [s for s, _ in picked] == [0.9, 0.7]
    assert [s for s, _ in diverse(ranked, 4, threshold=1.01)] == [0.9, 0.8, 0.7, 0.6]


@pytest.fixture(scope="module")
def schema_path() -> Path:
    return ROOT / "schemas" / "claims_stance.xml"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, schema_path) -> Path:
    return demo_model(tmp_path_factory, schema_path)


TEXTS = [
    "Exports rose 15% in 2021, the ministry said.",
    "Exports rose 15% in 2021, the ministry said again.",
    "Good morning to everyone here today.",
    "Perhaps the weather matters.",
    "The committee met on Tuesday.",
]


def test_suggest_ranks_by_uncertainty_and_excludes_labelled(model_dir, schema_path):
    schema = Schema.from_file(schema_path)
    recs = sentences(TEXTS)
    out = suggest(model_dir, recs, schema, k=5, method="margin", exclude={"s002"})
    assert [r["rank"] for r in out] == [1, 2, 3, 4]
    assert "s002" not in {r["sentence_id"] for r in out}
    scores = [r["score"] for r in out]
    assert scores == sorted(scores, reverse=True)
    assert set(out[0]) == {
        "rank",
        "sentence_id",
        "field",
        "score",
        "method",
        "value",
        "confidence",
        "model_version",
        "text",
    }
    # the two near-identical export sentences are both confident; diversity keeps at most one of them anyway
    ids = [r["sentence_id"] for r in suggest(model_dir, recs, schema, k=5, diversity=0.7)]
    assert not {"s000", "s001"} <= set(ids)


def test_suggest_stance_pairs_carry_targets(model_dir, schema_path):
    schema = Schema.from_file(schema_path)
    recs = sentences(["Mexico rejects intervention in Venezuela.", "Solar energy projects were approved."])
    for r in recs:
        r["context"] = {}  # so that each concerns only the target it mentions itself
    out = suggest(model_dir, recs, schema, field="stance", k=10)
    assert sorted((r["sentence_id"], r["target"]) for r in out) == [
        ("s000", "foreign-intervention-venezuela"),
        ("s001", "new-renewable-energy-projects"),
    ]


def test_cli_suggest_writes_top_k(cli, model_dir, tmp_path):
    sents = write_jsonl(tmp_path / "s.jsonl", sentences(TEXTS))
    labelled = write_csv(tmp_path / "gold.csv", [{"sentence_id": "s000", "field": "claim_type", "label": "Opinion"}])
    code, out, err = cli("suggest", model_dir, sents, "-k", "2", "--exclude", labelled, "-o", tmp_path / "sg.jsonl")
    assert code == 0, err
    assert out.strip() == f"wrote 2 suggestions (of 4 candidates, by entropy) to {tmp_path / 'sg.jsonl'}"
    rows = [json.loads(x) for x in (tmp_path / "sg.jsonl").read_text().splitlines()]
    assert [r["rank"] for r in rows] == [1, 2] and "s000" not in {r["sentence_id"] for r in rows}


def test_cli_suggest_unknown_method(cli, model_dir, tmp_path):
    sents = write_jsonl(tmp_path / "s.jsonl", sentences(TEXTS))
    code, _, err = cli("suggest", model_dir, sents, "--method", "vibes", "-o", tmp_path / "sg.jsonl")
    assert code == 2
    assert err.strip() == "error: unknown method 'vibes'. use one of: least-confidence, margin, entropy."
