"""Adjudication pieces that need no server: result rebuilding and bad input."""

from __future__ import annotations

import json

import pandas as pd

from annotate.review import annotator_results, load_review
from annotate.schema import Schema
from annotate.studio.pull import COLUMNS


def test_annotator_results_rebuild_label_studio_results(schema_path):
    schema = Schema.from_file(schema_path)
    rows = pd.DataFrame(
        [
            {"field": "claim_type", "value": "Opinion", "type": "choices"},
            {"field": "spans", "value": "Speaker", "type": "labels", "start": 0, "end": 9, "span_text": "Sheinbaum",
             "region_id": "abc"},
            {"field": "note", "value": "unsure", "type": "textarea"},
            {"field": "not_in_schema", "value": "x", "type": "choices"},
        ],
        columns=COLUMNS,
    )
    assert annotator_results(rows, schema) == [
        {"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": ["Opinion"]}},
        {"from_name": "spans", "to_name": "text", "type": "labels", "id": "abc",
         "value": {"start": 0, "end": 9, "text": "Sheinbaum", "labels": ["Speaker"]}},
        {"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": ["unsure"]}},
    ]


def test_review_push_on_a_folder_without_snapshots_is_one_line(cli, tmp_path):
    code, out, err = cli("review", "push", tmp_path)
    assert code == 2
    assert err.strip() == f"error: {tmp_path}: no annotation snapshots here. run `annotate pull -o` into this folder."


def test_resolve_with_a_missing_review_table_is_one_line(cli, tmp_path):
    (tmp_path / "p").mkdir()
    code, out, err = cli("resolve", tmp_path, "--review", tmp_path / "p")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_load_review_reads_ground_truth_rows(tmp_path):
    path = tmp_path / "x.review.jsonl"
    path.write_text('{"item": "s1", "field": "claim_type", "value": "Opinion", "ground_truth": true, '
                    '"was_cancelled": false, "is_draft": false, "task_id": 3}\n')
    df = load_review(tmp_path)
    assert list(df["value"]) == ["Opinion"] and bool(df["ground_truth"].iloc[0])
    assert df["task_id"].iloc[0] == 3


def test_annotator_results_use_the_one_encoder_for_every_control_type():
    # review used to build its own items: it left taxonomy answers out and ignored aliases' paths
    from test_studio_results import SCHEMA

    rows = pd.DataFrame(
        [
            {"field": "topic", "value": "Elections", "type": "taxonomy"},
            {"field": "worth", "value": 3.0, "type": "rating"},
            {"field": "kind", "value": "Opinion", "type": "choices"},
            {"field": "kind", "value": "a choice since removed", "type": "choices"},
            {"field": "spans", "value": "Claim", "type": "labels", "start": 4, "end": 9, "span_text": "rates",
             "region_id": "r1"},
        ],
        columns=COLUMNS,
    )  # fmt: skip
    items = {(i["from_name"], json.dumps(i["value"], sort_keys=True)) for i in annotator_results(rows, SCHEMA)}
    assert items == {
        ("topic", json.dumps({"taxonomy": [["Politics", "ELEC"]]})),
        ("worth", json.dumps({"rating": 3})),
        ("kind", json.dumps({"choices": ["OPN"]})),
        ("spans", json.dumps({"end": 9, "labels": ["CL"], "start": 4, "text": "rates"}, sort_keys=True)),
    }
