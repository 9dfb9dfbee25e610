"""Agreement numbers against published worked examples, the table's rules, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from annotation_rows import row

from annotate.agreement import (
    _alpha,
    _alpha_bootstrap,
    _cohen_bootstrap,
    _fleiss_bootstrap,
    _resample_weights,
    agreement,
    agreement_by_target,
    annotator_stats,
    coincidences,
    describe_table,
    disagreements,
    format_agreement,
    format_by_target,
    observed_agreement,
    reading,
    span_f1,
    votes,
)
from annotate.errors import InputError, SchemaError
from annotate.io import utc_stamp, write_jsonl
from annotate.schema import Schema
from annotate.studio.pull import COLUMNS, write_snapshot

CODES_XML = (
    '<View><Text name="text" value="$text"/><Choices name="code" toName="text">'
    + "".join(f'<Choice value="{i}"/>' for i in range(1, 6))
    + "</Choices></View>"
)


@pytest.fixture(scope="session")
def codes() -> Schema:
    return Schema.from_string(CODES_XML)


@pytest.fixture(scope="session")
def schema() -> Schema:
    from tests.conftest import DEFAULT_SCHEMA

    return Schema.from_file(DEFAULT_SCHEMA)


def frame(data: dict[str, list], field: str = "code") -> pd.DataFrame:
    """Reliability data (coder -> values per unit, None = missing) as the flat table."""
    rows = [
        {"item": f"u{u}", "sentence_id": f"u{u}", "annotator": coder, "field": field, "value": str(v)}
        for coder, values in data.items()
        for u, v in enumerate(values)
        if v is not None
    ]
    return pd.DataFrame(rows)


def metric(table: pd.DataFrame, name: str, field: str | None = None) -> pd.Series:
    t = table[table["metric"] == name]
    if field:
        t = t[t["field"] == field]
    assert len(t) == 1, t
    return t.iloc[0]


# --- published worked examples -------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x 12
# units, nominal data with missing values; alpha = 0.743.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}

# Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa", worked example): 10 subjects, 14 raters,
# 5 categories; P-bar = 0.378, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_krippendorff_alpha_worked_example(codes):
    table = agreement(frame(KRIPPENDORFF_2011), codes, n_boot=200)
    alpha = metric(table, "krippendorff_alpha")
    assert round(alpha.value, 3) == 0.743
    assert alpha.n_items == 11  # unit 12 has one value only: not pairable
    assert alpha.n_annotators == 4
    assert alpha.ci_low < alpha.value < alpha.ci_high <= 1.0


def test_bootstrap_is_the_library_alpha_on_each_resample():
    counts = pd.crosstab(frame(KRIPPENDORFF_2011)["item"], frame(KRIPPENDORFF_2011)["value"]).to_numpy()
    counts = counts[counts.sum(axis=1) >= 2]
    boots = _alpha_bootstrap(counts, n_boot=25, seed=3)
    w = _resample_weights(len(counts), n_boot=25, seed=3).astype(int)
    assert (w.sum(axis=1) == len(counts)).all()
    expected = np.array([_alpha(np.repeat(counts, wi, axis=0), 5) for wi in w])
    np.testing.assert_allclose(boots, expected[np.isfinite(expected)], rtol=1e-12)
    np.testing.assert_array_equal(boots, _alpha_bootstrap(counts, n_boot=25, seed=3))  # fixed seed


def test_fleiss_kappa_and_observed_agreement_worked_example(codes):
    rows = []
    for s, counts in enumerate(FLEISS_TABLE):
        labels = [str(c + 1) for c, n in enumerate(counts) for _ in range(n)]
        rows += [
            {"item": f"s{s}", "sentence_id": f"s{s}", "annotator": f"r{r}", "field": "code", "value": lab}
            for r, lab in enumerate(labels)
        ]
    table = agreement(pd.DataFrame(rows), codes, n_boot=50)
    fleiss = metric(table, "fleiss_kappa")
    assert round(fleiss.value, 3) == 0.210
    assert (fleiss.n_items, fleiss.n_annotators) == (10, 14)
    assert fleiss.note == "few items: wide interval"  # 10 subjects
    assert fleiss.ci_low < fleiss.value < fleiss.ci_high
    assert round(metric(table, "observed_agreement").value, 3) == 0.378
    assert round(observed_agreement(np.array(FLEISS_TABLE)), 3) == 0.378


def test_cohen_kappa_hand_computed_2x2(codes):
    # 50 items: both "1" 20, A "1"/B "2" 5, A "2"/B "1" 10, both "2" 15.
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    pairs = [("1", "1")] * 20 + [("1", "2")] * 5 + [("2", "1")] * 10 + [("2", "2")] * 15
    table = agreement(frame({"A": [a for a, _ in pairs], "B": [b for _, b in pairs]}), codes, n_boot=50)
    k = metric(table, "cohen_kappa")
    assert (k.annotator_a, k.annotator_b, k.n_items) == ("A", "B", 50)
    assert round(k.value, 3) == 0.400
    assert k.ci_low < k.value < k.ci_high and pd.isna(k.note)  # 50 items: an interval, no small-n note
    assert round(metric(table, "observed_agreement").value, 3) == 0.700


def test_span_f1_exact_and_overlap_by_hand():
    a = [(0, 10, "Claim"), (20, 30, "Speaker")]
    b = [(0, 10, "Claim"), (22, 30, "Speaker"), (40, 50, "Claim")]
    assert span_f1(a, b) == (1, 1, 5)  # exact F1 = 2/5
    assert span_f1(a, b, overlap=True) == (2, 2, 5)  # overlap F1 = 4/5
    assert span_f1([(0, 10, "Claim")], [(10, 20, "Claim")], overlap=True) == (0, 0, 2)  # touching, no overlap
    assert span_f1([(0, 10, "Claim")], [(0, 10, "Speaker")], overlap=True) == (0, 0, 2)  # label must match


def test_span_agreement_from_the_table(schema):
    def spans(sid, who, aid, start, end, label):
        return row(sid, who, "spans", label, aid, start=start, end=end)

    df = pd.DataFrame(
        [
            spans("s1", "a", 1, 0, 10, "Claim"),
            spans("s1", "a", 1, 20, 30, "Speaker"),
            spans("s1", "b", 2, 0, 10, "Claim"),
            spans("s1", "b", 2, 22, 30, "Speaker"),
            spans("s1", "b", 2, 40, 50, "Claim"),
            row("s1", "a", "claim_type", "Opinion", 1),
            row("s1", "b", "claim_type", "Opinion", 2),
            # c submitted s2 without spans, a marked one: a vote for "no spans", F1 0 on that sentence
            row("s2", "a", "claim_type", "Opinion", 3),
            spans("s2", "a", 3, 0, 5, "Claim"),
            row("s2", "c", "claim_type", "Opinion", 4),
            row("s3", "c", "claim_type", "Opinion", 5),  # c does mark spans, elsewhere
            spans("s3", "c", 5, 0, 5, "Claim"),
        ]
    )
    table = agreement(df, schema, field="spans")
    by = {(r.metric, r.annotator_a, r.annotator_b): r for r in table.itertuples()}
    assert by["span_f1_exact", "a", "b"].value == pytest.approx(2 / 5)
    assert by["span_f1_overlap", "a", "b"].value == pytest.approx(4 / 5)
    assert by["span_f1_exact", "a", "c"].value == 0.0 and by["span_f1_exact", "a", "c"].n_items == 1
    assert np.isnan(by["span_f1_exact", "b", "c"].value)
    assert by["span_f1_exact", "b", "c"].note == "no sentence annotated by both"


# --- the table's rules --------------------------------------------------------------------


def test_stance_counts_only_when_the_same_annotations_claim_type_allows_it(schema):
    t = "foreign-intervention-venezuela"
    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Opinion", 1, t),
            row("s1", "a", "stance", "Favor", 1, t),
            # b said "Not a claim": the stance answer left from before is hidden in the UI, not a vote
            row("s1", "b", "claim_type", "Not a claim", 2, t),
            row("s1", "b", "stance", "Against", 2, t),
        ]
    )
    v = votes(df, schema, "stance")
    assert list(v["annotator"]) == ["a"]
    assert v.attrs["hidden"] == 1
    table = agreement(df, schema, field="stance")
    alpha = metric(table, "krippendorff_alpha")
    assert np.isnan(alpha.value)
    assert alpha.note.startswith("only one annotator (a) answered 'stance'")


def test_latest_answer_per_annotator_and_item(schema):
    # the same annotator answers claim_type of s1 in two tasks (two targets): the later one counts
    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Opinion", 1, "t1", when="2026-01-01T10:00:00Z"),
            row("s1", "a", "claim_type", "Not a claim", 2, "t2", when="2026-01-01T11:00:00Z"),
            row("s1", "b", "claim_type", "Not a claim", 3, "t1"),
        ]
    )
    v = votes(df, schema, "claim_type")
    assert dict(zip(v["annotator"], v["label"], strict=True)) == {"a": "Not a claim", "b": "Not a claim"}
    assert v.attrs["superseded"] == 1


def test_cancelled_draft_and_flagged_rows_are_not_votes_but_are_counted(schema):
    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Opinion", 1, lead_time=4.0),
            row("s1", "b", "claim_type", "Opinion", 2, lead_time=6.0),
            row("s2", "a", "claim_type", "Opinion", 3, lead_time=8.0),
            row("s2", "b", None, None, 4, was_cancelled=True, lead_time=1.0),
            row("s3", "b", "claim_type", "Opinion", 5, is_draft=True),
            row("s4", "b", "claim_type", "Maybe", 6, issue="unknown choice"),
        ]
    )
    assert len(votes(df, schema, "claim_type")) == 3
    assert describe_table(df) == (
        "5 annotations by 2 annotators on 4 sentences; not votes: 1 skipped, 1 draft, 1 row with an issue"
    )
    stats = annotator_stats(df, schema).set_index(["annotator", "field"])
    b = stats.loc[("b", "claim_type")]
    assert b.n_annotations == 3 and b.skip_rate == pytest.approx(1 / 3)  # the draft is no annotation
    a = stats.loc[("a", "claim_type")]
    assert a.median_lead_time == 6.0 and a.skip_rate == 0.0
    assert a.label_distribution == {"Opinion": 2}
    assert (a.agreement_with_others, a.n_pairs) == (1.0, 1)


def test_annotator_stats_agreement_with_the_others_majority(codes):
    df = frame({"A": ["1", "1", "2"], "B": ["1", "2", "2"], "C": ["1", "2", "1"]})
    s = annotator_stats(df, codes).set_index("annotator")
    # A: item0 others 1,1 -> agree; item1 others 2,2 -> disagree; item2 others 2,1 tie -> left out
    assert (s.loc["A", "agreement_with_aggregate"], s.loc["A", "n_aggregate_items"]) == (0.5, 2)
    assert s.loc["A", "agreement_with_others"] == pytest.approx(3 / 6)


def test_coincidences_and_disagreements(codes):
    df = frame({"A": ["1", "1"], "B": ["1", "2"], "C": ["1", "2"]})
    cm = coincidences(df, codes, "code")
    assert cm.loc["1", "1"] == 6 and cm.loc["1", "2"] == 2 and cm.loc["2", "1"] == 2 and cm.loc["2", "2"] == 2
    d = disagreements(df, codes, texts={"u1": "second sentence"})
    assert list(d["item"]) == ["u1", "u0"]
    assert d.iloc[0]["text"] == "second sentence" and d.iloc[0]["votes"] == {"A": "1", "B": "2", "C": "2"}


# --- reading aids: bands, n/a, few items, per target (issue 14) ---------------------------------


@pytest.mark.parametrize(
    ("value", "band"),
    [(-0.01, "poor"), (0.0, "slight"), (0.20, "slight"), (0.21, "fair"), (0.30, "fair"), (0.40, "fair")]
    + [(0.41, "moderate"), (0.60, "moderate"), (0.61, "substantial"), (0.80, "substantial")]
    + [(0.81, "almost perfect"), (1.0, "almost perfect"), (float("nan"), None)],
)
def test_kappa_reads_in_the_landis_koch_bands(value, band):
    assert reading("cohen_kappa", value) == band
    assert reading("fleiss_kappa", value) == band


@pytest.mark.parametrize(
    ("value", "band"),
    [(0.85, "reliable"), (0.800, "reliable"), (0.75, "tentative"), (0.667, "tentative")]
    + [(0.66, "discard"), (-0.2, "discard")],
)
def test_alpha_reads_in_krippendorffs_bands(value, band):
    assert reading("krippendorff_alpha", value) == band
    assert reading("krippendorff_alpha", 2 / 3) == "tentative"  # read as printed: 0.667


def test_format_agreement_says_how_each_figure_reads(codes):
    # A and B agree on 5 of 6 items with two labels: kappa (5/6 - 1/2) / (1 - 1/2) = 0.667, substantial
    table = agreement(frame({"A": ["1", "1", "1", "2", "2", "2"], "B": ["1", "1", "1", "2", "2", "1"]}), codes)
    text = format_agreement(table)
    assert "cohen_kappa A ~ B: 0.667 substantial" in text
    assert reading("observed_agreement", 0.9) is None  # no published bands for raw agreement


def test_span_f1_is_na_for_an_annotator_who_never_marks_spans(schema):
    # a marks spans; c answers claim_type on the same sentences but never marks a span: F1 = 0
    # would read as total disagreement, when c simply does not annotate spans
    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Opinion", 1),
            row("s1", "a", "spans", "Claim", 1, start=0, end=10),
            row("s2", "a", "claim_type", "Opinion", 2),
            row("s2", "a", "spans", "Speaker", 2, start=3, end=8),
            row("s1", "c", "claim_type", "Opinion", 3),
            row("s2", "c", "claim_type", "Opinion", 4),
        ]
    )
    table = agreement(df, schema, field="spans")
    for name in ("span_f1_exact", "span_f1_overlap"):
        r = metric(table, name)
        assert np.isnan(r.value) and r.n_items == 2
        assert r.note == "c marked no 'spans' span on any of their 2 sentences: no F1 with c (n/a, not 0)"
    text = format_agreement(table)
    assert "span_f1_exact a ~ c: n/a (c marked no 'spans' span" in text
    assert "0.000" not in text


def test_figures_on_few_items_say_so_and_give_their_interval(codes):
    # 6 items: every figure gets the small-n note, and kappa its bootstrap 95% interval
    table = agreement(frame({"A": ["1", "1", "1", "2", "2", "2"], "B": ["1", "1", "1", "2", "2", "1"]}), codes)
    for name in ("observed_agreement", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa"):
        r = metric(table, name)
        assert r.n_items == 6 and r.note.startswith("few items: wide interval"), name
    for name in ("krippendorff_alpha", "fleiss_kappa", "cohen_kappa"):
        r = metric(table, name)
        assert r.ci_low < r.value <= r.ci_high <= 1.0, name
    text = format_agreement(table)
    assert "  cohen_kappa A ~ B: 0.667 substantial [95% CI " in text
    assert text.count("few items: wide interval") == 4
    # on 3 items there is no interval, and the note says why
    tiny = agreement(frame({"A": ["1", "2", "1"], "B": ["1", "2", "2"]}), codes)
    k = metric(tiny, "cohen_kappa")
    assert np.isnan(k.ci_low) and k.note == "few items: wide interval; too few (3) for a bootstrap interval"


def test_kappa_bootstraps_are_the_library_kappas_on_each_resample():
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa

    counts = np.array(FLEISS_TABLE)
    w = _resample_weights(len(counts), n_boot=25, seed=5).astype(int)
    expected = np.array([fleiss_kappa(np.repeat(counts, wi, axis=0), method="fleiss") for wi in w])
    np.testing.assert_allclose(_fleiss_bootstrap(counts, n_boot=25, seed=5), expected, rtol=1e-12)

    a = np.array([0, 0, 1, 1, 2, 2, 0, 1, 2, 0, 1, 1])
    b = np.array([0, 1, 1, 1, 2, 0, 0, 1, 2, 2, 1, 0])
    w = _resample_weights(len(a), n_boot=25, seed=5)
    expected = np.array([cohen_kappa_score(a, b, labels=[0, 1, 2], sample_weight=wi) for wi in w])
    np.testing.assert_allclose(_cohen_bootstrap(a, b, 3, n_boot=25, seed=5), expected, rtol=1e-12)


VENEZUELA, ENERGY = "foreign-intervention-venezuela", "new-renewable-energy-projects"


def stance_table() -> pd.DataFrame:
    """Stance on two of the schema's four targets: three annotators on Venezuela, two on energy."""
    venezuela = {
        "a": ["Favor", "Against", "Against", "Neutral", "Favor", "Unrelated"],
        "b": ["Favor", "Against", "Against", "Neutral", "Against", "Unrelated"],
        "c": ["Favor", "Against", "Neutral", "Neutral", "Favor", "Unrelated"],
    }
    # a and b on 4 sentences: p_o = 3/4, p_e = .5*.25 + .25*.5 + .25*.25 = .3125, kappa = .4375/.6875
    energy = {"a": ["Favor", "Favor", "Against", "Neutral"], "b": ["Favor", "Against", "Against", "Neutral"]}
    rows, aid = [], 0
    for target, answers in ((VENEZUELA, venezuela), (ENERGY, energy)):
        for who, values in answers.items():
            for i, value in enumerate(values):
                aid += 1
                rows += [
                    row(f"s{i}", who, "claim_type", "Opinion", aid, target),
                    row(f"s{i}", who, "stance", value, aid, target),
                ]
    return pd.DataFrame(rows)


