"""Adjudication end to end against the real Label Studio server.

Three annotators with planted disagreements -> pull -> agree -> review push -> a reviewer's
answers -> review pull -> resolve: the reviewer's label wins on the conflicting items, the
majority everywhere else, and the source project is left untouched.
"""

from __future__ import annotations

import pytest

from annotate.agreement import agreement
from annotate.annotations import load_annotations
from annotate.resolve import resolve
from annotate.review import load_review, review_project_title, review_pull, review_push
from annotate.schema import Schema
from annotate.segment import ingest
from annotate.studio.pull import pull
from annotate.studio.push import existing_task_keys, push

pytestmark = pytest.mark.integration

CFC, OFC, OPN, NAC = "Check-worthy factual claim", "Other factual claim", "Opinion", "Not a claim"


def claim(value: str) -> list[dict]:
    return [{"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": [value]}}]


def test_review_round_trip(studio, tmp_path, sample_path, schema_path):
    schema = Schema.from_file(schema_path)
    ingest([sample_path], tmp_path / "sentences.jsonl")
    handle = studio.studio()
    title = studio.project_title("review")
    push(handle, tmp_path / "sentences.jsonl", schema, project=title)
    ls = studio.client()
    project = next(p for p in ls.projects.list() if p.title == title)
    keys = existing_task_keys(handle, project.id)
    # four tasks on four different sentences
    by_sentence: dict[str, int] = {}
    for key, tid in sorted(keys.items()):
        by_sentence.setdefault(key.split("@")[0], tid)
    (sa, ta), (sb, tb), (sc, tc), (sd, td) = list(by_sentence.items())[:4]
    u1, u2, u3 = (studio.create_user(f"ann{i}") for i in (1, 2, 3))
    planted = {
        ta: [(u1, OPN), (u2, OPN), (u3, NAC)],  # majority: Opinion
        tb: [(u1, OPN), (u2, CFC), (u3, NAC)],  # three-way tie: conflict
        tc: [(u1, CFC), (u2, CFC), (u3, CFC)],  # unanimous
        td: [(u1, OPN), (u2, OFC)],  # two annotators, tie: conflict
    }
    for tid, answers in planted.items():
        for user, value in answers:
            ls.annotations.create(id=tid, result=claim(value), completed_by=user.id, lead_time=3.0)

    out = tmp_path / "annotations"
    pulled = pull(handle, title, out, schema)
    df = load_annotations(pulled.table_path)
    stats = agreement(df, schema, field="claim_type")
    assert not stats.empty and set(stats["field"]) == {"claim_type"}

    summary = review_push(handle, df, schema, project=title)
    assert (summary.conflicts, summary.tasks, summary.imported) == (2, 2, 2)
    assert summary.predictions == 5  # 3 annotators on the tie, 2 on the other
    again = review_push(handle, df, schema, project=title)
    assert (again.imported, again.existing) == (0, 2)

    review = next(p for p in ls.projects.list() if p.title == review_project_title(title))
    review_tasks = {t.data["sentence_id"]: t for t in ls.tasks.list(project=review.id)}
    assert set(review_tasks) == {sb, sd}
    versions = sorted(p.model_version for p in ls.predictions.list(task=review_tasks[sb].id))
    assert versions == sorted(f"annotator:{u.email}" for u in (u1, u2, u3))
    assert review_tasks[sb].data["meta"].startswith("REVIEW (claim_type tie")

    reviewer = studio.create_user("reviewer")
    ls.annotations.create(id=review_tasks[sb].id, result=claim(CFC), completed_by=reviewer.id)
    ls.annotations.create(id=review_tasks[sd].id, result=claim(OFC), completed_by=reviewer.id)
    answers = review_pull(handle, review.title, out, schema)
    assert answers.answers == 2

    gold, conflicts = resolve(df, schema, review=load_review(answers.review_path), field="claim_type")
    labels = dict(zip(gold["sentence_id"], zip(gold["label"], gold["method"], strict=True), strict=True))
    assert labels[sa] == (OPN, "majority")
    assert labels[sb] == (CFC, "review")
    assert labels[sc] == (CFC, "majority")
    assert labels[sd] == (OFC, "review")
    assert conflicts.empty
    # the source project is unchanged: still 11 annotations, no ground truth added
    after = load_annotations(pull(handle, title, out, schema).table_path)
    assert len(after[after["field"] == "claim_type"]) == 11
    assert not after["ground_truth"].any()
