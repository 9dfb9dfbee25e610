"""``push --order``: the label stream ("Label All Tasks") serves the suggested tasks first, in order.

The mechanism (docs/queue_order.md): Label Studio 1.23's "Label All Tasks" ignores the Data
Manager tab's ordering; with "Uncertainty sampling" it serves the unlabelled task whose
prediction of the project's ``model_version`` has the lowest score, skipping tasks another
annotator holds. ``order_queue`` adds one marked *queue prediction* per suggested task (a copy of
the model's pre-annotation, so the pre-fill does not change) whose score is below every real
score, in the suggested order.

Without a server: reading the order file (suggest's output, or plain ids) and the plan
(idempotent: planning again over the planned state writes nothing). With a real server (the
``integration`` layer): an annotator asks for the next task exactly as the browser's "Label All
Tasks" does, labels it, asks again... and gets the suggested tasks in order, then the rest;
re-running is a no-op, re-ordering takes effect at the next task, and no annotation or model
prediction changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from annotate.errors import InputError
from annotate.resources import data_path
from annotate.schema import Schema, default_schema_path
from annotate.segment import ingest
from annotate.studio.push import make_tasks, push, read_sentences
from annotate.studio.queue import (
    QUEUE_MARK,
    OrderEntry,
    QueueSummary,
    order_queue,
    plan_queue,
    queue_score,
    read_order,
)
from tests.studio_server import on_both_databases

ROOT = Path(__file__).resolve().parents[1]
RENEW = "new-renewable-energy-projects"

studio = on_both_databases()  # the order of the stream is a database query: sqlite and PostgreSQL


# --- the order file ----------------------------------------------------------------------------


def test_read_order_takes_suggest_output(tmp_path):
    rows = [
        {"rank": 1, "sentence_id": "s3", "field": "claim_type", "score": 0.99, "text": "x"},
        {"rank": 2, "sentence_id": "s1", "target": "t9", "field": "stance", "score": 0.9},
        {"rank": 3, "sentence_id": "s2", "field": "claim_type", "score": 0.5},
        {"rank": 4, "sentence_id": "s3", "field": "claim_type", "score": 0.4},  # repeated: first place wins
    ]
    path = tmp_path / "next.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    assert read_order(path) == [OrderEntry("s3"), OrderEntry("s1", "t9"), OrderEntry("s2")]


def test_read_order_sorts_by_rank_when_every_row_has_one(tmp_path):
    path = tmp_path / "next.jsonl"
    path.write_text(
        '{"rank": 2, "sentence_id": "b"}\n{"rank": 1, "sentence_id": "a"}\n{"rank": 3, "sentence_id": "c"}\n', "utf-8"
    )
    assert [e.sentence_id for e in read_order(path)] == ["a", "b", "c"]


def test_read_order_takes_plain_ids(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text('# most useful first\ns2\n\ns1@t4\n"s5"\ns2\n', "utf-8")
    assert read_order(path) == [OrderEntry("s2"), OrderEntry("s1", "t4"), OrderEntry("s5")]
    as_json = tmp_path / "ids.json"
    as_json.write_text('["s2", {"sentence_id": "s1", "target_id": "t4"}]', "utf-8")
    assert read_order(as_json) == [OrderEntry("s2"), OrderEntry("s1", "t4")]
    assert read_order(["s2", "s1@t4", {"sentence_id": "s5"}]) == read_order(path)


def test_read_order_refuses_bad_lines_with_their_number(tmp_path):
    path = tmp_path / "next.jsonl"
    path.write_text('{"sentence_id": "a"}\n{"field": "claim_type"}\n', "utf-8")
    with pytest.raises(InputError, match=r"next\.jsonl:2: .*sentence_id"):
        read_order(path)
    path.write_text('{"sentence_id": "a"}\n{not json\n', "utf-8")
    with pytest.raises(InputError, match=r"next\.jsonl:2"):
        read_order(path)
    path.write_text("s1 s2\n", "utf-8")
    with pytest.raises(InputError, match=r"next\.jsonl:1"):
        read_order(path)
    with pytest.raises(InputError, match="no such"):
        read_order(tmp_path / "missing.jsonl")


def test_an_empty_order_is_allowed(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("", "utf-8")
    assert read_order(path) == []


# --- the plan ----------------------------------------------------------------------------------


def test_queue_scores_are_below_every_real_score_and_increase_with_rank():
    for n in (1, 2, 7, 1000):
        scores = [queue_score(r, n) for r in range(1, n + 1)]
        assert all(s < 0 for s in scores) and scores == sorted(scores) and len(set(scores)) == n
        assert scores[0] >= -1.0


def _tasks() -> list[dict[str, Any]]:
    keys = ["a@t1", "a@t2", "b@t1", "c@t1", "d@t2", "e@t1"]
    return [
        {"id": 10 + i, "sentence_id": k.split("@")[0], "target_id": k.split("@")[1], "task_key": k,
         "is_labeled": k == "e@t1"}
        for i, k in enumerate(keys)
    ]  # fmt: skip


def _model_predictions() -> list[dict[str, Any]]:
    result = [{"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": ["Opinion"]}}]
    return [
        {"id": 100 + i, "task": t["id"], "model_version": "m1", "score": 0.5 + i / 100, "result": result,
         "neighbors": None}
        for i, t in enumerate(_tasks()) if t["task_key"] != "c@t1"
    ]  # fmt: skip


def _apply(plan: Any, predictions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The predictions after the plan's writes (what the server would hold)."""
    by_id = {p["id"]: dict(p) for p in predictions}
    for pid, patch in plan.updates:
        by_id[pid].update(patch)
    next_id = max(by_id) + 1
    for payload in plan.creates:
        by_id[next_id] = {"id": next_id, **payload}
        next_id += 1
    return list(by_id.values())