def test_stance_agreement_per_target(schema):
    df = stance_table()
    by = agreement_by_target(df, schema, n_boot=200).set_index("target")
    # one row per target of the schema, in its order, the unannotated ones too
    assert list(by.index) == [t.id for t in schema.targets]
    assert by.loc[VENEZUELA, "name"] == "Foreign intervention in Venezuela"
    e = by.loc[ENERGY]
    assert (e.n_items, e.n_annotators) == (4, 2)
    assert e.observed_agreement == 0.75
    assert e.cohen_kappa == pytest.approx(0.4375 / 0.6875)
    assert e.note.startswith("few items: wide interval")
    v = by.loc[VENEZUELA]
    assert (v.n_items, v.n_annotators) == (6, 3) and np.isnan(v.cohen_kappa)  # three annotators: Fleiss
    # each target's figures are the field's figures on that target's items alone
    alone = agreement(df[df["target"] == VENEZUELA], schema, field="stance", n_boot=200)
    for name in ("observed_agreement", "krippendorff_alpha", "fleiss_kappa"):
        assert v[name] == pytest.approx(metric(alone, name).value), name
    alpha = metric(alone, "krippendorff_alpha")
    assert (v.ci_low, v.ci_high) == (pytest.approx(alpha.ci_low), pytest.approx(alpha.ci_high))
    drones = by.loc["us-mexico-drone-cooperation"]
    assert drones.n_items == 0 and np.isnan(drones.krippendorff_alpha)
    assert drones.note == "no stance answers for this target"

    text = format_by_target(by.reset_index())
    lines = text.splitlines()
    assert lines[0] == "stance by target"
    assert lines[1].split() == ["target", "items", "annotators", "observed", "alpha", "[95%", "CI]", "Fleiss",
                                "Cohen", "note"]  # fmt: skip
    energy = next(x for x in lines if x.strip().startswith(ENERGY))
    assert "0.750" in energy and "0.636 substantial" in energy and "few items: wide interval" in energy
    assert "nan" not in text.lower()


