"""Tiny, hand-checkable labelled data for the model tests (imported by tests/test_models_*.py).

Claims: check-worthy sentences carry numbers, opinions carry first person and evaluative words,
non-claims are greetings and questions. Stance: for two targets, Favor sentences support and
Against sentences reject, with the same verbs for both targets so that only the pair features
and target-conditioned words separate targets. Six documents, so grouped CV has groups to split.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

VENEZUELA = "foreign-intervention-venezuela"
ENERGY = "new-renewable-energy-projects"

_CW = [
    "Exports rose {n}% in 2019, the ministry said.",
    "The budget for security grew by ${n} billion last year.",
    "Homicides fell {n} percent in the first half of 2025.",
]
_OPINION = [
    "I think this plan is a terrible idea number {n}.",
    "We believe the reform is wrong and unfair, part {n}.",
    "In my view it would be a disaster for everyone, take {n}.",
]
_NOT = [
    "Good morning to everyone here today, session {n}.",
    "What do you want to ask about topic {n}?",
    "Thank you very much, see you at meeting {n}.",
]
_FAVOR_V = [
    "The government supports the intervention in Venezuela, statement {n}.",
    "Leaders welcome a foreign intervention in Venezuela, round {n}.",
]
_AGAINST_V = [
    "Mexico rejects any foreign intervention in Venezuela, statement {n}.",
    "The president opposes intervention in Venezuela and said no, round {n}.",
]
_FAVOR_E = [
    "The minister welcomes the new solar energy projects, statement {n}.",
    "Officials support the wind energy plants in Mexico, round {n}.",
]
_AGAINST_E = [
    "Residents reject the new solar energy projects, statement {n}.",
    "Critics oppose the wind energy plants and said no, round {n}.",
]


def claim_rows(n_docs: int = 6) -> list[dict[str, Any]]:
    rows = []
    for d in range(n_docs):
        for label, templates in (
            ("Check-worthy factual claim", _CW),
            ("Opinion", _OPINION),
            ("Not a claim", _NOT),
        ):
            for i, t in enumerate(templates):
                rows.append(
                    {"text": t.format(n=10 * d + i + 2), "label": label, "field": "claim_type", "doc_id": f"doc{d}"}
                )
    return rows


def stance_rows(n_docs: int = 6) -> list[dict[str, Any]]:
    rows = []
    for d in range(n_docs):
        for target, label, templates in (
            (VENEZUELA, "Favor", _FAVOR_V),
            (VENEZUELA, "Against", _AGAINST_V),
            (ENERGY, "Favor", _FAVOR_E),
            (ENERGY, "Against", _AGAINST_E),
        ):
            for i, t in enumerate(templates):
                rows.append(
                    {
                        "text": t.format(n=10 * d + i),
                        "label": label,
                        "field": "stance",
                        "target": target,
                        "doc_id": f"doc{d}",
                    }
                )
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def sentences(texts: list[str], doc_id: str = "news1") -> list[dict[str, Any]]:
    """Sentence records as `annotate ingest` writes them (the keys the models read)."""
    return [
        {
            "sentence_id": f"s{i:03d}",
            "doc_id": doc_id,
            "index": i,
            "text": t,
            "context": {"previous": texts[i - 1] if i else "", "next": texts[i + 1] if i + 1 < len(texts) else ""},
            "speaker": None,
            "in_quote": False,
        }
        for i, t in enumerate(texts)
    ]


def train_demo(tmp: Path, schema_path: Path) -> Path:
    """Train the demo model on claim and stance rows into ``tmp/models/demo``; return the folder."""
    from annotate.models.train import train_file
    from annotate.schema import Schema

    labels = write_csv(tmp / "labels.csv", claim_rows() + stance_rows())
    out = tmp / "models" / "demo"
    train_file(labels, Schema.from_file(schema_path), out, n_splits=2, learning_curve=False)
    return out


_TRAINED: dict[str, Path] = {}


def demo_model(tmp_path_factory: Any, schema_path: Path) -> Path:
    """The demo model, trained once per test session (training is the slow part of these tests)."""
    key = str(schema_path)
    if key not in _TRAINED:
        _TRAINED[key] = train_demo(tmp_path_factory.mktemp("demo"), schema_path)
    return _TRAINED[key]


#: Sentences of every kind (claims, opinions, greetings, a question) for the ranking tests of
#: ``annotate suggest``: recurring, so scores tie across chunks and the tie rule decides.
RECURRING_TEXTS = [
    "Exports rose 15% in 2021, the ministry said.",
    "Good morning to everyone here today.",
    "Perhaps the weather matters.",
    "The committee met on Tuesday.",
    "I think the reform is a mistake, but it has numbers.",
    "Mexico rejects intervention in Venezuela, the minister said.",
    "Solar energy projects were approved for 2030.",
    "Is this the plan they promised?",
    "We believe the budget of $4 billion is unfair.",
    "Homicides fell 12 percent, officials said, in my view too slowly.",
]


def recurring_records(n: int, texts: list[str] = RECURRING_TEXTS) -> list[dict[str, Any]]:
    """``n`` sentence records cycling through ``texts``, in documents of six."""
    return [
        {"sentence_id": f"s{i:04d}", "doc_id": f"d{i // 6:03d}", "index": i % 6, "text": texts[i % len(texts)],
         "context": {"previous": "", "next": ""}, "speaker": None, "in_quote": False}
        for i in range(n)
    ]  # fmt: skip
