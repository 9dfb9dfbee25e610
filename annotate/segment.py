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

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from annotate.corpus import Document, read_documents, unmatched_sidecars
from annotate.io import atomic_write, dumps, ensure_not_input, sha256_hex
from annotate.speakers import attribute, cue_words

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
        # not dataclasses.asdict, which deep-copies every field; context is the only container
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["context"] = dict(self.context)
        return out


def sentence_id(doc_id: str, text: str, occurrence: int = 0) -> str:
    """Stable id of a sentence: a hash of its document id, its text and its occurrence number."""
    return "s" + sha256_hex(f"{doc_id}\x1f{text}\x1f{occurrence}", 15)


def split_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(paragraph, start, end)`` for every sentence: newlines first, then syntok."""
    for paragraph, line_start, _line, spans in _line_spans(text):
        for start, end in spans:
            yield paragraph, line_start + start, line_start + end


@functools.cache
def _syntok() -> tuple[Callable[[str], list[Any]], Callable[[Iterator[Any]], Iterator[list[Any]]]]:
    """A tokenizer giving syntok's tokens as a list, and syntok's segmenter; imported on first use.

    (Importing the package stays fast for commands that never segment.)
    """
    from syntok.segmenter import segment as syntok_segment
    from syntok.tokenizer import Token, Tokenizer

    tokenizer = Tokenizer(replace_not_contraction=False)  # the one segmenter.analyze uses
    spaces = Tokenizer._spaces.finditer
    separation = Tokenizer._separation.search
    find_start, find_end = Tokenizer._find_start, Tokenizer._find_end

    def word_tokens(mo: Any, offset: int, text: str) -> Iterator[Any]:
        # syntok's Tokenizer.tokenize, loop body for one whitespace-delimited word (1.4.4, verbatim)
        start = find_start(mo.start(), mo.end(), text)
        if start == mo.end():
            yield Token(text[offset : mo.start()], mo.group(0), mo.start())
        else:
            end = find_end(start, mo.end(), text)
            if start > mo.start():
                offset = yield from tokenizer._split_nonword_prefix(mo, offset, start, text)
            if start != end:
                yield from tokenizer._split_word(text[offset:start], text[start:end], start)
            tail = text[end : mo.end()]
            if tail.startswith("..."):
                yield Token("", "...", end)
                end += 3
                tail = tail[3:]
            yield from [Token("", c, idx + end) for idx, c in enumerate(tail)]

    def tokenize(text: str) -> list[Any]:
        """``list(tokenizer.tokenize(text))``, with a shortcut for the common word.

        A word that starts and ends with a letter or digit and holds none of syntok's split
        patterns is one token (two with one trailing punctuation mark), which syntok reaches
        through two generators and two character loops; most words are such words.
        ``tests/test_segment.py`` checks the tokens are syntok's own on FNC-1 bodies.
        """
        tokens: list[Any] = []
        append = tokens.append
        offset = 0
        for mo in spaces(text):
            word = mo.group(0)
            if word[0].isalnum() and separation(word) is None:
                if word[-1].isalnum():
                    append(Token(text[offset : mo.start()], word, mo.start()))
                    offset = mo.end()
                    continue
                if len(word) > 1 and word[-2].isalnum():  # "word," "word." : a one-character tail
                    append(Token(text[offset : mo.start()], word[:-1], mo.start()))
                    append(Token("", word[-1], mo.end() - 1))
                    offset = mo.end()
                    continue
            tokens.extend(word_tokens(mo, offset, text))
            offset = mo.end()
        if offset < len(text):
            append(Token(text[offset:], "", len(text)))
        return tokens

    return tokenize, syntok_segment


def _line_spans(text: str) -> Iterator[tuple[int, int, str, list[tuple[int, int]]]]:
    """Yield ``(paragraph, line_start, line, spans)`` per non-blank line, spans relative to the line.

    syntok's ``segmenter.analyze(line)`` would build a tokenizer and look for blank-line
    paragraph breaks on every call; a line holds no newline, so tokenizing it and calling
    syntok's ``segment`` directly gives the same sentences (``tests/test_segment.py``
    checks this on FNC-1 bodies) for less work.
    """
    tokenize, syntok_segment = _syntok()
    paragraph = 0
    pos = 0
    for line in text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        if not line or line.isspace():
            continue
        spans: list[tuple[int, int]] = []
        for tokens in syntok_segment(iter(tokenize(line))):
            if not tokens[0].value or not tokens[-1].value:  # the token for trailing spaces is empty
                tokens = [t for t in tokens if t.value]
                if not tokens:
                    continue
            spans.append((tokens[0].offset, tokens[-1].offset + len(tokens[-1].value)))
        if not spans:  # a line of symbols only: keep it, nothing is silently dropped
            stripped = line.strip()
            spans = [(line.index(stripped), line.index(stripped) + len(stripped))]
        yield paragraph, line_start, line, _repair(line, spans)
        paragraph += 1


# Two repairs on top of syntok, each for a failure seen in the Golden Rules that also occurs
# in news text: an e-mail address or URL that ends a sentence hides the full stop from syntok
# ("... at jane.doe@example.com. I wrote ..."), and a closing quote after an ellipsis becomes a
# sentence of its own ("complex. . . .”").
_ADDRESS_END_RE = re.compile(r"(?:\S+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}|https?://\S+?)\.(?=\s+[A-Z“\"])")
_NO_WORDS_RE = re.compile(r"^[^\w]{1,4}$")


def _repair(line: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    addresses = "@" in line or "http" in line  # the address pattern cannot match without either
    for start, end in spans:
        if out and end - start <= 4 and _NO_WORDS_RE.match(line[start:end]):
            out[-1] = (out[-1][0], end)
            continue
        cut = start
        if addresses:
            for m in _ADDRESS_END_RE.finditer(line, start, end):
                stop = m.end()
                nxt = stop + len(line[stop:end]) - len(line[stop:end].lstrip())
                if nxt < end:
                    out.append((cut, stop))
                    cut = nxt
        out.append((cut, end))
    return out


# --- hints -----------------------------------------------------------------------------
# Quotes and language here; the speaker comes from annotate.speakers (docs/speakers.md).

_APOSTROPHE_RE = re.compile(r"(?<=\w)’(?=\w)|(?<=s)’(?=\s)")
_QUOTE_MARK_RE = re.compile("[“«‘”»’\"]")


def _quoted_runs(paragraph: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` runs of a paragraph's characters that lie inside quotation marks.

    Only the quotation marks change the state, so the scan visits those (found by a regex)
    and settles the stretches between them at once, instead of deciding character by character.
    """
    cleaned = _APOSTROPHE_RE.sub("'", paragraph) if "’" in paragraph else paragraph  # "wouldn’t", "Mexico’s"
    runs: list[tuple[int, int]] = []
    run_start = -1  # start of the current inside run, -1 when outside
    depth = 0
    straight_open = False
    settled = 0  # the characters before this one are settled
    pieces: list[tuple[int, int, bool]] = []
    for m in _QUOTE_MARK_RE.finditer(cleaned):
        i = m.start()
        ch = cleaned[i]
        gap = depth > 0 or straight_open  # the characters since the last mark
        if ch in "“«" or (ch == "‘" and (i == 0 or not cleaned[i - 1].isalnum())):
            depth += 1
            own = True
        elif ch in "”»" or (ch == "’" and depth > 0):
            depth = max(0, depth - 1)
            own = depth > 0 or straight_open
        elif ch == '"':
            straight_open = not straight_open
            own = False  # a straight quote mark itself is never inside
        else:
            own = gap
        pieces.append((settled, i, gap))
        pieces.append((i, i + 1, own))
        settled = i + 1
    pieces.append((settled, len(cleaned), depth > 0 or straight_open))
    for start, end, inside in pieces:
        if start == end:
            continue
        if inside and run_start < 0:
            run_start = start
        elif not inside and run_start >= 0:
            runs.append((run_start, start))
            run_start = -1
    if run_start >= 0:
        runs.append((run_start, len(cleaned)))
    return runs