def test_no_per_target_table_without_stance_answers(codes, schema):
    assert agreement_by_target(frame({"A": ["1"], "B": ["1"]}), codes).empty  # no target field
    df = pd.DataFrame([row("s1", "a", "claim_type", "Opinion", 1), row("s1", "b", "claim_type", "Opinion", 2)])
    assert agreement_by_target(df, schema).empty
    assert format_by_target(agreement_by_target(df, schema)) == ""


# --- bad input: say what can and cannot be computed -------------------------------------------


def test_empty_table(schema):
    with pytest.raises(InputError, match="the annotations table is empty: no annotations, so no agreement"):
        agreement(pd.DataFrame(), schema)


def test_table_from_another_schema(codes, schema):
    with pytest.raises(SchemaError, match=r"is from another schema: its fields \(code\) are not fields of"):
        agreement(frame(KRIPPENDORFF_2011), schema)


def test_fields_the_schema_lacks_are_listed_not_dropped(schema):
    df = pd.DataFrame([row("s1", "a", "claim_type", "Opinion", 1), row("s1", "a", "verdict", "True", 1)])
    extra = metric(agreement(df, schema), "not_in_schema")
    assert extra.field == "verdict" and np.isnan(extra.value)
    assert extra.note == "1 answers to 'verdict', which claims_stance.xml does not have; not computed"


