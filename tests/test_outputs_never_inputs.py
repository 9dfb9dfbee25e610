"""An input is never an output, and an unwritable destination is one line, never a traceback.

Each case failed before: `ingest x.jsonl -o x.jsonl` (and predict, suggest) replaced the input with
exit 0; `resolve -o` could write into the pull snapshot that `agree` then read; a file in place of
the output folder ended in a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from annotation_rows import row
from models_data import demo_model

from annotate.io import utc_stamp, write_jsonl
from annotate.resources import data_path
from annotate.studio.pull import COLUMNS


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def _sentences(path: Path) -> Path:
    rows = [
        {"sentence_id": f"s{i}", "doc_id": "d", "index": i, "text": t}
        for i, t in enumerate(["Unemployment fell 3% in 2019.", "I think it is great.", "Hello there."])
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_ingest_output_equal_to_input_is_refused_and_the_input_kept(cli, tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "One sentence here. And another one."}) + "\n", encoding="utf-8")
    before = src.read_bytes()
    code, _, err = cli("ingest", src, "-o", src)
    assert code == 2
    assert "the output is the input" in _one_line(err)
    assert src.read_bytes() == before


def test_ingest_output_through_a_symlink_to_the_input_is_refused(cli, tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "One sentence here."}) + "\n", encoding="utf-8")
    link = tmp_path / "link.jsonl"
    os.symlink(src, link)
    before = src.read_bytes()
    code, _, err = cli("ingest", src, "-o", link)
    assert code == 2 and "the output is the input" in _one_line(err)
    assert src.read_bytes() == before


def test_ingest_output_inside_an_input_folder_is_refused(cli, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("One sentence here. And another one.\n", encoding="utf-8")
    code, _, err = cli("ingest", folder, "-o", folder / "sentences.jsonl")
    assert code == 2 and "is inside the input folder" in _one_line(err)
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return demo_model(tmp_path_factory, data_path("schemas", "claims_stance.xml"))


@pytest.mark.parametrize("command", ["predict", "suggest"])
def test_predict_and_suggest_refuse_to_overwrite_the_sentences(cli, tmp_path, model_dir, command):
    sents = _sentences(tmp_path / "s.jsonl")
    before = sents.read_bytes()
    code, _, err = cli(command, model_dir, sents, "-o", sents)
    assert code == 2 and "the output is the input" in _one_line(err)
    assert sents.read_bytes() == before


def test_resolve_refuses_to_write_into_the_annotations_folder(cli, tmp_path, schema_path):
    ann = tmp_path / "ann"
    table = pd.DataFrame([row("s1", "a", "claim_type", "Opinion", 1), row("s1", "b", "claim_type", "Opinion", 2)])
    records = table.reindex(columns=COLUMNS).astype(object)
    write_jsonl(ann / f"{utc_stamp()}.annotations.jsonl", records.where(records.notna(), None).to_dict("records"))
    before = {p.name: p.read_bytes() for p in ann.iterdir()}
    code, _, err = cli("resolve", ann, "-o", ann / "gold.jsonl", "--schema", schema_path)
    assert code == 2 and "is inside the input folder" in _one_line(err)
    assert {p.name: p.read_bytes() for p in ann.iterdir()} == before


def test_a_file_in_place_of_the_output_folder_is_one_line(cli, tmp_path, sample_path):
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    code, _, err = cli("ingest", sample_path, "-o", blocker / "sentences.jsonl")
    assert code == 2
    line = _one_line(err)
    assert str(blocker) in line and "choose another path" in line


def test_a_folder_in_place_of_the_output_file_is_one_line(cli, tmp_path, sample_path):
    (tmp_path / "sentences.jsonl").mkdir()
    code, _, err = cli("ingest", sample_path, "-o", tmp_path / "sentences.jsonl")
    assert code == 2
    assert "sentences.jsonl" in _one_line(err)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- inputs that are not what the command reads: one line, exit 2, nothing written ----------------


def test_a_folder_without_documents_is_one_line_not_an_empty_output(cli, tmp_path):
    """An empty folder gave exit 0 and an empty sentences file."""
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / ".hidden.txt").write_text("not a document\n")
    out = tmp_path / "sentences.jsonl"
    code, _, err = cli("ingest", tmp_path / "articles", "-o", out)
    assert code == 2 and "no documents in" in _one_line(err)
    assert not out.exists()


@pytest.mark.parametrize("score", ["NaN", "Infinity", "1.5", "-0.1", "true"])
def test_a_prediction_score_outside_0_1_is_refused_before_anything_is_pushed(tmp_path, score):
    """A NaN score passed validation, then crashed after the project was created."""
    from annotate.errors import SchemaError
    from annotate.schema import Schema
    from annotate.studio.push import read_predictions

    schema = Schema.from_file(data_path("schemas", "claims_stance.xml"))
    line = (
        '{"sentence_id": "s0", "field": "claim_type", "value": "Opinion", "score": ' + score + ', "model_version": "m"}'
    )
    path = tmp_path / "p.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(SchemaError, match="not a number in 0..1"):
        read_predictions(path, schema, {"s0": {"sentence_id": "s0", "text": "x"}})


@pytest.mark.parametrize("what", ["sentences", "gold"])
def test_agree_on_a_file_that_is_not_an_annotations_table_is_one_line(cli, tmp_path, what):
    """`agree` exited 0 on any JSONL, a sentences or a gold file."""
    path = tmp_path / f"{what}.jsonl"
    rec = (
        {"sentence_id": "s0", "doc_id": "d", "text": "Hello."}
        if what == "sentences"
        else {"item": "s0", "sentence_id": "s0", "field": "claim_type", "label": "Opinion"}
    )
    path.write_text(json.dumps(rec) + "\n")
    code, out, err = cli("agree", path)
    assert code == 2 and out == ""
    assert "not a row of the annotations table" in _one_line(err) and f"{path}:1" in err
