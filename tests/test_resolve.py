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
    assert g.loc["s1", "label"] == "Opinion" and g.loc["s1", "confidence"] == pytest.approx(2 / 3)
    assert g.loc["s1", "n_annotators"] == 3 and g.loc["s1", "method"] == "majority"
    assert g.loc["s1", "votes"] == {"a": "Opinion", "b": "Opinion", "c": "Not a claim"}
    assert (g.loc["s3", "label"], g.loc["s3", "n_annotators"], g.loc["s3", "confidence"]) == (
        "Other factual claim",
        1,
        1.0,
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
    assert g.loc[f"s1@{T}", "label"] == "Favor" and g.loc[f"s1@{T}", "confidence"] == 1.0
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
        "confidence": 1.0,
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
