"""push --matches: the archive's likely matches in the labelling view and the `checked` field.

Unit tests of annotate.studio.matches, and one round trip through a real Label Studio: push with
matches, the task data and config hold them, a pre-annotation above the threshold, annotations on
`checked` come back in pull's table, and resolve and agree treat the field as any other.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from annotate.errors import InputError, SchemaError
from annotate.schema import Schema, default_schema_path
from annotate.studio.matches import (
    FIELD,
    NONE,
    add_match_data,
    match_predictions,
    matches_html,
    read_matches,
    schema_for_table,
    with_checked_field,
)

SENTENCES = [
    "Joe Biden owns the largest mansion in Delaware.",
    "The mayor said the stadium will cost nothing.",
    "It rained.",
]
MATCHES = [
    {"sentence_id": "s0", "text": SENTENCES[0], "matches": [
        {"claim_id": "338", "claim": "Joe Biden owns the largest mansion in his state.", "probability": 0.97,
         "verdict": "False", "url": "https://example.org/biden?a=1&b=2", "rank": 1},
        {"claim_id": "12", "claim": "<b>Biden</b> & a <script>alert(1)</script> house", "probability": 0.2,
         "verdict": "", "url": "javascript:alert(1)", "rank": 2}]},
    {"sentence_id": "s1", "text": SENTENCES[1], "matches": [
        {"claim_id": "7", "claim": "The stadium costs taxpayers nothing.", "probability": 0.6, "verdict": "Mixed",
         "url": "", "rank": 1}]},
    {"sentence_id": "s2", "text": SENTENCES[2], "matches": []},
]  # fmt: skip


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def sentences(tmp_path) -> Path:
    rows = [
        {"sentence_id": f"s{i}", "doc_id": "d1", "index": i, "start": 0, "end": len(t), "text": t,
         "context": {"previous": "", "next": ""}}
        for i, t in enumerate(SENTENCES)
    ]  # fmt: skip
    return write_jsonl(tmp_path / "sentences.jsonl", rows)


@pytest.fixture
def matches(tmp_path) -> Path:
    return write_jsonl(tmp_path / "matches.jsonl", MATCHES)


# --- without a server -------------------------------------------------------------------------


def test_checked_field_is_one_choice_among_none_and_the_shown_matches():
    base = Schema.from_file(default_schema_path())
    s = with_checked_field(base)
    f = s.fields[FIELD]
    assert (f.type, f.multiple, f.to_name) == ("choices", False, "text")
    assert f.values == [NONE, "Match 1", "Match 2", "Match 3"]
    assert f in s.categorical_fields
    # everything else kept: fields, targets, the path (so the project title); a hash of its own
    assert {k: v for k, v in s.fields.items() if k != FIELD} == base.fields
    assert (s.targets, s.target_field, s.path) == (base.targets, base.target_field, base.path)
    assert s.hash != base.hash and "matches_html" in s.data_keys
    assert s.xml.startswith(base.xml[: base.xml.rfind("</View>")].rstrip())
    assert with_checked_field(s) is s  # idempotent
    # the result is a config the SDK accepts (from_string validates it with LabelInterface)
    assert Schema.from_string(s.xml).fields[FIELD].values == f.values


def test_a_foreign_checked_field_is_refused():
    xml = default_schema_path().read_text().replace('name="note"', f'name="{FIELD}"')
    with pytest.raises(SchemaError, match="not the matches field"):
        with_checked_field(Schema.from_string(xml))


def test_matches_html_escapes_the_archive_and_links_only_web_urls(matches):
    found = read_matches(matches)
    page = matches_html(found["s0"])
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;Biden" in page
    assert 'href="https://example.org/biden?a=1&amp;b=2"' in page
    assert 'href="javascript' not in page  # shown as text, never a link
    assert "Match 1" in page and "97%" in page and "verdict: <b>False</b>" in page
    assert "None of these" in matches_html(found["s2"])


def test_tasks_carry_their_matches(matches):
    found = read_matches(matches)
    tasks = [{"sentence_id": "s0"}, {"sentence_id": "s2"}, {"sentence_id": "s9"}]
    add_match_data(tasks, found)
    assert [m["claim_id"] for m in tasks[0]["matches"]] == ["338", "12"]
    assert tasks[0]["matches"][0]["url"] == "https://example.org/biden?a=1&b=2"
    assert tasks[1]["matches"] == [] and tasks[2]["matches"] == [] and tasks[2]["matches_html"]


def test_pre_annotation_only_above_the_threshold(matches):
    found = read_matches(matches)
    preds = match_predictions(found, ["s0", "s1", "s2"], threshold=0.9)
    assert preds == [{"sentence_id": "s0", "field": FIELD, "value": "Match 1", "score": 0.97,
                      "model_version": "annotate-match-1"}]  # fmt: skip
    assert [p["sentence_id"] for p in match_predictions(found, ["s0", "s1", "s2"], threshold=0.5)] == ["s0", "s1"]
    with pytest.raises(InputError):
        match_predictions(found, ["s0"], threshold=1.5)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"text": "x", "matches": []}, "'sentence_id' is missing"),
        ({"sentence_id": "a", "matches": {}}, "'matches' is not a list"),
        ({"sentence_id": "a", "matches": [{"claim_id": "1"}]}, "match 1 has no 'claim'"),
        ({"sentence_id": "a", "matches": [{"claim": "c", "probability": 2}]}, "not a number in 0..1"),
    ],
)
def test_bad_matches_file_names_the_line(tmp_path, row, message):
    path = write_jsonl(tmp_path / "m.jsonl", [{"sentence_id": "ok", "matches": []}, row])
    with pytest.raises(InputError, match=message) as err:
        read_matches(path)
    assert ":2" in str(err.value)


def test_resolve_and_agree_read_the_field_from_the_table():
    base = Schema.from_file(default_schema_path())
    rows = []
    for ann, value in (("a", "Match 1"), ("b", "Match 1"), ("c", NONE)):
        rows.append({"item": "s0", "sentence_id": "s0", "target": "", "annotation_id": ann, "annotator": ann,
                     "field": FIELD, "type": "choices", "value": value})  # fmt: skip
    df = pd.DataFrame(rows)
    s = schema_for_table(base, df)
    assert FIELD in s.fields and schema_for_table(base, df.iloc[:0]) is base

    from annotate.agreement import agreement
    from annotate.resolve import resolve

    gold, conflicts = resolve(df, s)
    (row,) = gold.to_dict("records")
    assert (row["field"], row["label"], row["n_annotators"]) == (FIELD, "Match 1", 3)
    assert FIELD in set(agreement(df, s)["field"])


# --- against a real server --------------------------------------------------------------------


@pytest.mark.integration
def test_push_matches_round_trip(studio, sentences, matches, tmp_path, cli, monkeypatch):
    from annotate.annotations import load_annotations
    from annotate.studio.pull import find_project, pull

    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.token)
    title = studio.project_title("matches")
    code, out, err = cli("push", sentences, "--project", title, "--matches", matches, "--match-threshold", "0.9")
    assert code == 0, err
    assert "1 predictions attached (model_version annotate-match-1)" in out
    s = studio.studio()
    project = find_project(s, title)
    ls = studio.client()
    config = Schema.from_string(ls.projects.get(id=project.id).label_config)
    assert config.fields[FIELD].values == [NONE, "Match 1", "Match 2", "Match 3"]
    tasks = {t.data["sentence_id"]: t for t in ls.tasks.list(project=project.id, fields="all")}
    assert len(tasks) == 3
    assert [m["claim"] for m in tasks["s0"].data["matches"]][0] == MATCHES[0]["matches"][0]["claim"]
    assert "&lt;script&gt;" in tasks["s0"].data["matches_html"] and tasks["s2"].data["matches"] == []
    (pred,) = tasks["s0"].predictions
    pred = pred.model_dump() if hasattr(pred, "model_dump") else pred
    assert pred["score"] == pytest.approx(0.97)
    (item,) = pred["result"]
    assert (item["from_name"], item["type"], item["value"]) == (FIELD, "choices", {"choices": ["Match 1"]})
    assert not tasks["s1"].predictions and not tasks["s2"].predictions  # 0.6 < 0.9; no match
    # a re-push imports nothing and attaches nothing twice
    code, out, err = cli("push", sentences, "--project", title, "--matches", matches)
    assert code == 0 and "0 imported, 3 already there" in out, out + err

    # two annotators answer; pull's table has the answers; resolve and agree use the field
    a1, a2 = studio.create_user("m1"), studio.create_user("m2")

    def answer(task, user, value):
        ls.annotations.create(id=task.id, completed_by=user.id, result=[
            {"from_name": "claim_type", "to_name": "text", "type": "choices",
             "value": {"choices": ["Check-worthy factual claim"]}},
            {"from_name": FIELD, "to_name": "text", "type": "choices", "value": {"choices": [value]}}])  # fmt: skip

    answer(tasks["s0"], a1, "Match 1")
    answer(tasks["s0"], a2, "Match 1")
    answer(tasks["s1"], a1, NONE)
    pulled = pull(s, title, tmp_path / "annotations")
    df = load_annotations(pulled.table_path)
    got = df[df["field"] == FIELD]
    assert sorted(got["value"]) == ["Match 1", "Match 1", NONE] and got["issue"].isna().all()
    code, out, err = cli("resolve", tmp_path / "annotations", "-o", tmp_path / "gold.jsonl")
    assert code == 0, err
    gold = [json.loads(x) for x in (tmp_path / "gold.jsonl").read_text().splitlines()]
    checked = {g["sentence_id"]: g["label"] for g in gold if g["field"] == FIELD}
    assert checked == {"s0": "Match 1", "s1": NONE}
    code, out, err = cli("agree", tmp_path / "annotations", "--json")
    assert code == 0, err
    assert FIELD in {r["field"] for r in json.loads(out)["agreement"]}
    ls.projects.delete(id=project.id)


def test_the_desks_checked_answers_train_the_reranker(tmp_path, cli):
    """The resolved 'checked' answers were a dead end: now `fit-reranker gold --matches` learns from them."""
    claims = [
        f"The {thing} rose by {n} percent in {year}."
        for thing, n, year in zip(
            ["price of bread", "city rent", "bus fare", "unemployment rate", "carbon tax", "hospital budget",
             "school budget", "rail fare", "water bill", "power bill", "fuel price", "wheat price",
             "coffee price", "milk price", "gas price", "tax rate", "road toll", "beer tax", "wine tax", "fee"],
            range(3, 23), range(2001, 2021), strict=True,
        )
    ]  # fmt: skip
    archive = tmp_path / "archive.csv"
    archive.write_text("id,claim\n" + "".join(f"c{i},{c}\n" for i, c in enumerate(claims)), encoding="utf-8")
    sentences = tmp_path / "s.jsonl"
    rows = [{"sentence_id": f"s{i}", "doc_id": "d", "text": f"Officials said that {c[4:].lower()}"}
            for i, c in enumerate(claims)]  # fmt: skip
    sentences.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    matches = tmp_path / "matches.jsonl"
    code, _, err = cli("match", sentences, "--archive", archive, "-o", matches, "-k", "3")
    assert code == 0, err
    shown = {json.loads(x)["sentence_id"]: json.loads(x)["matches"] for x in matches.read_text().splitlines()}
    gold = []
    for i, r in enumerate(rows):
        ranks = [m["claim_id"] for m in shown[r["sentence_id"]]]
        label = f"Match {ranks.index(f'c{i}') + 1}" if f"c{i}" in ranks else "None of these"
        gold.append({"sentence_id": r["sentence_id"], "field": "checked", "label": label, "text": r["text"]})
    gold_path = tmp_path / "gold.jsonl"
    gold_path.write_text("".join(json.dumps(g) + "\n" for g in gold), encoding="utf-8")
    code, out, err = cli("fit-reranker", gold_path, "--matches", matches, "--archive", archive, "-o", tmp_path / "rr")
    assert code == 0, err
    card = json.loads((tmp_path / "rr" / "card.json").read_text("utf-8"))
    positives = sum(g["label"] != "None of these" for g in gold)
    assert card["n_positive"] == positives >= 10 and card["n_queries"] == len(gold)
    # an answer the matches file cannot explain is refused in one line
    gold[0]["label"] = "Match 9"
    gold_path.write_text("".join(json.dumps(g) + "\n" for g in gold), encoding="utf-8")
    code, _, err = cli("fit-reranker", gold_path, "--matches", matches, "--archive", archive, "-o", tmp_path / "r2")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "shows it no such claim" in err
