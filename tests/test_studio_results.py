"""Label Studio result items: what predict writes, push reads and pull decodes is one format.

A taxonomy or rating prediction made by ``annotate predict`` passes push's prediction reader
unchanged and comes back out of pull's table as the value that was predicted; and for every
control type the schema allows, encoding a value and decoding the item gives the value back,
in an item that Label Studio's own validator (the SDK's ``LabelInterface``) accepts.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_studio_sdk.label_interface import LabelInterface
from models_data import claim_rows, sentences, write_csv, write_jsonl

from annotate.errors import SchemaError
from annotate.schema import CATEGORICAL_TYPES, SPAN_TYPES, TEXT_TYPES, Field, Schema
from annotate.studio import results
from annotate.studio.pull import flatten
from annotate.studio.push import read_predictions

# every control type the schema reads, with aliases (Label Studio stores those) and a nested taxonomy
XML = """<View>
  <Text name="text" value="$text"/>
  <Choices name="kind" toName="text">
    <Choice value="Opinion" alias="OPN"/><Choice value="Fact"/><Choice value="Other"/>
  </Choices>
  <Choices name="tags" toName="text" choice="multiple">
    <Choice value="economy"/><Choice value="health" alias="HLT"/><Choice value="crime"/>
  </Choices>
  <Taxonomy name="topic" toName="text">
    <Choice value="Politics"><Choice value="Elections" alias="ELEC"/><Choice value="Parliament"/></Choice>
    <Choice value="Sport"/>
  </Taxonomy>
  <Rating name="worth" toName="text" maxRating="4"/>
  <Labels name="spans" toName="text">
    <Label value="Claim" alias="CL"/><Label value="Speaker"/>
  </Labels>
  <TextArea name="note" toName="text"/>
</View>"""
SCHEMA = Schema.from_string(XML)
SDK = LabelInterface(XML)


def test_the_schema_here_has_every_control_type():
    assert {f.type for f in SCHEMA.fields.values()} == {*CATEGORICAL_TYPES, *SPAN_TYPES, *TEXT_TYPES}


@st.composite
def _answers(draw: st.DrawFn) -> tuple[Field, object, str]:
    """A field of SCHEMA, a value for it, and the sentence it answers."""
    f = draw(st.sampled_from(list(SCHEMA.fields.values())))
    text = draw(st.text(min_size=1, max_size=40))
    if f.type == "labels":
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        return f, {"start": start, "end": end, "label": draw(st.sampled_from(f.values))}, text
    if f.type == "textarea":
        return f, draw(st.text(max_size=40)), text
    if f.type == "rating":
        return f, draw(st.integers(1, len(f.values))), text
    if f.multiple:
        return f, draw(st.lists(st.sampled_from(f.values), min_size=1, unique=True)), text
    return f, draw(st.sampled_from(f.values)), text


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(_answers())
def test_every_control_type_decodes_to_the_value_it_encoded(answer):
    f, value, text = answer
    item = results.encode(f, value, text)
    assert results.decode(item, f) == value
    assert SDK.validate_region(item, return_errors=True) == []


def test_what_label_studio_stores_is_the_alias_and_the_taxonomy_path():
    assert results.encode(SCHEMA.field("kind"), "Opinion")["value"] == {"choices": ["OPN"]}
    assert results.encode(SCHEMA.field("topic"), "Elections")["value"] == {"taxonomy": [["Politics", "ELEC"]]}
    assert results.encode(SCHEMA.field("topic"), "Sport")["value"] == {"taxonomy": [["Sport"]]}
    span = results.encode(SCHEMA.field("spans"), {"start": 4, "end": 9, "label": "Claim"}, "Tax rose.")
    assert span == {"from_name": "spans", "to_name": "text", "type": "labels",
                    "value": {"start": 4, "end": 9, "text": "rose.", "labels": ["CL"]}}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("kind", "Maybe", "'Maybe' is not a choice of field 'kind'. use one of: Opinion, Fact, Other."),
        ("kind", ["Fact", "Other"], "field 'kind' takes one choice, got 2. give a single value."),
        ("topic", "Chess",
         "'Chess' is not a choice of field 'topic'. use one of: Politics, Elections, Parliament, Sport."),
        ("worth", 5, "rating 5 is not one of 1, 2, 3, 4. give an integer rating."),
        ("worth", True, "rating True is not one of 1, 2, 3, 4. give an integer rating."),
        ("spans", {"start": 0, "end": 3, "label": "Nope"},
         "'Nope' is not a label of field 'spans'. use one of: Claim, Speaker."),
        ("spans", {"start": 0, "end": 30, "label": "Claim"},
         "span 0-30 is outside the sentence (length 9). offsets are into the sentence."),
    ],
)  # fmt: skip
def test_a_value_the_field_does_not_take_is_refused(name, value, message):
    with pytest.raises(SchemaError) as err:
        results.encode(SCHEMA.field(name), value, "Tax rose.")
    assert str(err.value) == message


def test_unknown_choices_are_kept_as_stored():
    item = {"from_name": "topic", "type": "taxonomy", "value": {"taxonomy": [["Politics", "Local"], ["Sport"]]}}
    assert results.decode(item, SCHEMA.field("topic")) == ["Local", "Sport"]
    assert results.decode(item, None) == ["Local", "Sport"]


# --- predict -> push -> pull: the same item all the way -----------------------------------------

TAXONOMY_XML = """<View>
  <Text name="text" value="$text"/>
  <Taxonomy name="claim_type" toName="text">
    <Choice value="Claim"><Choice value="Check-worthy factual claim" alias="CW"/><Choice value="Opinion"/></Choice>
    <Choice value="Not a claim"/>
  </Taxonomy>
  <Rating name="worth" toName="text" maxRating="3"/>
