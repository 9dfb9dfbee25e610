"""Sentences out: offsets into the document, stable ids, context, and hints for annotators.

Segmentation splits on newlines first (headlines and datelines rarely end in a full stop),
then runs syntok inside each paragraph; ``../shared/notes/segmentation.md`` compares nine
segmenters on news text and explains the choice. Offsets are Python ``str`` indices
(Unicode code points), the same unit Label Studio 1.23 uses for text spans, so
``document.text[start:end] == sentence.text`` always holds.

``sentence_id`` depends only on the document id and the sentence's own text (plus its
occurrence number when the same sentence appears twice), never on absolute offsets: editing
one paragraph changes only the ids of the sentences in that paragraph.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from annotate.corpus import Document, read_documents
from annotate.io import atomic_write, dumps, sha256_hex

__all__ = ["Sentence", "IngestSummary", "split_spans", "segment", "ingest", "sentence_id"]


@dataclass
class Sentence:
    """One sentence of a document; ``text == document.text[start:end]``."""

    sentence_id: str
    doc_id: str
    index: int
    paragraph: int
    start: int
    end: int
    text: str
    context: dict[str, str] = field(default_factory=dict)
    in_quote: bool = False
    speaker: str | None = None
    language: str | None = None
    title: str | None = None
    date: str | None = None
    url: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sentence_id(doc_id: str, text: str, occurrence: int = 0) -> str:
    """Stable id of a sentence: a hash of its document id, its text and its occurrence number."""
    return "s" + sha256_hex(f"{doc_id}\x1f{text}\x1f{occurrence}", 15)


def split_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(paragraph, start, end)`` for every sentence: newlines first, then syntok."""
    # syntok is imported here so that importing the package stays fast for commands that
    # never segment.
    from syntok import segmenter

    paragraph = 0
    pos = 0
    for line in text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        spans: list[tuple[int, int]] = []
        for para in segmenter.analyze(line):
            for tokens in para:
                tokens = [t for t in tokens if t.value]
                if tokens:
                    spans.append((tokens[0].offset, tokens[-1].offset + len(tokens[-1].value)))
        if not spans:  # a line of symbols only: keep it, nothing is silently dropped
            stripped = line.strip()
            spans = [(line.index(stripped), line.index(stripped) + len(stripped))]
        for start, end in _repair(line, spans):
            yield paragraph, line_start + start, line_start + end
        paragraph += 1


# Two repairs on top of syntok, each for a failure seen in the Golden Rules that also occurs
# in news text: an e-mail address or URL that ends a sentence hides the full stop from syntok
# ("... at jane.doe@example.com. I wrote ..."), and a closing quote after an ellipsis becomes a
# sentence of its own ("complex. . . .”").
_ADDRESS_END_RE = re.compile(r"(?:\S+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}|https?://\S+?)\.(?=\s+[A-Z“\"])")
_NO_WORDS_RE = re.compile(r"^[^\w]{1,4}$")


