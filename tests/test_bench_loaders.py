"""Benchmark loaders on tiny files written in each dataset's official layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotate.bench import loaders
from annotate.errors import InputError
from annotate.schema import Schema

COLUMNS = ["text", "target", "label", "group"]


def write_semeval(path: Path) -> Path:
    rows = [
        b"ID\tTarget\tTweet\tStance",
        b"101\tAtheism\tGod is good #SemST\tAGAINST",
        b"110\tAtheism\tmodesty \xcd\xa2 too arrogant #SemST\tFAVOR",  # not UTF-8, as tweet 110
        b"201\tHillary Clinton\tNothing to say #SemST\tNONE",
    ]
    path.write_bytes(b"\n".join(rows) + b"\n")
    return path


def test_semeval_layout_latin1_and_schema_labels(tmp_path):
    df = loaders.load_semeval2016(write_semeval(tmp_path / "train.txt"))
    assert list(df.columns[:4]) == COLUMNS
    assert df["label"].tolist() == ["Against", "Favor", "None"]
    assert df["group"].tolist() == ["101", "110", "201"]
    assert "arrogant" in df["text"][1] and "\ufffd" not in df["text"][1]
    values = Schema.from_file(loaders.schema_path("semeval2016")).field("stance").values
    assert set(df["label"]) <= set(values)


def test_semeval_unknown_label_names_the_line(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("ID\tTarget\tTweet\tStance\n1\tAtheism\tok\tAGAINST\n2\tAtheism\tok\tMAYBE\n")
    with pytest.raises(
        InputError, match=r"t.txt:3: unknown label 'MAYBE'. labels must be one of: FAVOR, AGAINST, NONE"
    ):
        loaders.load_semeval2016(p)


def test_semeval_test_file_without_gold_gives_empty_labels(tmp_path):
    p = tmp_path / "test.txt"
    p.write_text("ID\tTarget\tTweet\tStance\n1\tAtheism\tok\tUNKNOWN\n")
    assert loaders.load_semeval2016(p)["label"].tolist() == [""]


def write_fnc(folder: Path, prefix: str = "train") -> Path:
    (folder / f"{prefix}_bodies.csv").write_text(
        'Body ID,articleBody\n7,"First line.\n\nSecond line, with a comma."\n9,Another body\n'
    )
    stances = folder / f"{prefix}_stances.csv"
    stances.write_text("Headline,Body ID,Stance\nA headline,7,agree\nOther,9,unrelated\nThird,7,discuss\n")
    return stances


def test_fnc_reads_bodies_beside_stances(tmp_path):
    df = loaders.load_fnc1(write_fnc(tmp_path))
    assert list(df.columns[:4]) == COLUMNS
    assert df["label"].tolist() == ["Agree", "Unrelated", "Discuss"]
    assert df["text"][0] == "First line.\n\nSecond line, with a comma."
    assert df["target"].tolist() == ["A headline", "Other", "Third"]
    assert df["body_id"].tolist() == df["group"].tolist() == ["7", "9", "7"]


@pytest.mark.parametrize(
    ("stances", "bodies"),
    [
        ("train_stances.csv", "train_bodies.csv"),
        ("competition_test_stances.csv", "competition_test_bodies.csv"),
        ("competition_test_stances_unlabeled.csv", "competition_test_bodies.csv"),
    ],
)
def test_fnc_bodies_naming(stances, bodies):
    assert loaders.fnc1_bodies_path(Path("d") / stances) == Path("d") / bodies


def test_fnc_missing_bodies_file(tmp_path):
    stances = write_fnc(tmp_path, "competition_test")
    (tmp_path / "competition_test_bodies.csv").unlink()
    with pytest.raises(InputError) as err:
        loaders.load_fnc1(stances)
    assert str(err.value) == (
        f"{stances}: no bodies file beside the stances file (looked for competition_test_bodies.csv). "
        f"put the official bodies file at {tmp_path / 'competition_test_bodies.csv'}."
    )


def test_fnc_body_id_not_in_bodies(tmp_path):
    stances = write_fnc(tmp_path)
    stances.write_text("Headline,Body ID,Stance\nA,7,agree\nB,12,agree\n")
    with pytest.raises(InputError, match=r"train_stances.csv:3: Body ID 12 is not in train_bodies.csv"):
        loaders.load_fnc1(stances)


def test_emergent(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text(
        ",claimHeadline,articleHeadline,articleHeadlineStance,articleId,claimId\n"
        '0,Claim one,"Headline, one",for,a1,c1\n'
        "1,Claim one,Is it true?,observing,a2,c1\n"
        "2,Claim two,No way,against,a3,c2\n"
    )
    df = loaders.load_emergent(p)
    assert list(df.columns[:4]) == COLUMNS
    assert df["label"].tolist() == ["For", "Observing", "Against"]
    assert df["group"].tolist() == ["c1", "c1", "c2"]
    assert df["text"][0] == "Headline, one"


def test_emergent_wrong_columns(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("claim,headline,stance\nx,y,for\n")
    with pytest.raises(InputError, match=r"e.csv: missing column\(s\) claimHeadline, articleHeadline"):
        loaders.load_emergent(p)


def test_clef_folder_of_debates(tmp_path):
    (tmp_path / "d1.tsv").write_text("1\tHOLT\tGood evening.\t0\n2\tTRUMP\tWe lost 70,000 factories.\t1\n")
    (tmp_path / "d2.tsv").write_text("1\tCLINTON\tThank you.\t0\n")
    df = loaders.load_clef2019(tmp_path)
    assert list(df.columns[:4]) == COLUMNS
    assert df["group"].tolist() == ["d1", "d1", "d2"]
    assert df["line"].tolist() == [1, 2, 1]
    assert df["speaker"].tolist() == ["HOLT", "TRUMP", "CLINTON"]
    assert df["label"].tolist() == ["Not check-worthy", "Check-worthy", "Not check-worthy"]


def test_clef_bad_line_and_empty_folder(tmp_path):
    (tmp_path / "d1.tsv").write_text("1\tHOLT\tGood evening.\t0\nline without tabs\n")
    with pytest.raises(InputError, match=r"d1.tsv:2: expected line_number<TAB>speaker<TAB>text<TAB>label"):
        loaders.load_clef2019(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .tsv debate files in this folder"):
        loaders.load_clef2019(tmp_path / "empty")


def write_claimbuster(path: Path, n: int = 40) -> Path:
    rows = ["sentence_id,screening,label,text"]
    for i in range(n):
        if i % 3 == 0:
            rows.append(f'{i},1,1,"Unemployment rose by {i} percent in {1990 + i}, costing $ {i} million."')
        else:
            rows.append(f"{i},0,0,Thank you all for being here tonight number {i}.")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_claimbuster_documented_layout(tmp_path):
    df = loaders.load_claimbuster(write_claimbuster(tmp_path / "kfold_25ncs.csv", 6))
    assert list(df.columns[:4]) == COLUMNS
    assert df["label"].tolist() == ["Check-worthy", "Not check-worthy", "Not check-worthy"] * 2
    assert df["group"].tolist() == [str(i) for i in range(6)]


@pytest.mark.parametrize("name", sorted(loaders.SCHEMAS))
def test_bench_schemas_pass_schema_check_and_hold_every_label(cli, name):
    schema_file, field = loaders.SCHEMAS[name]
    code, out, err = cli("schema", "check", loaders.schema_path(name))
    assert code == 0, err
    assert f"schema {schema_file}" in out
    values = Schema.from_file(loaders.schema_path(name)).field(field).values
    assert sorted(values) == sorted(loaders.LABEL_MAPS[name].values())
