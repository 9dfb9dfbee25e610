"""Sentence files in: one reader, so every command says the same about the same bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.errors import InputError
from annotate.io import utc_stamp, write_jsonl
from annotate.labels import read_sentences as label_sentences
from annotate.models.predict import read_records
from annotate.sentences import TASK_KEYS, read_sentence_lines
from annotate.studio.push import read_sentences as push_sentences

READERS = {
    "read_sentence_lines": lambda p: list(read_sentence_lines(p)),
    "labels": label_sentences,
    "predict": read_records,
    "push": push_sentences,
}
GOOD = {"sentence_id": "s1", "doc_id": "d1", "text": "Taxes rose.", "start": 0, "end": 11}


def write(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("bad", "what"),
    [
        ({"doc_id": "d1", "text": "x", "start": 0, "end": 1}, "'sentence_id' is missing"),
        ({**GOOD, "sentence_id": ""}, "'sentence_id' is empty"),
        ({**GOOD, "sentence_id": 7}, "'sentence_id' is not a str"),
        ({**GOOD, "text": None}, "'text' is not a str"),
    ],
)
def test_every_reader_names_the_file_the_line_and_the_key(tmp_path, reader, bad, what):
    path = write(tmp_path / "s.jsonl", GOOD, bad)
    with pytest.raises(InputError) as err:
        READERS[reader](path)
    assert (err.value.path, err.value.line, err.value.message) == (str(path), 2, f"not a sentence record: {what}")
    assert err.value.hint.startswith("give the output of `annotate ingest` (each line needs sentence_id, ")


@pytest.mark.parametrize("reader", READERS)
def test_a_missing_file_says_how_to_make_one(tmp_path, reader):
    with pytest.raises(InputError) as err:
        READERS[reader](tmp_path / "nope.jsonl")
    assert str(err.value) == f"{tmp_path / 'nope.jsonl'}: no such sentences file. make one with `annotate ingest`."


def test_push_needs_the_task_keys_and_unique_ids(tmp_path):
    no_offsets = write(tmp_path / "a.jsonl", {"sentence_id": "s1", "text": "Taxes rose."})
    assert [r["sentence_id"] for r in read_records(no_offsets)] == ["s1"]  # enough for a model
    with pytest.raises(InputError, match=r"a\.jsonl:1: not a sentence record: 'doc_id' is missing\. .*"
                       r"each line needs sentence_id, doc_id, text, start, end"):  # fmt: skip
        push_sentences(no_offsets)
    with pytest.raises(InputError, match=r"'start' is not a int"):
        push_sentences(write(tmp_path / "b.jsonl", {**GOOD, "start": True}))
    twice = write(tmp_path / "c.jsonl", GOOD, GOOD)
    with pytest.raises(InputError, match=r"c\.jsonl:2: sentence_id 's1' already appears on line 1"):
        list(read_sentence_lines(twice, keys=TASK_KEYS, duplicates="error"))
    assert len(read_records(twice)) == 2 and list(label_sentences(twice)) == ["s1"]


def test_report_agreement_with_a_missing_sentences_file_is_one_line(cli, tmp_path, schema_path):
    from annotate.agreement import simulate_annotations

    df, _ = simulate_annotations(4, {"a@x.org": [[1.0, 0.0], [0.0, 1.0]], "b@x.org": [[1.0, 0.0], [0.0, 1.0]]},
                                 ["Opinion", "Not a claim"], seed=1)  # fmt: skip
    rows = df.astype(object)
    table = tmp_path / "ann" / f"{utc_stamp()}.annotations.jsonl"
    write_jsonl(table, rows.where(rows.notna(), None).to_dict("records"))
    code, _, err = cli("report", "agreement", tmp_path / "ann", "-o", tmp_path / "r.html",
                       "--sentences", tmp_path / "nope.jsonl", "--schema", schema_path)  # fmt: skip
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'nope.jsonl'}: no such sentences file. make one with `annotate ingest`."
