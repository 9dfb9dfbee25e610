"""Training labels in: one tidy table, checked against the schema, whatever file they came from.

Two shapes are read, from CSV (with a header) or JSONL:

- a **flat label table**: ``text``, ``label``, and optionally ``target``, ``field``,
  ``sentence_id``, ``doc_id`` / ``group``, ``speaker``, ``position``, ``in_quote``;
- the **gold table** written by ``annotate resolve``: ``sentence_id``, ``field``, ``label``,
  ``confidence``, ``n_annotators``, ``method`` (and ``target`` for stance rows), with the text
  of each row. Gold files from before the text was written there need a sentences file
  (``annotate ingest`` output), joined on ``sentence_id``.

Every label is checked against the schema: the field must be a categorical field, and the label
one of its choices (a Choice's value or its alias; the table holds the value). When a row names no
field and none is given, the field is the one whose choices contain the label.

>>> from annotate.schema import Schema, default_schema_path
>>> import io, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "l.csv"
>>> _ = p.write_text("text,label\\nTaxes rose 5%.,Check-worthy factual claim\\n")
>>> load_labels(p, Schema.from_file(default_schema_path()))[["field", "label"]].values.tolist()
[['claim_type', 'Check-worthy factual claim']]
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from annotate.errors import InputError, SchemaError
from annotate.io import file_hash, read_jsonl, read_text
from annotate.schema import Field, Schema
from annotate.sentences import read_sentence_lines

__all__ = ["load_labels", "read_table", "read_sentences", "label_records", "LABEL_COLUMNS"]

#: Columns of the DataFrame :func:`load_labels` returns, in order.
LABEL_COLUMNS = [
    "sentence_id",
    "group",
    "text",
    "target",
    "target_id",
    "field",
    "label",
    "confidence",
    "speaker",
    "position",
    "in_quote",
    "previous",
    "next",
    "source_line",
]


def read_table(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, row)`` from a ``.csv``/``.tsv`` (header row) or ``.jsonl`` file."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path, hint="check the path")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        yield from read_jsonl(path)
        return
    if suffix not in (".csv", ".tsv"):
        raise InputError(
            f"unknown label file type '{suffix}'", path=path, hint="give a .csv, .tsv or .jsonl file with a header"
        )
    reader = csv.DictReader(io.StringIO(read_text(path)), delimiter="\t" if suffix == ".tsv" else ",")
    n = 0
    for row in reader:
        n += 1
        yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}
    if n == 0:
        raise InputError("file has no rows", path=path, hint="give a table with a header and at least one row")


def read_sentences(path: str | Path) -> dict[str, dict[str, Any]]:
    """Sentences JSONL (``annotate ingest`` output) by ``sentence_id``, with ``position`` added.

    ``position`` is the sentence's relative place in its document (0 = first, 1 = last), the
    position hint of the claim model.
    """
    out: dict[str, dict[str, Any]] = {}
    last: dict[str, int] = {}
    for _, rec in read_sentence_lines(path):
        out[rec["sentence_id"]] = rec
        doc = str(rec.get("doc_id", ""))
        last[doc] = max(last.get(doc, 0), int(rec.get("index", 0) or 0))
    for rec in out.values():
        n = last.get(str(rec.get("doc_id", "")), 0)
        rec["position"] = (int(rec.get("index", 0) or 0) / n) if n else 0.0
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _infer_field(label: str, fields: list[Field]) -> Field | None:
    hits = [f for f in fields if f.to_value(label) is not None]
    return hits[0] if len(hits) == 1 else None


def load_labels(
    path: str | Path,
    schema: Schema,
    *,
    field: str | None = None,
    sentences: str | Path | dict[str, dict[str, Any]] | None = None,
    on_missing_label: str = "error",
) -> pd.DataFrame:
    """Read a label table into one row per (text, target, field) label, checked against ``schema``.

    Parameters
    ----------
    path : a CSV/TSV/JSONL flat label table or gold table (see the module docstring).
    schema : labels must be choices of its categorical fields.
    field : the field of rows that name none (otherwise inferred from the label).
    sentences : a sentences JSONL (or an already read ``{sentence_id: record}``) that supplies
        ``text``, ``doc_id``, ``speaker``, ``position`` and ``in_quote`` by ``sentence_id``.
    on_missing_label : what to do with a row whose label is empty (a gold row without consensus):
        ``"error"`` (default) raises :class:`InputError`; ``"skip"`` leaves the row out, and the
        count is in ``df.attrs["skipped"]``.

    Returns a DataFrame with :data:`LABEL_COLUMNS`; ``df.attrs`` holds ``path``, ``data_hash``
    (of the label file and the sentences file) and ``skipped``.
    """
    if on_missing_label not in ("error", "skip"):
        raise ValueError(f"on_missing_label must be 'error' or 'skip'; got {on_missing_label!r}")
    path = Path(path)
    categorical = schema.categorical_fields
    if field is not None:
        fixed = schema.field(field)
        if not fixed.categorical:
            raise SchemaError(
                f"field '{field}' is a {fixed.type} field, not a set of choices",
                path=schema.path,
                hint=f"train one of: {', '.join(f.name for f in categorical)}",
            )
    sents: dict[str, dict[str, Any]] = {}
    sent_hash = ""
    if isinstance(sentences, dict):
        sents = sentences
    elif sentences is not None:
        sents = read_sentences(sentences)
        sent_hash = file_hash(sentences)

    rows: list[dict[str, Any]] = []
    skipped = 0
    for lineno, row in read_table(path):
        label = row.get("label")
        if _blank(label):
            if on_missing_label == "skip":
                skipped += 1
                continue
            raise InputError(
                "row has no label", path=path, line=lineno, hint="fill the 'label' column or remove the row"
            )
        label = str(label).strip()
        fname = row.get("field") if not _blank(row.get("field")) else field
        if fname is not None:
            f = schema.fields.get(str(fname))
            if f is None or not f.categorical:
                raise SchemaError(
                    f"field '{fname}' is not a field with choices in schema {Path(schema.path).name}",
                    path=path,
                    line=lineno,
                    hint=f"use one of: {', '.join(x.name for x in categorical)}",
                )
        else:
            f = _infer_field(label, categorical)
            if f is None:
                raise SchemaError(
                    f"label '{label}' is not a choice of any field of schema {Path(schema.path).name}",
                    path=path,
                    line=lineno,
                    hint="add a 'field' column or pass field=; choices are "
                    + "; ".join(f"{x.name}: {', '.join(x.values)}" for x in categorical),
                )
        value = f.to_value(label)
        if value is None:
            raise SchemaError(
                f"label '{label}' is not a choice of field '{f.name}'",
                path=path,
                line=lineno,
                hint=f"use one of: {', '.join(f.values)}",
            )
        sid = None if _blank(row.get("sentence_id")) else str(row["sentence_id"])
        sent = sents.get(sid, {}) if sid else {}
        text = row.get("text")
        if _blank(text):
            text = sent.get("text")
        if _blank(text):
            if sid and sents:
                msg, hint = f"sentence '{sid}' is not in the sentences file", "give the sentences file it came from"
            elif sid:
                msg = "row has no text"
                hint = "re-run `annotate resolve` (its gold carries the text), or give the sentences file"
            else:
                msg, hint = "row has neither text nor sentence_id", "add a 'text' column"
            raise InputError(msg, path=path, line=lineno, hint=hint)
        target = row.get("target") if not _blank(row.get("target")) else sent.get("target")
        target_id = None
        if schema.target_field is not None and f.name != schema.target_field:
            # gold rows come per task (sentence x target): a claim label does not depend on the target
            target = None
        if f.name == schema.target_field or not _blank(target):
            if _blank(target):
                if len(schema.targets) != 1:
                    raise InputError(
                        f"a '{f.name}' label needs a target",
                        path=path,
                        line=lineno,
                        hint="add a 'target' column (a target id or name of the schema, or any text)",
                    )
                target = schema.targets[0].name
            known = schema.target(str(target))
            if known is None and schema.targets and f.name == schema.target_field:
                # a target the schema does not list would be learnt as free text, and predict would
                # never ask about it: the desk's targets belong in its targets file
                raise InputError(
                    f"target '{target}' is not a target of schema {Path(schema.path).name} "
                    f"(its targets: {', '.join(t.id for t in schema.targets)})",
                    path=path,
                    line=lineno,
                    hint="add it to the schema's targets file, or give the schema it belongs to with --schema",
                )
            target_id = known.id if known else None
            target = known.name if known else str(target)
        group = next((str(v) for v in (row.get("group"), row.get("doc_id"), sent.get("doc_id")) if not _blank(v)), None)
        rows.append(
            {
                "sentence_id": sid,
                "group": group,
                "text": str(text),
                "target": target,
                "target_id": target_id,
                "field": f.name,
                "label": value,
                "confidence": _float(row.get("confidence"), 1.0),
                "speaker": _str(row.get("speaker"), sent.get("speaker")),
                "position": _float(row.get("position"), _float(sent.get("position"), 0.0)),
                "in_quote": float(_truthy(row.get("in_quote", sent.get("in_quote")))),
                # the neighbouring sentences, which the checkworthy preset reads
                "previous": _str(row.get("previous"), (sent.get("context") or {}).get("previous")),
                "next": _str(row.get("next"), (sent.get("context") or {}).get("next")),
                "source_line": lineno,
            }
        )
    df = pd.DataFrame(rows, columns=LABEL_COLUMNS)
    # The same sentence labelled once per task (one per target) counts once for a target-free field.
    untargeted = df["target"].isna() & df["sentence_id"].notna()
    dupes = untargeted & df.duplicated(["sentence_id", "field", "label"])
    df = df[~dupes].reset_index(drop=True)
    df.attrs.update(
        duplicates=int(dupes.sum()),
        path=str(path),
        data_hash=file_hash(path) + (f"+{sent_hash}" if sent_hash else ""),
        skipped=skipped,
    )
    return df


def _float(value: Any, default: float) -> float:
    if _blank(value):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _str(*values: Any) -> str:
    return next((str(v) for v in values if not _blank(v)), "")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value) and not _blank(value)


def label_records(labels: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a :func:`load_labels` table as JSON lines that :func:`load_labels` reads back.

    A model keeps the labels it learned from in its folder (``training_labels.jsonl``), so a live
    model (``annotate serve``) retrains on them as well as on the new annotations.
    """
    out = []
    for rec in labels.to_dict(orient="records"):
        row = {
            "sentence_id": rec.get("sentence_id"),
            "doc_id": rec.get("group"),
            "text": rec["text"],
            # the target's id when the schema knows it, else the free text it was given as
            "target": rec.get("target_id") or rec.get("target"),
            "field": rec["field"],
            "label": rec["label"],
            "confidence": rec.get("confidence"),
            "speaker": rec.get("speaker"),
            "position": rec.get("position"),
            "in_quote": bool(rec.get("in_quote")),
            "previous": rec.get("previous"),
            "next": rec.get("next"),
        }
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    return out

