"""push --group-duplicates / resolve: near-identical sentences clustered, labelled once, gold copied."""

from __future__ import annotations

import json

import pytest

from annotate.duplicates import (
    CLUSTER_METHOD,
    add_cluster_data,
    group_duplicates,
    group_for_push,
    members_html,
    with_members_view,
)
from annotate.errors import InputError, SchemaError
from annotate.schema import Schema
from annotate.studio.push import make_tasks

SENTENCES = [
    ("s1", "d1", "Unemployment fell to 3.5% in December, the lowest level in fifty years."),
    ("s2", "d2", "The minister said exports rose by 12% last year."),
    ("s3", "d3", "Unemployment fell to 3.5% in December - the lowest level in 50 years."),
    ("s4", "d4", "I think the new stadium is a waste of money."),
    ("s5", "d5", "Exports rose by 12% last year, the minister said."),
    ("s6", "d6", "Unemployment fell to 3.5 percent in December, the lowest level in fifty years!"),
]


def records():
    return [
        {"sentence_id": s, "doc_id": d, "text": t, "start": 0, "end": len(t), "title": f"Article {d}"}
        for s, d, t in SENTENCES
    ]


def test_rewordings_group_and_different_claims_do_not():
    clusters = group_duplicates(records(), 0.5)
    got = [[m["sentence_id"] for m in c.members] for c in clusters]
    assert got == [["s1", "s3", "s6"], ["s2", "s5"], ["s4"]]  # ordered by first member; input order within
    assert [c.cluster_id for c in clusters] == ["dup-s1", "dup-s2", "dup-s4"]
    assert clusters[0].representative["sentence_id"] == "s1"
    assert [[m["sentence_id"] for m in c.members] for c in group_duplicates(records(), 0.5)] == got  # deterministic
    assert len(group_duplicates(records(), 1.0)) == 6  # only identical texts join at 1.0
    assert group_duplicates([], 0.5) == []


def test_bad_input_is_one_line():
    with pytest.raises(InputError, match="threshold"):
        group_duplicates(records(), 1.5)
    with pytest.raises(InputError, match="record 2 has no text"):
        group_duplicates([{"sentence_id": "a", "text": "x"}, {"sentence_id": "b"}], 0.5)


def test_push_data_carries_the_members_escaped(schema_path):
    schema = Schema.from_file(schema_path)
    recs = records()
    recs[2]["text"] += " <script>alert(1)</script>"
    reps, shown, data = group_for_push(recs, schema, 0.5)
    assert [r["sentence_id"] for r in reps] == ["s1", "s2", "s4"]
    assert "$members_html" in shown.xml and set(shown.fields) == set(schema.fields)  # a view, no field
    assert with_members_view(shown) is shown
    tasks = list(make_tasks(reps, shown))
    add_cluster_data(tasks, data)
    t1 = next(t for t in tasks if t["sentence_id"] == "s1")
    assert t1["cluster_id"] == "dup-s1"
    assert [m["sentence_id"] for m in t1["members"]] == ["s1", "s3", "s6"]
    assert t1["members"][1]["doc_id"] == "d3" and t1["members"][1]["title"] == "Article d3"
    assert "<script>" not in t1["members_html"] and "&lt;script&gt;" in t1["members_html"]
    assert "No repeat" in members_html([{"sentence_id": "s4", "text": "x"}])
    bad = Schema.from_string(
        '<View><Text name="text" value="$text"/><Header name="members" value="x"/>'
        '<Choices name="claim_type" toName="text"><Choice value="a"/></Choices></View>'
    )
    with pytest.raises(SchemaError, match="members"):
        with_members_view(bad)


def test_resolve_gives_every_member_the_cluster_gold(cli, tmp_path, schema_path):
    from annotate.studio.pull import write_snapshot

    schema = Schema.from_file(schema_path)
    reps, shown, data = group_for_push(records(), schema, 0.5)
    tasks = list(make_tasks(reps, shown))
    add_cluster_data(tasks, data)
    exported = []
    for i, t in enumerate(t for t in tasks if not t["target_id"]):
        ann = {"from_name": "claim_type", "to_name": "text", "type": "choices",
               "value": {"choices": ["Check-worthy factual claim"]}}  # fmt: skip
        exported.append({"id": i + 1, "data": t, "annotations": [{"id": 10 + i, "completed_by": 1, "result": [ann]}]})
    pulled = write_snapshot(json.dumps(exported).encode(), shown, tmp_path / "ann", "desk", project_id=1)
    out = tmp_path / "gold.jsonl"
    code, stdout, err = cli("resolve", pulled.table_path.parent, "-o", out, "--schema", schema_path)
    assert code == 0, err
    assert "cluster: 3" in stdout
    rows = {(r["sentence_id"], r["field"]): r for r in map(json.loads, out.read_text("utf-8").splitlines())}
    s3 = rows[("s3", "claim_type")]
    assert (s3["label"], s3["method"], s3["from_cluster"], s3["item"]) == (
        "Check-worthy factual claim", CLUSTER_METHOD, "s1", "s3")  # fmt: skip
    assert (s3["doc_id"], s3["title"], s3["text"]) == ("d3", "Article d3", SENTENCES[2][2])
    assert rows[("s5", "claim_type")]["from_cluster"] == "s2"
    assert rows[("s1", "claim_type")]["method"] == "majority" and rows[("s1", "claim_type")]["from_cluster"] is None
    assert ("s4", "claim_type") in rows and rows[("s4", "claim_type")]["from_cluster"] is None
    from annotate.labels import load_labels

    labels = load_labels(out, schema)  # the copied rows train as any gold row
    assert SENTENCES[5][2] in set(labels["text"])
    code, stdout, err = cli("export", out, "-o", tmp_path / "gold.csv")
    assert code == 0, err


@pytest.mark.integration
def test_push_group_duplicates_one_task_per_cluster(studio, schema_path, tmp_path, cli):
    from annotate.io import write_jsonl

    sentences = tmp_path / "sentences.jsonl"
    write_jsonl(sentences, records())
    title = studio.project_title("dups")
    code, out, err = cli("push", sentences, "--project", title, "--group-duplicates", "--duplicate-threshold", "0.5",
                         "--schema", schema_path, "--url", studio.url, "--token-file", studio.token_file)  # fmt: skip
    assert code == 0, err
    client = studio.client()
    project = next(p for p in client.projects.list() if p.title == title)
    assert '<HyperText name="members" value="$members_html"' in project.label_config
    tasks = [t.data for t in client.tasks.list(project=project.id)]
    reps = {t["sentence_id"] for t in tasks}
    assert reps == {"s1", "s2", "s4"}  # one sentence per cluster (a sentence can have one task per target)
    t1 = next(t for t in tasks if t["sentence_id"] == "s1")
    assert t1["cluster_id"] == "dup-s1" and [m["sentence_id"] for m in t1["members"]] == ["s1", "s3", "s6"]
    assert "Article d3" in t1["members_html"]
    code, out, err = cli("push", sentences, "--project", title, "--group-duplicates", "--duplicate-threshold", "0.5",
                         "--schema", schema_path, "--url", studio.url, "--token-file", studio.token_file)  # fmt: skip
    assert code == 0 and " 0 imported" in out, err
