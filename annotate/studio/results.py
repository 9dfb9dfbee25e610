"""Label Studio result items: a field's answer in Label Studio's result format, and back.

An annotation or a prediction is a list of result items, one per answer::

    {"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": ["Opinion"]}}

:func:`encode` builds the item for a schema field and a value, checking the value against the
field; :func:`decode` reads the value back out of an item, whoever wrote it. Predictions
(``annotate predict``, ``annotate push --predictions``) are encoded here and annotations
(``annotate pull``) decoded here, so the two cannot drift apart. Values by control type:

==========  ======================================  ===============================================
type        value                                   item ``value``
==========  ======================================  ===============================================
choices     a choice value; a list when multiple    ``{"choices": [stored, ...]}``
taxonomy    a choice value; a list when multiple    ``{"taxonomy": [[*ancestors, stored], ...]}``
rating      an integer, 1 to maxRating              ``{"rating": n}``
labels      ``{"start", "end", "label"}``           ``{"start", "end", "text", "labels": [stored]}``
textarea    a string                                ``{"text": [string]}``
==========  ======================================  ===============================================

``stored`` is what Label Studio stores for a choice, its alias if it has one: a pre-annotation
naming an aliased choice by its value selects nothing. A taxonomy item holds the path from the
root to the chosen node; span offsets are into the sentence, whose slice the item repeats.

>>> from annotate.schema import Schema, default_schema_path
>>> field = Schema.from_file(default_schema_path()).field("claim_type")
>>> item = encode(field, "Opinion")
>>> item["value"], decode(item, field)
({'choices': ['Opinion']}, 'Opinion')
"""

from __future__ import annotations

from typing import Any

from annotate.errors import SchemaError
from annotate.schema import Choice, Field

__all__ = ["encode", "decode"]

# Hand-written rather than the SDK's ControlTag.label(): that gives every item a random region id
# (predictions would change from run to run, and predict_lines writes them from templates), leaves
# a span's text out, takes stored names rather than values, and builds a pydantic model per item,
# too slow for the millions of items a pull decodes. tests/test_studio_results.py checks every
# item against the SDK's LabelInterface.validate_region instead.


def encode(field: Field, value: Any, text: str = "", *, span_text: str | None = None) -> dict[str, Any]:
    """The result item answering ``field`` with ``value`` (see the module doc); ``text`` is the sentence.

    ``span_text`` is a span's own text, for a caller that has it but not the sentence (a review
    task rebuilt from the annotations table, which keeps each span's text).

    Raises :class:`~annotate.errors.SchemaError` when the field does not take the value. The
    error names no file: the caller, who knows where the value came from, adds it.
    """
    # an item points at one object tag; a control with toName="a,b" answers for the first
    item: dict[str, Any] = {"from_name": field.name, "to_name": field.to_name.split(",")[0], "type": field.type}
    if field.type == "choices":
        item["value"] = {"choices": [_choice(field, v).stored for v in _one_or_more(field, value)]}
    elif field.type == "taxonomy":
        paths = [[*c.parents, c.stored] for c in (_choice(field, v) for v in _one_or_more(field, value))]
        item["value"] = {"taxonomy": paths}
    elif field.type == "rating":
        # predict gives the class as a string ("3"), a predictions file an integer
        if isinstance(value, bool) or not isinstance(value, int | str) or str(value) not in field.values:
            raise SchemaError(
                f"rating {value!r} is not one of {', '.join(field.values)}", hint="give an integer rating"
            )
        item["value"] = {"rating": int(value)}
    elif field.type == "labels":
        item["value"] = _span(field, value, text, span_text)
    elif field.type == "textarea":
        item["value"] = {"text": [str(value)]}
    else:
        raise SchemaError(
            f"{field.type} field '{field.name}' has no result format here", hint="answer choices, spans or text"
        )
    return item


def decode(item: dict[str, Any], field: Field | None = None) -> Any:
    """The value a result item holds (see the module doc), each stored choice mapped to its value.

    Reads by the item's own ``type``. A stored name that ``field`` lacks (any, without a field) is
    returned as stored, so the caller can tell it is unknown; choices and taxonomy give a list
    when the field takes several, or when the item holds other than one. A span region with
    several labels gives a list of spans; a type not in the table gives the item's raw ``value``.
    """
    rtype, value = item.get("type"), item.get("value") or {}
    multiple = field is not None and field.multiple
    if rtype == "choices":
        return _one_or_list([_value(field, c) for c in value.get("choices") or []], multiple)
    if rtype == "taxonomy":
        paths = value.get("taxonomy")
        if not isinstance(paths, list):
            return paths
        # the chosen node ends its path
        leaves = [p[-1] if isinstance(p, list) and p else p for p in paths]
        return _one_or_list([_value(field, leaf) for leaf in leaves], multiple)
    if rtype == "labels":
        spans = [
            {"start": value.get("start"), "end": value.get("end"), "label": _value(field, label)}
            for label in value.get("labels") or [None]
        ]
        return _one_or_list(spans, False)
    if rtype == "textarea":
        texts = value.get("text") or []
        return "\n".join(texts) if isinstance(texts, list) else texts
    if rtype == "rating":
        return value.get("rating")
    return value


# --- helpers ---------------------------------------------------------------------------------------


def _one_or_more(field: Field, value: Any) -> list[Any]:
    values = value if isinstance(value, list) else [value]
    if not field.multiple and len(values) != 1:
        raise SchemaError(f"field '{field.name}' takes one choice, got {len(values)}", hint="give a single value")
    return values


def _one_or_list(values: list[Any], multiple: bool) -> Any:
    return values if multiple or len(values) != 1 else values[0]


def _choice(field: Field, value: Any, kind: str = "choice") -> Choice:
    """The choice ``value`` names (by its value or its alias)."""
    if isinstance(value, str):
        for c in field.choices:
            if value == c.value or value == c.alias:
                return c
    raise SchemaError(
        f"'{value}' is not a {kind} of field '{field.name}'", hint=f"use one of: {', '.join(field.values)}"
    )


def _value(field: Field | None, stored: Any) -> Any:
    if field is None or not isinstance(stored, str):
        return stored
    value = field.to_value(stored)
    return stored if value is None else value


def _span(field: Field, value: Any, text: str, span_text: str | None = None) -> dict[str, Any]:
    if not isinstance(value, dict) or not {"start", "end", "label"} <= set(value):
        raise SchemaError(
            f"a span prediction for '{field.name}' needs start, end and label", hint='e.g. {"start": 0, ...}'
        )
    start, end, label = value["start"], value["end"], value["label"]
    stored = _choice(field, label, "label").stored
    length = len(text) if span_text is None else end  # without the sentence, only the order is checked
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length):
        raise SchemaError(
            f"span {start}-{end} is outside the sentence (length {len(text)})", hint="offsets are into the sentence"
        )
    return {"start": start, "end": end, "text": text[start:end] if span_text is None else span_text, "labels": [stored]}
