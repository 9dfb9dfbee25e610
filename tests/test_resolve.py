"""Gold labels: majority with loud ties, Dawid-Skene on simulated annotators, overrides, the condition."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from annotation_rows import row

from annotate.agreement import simulate_annotations
from annotate.errors import InputError
from annotate.io import utc_stamp, write_jsonl
from annotate.resolve import CONFLICT_COLUMNS, GOLD_COLUMNS, resolve, write_gold
from annotate.schema import Schema
from annotate.studio.pull import COLUMNS, write_snapshot

T = "foreign-intervention-venezuela"


@pytest.fixture(scope="session")
def schema() -> Schema:
    from tests.conftest import DEFAULT_SCHEMA

    return Schema.from_file(DEFAULT_SCHEMA)


@pytest.fixture(scope="session")
def abc() -> Schema:
    return Schema.from_string(
        '<View><Text name="text" value="$text"/><Choices name="claim_type" toName="text">'
        '<Choice value="a"/><Choice value="b"/><Choice value="c"/></Choices></View>'
    )


def claims(*answers: tuple[str, str, str]) -> pd.DataFrame:
    """(sentence, annotator, claim_type) triples, one annotation each."""
    return pd.DataFrame([row(s, a, "claim_type", v, i) for i, (s, a, v) in enumerate(answers)])


def gold_of(gold: pd.DataFrame) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r.item, r.field): (r.label, r.method) for r in gold.itertuples()}


def test_majority_and_ties_are_conflicts(schema):
    df = claims(
        ("s1", "a", "Opinion"),
        ("s1", "b", "Opinion"),
        ("s1", "c", "Not a claim"),
        ("s2", "a", "Opinion"),
        ("s2", "b", "Not a claim"),
        ("s3", "a", "Other factual claim"),
    )
    gold, conflicts = resolve(df, schema)
    assert list(gold.columns) == GOLD_COLUMNS and list(conflicts.columns) == CONFLICT_COLUMNS
    g = gold.set_index("item")
    # confidence counts the votes (Laplace: (k + 1) / (n + 2)); agreement is their share
    assert g.loc["s1", "label"] == "Opinion" and g.loc["s1", "confidence"] == pytest.approx(3 / 5)
    assert g.loc["s1", "agreement"] == pytest.approx(2 / 3)
    assert g.loc["s1", "n_annotators"] == 3 and g.loc["s1", "method"] == "majority"
    assert g.loc["s1", "votes"] == {"a": "Opinion", "b": "Opinion", "c": "Not a claim"}
    # one annotator's answer is not as sure as a unanimous three (it was 1.0, like 3/3)
    assert (g.loc["s3", "label"], g.loc["s3", "n_annotators"], g.loc["s3", "confidence"]) == (
        "Other factual claim",
        1,
        pytest.approx(2 / 3),
    )
    assert "s2" not in g.index  # never broken silently
    (c,) = conflicts.itertuples()
    assert (c.item, c.field, c.reason, c.candidates) == ("s2", "claim_type", "tie", ["Not a claim", "Opinion"])
    assert c.votes == {"a": "Opinion", "b": "Not a claim"}


def test_on_tie_error_names_the_items(schema):
    df = claims(("s2", "a", "Opinion"), ("s2", "b", "Not a claim"))
    with pytest.raises(InputError, match=r"1 tied item\(s\) with on_tie='error': s2 \(claim_type: Not a claim / "):
        resolve(df, schema, on_tie="error")
    with pytest.raises(InputError, match="unknown method 'mean'. use one of: majority, dawid-skene"):
        resolve(df, schema, method="mean")  # type: ignore[arg-type]


def test_dawid_skene_beats_majority_on_simulated_annotators(abc):
    # two reliable annotators, two "spammers" who answer "a" 80% of the time whatever the truth,
    # and one near-random one: majority follows the spammers, Dawid-Skene learns to discount them
    def reliable(p: float) -> np.ndarray:
        return np.full((3, 3), (1 - p) / 2) + np.eye(3) * (p - (1 - p) / 2)

    spam = np.array([[0.8, 0.1, 0.1]] * 3)
    confusions = {"ann1": reliable(0.9), "ann2": reliable(0.8), "ann3": spam, "ann4": spam, "ann5": reliable(0.55)}
    df, truth = simulate_annotations(200, confusions, ["a", "b", "c"], seed=7)

    def accuracy(gold: pd.DataFrame) -> float:
        labels = gold.set_index("item")["label"]
        return float((labels.reindex(truth.index) == truth).mean())  # undecided (ties) count as wrong

    gold = resolve(df, abc, method="dawid-skene").gold
    mv, ds = accuracy(resolve(df, abc).gold), accuracy(gold)
    assert ds > mv + 0.1, (ds, mv)
    assert ds > 0.8
    assert set(gold["method"]) == {"dawid-skene"}
    assert gold["confidence"].between(1 / 3, 1).all()


def test_ground_truth_overrides_and_review_overrides_ground_truth(schema):
    df = claims(("s1", "a", "Opinion"), ("s1", "b", "Opinion"), ("s2", "a", "Opinion"), ("s2", "b", "Opinion"))
    df.loc[3, "ground_truth"] = True
    df.loc[3, "value"] = "Not a claim"  # b's answer on s2 is the ground truth
    gold, _ = resolve(df, schema)
    assert gold_of(gold) == {
        ("s1", "claim_type"): ("Opinion", "majority"),
        ("s2", "claim_type"): ("Not a claim", "ground_truth"),
    }
    review = pd.DataFrame([row("s1", "rev", "claim_type", "Check-worthy factual claim", 99, ground_truth=True)])
    gold, _ = resolve(df, schema, review=review)
    g = gold.set_index("item")
    assert (g.loc["s1", "label"], g.loc["s1", "method"], g.loc["s1", "confidence"]) == (
        "Check-worthy factual claim",
        "review",
        1.0,
    )
    assert g.loc["s1", "votes"] == {"a": "Opinion", "b": "Opinion"}  # the originals are kept as they were
    assert g.loc["s2", "method"] == "ground_truth"


def test_review_resolves_a_conflict_and_must_be_ground_truth(schema):
    df = claims(("s2", "a", "Opinion"), ("s2", "b", "Not a claim"))
    review = pd.DataFrame([row("s2", "rev", "claim_type", "Opinion", 99, ground_truth=True)])
    gold, conflicts = resolve(df, schema, review=review)
    assert gold_of(gold) == {("s2", "claim_type"): ("Opinion", "review")} and conflicts.empty
    with pytest.raises(InputError, match=r"the review table has 1 row\(s\) with ground_truth=False"):
        resolve(df, schema, review=review.assign(ground_truth=False))


def test_stance_counts_only_where_claim_type_allows_it(schema):
    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Opinion", 1, T),
            row("s1", "a", "stance", "Favor", 1, T),
            row("s1", "b", "claim_type", "Opinion", 2, T),
            row("s1", "b", "stance", "Favor", 2, T),
            # c said "Not a claim": c's stale stance answer is hidden and must not make a tie
            row("s1", "c", "claim_type", "Not a claim", 3, T),
            row("s1", "c", "stance", "Against", 3, T),
            row("s1", "c", "stance", "Against", 3, T),
        ]
    )
    gold, conflicts = resolve(df, schema)
    g = gold.set_index("item")
    assert g.loc[f"s1@{T}", "label"] == "Favor" and g.loc[f"s1@{T}", "agreement"] == 1.0
    assert g.loc[f"s1@{T}", "confidence"] == pytest.approx(3 / 4)
    assert g.loc[f"s1@{T}", "n_annotators"] == 2 and g.loc[f"s1@{T}", "target"] == T
    assert conflicts.empty


def test_stance_hidden_by_the_gold_claim_type_goes_to_conflicts(schema):
    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Not a claim", 1, T),
            row("s1", "b", "claim_type", "Not a claim", 2, T),
            row("s1", "c", "claim_type", "Opinion", 3, T),
            row("s1", "c", "stance", "Favor", 3, T),
        ]
    )
    gold, conflicts = resolve(df, schema)
    assert gold_of(gold) == {("s1", "claim_type"): ("Not a claim", "majority")}
    assert gold["target"].tolist() == [None]  # claim_type is per sentence, whichever task it came from
    (c,) = conflicts.itertuples()
    assert (c.item, c.field, c.reason, c.candidates) == (f"s1@{T}", "stance", "hidden", ["Favor"])
    assert c.detail == "gold claim_type is 'Not a claim', which hides stance"


def test_write_gold_jsonl(schema, tmp_path):
    df = claims(("s1", "a", "Opinion"), ("s1", "b", "Opinion"), ("s2", "a", "Opinion"), ("s2", "b", "Not a claim"))
    n, k = write_gold(resolve(df, schema), tmp_path / "gold.jsonl")
    assert (n, k) == (1, 1)
    (g,) = [json.loads(x) for x in (tmp_path / "gold.jsonl").read_text().splitlines()]
    assert g == {
        "item": "s1",
        "sentence_id": "s1",
        "target": None,
        "field": "claim_type",
        "label": "Opinion",
        "confidence": 0.75,
        "agreement": 1.0,
        "n_annotators": 2,
        "method": "majority",
        "votes": {"a": "Opinion", "b": "Opinion"},
    }
    (c,) = [json.loads(x) for x in (tmp_path / "gold.conflicts.jsonl").read_text().splitlines()]
    assert c["reason"] == "tie" and c["candidates"] == ["Not a claim", "Opinion"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold.conflicts.jsonl", "gold.jsonl"]  # no temp files


def write_table(df: pd.DataFrame, path) -> None:
    """Write the rows with the columns of the flat table `annotate pull` / `annotate review pull` write."""
    records = df.reindex(columns=COLUMNS).astype(object)
    write_jsonl(path, records.where(records.notna(), None).to_dict("records"))


def test_cli_resolve(cli, tmp_path, schema, schema_path):
    ann, rev = tmp_path / "ann", tmp_path / "rev"
    write_table(
        claims(("s1", "a", "Opinion"), ("s1", "b", "Opinion"), ("s2", "a", "Opinion"), ("s2", "b", "Not a claim")),
        ann / f"{utc_stamp()}.annotations.jsonl",
    )
    write_table(
        pd.DataFrame([row("s2", "rev", "claim_type", "Opinion", 9, ground_truth=True)]),
        rev / f"{utc_stamp()}.review.jsonl",
    )
    out = tmp_path / "gold.jsonl"
    code, stdout, err = cli("resolve", ann, "-o", out, "--schema", schema_path)
    assert code == 0, err
    assert stdout.splitlines() == [
        f"wrote 1 gold labels to {out} (majority: 1)",
        f"wrote 1 conflicts to {tmp_path / 'gold.conflicts.jsonl'} (tie: 1)",
        "note: no sentence text found (no export beside the table): pass --sentences to add it",
    ]
    code, stdout, err = cli("resolve", ann, "-o", out, "--review", rev, "--schema", schema_path)
    assert code == 0, err
    assert stdout.splitlines()[0] == f"wrote 2 gold labels to {out} (majority: 1, review: 1)"
    code, stdout, err = cli("resolve", ann, "-o", out, "--on-tie", "error", "--schema", schema_path)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: 1 tied item(s) with on_tie='error': s2 (claim_type: Not a claim / Opinion). use "
        "on_tie='conflict' to list them for review (annotate review push)."
    ]
    # a pull of a project whose one task nobody has annotated yet: an empty table
    empty = b'[{"id": 1, "data": {"sentence_id": "s1", "text": "A sentence."}, "annotations": []}]'
    write_snapshot(empty, schema, tmp_path, "empty")
    code, _, err = cli("resolve", tmp_path / "empty", "-o", tmp_path / "g2.jsonl", "--schema", schema_path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is empty" in err
    assert not (tmp_path / "g2.jsonl").exists()


def test_confidence_grows_with_the_votes_and_min_annotators_sends_lone_answers_to_review(schema):
    """A single annotator's gold had confidence 1.0, like a unanimous 3/3."""
    df = claims(
        ("s1", "a", "Opinion"),
        ("s2", "a", "Opinion"), ("s2", "b", "Opinion"),
        ("s3", "a", "Opinion"), ("s3", "b", "Opinion"), ("s3", "c", "Opinion"),
    )  # fmt: skip
    g = resolve(df, schema).gold.set_index("item")
    assert g.loc["s1", "confidence"] < g.loc["s2", "confidence"] < g.loc["s3", "confidence"] < 1.0
    assert (g["agreement"] == 1.0).all()
    gold, conflicts = resolve(df, schema, min_annotators=2)
    assert sorted(gold["item"]) == ["s2", "s3"]
    (c,) = conflicts.itertuples()
    assert (c.item, c.reason, c.candidates) == ("s1", "few_annotators", ["Opinion"])


