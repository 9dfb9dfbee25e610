"""Spreading ingest over processes or a Dask cluster gives byte-identical output."""

from __future__ import annotations

import json

import pytest

from annotate.parallel import chunked, ordered_map
from annotate.segment import ingest


def _square(chunk: list[int]) -> list[int]:
    return [x * x for x in chunk]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """60 documents of varied length, made from the sample article's paragraphs."""
    from tests.conftest import SAMPLE

    paragraphs = [p for p in SAMPLE.read_text("utf-8").split("\n---\n", 1)[1].split("\n") if p.strip()]
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(60):
            text = "\n".join(paragraphs[i % len(paragraphs) : i % len(paragraphs) + 1 + i % 7])
            fh.write(json.dumps({"id": f"doc-{i:03d}", "text": text, "title": f"T{i}"}, ensure_ascii=False) + "\n")
    return path


def test_chunked_and_ordered_map_keep_order():
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(ordered_map(_square, range(50), chunksize=4)) == [x * x for x in range(50)]
    assert list(ordered_map(_square, range(50), chunksize=4, n_jobs=2)) == [x * x for x in range(50)]


def _pids(chunk: list[int]) -> list[int]:
    import os

    return [os.getpid() for _ in chunk]


def test_a_single_chunk_stays_in_this_process_and_more_use_the_pool():
    import os

    assert set(ordered_map(_pids, range(5), chunksize=8, n_jobs=2)) == {os.getpid()}
    assert os.getpid() not in set(ordered_map(_pids, range(40), chunksize=8, n_jobs=2))


def test_ingest_on_two_processes_is_byte_identical(corpus, tmp_path):
    single, multi = tmp_path / "single.jsonl", tmp_path / "multi.jsonl"
    a = ingest([corpus], single)
    b = ingest([corpus], multi, n_jobs=2, chunksize=3)
    assert (a.documents, a.sentences) == (b.documents, b.sentences) == (60, a.sentences)
    assert single.read_bytes() == multi.read_bytes()
    # the default chunk size and all cores, as the command line runs it
    everything = tmp_path / "all.jsonl"
    c = ingest([corpus], everything, n_jobs=-1, chunksize=7)
    assert (c.documents, c.sentences) == (a.documents, a.sentences)
    assert single.read_bytes() == everything.read_bytes()


@pytest.mark.slow
def test_ingest_on_a_dask_local_cluster_is_byte_identical(corpus, tmp_path):
    import distributed  # the dask extra is part of the test install: missing it is a failure
    single, dasked = tmp_path / "single.jsonl", tmp_path / "dask.jsonl"
    ingest([corpus], single)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        summary = ingest([corpus], dasked, dask=lc.scheduler_address, chunksize=5)
    assert summary.documents == 60
    assert single.read_bytes() == dasked.read_bytes()


def test_unreachable_dask_scheduler_is_one_line(cli, tmp_path, sample_path):
    code, out, err = cli("ingest", sample_path, "-o", tmp_path / "s.jsonl", "--dask", "tcp://127.0.0.1:9")
    assert code == 2
    assert err.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.jsonl").exists()


@pytest.fixture(scope="module")
def claim_model(tmp_path_factory):
    """A small claim model trained on the shipped CLEF-2019 bootstrap labels."""
    from annotate.bootstrap import bootstrap

    folder = tmp_path_factory.mktemp("models") / "bootstrap"
    bootstrap(folder)
    return folder