def test_missing_columns(schema):
    with pytest.raises(InputError, match="lacks the column"):
        agreement(pd.DataFrame([{"item": "x", "value": "y"}]), schema)


def test_one_annotator_only_gives_notes_not_numbers(codes):
    table = agreement(frame({"A": ["1", "2", "3"]}), codes)
    assert table["value"].isna().all()
    assert table["note"].str.contains("only one annotator (A) answered 'code'", regex=False).all()
    text = format_agreement(table)
    assert "nan" not in text.lower()
    assert "krippendorff_alpha: n/a (only one annotator (A)" in text


def test_no_overlapping_items(codes):
    table = agreement(frame({"A": ["1", None], "B": [None, "2"]}), codes)
    assert table["value"].isna().all()
    assert metric(table, "krippendorff_alpha").note.startswith("no item was answered by two or more annotators")
    assert metric(table, "cohen_kappa").note.startswith("no item was answered by two or more")


def test_one_label_only_is_undefined_not_a_number(codes):
    table = agreement(frame({"A": ["1", "1"], "B": ["1", "1"]}), codes)
    assert metric(table, "observed_agreement").value == 1.0
    for name in ("krippendorff_alpha", "fleiss_kappa", "cohen_kappa"):
        r = metric(table, name)
        assert np.isnan(r.value) and "undefined" in r.note
    assert "nan" not in format_agreement(table).lower()