def test_plan_ranks_tasks_in_order_and_expands_sentences():
    order = [OrderEntry("d"), OrderEntry("a", "t2"), OrderEntry("zzz"), OrderEntry("a"), OrderEntry("e")]
    plan = plan_queue(_tasks(), _model_predictions(), order, "m1")
    # d's one task; a@t2; then a's other task (a@t1); zzz matches nothing; e is labelled already
    assert plan.queue == [14, 11, 10]
    assert plan.missing == ["zzz"] and plan.labelled == 1
    assert len(plan.creates) == 3 and not plan.updates
    scores = {p["task"]: p["score"] for p in plan.creates}
    assert scores[14] < scores[11] < scores[10] < 0
    for p in plan.creates:
        assert p["model_version"] == "m1" and p["neighbors"][QUEUE_MARK] is not None
        model = next(m for m in _model_predictions() if m["task"] == p["task"])
        assert p["result"] == model["result"]  # the pre-fill stays the model's


def test_plan_again_over_its_own_result_writes_nothing_and_reorders_by_updating():
    order = [OrderEntry("d"), OrderEntry("c"), OrderEntry("a", "t2")]
    plan = plan_queue(_tasks(), _model_predictions(), order, "m1")
    after = _apply(plan, _model_predictions())
    again = plan_queue(_tasks(), after, order, "m1")
    assert not again.creates and not again.updates and again.unchanged == 3

    # a new order: c leaves the queue (it has no model prediction: a neutral 1.0), a@t2 keeps its
    # queue prediction (updated in place, never deleted), b joins
    new = plan_queue(_tasks(), after, [OrderEntry("b"), OrderEntry("a", "t2")], "m1")
    assert new.queue == [12, 11]
    assert new.cleared == 2  # c and d
    after2 = _apply(new, after)
    queue_preds = [p for p in after2 if (p.get("neighbors") or {}).get(QUEUE_MARK, "-") != "-"]
    assert len(queue_preds) == 4  # d, c, a@t2, b: none deleted
    by_task = {p["task"]: p for p in queue_preds}
    assert by_task[13]["score"] == 1.0 and by_task[13]["neighbors"][QUEUE_MARK] is None  # c: no model score
    model_d = next(m for m in _model_predictions() if m["task"] == 14)
    assert by_task[14]["score"] == model_d["score"]  # d: back to the model's own score
    assert by_task[12]["score"] < by_task[11]["score"] < 0
    untouched = {p["id"]: p for p in _model_predictions()}
    assert all(after2_p == untouched[after2_p["id"]] for after2_p in after2 if after2_p["id"] in untouched)
    assert not plan_queue(_tasks(), after2, [OrderEntry("b"), OrderEntry("a", "t2")], "m1").updates


