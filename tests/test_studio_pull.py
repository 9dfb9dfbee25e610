"""Pull against a real Label Studio: two annotators, a skip, ground truth, a draft, spans, unknown fields.

Set ``ANNOTATE_RECORD_EXPORTS=1`` to refresh ``tests/data/export_round_trip.json`` (the recorded
export the unit tests in ``test_studio_table.py`` read) from this run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest

from annotate.annotations import load_annotations, summary
from annotate.schema import Schema, default_schema_path
from annotate.studio.pull import pull
from annotate.studio.push import push
from tests.studio_server import on_both_databases

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

studio = on_both_databases()  # the round trip runs on sqlite and on PostgreSQL


def choice(field: str, *values: str) -> dict:
    return {"from_name": field, "to_name": "text", "type": "choices", "value": {"choices": list(values)}}


def span(rid: str, text: str, start: int, end: int, label: str) -> dict:
    value = {"start": start, "end": end, "text": text[start:end], "labels": [label]}
    return {"id": rid, "from_name": "spans", "to_name": "text", "type": "labels", "value": value}


@pytest.fixture(scope="module")
def round_trip(studio, tmp_path_factory):
    """A project with a known set of annotations, pulled once: (pull result, facts to check)."""
    tmp = tmp_path_factory.mktemp("pull")
    sentences = tmp / "sentences.jsonl"
    sentences.write_text(
        "".join(
            json.dumps(
                {"sentence_id": f"s{i}", "doc_id": "d1", "index": i, "start": 0, "end": len(text), "text": text,
                 "context": {"previous": "", "next": ""}}  # fmt: skip
            )
            + "\n"
            for i, text in enumerate(
                [
                    "Sheinbaum said the platforms in Mexico are not permanent.",
                    "Fans 😀 cheered as the mayor said the stadium “will cost nothing”.",
                    "It rained.",
                ]
            )
        )
    )
    schema = Schema.from_file(default_schema_path())
    s = studio.studio()
    title = studio.project_title("pull")
    preds = tmp / "preds.jsonl"
    pred = {"sentence_id": "s0", "field": "claim_type", "value": "Opinion", "score": 0.5, "model_version": "m-7"}
    preds.write_text(json.dumps(pred) + "\n")
    pushed = push(s, sentences, schema, project=title, predictions=preds)
    ls = studio.client()
    tasks = {t.data["task_key"]: t for t in ls.tasks.list(project=pushed.project_id, fields="all")}
    t_target = tasks["s0@permanent-us-intelligence-platforms"]
    t_emoji, t_plain = tasks["s1"], tasks["s2"]
    a1, a2 = studio.create_user("ann1"), studio.create_user("ann2")
    text0, text1 = t_target.data["text"], t_emoji.data["text"]
    ann = ls.annotations.create
    ann(id=t_target.id, completed_by=a1.id, lead_time=4.5,
        result=[choice("claim_type", "Check-worthy factual claim"), choice("stance", "Against"),
                span("c1", text0, 0, 9, "Speaker"), span("c2", text0, 19, 57, "Claim")])  # fmt: skip
    ann(id=t_target.id, completed_by=a2.id, lead_time=2.0,
        result=[choice("claim_type", "Opinion"), choice("stance", "Favor")])  # fmt: skip
    ann(id=t_target.id, ground_truth=True, result=[choice("claim_type", "Check-worthy factual claim")])
    hidden = [span("e1", text1, 22, 27, "Speaker"), choice("claim_type", "Not a claim"), choice("stance", "Favor")]
    ann(id=t_emoji.id, completed_by=a1.id, result=hidden)
    ann(id=t_emoji.id, completed_by=a2.id, was_cancelled=True, result=[choice("claim_type", "Opinion")])
    note = {"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": ["unclear"]}}
    ann(id=t_plain.id, completed_by=a1.id, result=[choice("claim_type", "Maybe"), choice("verdict", "True"), note])
    r = httpx.post(f"{s.url}/api/tasks/{t_plain.id}/drafts", headers=s.headers(),
                   json={"result": [choice("claim_type", "Opinion")], "lead_time": 1.0})  # fmt: skip
    assert r.status_code == 201, r.text
    result = pull(s, title, tmp / "annotations")
    if os.environ.get("ANNOTATE_RECORD_EXPORTS"):
        DATA.mkdir(exist_ok=True)
        shutil.copyfile(result.export_path, DATA / "export_round_trip.json")
    facts = {"a1": a1.email, "a2": a2.email, "admin": studio.email or None, "task_target": t_target.id,
             "project": title, "out": tmp / "annotations"}  # fmt: skip
    return result, facts


@pytest.mark.integration
def test_summary_counts_everything(round_trip):
    result, facts = round_trip
    s = result.summary
    assert (s["tasks"], s["annotated_tasks"], s["annotations"], s["skipped"], s["ground_truth"], s["drafts"]) == (
        len(json.loads(result.export_path.read_text())), 3, 6, 1, 1, 1
    )
    assert s["annotators"][facts["a1"]] == 3 and s["annotators"][facts["a2"]] == 2
    assert s["server_counted_annotations"] == s["annotations"]
    assert s["issues"] == {"hidden by condition": 1, "unknown choice": 1, "unknown field": 1}
    assert s["fields"] == {"claim_type": 5, "note": 1, "spans": 3, "stance": 3, "verdict": 1}


@pytest.mark.integration
def test_rows_keep_annotators_skips_ground_truth_and_prediction_version(round_trip):
    result, facts = round_trip
    df = load_annotations(facts["out"])
    assert Path(df.attrs["path"]) == result.table_path
    target_rows = df[df.task_id == facts["task_target"]]
    stance = target_rows[target_rows.field == "stance"].set_index("annotator")["value"].to_dict()
    assert stance == {facts["a1"]: "Against", facts["a2"]: "Favor"}
    assert set(target_rows[target_rows.field == "stance"]["item"]) == {"s0@permanent-us-intelligence-platforms"}
    assert set(target_rows[target_rows.field == "claim_type"]["item"]) == {"s0"}
    assert target_rows.ground_truth.sum() == 1
    assert set(target_rows.model_version.dropna()) <= {"m-7"}
    skipped = df[df.was_cancelled]
    assert len(skipped) == 1 and skipped.iloc[0]["field"] is None and skipped.iloc[0]["annotator"] == facts["a2"]
    draft = df[df.is_draft]
    assert list(draft.value) == ["Opinion"] and draft.iloc[0]["annotator_id"] is not None
    assert summary(df)["skipped"] == 1


@pytest.mark.integration
def test_span_offsets_match_text(round_trip):
    result, facts = round_trip
    df = load_annotations(result.table_path)
    spans = df[df.type == "labels"]
    tasks = {t["id"]: t["data"]["text"] for t in json.loads(result.export_path.read_text())}
    assert len(spans) == 3
    for row in spans.itertuples():
        assert tasks[row.task_id][row.start : row.end] == row.span_text
    emoji = spans[spans.region_id == "e1"].iloc[0]
    assert (emoji.value, emoji.span_text) == ("Speaker", "mayor")


@pytest.mark.integration
def test_snapshots_are_immutable_and_latest_wins(studio, round_trip):
    result, facts = round_trip
    before = result.export_path.read_bytes()
    again = pull(studio.studio(), facts["project"], facts["out"])
    assert again.export_path != result.export_path and result.export_path.read_bytes() == before
    assert load_annotations(facts["out"]).attrs["path"] == str(again.table_path)


@pytest.mark.integration
def test_pull_cli_unknown_project(studio, cli, tmp_path):
    code, _out, err = cli("pull", "--project", "no-such-project", "-o", tmp_path, "--url", studio.url,
                          "--token-file", studio.token_file)  # fmt: skip
    assert code == 2
    assert err.strip().startswith(f"error: no project titled 'no-such-project' at {studio.url}. projects there: ")
    assert not any(tmp_path.iterdir())


@pytest.mark.integration
def test_pull_cli_prints_summary(studio, round_trip, cli, tmp_path):
    _result, facts = round_trip
    code, out, err = cli("pull", "--project", facts["project"], "-o", tmp_path, "--url", studio.url,
                         "--token-file", studio.token_file)  # fmt: skip
    assert code == 0, err
    assert "3 annotated, 6 annotations (1 skipped, 1 drafts, 1 ground truth)" in out
    assert "issues: " in out and "unknown field 1" in out
