"""Label tables in: CSV/JSONL, the gold table joined to sentences, and every refusal by file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from models_data import sentences, write_csv, write_jsonl

from annotate.errors import InputError, SchemaError
from annotate.labels import LABEL_COLUMNS, load_labels
from annotate.schema import Schema


@pytest.fixture
def schema(schema_path: Path) -> Schema:
    return Schema.from_file(schema_path)


def test_flat_csv_infers_the_field_from_the_label(tmp_path, schema):
    path = write_csv(
        tmp_path / "l.csv",
        [
            {"text": "Taxes rose 5%.", "label": "Check-worthy factual claim", "target": ""},
            {"text": "We oppose it.", "label": "Against", "target": "foreign-intervention-venezuela"},
        ],
    )
    df = load_labels(path, schema)
    assert list(df.columns) == LABEL_COLUMNS
    assert df[["field", "label"]].values.tolist() == [
        ["claim_type", "Check-worthy factual claim"],
        ["stance", "Against"],
    ]
    assert df.loc[1, "target"] == "Foreign intervention in Venezuela"
    assert df.loc[1, "target_id"] == "foreign-intervention-venezuela"
    assert df["source_line"].tolist() == [2, 3]
    assert len(df.attrs["data_hash"]) == 16


def test_gold_table_joins_text_group_and_position_from_sentences(tmp_path, schema):
    sents = write_jsonl(tmp_path / "s.jsonl", sentences(["First.", "Second one.", "Third."]))
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"sentence_id": "s001", "field": "claim_type", "label": "Opinion", "confidence": 0.75, "n_annotators": 2},
            {"sentence_id": "s002", "field": "claim_type", "label": "Not a claim", "confidence": 1.0},
        ],
    )
    df = load_labels(gold, schema, sentences=sents)
    assert df["text"].tolist() == ["Second one.", "Third."]
    assert df["group"].tolist() == ["news1", "news1"]
    assert df["position"].tolist() == [0.5, 1.0]
    assert df["confidence"].tolist() == [0.75, 1.0]
    assert "+" in df.attrs["data_hash"]  # the sentences file is part of the data hash


def test_alias_labels_map_to_values(tmp_path, schema_path):
    xml = schema_path.read_text().replace(
        '<Choice value="Opinion" hotkey="3"/>', '<Choice value="Opinion" alias="OPN" hotkey="3"/>'
    )
    (tmp_path / "a.xml").write_text(xml)
    df = load_labels(
        write_csv(tmp_path / "l.csv", [{"text": "x", "label": "OPN"}]), Schema.from_file(tmp_path / "a.xml")
    )
    assert df["label"].tolist() == ["Opinion"]


def test_unknown_label_names_file_and_line(tmp_path, schema):
    path = write_csv(tmp_path / "l.csv", [{"text": "a", "label": "Opinion"}, {"text": "b", "label": "Rant"}])
    with pytest.raises(SchemaError) as err:
        load_labels(path, schema)
    assert str(err.value).startswith(
        f"{path}:3: label 'Rant' is not a choice of any field of schema claims_stance.xml."
    )


def test_unknown_field(tmp_path, schema):
    path = write_jsonl(tmp_path / "l.jsonl", [{"text": "a", "label": "x", "field": "mood"}])
    with pytest.raises(SchemaError, match=r"l.jsonl:1: field 'mood' is not a field with choices"):
        load_labels(path, schema)


def test_gold_row_without_sentences_file(tmp_path, schema):
    path = write_jsonl(tmp_path / "g.jsonl", [{"sentence_id": "s1", "field": "claim_type", "label": "Opinion"}])
    with pytest.raises(InputError) as err:
        load_labels(path, schema)
    assert str(err.value) == (
        f"{path}:1: row has no text. re-run `annotate resolve` (its gold carries the text), or give the sentences file."
    )


def test_gold_row_missing_from_sentences_file(tmp_path, schema):
    sents = write_jsonl(tmp_path / "s.jsonl", sentences(["Only."]))
    path = write_jsonl(tmp_path / "g.jsonl", [{"sentence_id": "zzz", "field": "claim_type", "label": "Opinion"}])
    with pytest.raises(InputError, match=r"g.jsonl:1: sentence 'zzz' is not in the sentences file"):
        load_labels(path, schema, sentences=sents)


def test_missing_label_policy(tmp_path, schema):
    path = write_jsonl(tmp_path / "g.jsonl", [{"text": "a", "label": None}, {"text": "b", "label": "Opinion"}])
    with pytest.raises(InputError, match=r"g.jsonl:1: row has no label"):
        load_labels(path, schema)
    df = load_labels(path, schema, on_missing_label="skip")
    assert len(df) == 1 and df.attrs["skipped"] == 1


def test_stance_label_needs_a_target(tmp_path, schema):
    path = write_csv(tmp_path / "l.csv", [{"text": "We oppose it.", "label": "Against"}])
    with pytest.raises(InputError, match=r"l.csv:2: a 'stance' label needs a target"):
        load_labels(path, schema)


def test_cli_train_on_unknown_file_type(cli, tmp_path):
    (tmp_path / "l.xlsx").write_text("x")
    code, _, err = cli("train", tmp_path / "l.xlsx", "-o", tmp_path / "m")
    assert code == 2
    hint = "give a .csv, .tsv or .jsonl file with a header."
    assert err.strip() == f"error: {tmp_path / 'l.xlsx'}: unknown label file type '.xlsx'. {hint}"


def test_gold_claim_rows_per_task_count_once(tmp_path, schema):
    sents = write_jsonl(tmp_path / "s.jsonl", sentences(["Mexico rejects intervention in Venezuela."]))
    v, e = "foreign-intervention-venezuela", "new-renewable-energy-projects"
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"sentence_id": "s000", "target": v, "field": "claim_type", "label": "Opinion"},
            {"sentence_id": "s000", "target": e, "field": "claim_type", "label": "Opinion"},
            {"sentence_id": "s000", "target": v, "field": "stance", "label": "Against"},
        ],
    )
    df = load_labels(gold, schema, sentences=sents)
    assert df[["field", "label"]].values.tolist() == [["claim_type", "Opinion"], ["stance", "Against"]]
    assert df["target_id"].isna().tolist() == [True, False] and df.loc[1, "target_id"] == v
    assert df.attrs["duplicates"] == 1