def test_plan_ignores_other_model_versions():
    preds = _model_predictions()
    stale = {"id": 999, "task": 14, "model_version": "m0", "score": -0.5, "result": [],
             "neighbors": {QUEUE_MARK: 1}}  # fmt: skip
    plan = plan_queue(_tasks(), [*preds, stale], [OrderEntry("a", "t1")], "m1")
    assert plan.queue == [10] and not plan.updates  # the m0 queue prediction is not served: left alone


# --- with a real Label Studio ----------------------------------------------------------------


def _annotator(studio: Any, name: str) -> Any:
    from annotate.studio.client import connect

    user = studio.create_user(name, login=True)
    return connect(studio.url, studio.pat(user.email, studio.passwords[user.email]))


def next_task(studio: Any, who: Any, project_id: int) -> dict[str, Any] | None:
    """The next task of the label stream, asked exactly as "Label All Tasks" asks (see the browser test)."""
    r = httpx.post(
        f"{studio.url}/api/dm/actions",
        params={"id": "next_task", "project": project_id},
        json={"project": str(project_id)},
        headers=who.headers(),
        timeout=60,
    )
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()


def label(studio: Any, who: Any, task_id: int, claim_type: str = "Not a claim") -> None:
    item = {"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": [claim_type]}}
    r = httpx.post(f"{studio.url}/api/tasks/{task_id}/annotations", json={"result": [item]}, headers=who.headers())
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def sentences(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("queue") / "sentences.jsonl"
    ingest([data_path("corpora", "sample")], out)
    return out


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.from_file(default_schema_path())


def _push_with_predictions(studio: Any, sentences: Path, schema: Schema, tmp: Path, prefix: str) -> tuple[Any, list]:
    """Push the sample with a claim_type prediction per sentence; sentence i has score 0.50 + i/100."""
    records = read_sentences(sentences)
    preds = tmp / "predictions.jsonl"
    with preds.open("w", encoding="utf-8") as fh:
        for i, r in enumerate(records):
            rec = {"sentence_id": r["sentence_id"], "field": "claim_type", "value": "Opinion",
                   "score": round(0.5 + i / 100, 2), "model_version": "queue-test-1"}  # fmt: skip
            fh.write(json.dumps(rec) + "\n")
    summary = push(studio.studio(), sentences, schema, project=studio.project_title(prefix), predictions=preds)
    return summary, records


def _tasks_by_key(studio: Any, project_id: int) -> dict[str, dict[str, Any]]:
    out = {}
    for t in studio.client().tasks.list(project=project_id, fields="all"):
        out[t.data["task_key"]] = {"id": t.id, "sentence_id": t.data["sentence_id"]}
    return out


def _state(studio: Any, project_id: int) -> tuple[list, list]:
    """(annotations, the model's predictions) as plain tuples, to compare before and after."""
    headers = studio.studio().headers()
    anns = []
    for t in studio.client().tasks.list(project=project_id, fields="all"):
        for a in t.annotations or []:
            anns.append((a["id"], t.id, json.dumps(a["result"], sort_keys=True), a["updated_at"], a["was_cancelled"]))
    preds = httpx.get(f"{studio.url}/api/predictions/", params={"project": project_id}, headers=headers).json()
    model = [(p["id"], p["task"], p["score"], json.dumps(p["result"], sort_keys=True), p["updated_at"])
             for p in preds if QUEUE_MARK not in (p.get("neighbors") or {})]  # fmt: skip
    return sorted(anns), sorted(model)


@pytest.mark.integration
def test_label_stream_serves_the_suggested_tasks_first_in_order(studio, sentences, schema, tmp_path):
    summary, records = _push_with_predictions(studio, sentences, schema, tmp_path, "queue")
    pid = summary.project_id
    tasks = _tasks_by_key(studio, pid)
    by_sentence: dict[str, list[int]] = {}
    for t in tasks.values():
        by_sentence.setdefault(t["sentence_id"], []).append(t["id"])
    one = [r["sentence_id"] for r in records if len(by_sentence[r["sentence_id"]]) == 1]
    two = [r["sentence_id"] for r in records if len(by_sentence[r["sentence_id"]]) == 2]
    renew = next(r["sentence_id"] for r in records if f"{r['sentence_id']}@{RENEW}" in tasks)
    first, third = one[7], two[-1]  # not the first tasks: Label Studio's own order would not give them
    assert renew not in (first, third)
    rows = [
        {"rank": 1, "sentence_id": first, "field": "claim_type", "score": 0.99},
        {"rank": 2, "sentence_id": renew, "target": RENEW, "field": "stance", "score": 0.98},
        {"rank": 3, "sentence_id": third, "field": "claim_type", "score": 0.97},
        {"rank": 4, "sentence_id": "s-not-pushed", "field": "claim_type", "score": 0.96},
    ]
    order = tmp_path / "next.jsonl"
    order.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    expected = [by_sentence[first][0], tasks[f"{renew}@{RENEW}"]["id"], *sorted(by_sentence[third])]

    before = _state(studio, pid)
    result = order_queue(studio.studio(), pid, order)
    assert isinstance(result, QueueSummary)
    assert result.queued == len(expected) == 4 and result.missing == ["s-not-pushed"], str(result)
    assert result.model_version == "queue-test-1" and "Uncertainty sampling" in str(result)
    assert studio.client().projects.get(id=pid).sampling == "Uncertainty sampling"

    # the annotator labels what "Label All Tasks" gives, four times: the suggested tasks in order
    ann = _annotator(studio, "queue-ann")
    served = []
    for _ in expected:
        task = next_task(studio, ann, pid)
        assert task is not None
        served.append(task["id"])
        # the pre-fill is still the model's (the queue prediction is a copy of it)
        assert task["predictions"], task
        assert all(p["result"][0]["value"]["choices"] == ["Opinion"] for p in task["predictions"])
        label(studio, ann, task["id"])
    assert served == expected
    # then the rest: Label Studio's uncertainty sampling, the least confident first (sentence 0: 0.50)
    rest = next_task(studio, ann, pid)
    assert rest is not None and rest["id"] not in expected
    assert rest["data"]["sentence_id"] == records[0]["sentence_id"]

    # the model's predictions are as they were; annotations are only the four just made
    anns_after, model_after = _state(studio, pid)
    assert model_after == before[1]
    assert sorted(a[1] for a in anns_after) == sorted(expected)


@pytest.mark.integration
def test_reorder_is_idempotent_takes_effect_at_the_next_task_and_changes_no_annotation(
    studio, sentences, schema, tmp_path
):
    summary, records = _push_with_predictions(studio, sentences, schema, tmp_path, "requeue")
    pid = summary.project_id
    tasks = _tasks_by_key(studio, pid)
    single = {}
    for t in tasks.values():
        single.setdefault(t["sentence_id"], []).append(t["id"])
    ids = [r["sentence_id"] for r in records if len(single[r["sentence_id"]]) == 1]
    task_of = {sid: single[sid][0] for sid in ids}
    st = studio.studio()

    first_order = ids[10:14]
    order_queue(st, pid, first_order)
    ann = _annotator(studio, "requeue-a")
    task = next_task(studio, ann, pid)
    assert task["id"] == task_of[ids[10]]
    label(studio, ann, task["id"])
    before = _state(studio, pid)

    again = order_queue(st, pid, first_order)  # the same order again: nothing to write
    assert again.created == again.updated == 0 and again.unchanged == 3 and again.labelled == 1, str(again)
    assert _state(studio, pid) == before

    # a new suggestion (plain ids, as a file): the next task follows it at once; ids[11..13] that
    # left the queue do not jump ahead of the rest any more
    ids_file = tmp_path / "ids.txt"
    new_order = [ids[20], ids[10], ids[5], ids[12]]  # ids[10] is labelled already
    ids_file.write_text("\n".join(new_order) + "\n", "utf-8")
    re = order_queue(st, pid, ids_file)
    assert re.queued == 3 and re.labelled == 1 and re.cleared == 2, str(re)  # ids[11], ids[13] cleared
    assert _state(studio, pid) == before  # annotations and the model's predictions untouched

    task = next_task(studio, ann, pid)
    assert task["id"] == task_of[ids[20]]
    # a second annotator meanwhile gets the next one: the first holds ids[20] (Label Studio's task lock)
    other = _annotator(studio, "requeue-b")
    task_b = next_task(studio, other, pid)
    assert task_b["id"] == task_of[ids[5]]
    label(studio, ann, task["id"])
    task = next_task(studio, ann, pid)
    assert task["id"] == task_of[ids[12]]
    label(studio, ann, task["id"])
    label(studio, other, task_b["id"])
    # the queue is done: the least confident of the rest comes next, not ids[11] or ids[13]
    task = next_task(studio, ann, pid)
    assert task["data"]["sentence_id"] == records[0]["sentence_id"]

    label(studio, ann, task["id"])

    # an empty order clears the queue: two suggested, then none, and they do not jump ahead
    order_queue(st, pid, [ids[25], ids[26]])
    empty = order_queue(st, pid, [])
    assert empty.queued == 0 and empty.cleared == 2, str(empty)
    task = next_task(studio, ann, pid)
    assert task["data"]["sentence_id"] == records[1]["sentence_id"]  # the next least confident (0.51)


@pytest.mark.integration
def test_cli_push_order(studio, sentences, tmp_path, cli):
    title = studio.project_title("queue-cli")
    records = read_sentences(sentences)
    order = tmp_path / "next.jsonl"
    order.write_text("".join(json.dumps({"sentence_id": r["sentence_id"]}) + "\n" for r in records[30:32]), "utf-8")
    args = ("push", sentences, "--project", title, "--order", order, "--url", studio.url,
            "--token-file", studio.token_file)  # fmt: skip
    code, out, err = cli(*args)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert any("imported" in line for line in lines)
    queue_line = next(line for line in lines if line.startswith("queue"))
    assert "first in 'Label All Tasks'" in queue_line and "Uncertainty sampling" in queue_line, out
    code, out, err = cli(*args)  # a re-run: nothing imported, nothing written
    assert code == 0, err
    assert "0 imported" in out and "0 queue predictions added, 0 updated" in out, out

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"field": "claim_type"}\n', "utf-8")
    other = studio.project_title("queue-cli-bad")
    code, _out, err = cli("push", sentences, "--project", other, "--order", bad, "--url", studio.url,
                          "--token-file", studio.token_file)  # fmt: skip
    assert code == 2 and "bad.jsonl:1" in err
    assert all(p.title != other for p in studio.client().projects.list())  # refused before pushing


@pytest.mark.integration
def test_a_queue_prediction_does_not_stop_push_attaching_the_models(studio, sentences, schema, tmp_path):
    records = read_sentences(sentences)
    st = studio.studio()
    title = studio.project_title("queue-push")
    preds = tmp_path / "predictions.jsonl"

    def write_predictions(rows: list[dict[str, Any]]) -> None:
        preds.write_text("".join(json.dumps({"sentence_id": r["sentence_id"], "field": "claim_type",
                                             "value": "Opinion", "score": 0.7, "model_version": "m-queue"}) + "\n"
                                 for r in rows), "utf-8")  # fmt: skip

    write_predictions(records[:2])
    push(st, sentences, schema, project=title, predictions=preds)
    late = records[6]  # no prediction yet: its queue prediction has an empty result
    queued = order_queue(st, title, [late["sentence_id"]])
    assert queued.created == 1 and queued.model_version == "m-queue", str(queued)
    write_predictions([*records[:2], late])
    again = push(st, sentences, schema, project=title, predictions=preds)
    expected = len(list(make_tasks([late], schema)))
    assert again.predictions == expected, str(again)  # the model's prediction for `late` is attached after all
