"""The hand-checked speaker set (``tests/data/speakers``) and its scorer.

Imported by ``tests/test_speakers.py`` and ``benchmarks/speakers.py``.

- ``tests/data/speakers/*.txt``: articles written for the set (English, French, Spanish), plus
  the sample article of ``corpora/sample``;
- ``gold.jsonl``: one line per sentence of every article, ``{"doc", "sentence", "speaker"}``, where
  ``sentence`` is a prefix that picks out one sentence, and ``speaker`` is the expected name,
  ``null`` when no speaker can be named from the article (the journalist's own statements,
  unnamed sources such as "officials" or "a spokesman", a pronoun with two possible antecedents),
  or ``"?"`` for the few sentences that report two sources at once (not scored);
- ``aliases.json``: the other forms under which each article names each expected speaker.

A predicted speaker is right when, normalised (lower case, ’ as ', no leading article), it is
the expected name or one of its aliases. A bare pronoun ("he", "they") counts as no prediction:
it names nobody, so it is neither right nor wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from annotate.corpus import Document, read_documents
from annotate.resources import data_path
from annotate.segment import split_spans

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "speakers"
SOURCES = [*sorted(DATA.glob("*.txt")), data_path("corpora", "sample")]
UNSCORED = "?"

_ARTICLE_RE = re.compile(r"^(?:the|la|le|el|los|las|l')\s+|^l'")
_PRONOUNS = {"he", "she", "they", "it", "il", "elle", "ils", "elles", "él", "ella"}


def normalise(name: str) -> str:
    name = " ".join(name.replace("’", "'").split()).strip(" ,.").lower()
    return _ARTICLE_RE.sub("", name)


@dataclass
class Item:
    doc_id: str
    index: int  # sentence index in the document
    text: str
    expected: str | None  # a name, None, or UNSCORED
    accepted: set[str] = field(default_factory=set)  # normalised forms that count as right


def documents() -> list[Document]:
    return list(read_documents(SOURCES))


def load_gold() -> tuple[list[Document], list[Item]]:
    """The documents and one :class:`Item` per sentence; raises if a sentence lacks its line."""
    docs = documents()
    aliases = json.loads((DATA / "aliases.json").read_text("utf-8"))
    rows: dict[str, list[dict]] = {}
    for line in (DATA / "gold.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.setdefault(row["doc"], []).append(row)
    items: list[Item] = []
    for doc in docs:
        sentences = [doc.text[s:e] for _p, s, e in split_spans(doc.text)]
        doc_rows = rows.pop(doc.doc_id)
        taken: set[int] = set()
        for row in doc_rows:
            hits = [i for i, s in enumerate(sentences) if s.startswith(row["sentence"])]
            if len(hits) != 1 or hits[0] in taken:
                raise ValueError(f"{doc.doc_id}: {row['sentence']!r} picks {len(hits)} sentences")
            taken.add(hits[0])
            expected = row["speaker"]
            accepted = set()
            if expected not in (None, UNSCORED):
                accepted = {normalise(expected), *(normalise(a) for a in aliases[doc.doc_id].get(expected, []))}
            items.append(Item(doc.doc_id, hits[0], sentences[hits[0]], expected, accepted))
        missing = [s for i, s in enumerate(sentences) if i not in taken]
        if missing:
            raise ValueError(f"{doc.doc_id}: sentences without a gold line: {missing}")
    if rows:
        raise ValueError(f"gold lines for unknown documents: {sorted(rows)}")
    return docs, items


@dataclass
class Score:
    predicted: int = 0  # sentences given a speaker (bare pronouns excluded), scored items only
    correct: int = 0
    expected: int = 0  # sentences with an expected name
    wrong: list[tuple[Item, str]] = field(default_factory=list)
    missed: list[Item] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __str__(self) -> str:
        return (
            f"precision {self.precision:.3f} ({self.correct}/{self.predicted})  "
            f"recall {self.recall:.3f} ({self.correct}/{self.expected})  F1 {self.f1:.3f}"
        )


def score(items: list[Item], speakers: dict[tuple[str, int], str | None]) -> Score:
    """Score predicted speakers, keyed by ``(doc_id, sentence index)``, against the gold items."""
    out = Score()
    for item in items:
        if item.expected == UNSCORED:
            continue
        got = speakers.get((item.doc_id, item.index))
        if got is not None and normalise(got) in _PRONOUNS:
            got = None
        if item.expected is not None:
            out.expected += 1
        if got is None:
            if item.expected is not None:
                out.missed.append(item)
            continue
        out.predicted += 1
        if normalise(got) in item.accepted:
            out.correct += 1
        else:
            out.wrong.append((item, got))
            if item.expected is not None:
                out.missed.append(item)
    return out


def predictions(docs: list[Document], segment: Callable[[Document], Iterator]) -> dict[tuple[str, int], str | None]:
    """``{(doc_id, index): speaker}`` from a ``segment`` function returning sentences or records."""
    out: dict[tuple[str, int], str | None] = {}
    for doc in docs:
        for s in segment(doc):
            index, speaker = (s["index"], s["speaker"]) if isinstance(s, dict) else (s.index, s.speaker)
            out[(doc.doc_id, index)] = speaker
    return out