@pytest.mark.slow
def test_predict_in_chunks_on_processes_and_dask_is_byte_identical(corpus, claim_model, tmp_path, schema_path):
    import distributed  # the dask extra is part of the test install: missing it is a failure

    from annotate.models.predict import predict, predict_file, read_records
    from annotate.schema import Schema
    schema = Schema.from_file(schema_path)
    sentences = tmp_path / "s.jsonl"
    ingest([corpus], sentences)
    outs = {m: tmp_path / f"{m}.jsonl" for m in ("single", "jobs", "dask")}
    single = predict_file(claim_model, sentences, outs["single"], schema, chunksize=50)
    predict_file(claim_model, sentences, outs["jobs"], schema, chunksize=50, n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        predict_file(claim_model, sentences, outs["dask"], schema, chunksize=50, dask=lc.scheduler_address)
    assert outs["single"].read_bytes() == outs["jobs"].read_bytes() == outs["dask"].read_bytes()
    # chunking changes nothing but the order of fields within a chunk: same records as one call
    whole = predict(claim_model, read_records(sentences), schema)
    lines = [json.loads(line) for line in outs["single"].read_text("utf-8").splitlines()]
    key = lambda r: (r["sentence_id"], r["field"], r.get("target") or "")  # noqa: E731
    assert sorted(lines, key=key) == sorted(whole, key=key)
    assert single.sentences == len(read_records(sentences)) and single.predictions == len(lines)


def _lengths(chunk: list[str]) -> list[int]:
    return [len(s) for s in chunk]


@pytest.mark.slow
def test_chunks_sent_to_dask_are_not_kept_in_the_main_process():
    """Issue 9: on a LocalCluster the main process's memory grew with the input.

    The scheduler keeps a log of the last 1,000 messages it sent each worker (the client, of those it
    sent the scheduler); a chunk embedded in a task spec stayed alive there after its task was done.
    """
    import time

    import cloudpickle
    import distributed

    items = [f"needle-{i:05d}-" + "x" * 50 for i in range(400)]
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster as lc, distributed.Client(lc) as client:
        assert list(ordered_map(_lengths, items, chunksize=10, dask=client)) == [len(s) for s in items]
        logs = [list(bs.recent_message_log) for bs in lc.scheduler.stream_comms.values()]
        logs.append(list(client.scheduler_comm.recent_message_log))
        assert sum(map(len, logs)) > 0  # the logs are there: what they hold is what is checked
        assert b"needle-" not in cloudpickle.dumps(logs)
        deadline = time.monotonic() + 30  # releases reach the scheduler in the background
        while lc.scheduler.tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not lc.scheduler.tasks  # and the cluster forgot every chunk and result


@pytest.mark.parametrize("command", ["ingest", "predict", "suggest"])
def test_zero_jobs_is_one_line_and_no_file(cli, tmp_path, sample_path, command):
    sentences = tmp_path / "s.jsonl"
    assert ingest([sample_path], sentences).sentences > 0
    out = tmp_path / "out.jsonl"
    args = {"ingest": ["ingest", sample_path], "predict": ["predict", "MODEL", sentences],
            "suggest": ["suggest", "MODEL", sentences]}[command]  # fmt: skip
    if command != "ingest":
        from annotate.bootstrap import bootstrap

        model = tmp_path / "model"
        bootstrap(model)
        args = [model if a == "MODEL" else a for a in args]
    code, _, err = cli(*args, "-o", out, "-j", "0")
    assert code == 2
    assert err.startswith("error: -j/--jobs 0 means no process at all")
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.fixture(scope="module")
def sample_reranker(tmp_path_factory):
    """A re-ranker trained on the sample sentences and the archive claims written for them."""
    from annotate.matching import ClaimIndex, fit_reranker, load_archive, save_reranker
    from annotate.quickstart import SAMPLE_ARCHIVE, SAMPLE_CORPUS
    from tests.test_matching_sample import intended_texts

    folder = tmp_path_factory.mktemp("reranker")
    ingest([SAMPLE_CORPUS], folder / "sentences.jsonl")
    wanted = intended_texts(folder / "sentences.jsonl")
    index = ClaimIndex().build(load_archive(SAMPLE_ARCHIVE))
    save_reranker(fit_reranker(index, list(wanted), [{c} for c in wanted.values()]), folder / "rr")
    return folder / "rr"


@pytest.mark.slow
def test_match_on_processes_and_dask_is_byte_identical(corpus, claim_model, sample_reranker, tmp_path):
    import distributed  # the dask extra is part of the test install: missing it is a failure

    from annotate.matching import match
    from annotate.quickstart import SAMPLE_ARCHIVE

    sentences = tmp_path / "s.jsonl"
    ingest([corpus], sentences)
    outs = {m: tmp_path / f"{m}.jsonl" for m in ("single", "jobs", "dask")}
    # the re-ranker and the check-worthiness model travel to the workers with the index
    options = {"k": 3, "reranker": sample_reranker, "model": claim_model, "batch": 40}
    single = match(sentences, SAMPLE_ARCHIVE, outs["single"], **options)
    jobs = match(sentences, SAMPLE_ARCHIVE, outs["jobs"], n_jobs=2, **options)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        dasked = match(sentences, SAMPLE_ARCHIVE, outs["dask"], dask=lc.scheduler_address, **options)
    assert outs["single"].read_bytes() == outs["jobs"].read_bytes() == outs["dask"].read_bytes()
    counts = [(s.sentences, s.matched, s.skipped, s.likely) for s in (single, jobs, dasked)]
    assert counts[0] == counts[1] == counts[2]
    assert 0 < single.matched < single.sentences and single.skipped == single.sentences - single.matched
    assert single.sentences > 3 * 40 and single.likely > 0
    # one chunk holding everything gives the same lines: a sentence's matches depend on it alone
    whole = tmp_path / "whole.jsonl"
    match(sentences, SAMPLE_ARCHIVE, whole, **{**options, "batch": 100_000})
    assert whole.read_bytes() == outs["single"].read_bytes()


def test_match_with_zero_jobs_or_an_unreachable_dask_scheduler_is_one_line(cli, tmp_path, sample_path):
    from annotate.quickstart import SAMPLE_ARCHIVE

    sentences = tmp_path / "s.jsonl"
    ingest([sample_path], sentences)
    out = tmp_path / "m.jsonl"
    for option, message in (
        (["--dask", "tcp://127.0.0.1:9"], "error: cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
        (["-j", "0"], "error: -j/--jobs 0 means no process at all"),
    ):
        code, _, err = cli("match", sentences, "--archive", SAMPLE_ARCHIVE, "-o", out, *option)
        assert code == 2
        assert err.startswith(message)
        assert len(err.strip().splitlines()) == 1 and not out.exists()