def _non_space(text: str) -> int:
    return sum(map(len, text.split()))  # str.split() splits on exactly the str.isspace() characters


def _in_quote(line: str, start: int, end: int, runs: list[tuple[int, int]]) -> bool:
    """Whether most (at least half) of the non-space characters of ``line[start:end]`` are quoted."""
    if not runs:
        return False
    quoted = sum(_non_space(line[max(a, start) : min(b, end)]) for a, b in runs if a < end and b > start)
    if not quoted:
        return False
    return 2 * quoted >= _non_space(line[start:end])


# A tiny stop-word vote: enough to flag a Spanish tweet embedded in an English article,
# which is all the hint is for. The document's declared language wins when the vote is weak.
_STOPWORDS = {
    "en": {"the", "and", "of", "to", "is", "that", "in", "was", "for", "with", "it", "not", "are", "be", "this"},
    "es": {"el", "la", "de", "que", "y", "en", "los", "las", "no", "se", "por", "con", "una", "es", "del"},
    "fr": {"le", "la", "les", "de", "et", "des", "est", "que", "une", "pas", "dans", "pour", "du", "qui", "sur"},
    "de": {"der", "die", "das", "und", "ist", "nicht", "den", "mit", "ein", "eine", "zu", "von", "dem", "auf"},
    "pt": {"o", "a", "os", "de", "que", "e", "não", "em", "uma", "um", "do", "da", "para", "com", "é"},
}
_LANGUAGES = list(_STOPWORDS)
# word -> the positions in _LANGUAGES of the languages it is a stop word of: one lookup per word
_STOP_INDEX: dict[str, tuple[int, ...]] = {
    w: tuple(i for i, lang in enumerate(_LANGUAGES) if w in _STOPWORDS[lang]) for w in set().union(*_STOPWORDS.values())
}
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def _language(sentence: str, default: str | None) -> str | None:
    return _language_of(_WORD_RE.findall(sentence), default)