</View>"""
WORTH = {"Check-worthy factual claim": "3", "Opinion": "2", "Not a claim": "1"}


@pytest.fixture(scope="module")
def taxonomy_predictions(tmp_path_factory) -> tuple[Schema, list[dict], list[dict]]:
    """A model of a taxonomy and a rating field, trained on the demo claims; its predictions."""
    from annotate.models.predict import predict
    from annotate.models.train import train_file

    tmp = tmp_path_factory.mktemp("taxonomy")
    (tmp / "taxonomy.xml").write_text(TAXONOMY_XML)
    schema = Schema.from_file(tmp / "taxonomy.xml")
    rows = claim_rows() + [{**r, "field": "worth", "label": WORTH[r["label"]]} for r in claim_rows()]
    train_file(write_csv(tmp / "labels.csv", rows), schema, tmp / "model", n_splits=2, learning_curve=False)
    recs = sentences(["Exports rose 15% in 2021, the ministry said.", "I think the plan is a terrible idea.",
                      "Good morning to everyone here today."])  # fmt: skip
    return schema, recs, predict(tmp / "model", recs, schema)


def test_a_taxonomy_prediction_goes_through_push_and_comes_back_from_pull(taxonomy_predictions, tmp_path):
    schema, recs, preds = taxonomy_predictions
    assert {p["field"] for p in preds} == {"claim_type", "worth"}
    path = write_jsonl(tmp_path / "predictions.jsonl", preds)
    read = read_predictions(path, schema, {r["sentence_id"]: r for r in recs})
    assert [r["result"] for r in read] == [p["result"][0] for p in preds]  # push sends what predict wrote
    tasks = [
        {"id": i, "data": {"sentence_id": p["sentence_id"], "text": ""},
         "annotations": [{"id": i, "completed_by": 1, "result": p["result"]}]}
        for i, p in enumerate(preds)
    ]  # fmt: skip
    rows = list(flatten(tasks, schema, snapshot="s", project="p"))
    assert [(r["field"], r["value"], r["issue"]) for r in rows] == [
        (p["field"], int(p["value"]) if p["field"] == "worth" else p["value"], None) for p in preds
    ]