def test_unknown_field_and_text_field(schema):
    df = pd.DataFrame([row("s1", "a", "claim_type", "Opinion", 1)])
    with pytest.raises(SchemaError, match="the schema has no field 'verdict'"):
        agreement(df, schema, field="verdict")
    with pytest.raises(SchemaError, match="field 'note' is a textarea field"):
        agreement(df, schema, field="note")


# --- CLI ------------------------------------------------------------------------------------


def write_annotations(df: pd.DataFrame, folder) -> None:
    """Write the rows as the flat table `annotate pull` writes: <folder>/<stamp>.annotations.jsonl."""
    records = df.reindex(columns=COLUMNS).astype(object)
    write_jsonl(folder / f"{utc_stamp()}.annotations.jsonl", records.where(records.notna(), None).to_dict("records"))


# a pull of a project whose one task nobody has annotated yet
UNANNOTATED_EXPORT = b'[{"id": 1, "data": {"sentence_id": "s1", "text": "A sentence."}, "annotations": []}]'


def test_cli_agree(cli, tmp_path, schema_path):
    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Opinion", 1),
            row("s1", "b", "claim_type", "Opinion", 2),
            row("s2", "a", "claim_type", "Opinion", 3),
            row("s2", "b", "claim_type", "Not a claim", 4),
        ]
    )
    write_annotations(df, tmp_path / "ann")
    code, out, err = cli("agree", tmp_path / "ann", "--field", "claim_type", "--schema", schema_path)
    assert code == 0, err
    assert out.splitlines()[:2] == [
        "4 annotations by 2 annotators on 2 sentences; not votes: 0 skipped, 0 drafts, 0 rows with an issue",
        "claim_type",
    ]
    assert "  observed_agreement: 0.500 (n_items=2; few items: wide interval)" in out
    assert "nan" not in out.lower()