def test_gold_from_a_pull_carries_the_text_and_trains_alone(cli, tmp_path, schema_path):
    """Gold rows carried no text: `train gold.jsonl` failed with "pass the sentences file"."""
    from annotate.studio.pull import write_snapshot

    schema = Schema.from_file(schema_path)
    target = schema.targets[0]
    tasks = []
    for i, (text, label, stance) in enumerate(
        [("Exports rose 12% in 2019.", "Check-worthy factual claim", "Favor"),
         ("I think this is a terrible idea.", "Opinion", "Against"),
         ("Imports fell 3% last year.", "Check-worthy factual claim", "Against"),
         ("What a lovely day.", "Opinion", "Favor")]
    ):  # fmt: skip
        data = {"text": text, "sentence_id": f"s{i}", "doc_id": "d1", "target_id": target.id,
                "target": f"{target.name} — {target.description}", "title": "An article",
                "url": "https://x.test/a"}  # fmt: skip
        anns = [
            {"id": 10 * i + j, "completed_by": j, "result": [
                {"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": [label]}},
                {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [stance]}}]}
            for j in (1, 2)
        ]  # fmt: skip
        tasks.append({"id": i + 1, "data": data, "annotations": anns})
    pulled = write_snapshot(json.dumps(tasks).encode(), schema, tmp_path / "ann", "desk", project_id=1)
    out = tmp_path / "gold.jsonl"
    code, stdout, err = cli("resolve", pulled.table_path.parent, "-o", out, "--schema", schema_path)
    assert code == 0, err
    assert "note:" not in stdout
    rows = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    claim = next(r for r in rows if r["sentence_id"] == "s0" and r["field"] == "claim_type")
    assert (claim["text"], claim["doc_id"], claim["title"], claim["url"]) == (
        "Exports rose 12% in 2019.", "d1", "An article", "https://x.test/a")  # fmt: skip
    stance = next(r for r in rows if r["sentence_id"] == "s0" and r["field"] == "stance")
    assert stance["target_name"] == target.name and stance["target"] == target.id
    from annotate.labels import load_labels

    labels = load_labels(out, schema)  # no sentences file needed
    assert sorted(set(labels["text"])) == sorted(t["data"]["text"] for t in tasks)
    assert set(labels.loc[labels["field"] == "stance", "target"]) == {target.name}
    # and an editor's spreadsheet of it: title, URL and text first, votes readable, Excel's BOM
    import csv

    sheet = tmp_path / "gold.csv"
    code, stdout, err = cli("export", out, "-o", sheet)
    assert code == 0 and stdout.startswith(f"wrote {len(rows)} rows to {sheet}"), err
    raw = sheet.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert list(table[0])[:5] == ["title", "url", "doc_id", "sentence_id", "text"]
    first = next(r for r in table if r["sentence_id"] == "s0" and r["field"] == "claim_type")
    assert first["text"] == "Exports rose 12% in 2019."
    assert first["votes"] == "1: Check-worthy factual claim; 2: Check-worthy factual claim"
    code, _, err = cli("export", out, "-o", tmp_path / "gold.xlsx")
    assert code == 2 and "name the output .csv or .tsv" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("export", out, "-o", out.with_suffix(".jsonl"))
    assert code == 2
