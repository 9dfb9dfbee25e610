"""Scorers and sorters on hand-checkable probabilities; suggest() and the CLI on the demo model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from models_data import RECURRING_TEXTS, demo_model, recurring_records, sentences, write_csv, write_jsonl

from annotate.resources import data_path
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
    return data_path("schemas", "claims_stance.xml")


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
    assert out.strip() == f"wrote 2 suggestions (of 4 candidates, by rare-mix) to {tmp_path / 'sg.jsonl'}"
    rows = [json.loads(x) for x in (tmp_path / "sg.jsonl").read_text().splitlines()]
    assert [r["rank"] for r in rows] == [1, 2] and "s000" not in {r["sentence_id"] for r in rows}


def test_cli_suggest_unknown_method(cli, model_dir, tmp_path):
    sents = write_jsonl(tmp_path / "s.jsonl", sentences(TEXTS))
    code, _, err = cli("suggest", model_dir, sents, "--method", "vibes", "-o", tmp_path / "sg.jsonl")
    assert code == 2
    assert err.strip() == (
        "error: Invalid value for '--method': 'vibes' is not one of: auto, least-confidence, margin, entropy, "
        "rare-mix, margin+random. run `root suggest --help` for the options."
    )


# --- streaming: bounded candidates, ties by input order, the same output however it is spread -------------------

def corpus_records(n: int = 240) -> list[dict]:
    """``n`` sentences in documents of six; every text recurs, so scores tie across chunks."""
    return recurring_records(n, RECURRING_TEXTS[:8])


def full_sort(model_dir, schema, path, method="entropy"):
    """The reference: score everything at once, then a stable sort (what suggest did before it streamed)."""
    from annotate.models.pipelines import frame
    from annotate.models.predict import read_records
    from annotate.models.store import load
    from annotate.suggest import SCORERS

    est = load(model_dir, schema).estimators["claim_type"]
    scored = score_stream(read_records(path), lambda b: est.predict_proba(frame(b)), SCORERS[method])
    return prefer_uncertain(scored)


def test_streamed_top_k_equals_a_full_sort_and_breaks_ties_by_input_order(model_dir, schema_path, tmp_path):
    from annotate.suggest import SuggestSummary, suggest_file

    schema = Schema.from_file(schema_path)
    path = write_jsonl(tmp_path / "s.jsonl", corpus_records())
    ranked = full_sort(model_dir, schema, path)
    # cut inside a run of equal scores, so which of the tied sentences make it is decided by the tie rule
    cut = next(i for i in range(1, len(ranked) - 1) if ranked[i][0] == ranked[i + 1][0])
    k = cut + 1
    summary = suggest_file(model_dir, path, tmp_path / "out.jsonl", schema, k=k, method="entropy", chunksize=12)
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["sentence_id"] for r in got] == [t["sentence_id"] for _, t in ranked[:k]]
    assert [r["score"] for r in got] == [round(s, 4) for s, _ in ranked[:k]]
    assert summary == SuggestSummary(tmp_path / "out.jsonl", candidates=240, scored=240, written=k, method="entropy")


def test_diversity_pool_is_bounded_and_says_when_it_runs_out(model_dir, schema_path, tmp_path):
    from annotate.suggest import pool_size, suggest_file

    schema = Schema.from_file(schema_path)
    path = write_jsonl(tmp_path / "s.jsonl", corpus_records())
    out = tmp_path / "out.jsonl"
    # 30 copies of each text: a pool of 20 holds one text (or two) only, so 4 distinct ones cannot be found
    small = suggest_file(model_dir, path, out, schema, k=4, diversity=0.9, pool=20, chunksize=12)
    assert small.pool == 20 and small.pool_exhausted is True and small.written < 4
    assert len(out.read_text().splitlines()) == small.written
    full = suggest_file(model_dir, path, out, schema, k=4, diversity=0.9, chunksize=12)
    assert full.pool == pool_size(4) == 1000 and full.pool_exhausted is False and full.written == 4
    texts = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert len(set(texts)) == 4
    assert pool_size(100) == 2000


def test_suggest_takes_a_dataframe(model_dir, schema_path):
    import pandas as pd

    schema = Schema.from_file(schema_path)
    recs = corpus_records(48)
    assert suggest(model_dir, pd.DataFrame(recs), schema, k=6) == suggest(model_dir, recs, schema, k=6, chunksize=5)


@pytest.mark.slow
def test_suggest_on_two_processes_and_a_dask_local_cluster_is_byte_identical(model_dir, schema_path, tmp_path):
    import distributed  # the dask extra is part of the test install: missing it is a failure

    from annotate.suggest import suggest_file

    schema = Schema.from_file(schema_path)
    path = write_jsonl(tmp_path / "s.jsonl", corpus_records())
    runs = {
        "claim": {"k": 9},
        "diverse": {"k": 5, "diversity": 0.8, "pool": 200},
        "stance": {"k": 7, "field": "stance"},
    }

    def run(mode: str, **spread) -> dict[str, bytes]:
        out = {}
        for name, kw in runs.items():
            dest = tmp_path / f"{mode}-{name}.jsonl"
            suggest_file(model_dir, path, dest, schema, chunksize=12, **kw, **spread)
            out[name] = dest.read_bytes()
        return out

    single = run("single")
    jobs = run("jobs", n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        dasked = run("dask", dask=lc.scheduler_address)
    assert single == jobs == dasked
    assert all(len(v.splitlines()) == runs[k]["k"] for k, v in single.items())
    assert {json.loads(line)["target"] for line in single["stance"].splitlines()} <= {
        "foreign-intervention-venezuela", "new-renewable-energy-projects"
    }


def test_cli_suggest_jobs_and_unreachable_dask(cli, model_dir, tmp_path):
    sents = write_jsonl(tmp_path / "s.jsonl", corpus_records(60))
    code, out, err = cli("suggest", model_dir, sents, "-k", "5", "-o", tmp_path / "one.jsonl")
    assert code == 0, err
    code, out, err = cli("suggest", model_dir, sents, "-k", "5", "-j", "2", "-o", tmp_path / "two.jsonl")
    assert code == 0, err
    assert out.strip() == f"wrote 5 suggestions (of 60 candidates, by rare-mix) to {tmp_path / 'two.jsonl'}"
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    code, out, err = cli("suggest", model_dir, sents, "--dask", "tcp://127.0.0.1:9", "-o", tmp_path / "d.jsonl")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert not (tmp_path / "d.jsonl").exists()


def test_cli_suggest_says_when_the_pool_ran_out(cli, model_dir, tmp_path):
    sents = write_jsonl(tmp_path / "s.jsonl", corpus_records())
    code, out, err = cli("suggest", model_dir, sents, "-k", "4", "--diversity", "0.9", "--pool", "20",
                         "-o", tmp_path / "sg.jsonl")  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[-1].startswith("note: only ") and "raise --pool for more" in out


def test_cli_suggest_refuses_an_empty_pool(cli, model_dir, tmp_path):
    sents = write_jsonl(tmp_path / "s.jsonl", corpus_records())
    code, out, err = cli("suggest", model_dir, sents, "--diversity", "0.9", "--pool", "0", "-o", tmp_path / "sg.jsonl")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: --pool 0 holds no candidate")
    assert not (tmp_path / "sg.jsonl").exists()