def test_cli_agree_json_gives_null_for_what_cannot_be_computed(cli, tmp_path, schema_path):
    import json

    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Opinion", 1),
            row("s1", "a", "spans", "Claim", 1, start=0, end=10),
            row("s1", "c", "claim_type", "Opinion", 2),
        ]
    )
    write_annotations(df, tmp_path / "ann")
    code, out, err = cli("agree", tmp_path / "ann", "--field", "spans", "--json", "--schema", schema_path)
    assert code == 0, err
    data = json.loads(out)  # strict JSON: no NaN
    assert data["table"].startswith("2 annotations by 2 annotators on 1 sentences")
    by = {(r["metric"], r["annotator_a"], r["annotator_b"]): r for r in data["agreement"]}
    f1 = by["span_f1_exact", "a", "c"]
    assert f1["value"] is None and f1["ci_low"] is None and f1["n_items"] == 1
    assert f1["note"].startswith("c marked no 'spans' span")


def test_cli_agree_shows_stance_by_target(cli, tmp_path, schema_path):
    import json

    write_annotations(stance_table(), tmp_path / "ann")
    code, out, err = cli("agree", tmp_path / "ann", "--schema", schema_path)
    assert code == 0, err
    by_target = out.split("\nstance by target\n", 1)[1]
    assert f"  {ENERGY} " in by_target and f"  {VENEZUELA} " in by_target
    assert "no stance answers for this target" in by_target
    # not for another field
    code, out, err = cli("agree", tmp_path / "ann", "--field", "claim_type", "--schema", schema_path)
    assert "stance by target" not in out
    code, out, err = cli("agree", tmp_path / "ann", "--json", "--schema", schema_path)
    rows = {r["target"]: r for r in json.loads(out)["stance_by_target"]}
    assert rows[ENERGY]["n_items"] == 4 and rows[ENERGY]["observed_agreement"] == 0.75
    assert rows["us-mexico-drone-cooperation"]["krippendorff_alpha"] is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            None,  # the table `annotate pull` writes from UNANNOTATED_EXPORT
            "error: the annotations table is empty: no annotations, so no agreement or gold label "
            "can be computed. pull annotations first (annotate pull) or check the path.",
        ),
        (
            frame({"A": ["1"]}),
            "error: the annotations table is from another schema: its fields (code) are not "
            "fields of {schema} (spans, claim_type, stance, note); nothing can be computed. give "
            "the schema the annotations were made with (--schema).",
        ),
    ],
)
def test_cli_agree_bad_input(cli, tmp_path, schema, schema_path, table, message):
    if table is None:
        write_snapshot(UNANNOTATED_EXPORT, schema, tmp_path, "ann")
    else:
        write_annotations(table, tmp_path / "ann")
    code, out, err = cli("agree", tmp_path / "ann", "--schema", schema_path)
    assert code == 2
    assert err.strip().splitlines() == [message.format(schema=schema_path)]
