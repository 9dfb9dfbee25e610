"""Rows of the flat annotations table for hand-checkable agreement and resolve tests."""

from __future__ import annotations


def row(sid, who, field, value, aid, target=None, when="2026-01-01T00:00:00Z", **kw):
    item = f"{sid}@{target}" if field == "stance" else sid
    return {
        "item": item,
        "sentence_id": sid,
        "target": target,
        "annotator": who,
        "annotation_id": aid,
        "field": field,
        "value": value,
        "updated_at": when,
        **kw,
    }