def _repair(line: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and _NO_WORDS_RE.match(line[start:end]):
            out[-1] = (out[-1][0], end)
            continue
        cut = start
        for m in _ADDRESS_END_RE.finditer(line, start, end):
            stop = m.end()
            nxt = stop + len(line[stop:end]) - len(line[stop:end].lstrip())
            if nxt < end:
                out.append((cut, stop))
                cut = nxt
        out.append((cut, end))
    return out


# --- hints -----------------------------------------------------------------------------

_OPENING = "“‘«"
_CLOSING = "”’»"
_APOSTROPHE_RE = re.compile(r"(?<=\w)’(?=\w)|(?<=s)’(?=\s)")


def _quoted_mask(paragraph: str) -> list[bool]:
    """For each character of a paragraph, whether it lies inside quotation marks."""
    cleaned = _APOSTROPHE_RE.sub("'", paragraph)  # "wouldn’t", "Mexico’s" are not quote marks
    mask = [False] * len(cleaned)
    depth = 0
    straight_open = False
    for i, ch in enumerate(cleaned):
        if ch in "“«" or (ch == "‘" and (i == 0 or not cleaned[i - 1].isalnum())):
            depth += 1
        elif ch in "”»" or (ch == "’" and depth > 0):
            depth = max(0, depth - 1)
        elif ch == '"':
            straight_open = not straight_open
            continue
        mask[i] = depth > 0 or straight_open
    return mask


_VERBS = (
    r"said|says|told|added|noted|explained|stated|announced|argued|claimed|wrote|tweeted|"
    r"insisted|warned|asked|replied|responded|reiterated|remarked|declared|confirmed|denied"
)
_NAME = r"(?:[A-Z][\w’'.-]*(?:\s+(?:(?:de|del|la|van|von|al|bin|of|for)\s+)?[A-Z][\w’'.-]*){0,6}(?:\s+\([A-Z]{2,}\))?)"
_ADVERB = r"(?:(?:also|then|later|again|once|\w+ly)\s+)?"
_SUBJECT = (
    rf"(?P<who>{_NAME}|[Hh]e|[Ss]he|[Tt]hey|[Tt]he\s+{_NAME}|[Tt]he\s+(?:[a-z]+\s+){{0,2}}"
    r"(?:ministry|minister|president|company|government|department|official|spokesperson|spokesman|"
    r"spokeswoman|embassy|agency|statement|report|police|army|court))"
)
_SPEAKER_PATTERNS = [
    # “...,” she said.   /   ..., the ministry said.
    re.compile(rf"[,”\"]\s*”?\s*{_SUBJECT}\s+{_ADVERB}(?:{_VERBS})\b"),
    # “...,” said Sheinbaum.
    re.compile(rf"[,”\"]\s*”?\s*(?:{_VERBS})\s+(?P<who>{_NAME})"),
    # Steven Willoughby, a senior official in ..., said that ...
    re.compile(rf"(?:^|,\s+)(?P<who>{_NAME}),\s+(?:a|an|the)\s+[^,“”\"]{{3,100}},\s+{_ADVERB}(?:{_VERBS})\b"),
    # Sheinbaum said that ... / Asked about X, Sheinbaum said ...
    re.compile(rf"(?:^|,\s+){_SUBJECT}\s+{_ADVERB}(?:{_VERBS})\b"),
    # According to the public safety company SoundThinking, ...
    re.compile(rf"^[Aa]ccording to (?:the\s+)?(?:[a-z][\w-]*\s+){{0,5}}(?P<who>{_NAME})(?:,|\s+(?:{_VERBS}))"),
]
_PRONOUNS = {"he", "she", "they"}


def _speaker(sentence: str) -> str | None:
    for pattern in _SPEAKER_PATTERNS:
        m = pattern.search(sentence)
        if m:
            who = re.sub(r"^[Tt]he\s+(?=[A-Z])", "", m.group("who").strip(" ,.’'"))
            if who.lower() in {"it", "this", "that", "there", "what", "but", "and", "so", "asked"}:
                continue
            return who
    return None


# A tiny stop-word vote: enough to flag a Spanish tweet embedded in an English article,
# which is all the hint is for. The document's declared language wins when the vote is weak.
_STOPWORDS = {
    "en": {"the", "and", "of", "to", "is", "that", "in", "was", "for", "with", "it", "not", "are", "be", "this"},
    "es": {"el", "la", "de", "que", "y", "en", "los", "las", "no", "se", "por", "con", "una", "es", "del"},
    "fr": {"le", "la", "les", "de", "et", "des", "est", "que", "une", "pas", "dans", "pour", "du", "qui", "sur"},
    "de": {"der", "die", "das", "und", "ist", "nicht", "den", "mit", "ein", "eine", "zu", "von", "dem", "auf"},
    "pt": {"o", "a", "os", "de", "que", "e", "não", "em", "uma", "um", "do", "da", "para", "com", "é"},
}
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def _language(sentence: str, default: str | None) -> str | None:
    words = [w.lower() for w in _WORD_RE.findall(sentence)]
    if len(words) < 4:
        return default
    votes = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best, n = max(votes.items(), key=lambda kv: kv[1])
    if n >= 2 and n >= 1.5 * max([v for k, v in votes.items() if k != best] or [0]) and n / len(words) >= 0.15:
        return best
    return default


def segment(document: Document) -> list[Sentence]:
    """Split a document into :class:`Sentence` records with context and hints."""
    text = document.text
    spans = list(split_spans(text))
    language = document.language or "en"
    occurrences: Counter[str] = Counter()
    sentences: list[Sentence] = []
    # quote masks per paragraph line, so quotes spanning several sentences are seen
    line_starts = [0]
    for line in text.split("\n"):
        line_starts.append(line_starts[-1] + len(line) + 1)
    masks: dict[int, tuple[int, list[bool]]] = {}
    last_named: str | None = None
    for index, (paragraph, start, end) in enumerate(spans):
        chunk = text[start:end]
        occ = occurrences[chunk]
        occurrences[chunk] += 1
        line_no = text.count("\n", 0, start)
        if line_no not in masks:
            ls, le = line_starts[line_no], line_starts[line_no + 1] - 1
            masks[line_no] = (ls, _quoted_mask(text[ls:le]))
        ls, mask = masks[line_no]
        inside = [mask[i - ls] for i in range(start, end) if not text[i].isspace()]
        in_quote = bool(inside) and sum(inside) / len(inside) >= 0.5
        speaker = _speaker(chunk)
        if speaker and speaker.lower() not in _PRONOUNS and speaker[0].isupper():
            last_named = speaker
        elif speaker and speaker.lower() in {"he", "she"} and last_named:
            speaker = last_named
        sentences.append(
            Sentence(
                sentence_id=sentence_id(document.doc_id, chunk, occ),
                doc_id=document.doc_id,
                index=index,
                paragraph=paragraph,
                start=start,
                end=end,
                text=chunk,
                in_quote=in_quote,
                speaker=speaker,
                language=_language(chunk, language),
                title=document.title,
                date=document.date,
                url=document.url,
                source=document.source,
            )
        )
    # A quoted sentence without its own attribution takes the attribution of its paragraph
    # ("“It’s an exchange,” she said. “It’s not that ...”").
    by_paragraph: dict[int, str] = {}
    for s in sentences:
        if s.speaker and s.paragraph not in by_paragraph:
            by_paragraph[s.paragraph] = s.speaker
    for i, s in enumerate(sentences):
        if s.speaker is None and s.in_quote:
            s.speaker = by_paragraph.get(s.paragraph)
        s.context = {
            "previous": sentences[i - 1].text if i > 0 else "",
            "next": sentences[i + 1].text if i + 1 < len(sentences) else "",
        }
    return sentences


@dataclass
class IngestSummary:
    documents: int = 0
    sentences: int = 0
    output: str | None = None

    def __str__(self) -> str:
        return f"{self.documents} documents, {self.sentences} sentences -> {self.output}"


def iter_sentences(documents: Iterable[Document]) -> Iterator[Sentence]:
    for doc in documents:
        yield from segment(doc)


def _segment_chunk(documents: list[Document]) -> list[list[str]]:
    """Worker side of ingest: the JSON lines of each document (module-level, so it pickles)."""
    return [[dumps(s.to_dict()) for s in segment(doc)] for doc in documents]


def ingest(
    paths: Iterable[str | Path] | str | Path,
    output: str | Path,
    *,
    progress: bool = False,
    n_jobs: int = 1,
    dask: Any = None,
    chunksize: int = 16,
) -> IngestSummary:
    """Read documents from ``paths`` and write one JSON line per sentence to ``output``.

    Streams: documents are read one at a time and segmented in chunks of ``chunksize``
    (on ``n_jobs`` local processes, or on a Dask cluster with ``dask=ADDRESS``), with a
    bounded number of chunks in flight, so memory stays flat whatever the corpus size. The
    output is written atomically (a bad document anywhere leaves no partial file) and is
    byte-identical however the work was spread, and from one run to the next.
    """
    from annotate.parallel import ordered_map
    from annotate.progress import progress as show_progress

    summary = IngestSummary(output=str(output))
    docs = read_documents(paths)
    with atomic_write(output) as fh, show_progress(progress, "ingesting") as tick:
        for lines in ordered_map(_segment_chunk, docs, chunksize=chunksize, n_jobs=n_jobs, dask=dask):
            summary.documents += 1
            for line in lines:
                fh.write(line + "\n")
            summary.sentences += len(lines)
            tick(summary.sentences, summary.documents)
    return summary