def _language_of(words: list[str], default: str | None) -> str | None:
    """The language the stop words of a sentence's words vote for, or ``default``."""
    if len(words) < 4:
        return default
    votes = [0] * len(_LANGUAGES)
    # lower-casing the words joined by spaces equals lower-casing each (no lower-case form holds a space)
    for w in " ".join(words).lower().split(" "):
        hit = _STOP_INDEX.get(w)
        if hit:
            for i in hit:
                votes[i] += 1
    best = max(range(len(votes)), key=votes.__getitem__)  # the first of equals, as before
    n = votes[best]
    if n >= 2 and n >= 1.5 * max(v for i, v in enumerate(votes) if i != best) and n / len(words) >= 0.15:
        return _LANGUAGES[best]
    return default


def _records(document: Document) -> list[dict[str, Any]]:
    """The sentences of a document as plain dicts, keys in :class:`Sentence` field order.

    Plain dicts rather than dataclasses: ``ingest`` only encodes them, and
    ``dataclasses.asdict`` deep-copies every field (a third of the cost of ingest, measured).
    """
    language = document.language or "en"
    doc_id, title, date, url, source = document.doc_id, document.title, document.date, document.url, document.source
    occurrences: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    cues: list[frozenset[str]] = []
    index = 0
    for paragraph, line_start, line, spans in _line_spans(document.text):
        runs = _quoted_runs(line)  # per line, so quotes spanning several sentences are seen
        for start, end in spans:
            chunk = line[start:end]
            occ = occurrences[chunk]
            occurrences[chunk] = occ + 1
            words = _WORD_RE.findall(chunk)  # for the language vote and the speaker cue
            cues.append(cue_words(words))
            records.append(
                {
                    "sentence_id": sentence_id(doc_id, chunk, occ),
                    "doc_id": doc_id,
                    "index": index,
                    "paragraph": paragraph,
                    "start": line_start + start,
                    "end": line_start + end,
                    "text": chunk,
                    "context": None,
                    "in_quote": _in_quote(line, start, end, runs),
                    "speaker": None,
                    "language": _language_of(words, language),
                    "title": title,
                    "date": date,
                    "url": url,
                    "source": source,
                }
            )
            index += 1
    speakers = attribute(
        [r["text"] for r in records], [r["paragraph"] for r in records], [r["in_quote"] for r in records], cues
    )
    last = len(records) - 1
    for i, r in enumerate(records):
        r["speaker"] = speakers[i]
        r["context"] = {
            "previous": records[i - 1]["text"] if i > 0 else "",
            "next": records[i + 1]["text"] if i < last else "",
        }
    return records


