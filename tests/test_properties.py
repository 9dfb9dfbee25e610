"""Property-based tests (Hypothesis): invariants that must hold on any input, not just the examples.

- segmentation: every sentence is ``text[start:end]`` of its document, on arbitrary Unicode, and
  editing a later paragraph leaves the ids of earlier sentences as they were;
- agreement: Krippendorff's alpha of raters who always agree is 1, and no agreement figure
  changes when the labels are renamed (a permutation of the choices);
- the JSONL reader: arbitrary bytes give records or one :class:`InputError`, never another
  exception.

``derandomize=True`` keeps CI reproducible: the same examples on every run.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotate.agreement import agreement, simulate_annotations
from annotate.corpus import Document
from annotate.errors import InputError
from annotate.io import read_jsonl
from annotate.schema import Schema, default_schema_path
from annotate.segment import segment

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# Unicode text without the carriage returns and other line separators ingest normalises away
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
    max_size=300,
)
_WORDY = st.lists(
    st.sampled_from(
        [
            "The",
            "minister",
            "said",
            "taxes",
            "rose",
            "5%",
            "in",
            "2019",
            ".",
            "!",
            "?",
            '"',
            "«",
            "»",
            "Dr.",
            "U.S.",
            "é",
            "日本",
            "🙂",
            "\n",
            " ",
            "  ",
            "\t",
        ]
    ),  # fmt: skip
    max_size=60,
).map(" ".join)


@SETTINGS
@given(text=st.one_of(_TEXT, _WORDY))
def test_every_sentence_is_its_documents_text_between_start_and_end(text):
    doc = Document(doc_id="d", text=text)
    sentences = segment(doc)
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert s.text.strip() == s.text and s.text
    assert [s.index for s in sentences] == list(range(len(sentences)))
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:], strict=False))


@SETTINGS
@given(first=_WORDY, second=_WORDY, edited=_WORDY)
def test_editing_a_later_paragraph_keeps_the_ids_before_it(first, second, edited):
    before = segment(Document(doc_id="d", text=first + "\n" + second))
    after = segment(Document(doc_id="d", text=first + "\n" + edited))
    cut = len(first)
    kept = [s.sentence_id for s in before if s.end <= cut]
    assert [s.sentence_id for s in after if s.end <= cut] == kept


_SCHEMA = Schema.from_file(default_schema_path())
_LABELS = _SCHEMA.field("claim_type").values


@SETTINGS
@given(seed=st.integers(0, 10_000), n_items=st.integers(4, 30), n_raters=st.integers(2, 4))
def test_alpha_of_raters_who_always_agree_is_one(seed, n_items, n_raters):
    raters = {f"r{i}": np.eye(len(_LABELS)) for i in range(n_raters)}
    df, truth = simulate_annotations(n_items, raters, _LABELS, seed=seed)
    table = agreement(df, _SCHEMA, field="claim_type", n_boot=20)
    alpha = table.loc[table.metric == "krippendorff_alpha", "value"].iloc[0]
    if truth.nunique() > 1:
        assert alpha == pytest.approx(1.0)
    else:
        assert np.isnan(alpha)  # one value only: alpha is undefined, never a number
    assert table.loc[table.metric == "observed_agreement", "value"].iloc[0] == pytest.approx(1.0)


@SETTINGS
@given(seed=st.integers(0, 10_000), permutation=st.permutations(range(len(_LABELS))))
def test_agreement_does_not_change_when_the_labels_are_renamed(seed, permutation):
    noisy = np.full((4, 4), 0.3 / 3) + np.eye(4) * (0.7 - 0.3 / 3)
    df, _ = simulate_annotations(25, {"a": noisy, "b": noisy, "c": noisy}, _LABELS, coverage=0.8, seed=seed)
    rename = {_LABELS[i]: _LABELS[j] for i, j in enumerate(permutation)}
    renamed = df.copy()
    renamed["value"] = renamed["value"].map(lambda v: rename.get(v, v))
    a = agreement(df, _SCHEMA, field="claim_type", n_boot=20)
    b = agreement(renamed, _SCHEMA, field="claim_type", n_boot=20)
    for metric in ("observed_agreement", "krippendorff_alpha", "fleiss_kappa"):
        x = a.loc[a.metric == metric, "value"].iloc[0]
        y = b.loc[b.metric == metric, "value"].iloc[0]
        assert (np.isnan(x) and np.isnan(y)) or x == pytest.approx(y), metric


@SETTINGS
@given(
    data=st.binary(max_size=400)
    | st.lists(
        st.sampled_from([b"{}", b'{"a": 1}', b"[1]", b"nul", b"\xff", b'{"text": "x"}', b"", b" "]),  # fmt: skip
        max_size=6,
    ).map(b"\n".join)
)
def test_the_jsonl_reader_gives_records_or_one_input_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("jsonl") / "f.jsonl"
    path.write_bytes(data)
    try:
        records = list(read_jsonl(path, allow_empty=True))
    except InputError as err:
        assert str(path) in str(err) and "\n" not in str(err)
        return
    assert all(isinstance(rec, dict) and isinstance(line, int) and line >= 1 for line, rec in records)


# --- the round trip through a real Label Studio: nothing lost, nothing invented -----------------------

_CLAIMS = ["Check-worthy factual claim", "Other factual claim", "Opinion", "Not a claim"]
_STANCES = ["Favor", "Against", "Neutral", "Unrelated"]
# one annotation: (task, annotator, claim label, stance label or None, skipped, ground truth)
_ANNOTATION = st.tuples(
    st.integers(0, 3), st.integers(0, 2), st.sampled_from(_CLAIMS), st.none() | st.sampled_from(_STANCES),
    st.booleans(), st.booleans(),
)  # fmt: skip


@pytest.mark.integration
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(_ANNOTATION, max_size=10))
def test_ingest_push_pull_keeps_every_generated_annotation_and_invents_none(studio, tmp_path_factory, annotations):
    """Generated annotations made in a real Label Studio come back in the table, each answer once."""
    from annotate.annotations import load_annotations
    from annotate.segment import ingest
    from annotate.studio.pull import pull
    from annotate.studio.push import push

    tmp = tmp_path_factory.mktemp("roundtrip")
    (tmp / "doc.txt").write_text(
        "Mexico rejects foreign intervention in Venezuela. Exports rose 12% in 2019.\n\n"
        "The minister welcomed the solar energy projects. Who pays for it?\n",
        encoding="utf-8",
    )
    ingest([tmp / "doc.txt"], tmp / "s.jsonl")
    schema = Schema.from_file(default_schema_path())
    title = studio.project_title("hyp")
    pushed = push(studio.studio(), tmp / "s.jsonl", schema, project=title)
    ls = studio.client()
    try:
        tasks = sorted(ls.tasks.list(project=pushed.project_id, page_size=100), key=lambda t: t.id)
        users = [studio.create_user(f"hyp{i}") for i in range(3)]
        expected = []
        for ti, ui, claim, stance, skipped, gt in annotations:
            task = tasks[ti % len(tasks)]
            result = [{"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": [claim]}}]
            if stance and task.data.get("target_id"):
                result.append(
                    {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [stance]}}
                )
            ann = ls.annotations.create(id=task.id, result=[] if skipped else result, was_cancelled=skipped,
                                        ground_truth=gt and not skipped, completed_by=users[ui].id)  # fmt: skip
            for r in [] if skipped else result:
                expected.append((task.id, ann.id, users[ui].email, r["from_name"], r["value"]["choices"][0]))
            if skipped:
                expected.append((task.id, ann.id, users[ui].email, None, None))
        table = load_annotations(pull(studio.studio(), title, tmp / "annotations").table_path)
        got = [(r.task_id, r.annotation_id, r.annotator, r.field, r.value) for r in table.itertuples()]
        norm = [(int(t), int(a), u, f if isinstance(f, str) else None, v if isinstance(v, str) else None)
                for t, a, u, f, v in got]  # fmt: skip
        assert sorted(norm, key=str) == sorted(expected, key=str)
    finally:
        ls.projects.delete(id=pushed.project_id)
