"""The ML backend payload translation of `annotate serve`, called as plain functions (no web app).

Tiny hand-written payloads and exact answers: the request body, project references, tasks ->
prediction records -> one result per task, the request's label_config, webhook payloads -> log events.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from annotate.schema import Schema
from annotate.serve.protocol import (
    RequestError,
    check_config_covers_model,
    check_project,
    object_keys,
    parse_body,
    parse_label_config,
    project_id,
    task_records,
    task_results,
    webhook_action,
    webhook_events,
)
from tests.conftest import DEFAULT_SCHEMA, ROOT


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.from_file(DEFAULT_SCHEMA)


@contextlib.contextmanager
def refused(status: int, match: str) -> Iterator[None]:
    """Expect a :class:`RequestError` of ``status`` whose message matches ``match``."""
    with pytest.raises(RequestError, match=match) as info:
        yield
    assert info.value.status == status, info.value.message


def test_the_module_needs_no_web_framework():
    code = "import sys, annotate.serve.protocol; print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_parse_body_takes_a_json_object_only():
    assert parse_body("application/json; charset=utf-8", b'{"tasks": []}') == {"tasks": []}
    with refused(400, "must be a JSON object; got NoneType"):  # an empty body is JSON null
        parse_body("application/json", b"")
    with refused(415, "must be application/json; got text/plain"):
        parse_body("text/plain", b'{"tasks": []}')
    with refused(415, "got no content type"):
        parse_body("", b"{}")
    with refused(400, "not valid JSON"):
        parse_body("application/json", b"{not json")
    with refused(400, "must be a JSON object; got list"):
        parse_body("application/json", b"[1]")


def test_project_references():
    assert project_id("3.1732000000") == 3
    assert project_id({"id": 5, "title": "x"}) == 5
    assert project_id(7) == 7 and project_id(" 8. ") == 8
    assert project_id(None) is None and project_id("") is None
    with refused(400, "'project' must look like '<id>.<timestamp>'"):
        project_id("seven")
    assert check_project("3.17", None) == 3
    assert check_project("3.17", {3, 4}) == 3
    with refused(404, r"unknown project 8: this backend serves project\(s\) 3, 4"):
        check_project("8.17", {4, 3})
    with refused(404, r"unknown project \(none given\)"):
        check_project(None, {3})


def test_object_keys():
    xml = '<View><Text name="text" value="$sentence"/><Header value="$target"/><Choices name="c" toName="text"/></View>'
    assert object_keys(xml) == {"text": "sentence"}


TASK_DATA = {"meta": "", "previous": "Before.", "next": "", "text": "", "target": "Venezuela", "target_id": "ven"}


def test_task_records_index_the_tasks_and_keep_a_target_only_where_push_set_one(schema: Schema):
    tasks = [
        {"id": 70, "data": {**TASK_DATA, "text": "Exports rose.", "speaker": "Ana", "in_quote": 1, "position": "0.5"}},
        {"id": 71, "data": {**TASK_DATA, "text": "Hello.", "target": "(no target)", "target_id": ""}},
    ]
    records, has_target = task_records(tasks, schema.data_keys, "text")
    assert has_target == [True, False]
    assert records == [
        {
            "sentence_id": "0",
            "text": "Exports rose.",
            "context": {"previous": "Before.", "next": ""},
            "speaker": "Ana",
            "in_quote": 1.0,
            "position": 0.5,
            "target": "Venezuela",
        },
        {
            "sentence_id": "1",
            "text": "Hello.",
            "context": {"previous": "Before.", "next": ""},
            "speaker": "",
            "in_quote": 0.0,
            "position": 0.0,
        },
    ]


def test_task_records_refuse_what_is_not_a_task(schema: Schema):
    with refused(400, "'tasks' must be a list of tasks; got dict"):
        task_records({"id": 1}, schema.data_keys, "text")
    with refused(422, "task #1 has no 'data' object"):
        task_records([{"data": TASK_DATA}, "text"], schema.data_keys, "text")
    with refused(422, r"task #0 \(id 9\) lacks the data key\(s\) \$meta, \$next, \$previous, \$target"):
        task_records([{"id": 9, "data": {"text": "x"}}], schema.data_keys, "text")


def prediction(sid: str, field: str, label: str, score: float, target: str | None = None) -> dict[str, Any]:
    """A record as ``annotate.models.predict.predict`` returns it."""
    item = {"from_name": field, "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    return {"sentence_id": sid, "target": target, "field": field, "value": label, "model_version": "m-1",
            "score": score, "result": [item]}  # fmt: skip


def test_task_results_one_per_task_in_order_without_stance_for_untargeted_tasks():
    preds = [
        prediction("1", "claim_type", "Opinion", 0.75),
        prediction("1", "stance", "Favor", 0.5, target="Venezuela"),  # task 1 has no target: dropped
        prediction("0", "claim_type", "Not a claim", 0.9),
        prediction("0", "stance", "Against", 0.6, target="Venezuela"),
    ]
    results = task_results(preds, [True, False, True], "m-1")
    assert [[i["value"]["choices"][0] for i in r["result"]] for r in results] == [
        ["Not a claim", "Against"],
        ["Opinion"],
        [],  # nothing predicted for task 2: an empty answer, never a missing one
    ]
    assert [r["score"] for r in results] == [0.6, 0.75, 0.0]  # the weakest item's score
    assert {r["model_version"] for r in results} == {"m-1"}


def test_task_results_below_min_score_go_to_a_second_hint_prediction():
    preds = [
        prediction("0", "claim_type", "Not a claim", 0.9),
        prediction("0", "stance", "Against", 0.6, target="Venezuela"),  # below the gate: a hint
        prediction("1", "claim_type", "Opinion", 0.75),  # a hint only
        prediction("2", "claim_type", "Check-worthy factual claim", 0.99),
    ]
    results = task_results(preds, [True, False, False], "m-1", 0.8)
    sure, hint = results[0]  # both: a list, the pre-filled one first
    assert (sure["model_version"], [i["from_name"] for i in sure["result"]]) == ("m-1", ["claim_type"])
    assert (hint["model_version"], [i["from_name"] for i in hint["result"]]) == ("m-1-hint", ["stance"])
    assert results[1]["model_version"] == "m-1-hint" and results[1]["score"] == 0.75
    assert results[2]["model_version"] == "m-1"
    # per label ("auto"): a label without a threshold is never pre-filled, whatever its score
    gate = {"claim_type": {"Check-worthy factual claim": 1.01, "Opinion": 0.7, "Not a claim": 0.5}}
    results = task_results(preds, [False, False, False], "m-1", gate)
    assert [r["model_version"] for r in results] == ["m-1", "m-1", "m-1-hint"]


def test_the_request_label_config_must_fit_the_model(schema: Schema):
    aliased = schema.xml.replace('<Choice value="Opinion" hotkey="3"/>', '<Choice value="Opinion" alias="OPN"/>')
    config = parse_label_config(aliased, schema)
    assert config.fields["claim_type"].to_stored("Opinion") == "OPN"
    assert config.targets == schema.targets  # targets live beside the config, not in it
    with refused(422, "not a usable Label Studio config"):
        parse_label_config("<View><Text", schema)
    renamed = schema.xml.replace('name="stance"', 'name="position"')
    with refused(422, r"label_config has field\(s\) 'position' \(choices\) that the model's schema"):
        parse_label_config(renamed, schema)
    model_fields = {"claim_type": {"labels": ["Opinion", "Not a claim"]}}
    check_config_covers_model(config, model_fields)
    fewer = parse_label_config(schema.xml.replace('<Choice value="Not a claim" hotkey="4"/>', ""), schema)
    with refused(422, r"field 'claim_type' of label_config lacks the choice\(s\) the model predicts: Not a claim"):
        check_config_covers_model(fewer, model_fields)


def annotation_payload(result: Any, ann_id: Any = 11) -> dict[str, Any]:
    task = {"id": 7, "data": {**TASK_DATA, "text": "We think so.", "sentence_id": "s1", "doc_id": "d1"}}
    ann = {"id": ann_id, "task": 7, "completed_by": 1, "was_cancelled": False, "result": result}
    return {"action": "ANNOTATION_CREATED", "annotation": ann, "task": task, "project": {"id": 3}}


def choice(field: str, label: str) -> dict[str, Any]:
    return {"from_name": field, "to_name": "text", "type": "choices", "value": {"choices": [label]}}


def test_a_created_annotation_becomes_one_event_with_its_rows_as_pull_flattens_them(schema: Schema):
    payload = annotation_payload([choice("claim_type", "Opinion"), choice("stance", "Against")])
    assert webhook_action(payload) == "ANNOTATION_CREATED"
    (event,) = webhook_events("ANNOTATION_CREATED", payload, 3, schema)
    assert {k: event[k] for k in ("action", "project", "annotation_id", "task_id")} == {
        "action": "ANNOTATION_CREATED",
        "project": 3,
        "annotation_id": 11,
        "task_id": 7,
    }
    assert event["data"] == {
        "sentence_id": "s1",
        "doc_id": "d1",
        "text": "We think so.",
        "target": "Venezuela",
        "target_id": "ven",
    }
    rows = [(r["item"], r["field"], r["value"], r["annotator"], r["snapshot"], r["project"]) for r in event["rows"]]
    assert rows == [
        ("s1", "claim_type", "Opinion", "1", "live", "3"),
        ("s1@ven", "stance", "Against", "1", "live", "3"),
    ]


def test_a_task_without_ids_gets_them_from_the_project_and_task(schema: Schema):
    payload = annotation_payload([choice("claim_type", "Opinion")])
    payload["task"]["data"] = {"text": "No ids here.", "target": "Venezuela"}
    (event,) = webhook_events("ANNOTATION_CREATED", payload, 3, schema)
    assert event["data"] == {
        "sentence_id": "ls-3-7",
        "text": "No ids here.",
        "target": "Venezuela",
        "target_id": "Venezuela",
    }


def test_a_deletion_is_one_event_listing_the_ids(schema: Schema):
    (event,) = webhook_events("ANNOTATIONS_DELETED", {"annotations": [{"id": 11}, "12"]}, 3, schema)
    assert {k: v for k, v in event.items() if k != "received"} == {
        "action": "ANNOTATIONS_DELETED",
        "project": 3,
        "annotation_ids": [11, "12"],
    }
    with refused(422, "every annotation id must be a number or a string"):
        webhook_events("ANNOTATIONS_DELETED", {"annotations": [{"id": True}]}, 3, schema)


@pytest.mark.parametrize(
    ("payload", "status", "match"),
    [
        ([1], 400, "webhook body must be a JSON object; got list"),
        ({"project": 3}, 400, "webhook body has no 'action'"),
    ],
)
def test_webhook_action_refuses_a_body_without_one(payload: Any, status: int, match: str):
    with refused(status, match):
        webhook_action(payload)


@pytest.mark.parametrize(
    ("result", "ann_id", "match"),
    [
        ("x", 11, "annotation 11 has a malformed 'result'"),
        ([{"from_name": "claim_type", "type": "choices", "value": {"choices": 1}}], 11, "cannot read annotation 11"),
        ([], [1], r"an annotation has no 'id' \(a number or a string\)"),
    ],
)
def test_malformed_annotations_are_refused_with_422(schema: Schema, result: Any, ann_id: Any, match: str):
    with refused(422, match):
        webhook_events("ANNOTATION_CREATED", annotation_payload(result, ann_id), 3, schema)