def segment(document: Document) -> list[Sentence]:
    """Split a document into :class:`Sentence` records with context and hints."""
    return [Sentence(**r) for r in _records(document)]


@dataclass
class IngestSummary:
    documents: int = 0
    sentences: int = 0
    output: str | None = None
    #: sidecars (``*.meta.json``) that belong to no document: their metadata was not used
    unmatched_sidecars: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        line = f"{self.documents} documents, {self.sentences} sentences -> {self.output}"
        if self.unmatched_sidecars:
            shown = ", ".join(self.unmatched_sidecars[:3]) + (" ..." if len(self.unmatched_sidecars) > 3 else "")
            line += (
                f"\nwarning: {len(self.unmatched_sidecars)} sidecar(s) belong to no article, their metadata "
                f"was not used: {shown} (name a sidecar ARTICLE.meta.json or ARTICLE.txt.meta.json)"
            )
        return line


def iter_sentences(documents: Iterable[Document]) -> Iterator[Sentence]:
    for doc in documents:
        yield from segment(doc)


def _segment_chunk(documents: list[Document]) -> list[tuple[int, int, str]]:
    """Worker side of ingest: a chunk of documents -> ``[(documents, sentences, json_lines)]``.

    One string per chunk, ready to write: the main process then only reads and writes, and
    a single string pickles far faster than a list of lists of lines.
    """
    lines = [dumps(r) for doc in documents for r in _records(doc)]
    return [(len(documents), len(lines), "".join(line + "\n" for line in lines))]


def ingest(
    paths: Iterable[str | Path] | str | Path,
    output: str | Path,
    *,
    progress: bool = False,
    n_jobs: int = 1,
    dask: Any = None,
    chunksize: int = 64,
) -> IngestSummary:
    """Read documents from ``paths`` and write one JSON line per sentence to ``output``.

    Streams: documents are read one at a time and segmented in chunks of ``chunksize``
    (on ``n_jobs`` local processes, ``-1`` for all cores, or on a Dask cluster with
    ``dask=ADDRESS``), with a bounded number of chunks in flight, so memory stays flat
    whatever the corpus size. The output is written atomically (a bad document anywhere
    leaves no partial file) and is byte-identical however the work was spread, and from one
    run to the next.
    """
    from annotate.parallel import ordered_map
    from annotate.progress import progress as show_progress

    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    ensure_not_input(output, *paths)
    summary = IngestSummary(output=str(output), unmatched_sidecars=[str(p) for p in unmatched_sidecars(paths)])
    docs = read_documents(paths)
    with atomic_write(output) as fh, show_progress(progress, "ingesting") as tick:
        for n_docs, n_sentences, lines in ordered_map(
            _segment_chunk, docs, chunksize=chunksize, n_jobs=n_jobs, dask=dask
        ):
            fh.write(lines)
            summary.documents += n_docs
            summary.sentences += n_sentences
            tick(summary.sentences, summary.documents)
    return summary
