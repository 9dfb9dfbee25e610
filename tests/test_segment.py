"""Segmentation, offsets, stable ids and hints, on the sample article and small cases."""

from __future__ import annotations

import json

import pytest

from annotate.corpus import Document, read_documents
from annotate.segment import segment, sentence_id


@pytest.fixture(scope="module")
def article():
    from tests.conftest import SAMPLE

    (doc,) = read_documents(SAMPLE)
    return doc, segment(doc)


def by_prefix(sentences, prefix):
    hits = [s for s in sentences if s.text.startswith(prefix)]
    assert len(hits) == 1, [s.text for s in hits]
    return hits[0]


def test_offsets_hold_for_every_sentence(article):
    doc, sentences = article
    assert len(sentences) == 40
    for s in sentences:
        assert doc.text[s.start : s.end] == s.text
        assert s.text == s.text.strip()
    assert [s.index for s in sentences] == list(range(40))


def test_us_abbreviations_do_not_split(article):
    _, sentences = article
    s = by_prefix(sentences, "Asked about the Mexico-United States security meeting")
    assert s.text.endswith("interest to U.S. government representatives.")
    assert not any(s.text in {"U.", "S."} for s in sentences)


def test_month_abbreviation_and_money(article):
    _, sentences = article
    s = by_prefix(sentences, "In its own statement about the bilateral security meeting that took place on Dec. 11")
    assert s.text.endswith("drone attacks at the border.”")
    s = by_prefix(sentences, "Energy Minister González announced that private companies will invest US $4.75 billion")
    assert s.text.endswith("across 11 states.")


def test_closing_quote_stays_with_its_sentence(article):
    _, sentences = article
    s = by_prefix(sentences, "“It’s an exchange of information,”")
    assert s.text == "“It’s an exchange of information,” she said."
    nxt = sentences[s.index + 1]
    assert nxt.text == "“It’s not that they’re going to have platforms here in Mexico.”"


def test_multi_sentence_quote_is_split(article):
    _, sentences = article
    first = by_prefix(sentences, "“… So we’re guaranteeing sufficient electrical energy")
    texts = [sentences[first.index + i].text for i in range(4)]
    assert texts[1] == "And Plan México needs energy."
    assert texts[2] == "If we want to produce more in Mexico, we need more energy."
    assert texts[3].endswith("there is energy,” Sheinbaum said.")
    # the whole quote is attributed to its speaker, and marked as quoted
    assert all(sentences[first.index + i].speaker == "Sheinbaum" for i in range(4))
    assert all(sentences[first.index + i].in_quote for i in range(3))


def test_tweet_embed_lines(article):
    _, sentences = article
    tweet = by_prefix(sentences, "#Mañanera @Claudiashein")
    assert tweet.text.endswith("administraciones previas.https://t.co/ti8sAhL2nI")
    assert tweet.language == "es"
    trailer = by_prefix(sentences, "📹Especial")
    assert trailer.text == "📹Especial pic.twitter.com/5sBXIRBigt— REFORMA (@Reforma) December 17, 2025"


def test_headlines_and_byline_are_their_own_sentences(article):
    _, sentences = article
    head = by_prefix(sentences, "Criminal groups’ use of drones")
    assert head.text == "Criminal groups’ use of drones a focus of Mexico-US security meeting"
    byline = sentences[-1]
    assert byline.text == "By Mexico News Daily chief staff writer Peter Davies (peter.davies@mexiconewsdaily.com)"


def test_speaker_hints(article):
    _, sentences = article
    assert by_prefix(sentences, "“So this issue was discussed").speaker == "Sheinbaum"
    assert by_prefix(sentences, "Asked about the linking of Mexican").speaker == "Sheinbaum"
    assert by_prefix(sentences, "Earlier this year, Steven Willoughby").speaker == "Steven Willoughby"
    assert by_prefix(sentences, "He also said that").speaker == "Steven Willoughby"
    assert by_prefix(sentences, "Mexican crime groups have been using drones").speaker is None


def test_context_links_neighbours(article):
    _, sentences = article
    assert sentences[0].context == {"previous": "", "next": sentences[1].text}
    assert sentences[5].context == {"previous": sentences[4].text, "next": sentences[6].text}
    assert sentences[-1].context["next"] == ""


def test_ids_depend_on_doc_and_text_only():
    base = "First paragraph here.\nSecond one is this. It has two sentences.\nThird paragraph."
    edited = "First paragraph here, longer now.\nSecond one is this. It has two sentences.\nThird paragraph."
    a = segment(Document(doc_id="d", text=base))
    b = segment(Document(doc_id="d", text=edited))
    assert a[0].sentence_id != b[0].sentence_id
    assert [s.sentence_id for s in a[1:]] == [s.sentence_id for s in b[1:]]
    assert a[1].start != b[1].start  # offsets moved, ids did not
    other_doc = segment(Document(doc_id="e", text=base))
    assert {s.sentence_id for s in a}.isdisjoint(s.sentence_id for s in other_doc)


def test_repeated_sentence_gets_distinct_ids():
    sents = segment(Document(doc_id="d", text="Yes. No.\nYes."))
    assert [s.text for s in sents] == ["Yes.", "No.", "Yes."]
    assert sents[0].sentence_id == sentence_id("d", "Yes.", 0)
    assert sents[2].sentence_id == sentence_id("d", "Yes.", 1)


def test_emoji_offsets_are_code_points():
    text = "Fans 😀 cheered as the mayor said the stadium “will cost nothing” to taxpayers. Then they left."
    (first, second) = segment(Document(doc_id="d", text=text))
    assert text[first.start : first.end] == first.text
    assert second.text == "Then they left."


def test_ingest_is_byte_identical(tmp_path, cli, sample_path):
    out1, out2 = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert cli("ingest", sample_path.parent.parent, "-o", out1)[0] == 0
    assert cli("ingest", sample_path.parent.parent, "-o", out2)[0] == 0
    assert out1.read_bytes() == out2.read_bytes()
    records = [json.loads(line) for line in out1.read_text("utf-8").splitlines()]
    assert len(records) == 40
    assert set(records[0]) >= {
        "sentence_id",
        "doc_id",
        "index",
        "start",
        "end",
        "text",
        "context",
        "paragraph",
        "in_quote",
        "speaker",
        "language",
    }
    assert records[0]["title"].startswith("Sheinbaum’s Dec. 17 mañanera")
    assert records[0]["date"] == "2025-12-17"


# --- the fast paths give what the plain calls gave -------------------------------------
# ingest calls syntok's tokenizer and segmenter per line with a shortcut for plain words, and
# computes the hints without per-character loops. These tests hold those to the plain ways of
# doing the same (syntok's own analyze() per line, a mask per character, one vote per language)
# on a sample of real news text, the FNC-1 bodies, plus a few made-up hard cases.

HARD_LINES = [
    "“It’s not,” she said. ‘Maybe’ he’s right... or not?! (See p. 4.) Mr. O’Neil’s iPhone—yes—won’t.",
    'He said "no." Then: "Yes" -- and «oui». ‘quoted ’ twice’ and  trailing spaces   ',
    "E-mail jane.doe@example.com. Visit https://example.com/a. OK… U.S. Dec. 11 $4.75 a.m. Mr. Smith",
    "...leading ellipsis ..., x-ray_co a;b 3-4 ‘’“”«» \" ( ) [ ] { } ¿Qué? ¡Sí! 😀 end",
    "no-space.Next sentence,and more;semi. i.e. e.g. etc. Inc. vs. St. No. 5 (a) b) c)",
]


@pytest.fixture(scope="module")
def fnc1_lines():
    import csv
    import sys

    from tests.conftest import SHARED

    csv.field_size_limit(sys.maxsize)
    with (SHARED / "data" / "fnc1" / "train_bodies.csv").open(encoding="utf-8") as fh:
        bodies = [row["articleBody"] for row in csv.DictReader(fh)]
    assert len(bodies) > 1000
    sample = bodies[::8]  # an eighth of the bodies (about 210) keeps the tests to seconds
    lines = [line for body in sample for line in body.replace("\r\n", "\n").split("\n") if line.strip()]
    return sample, lines + HARD_LINES


def _reference_spans(text):
    """split_spans as first written: syntok's analyze() on each line, then the two repairs."""
    import re

    from syntok import segmenter

    address = re.compile(r"(?:\S+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}|https?://\S+?)\.(?=\s+[A-Z“\"])")
    no_words = re.compile(r"^[^\w]{1,4}$")
    paragraph = pos = 0
    for line in text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        spans = []
        for para in segmenter.analyze(line):
            for tokens in para:
                tokens = [t for t in tokens if t.value]
                if tokens:
                    spans.append((tokens[0].offset, tokens[-1].offset + len(tokens[-1].value)))
        if not spans:
            stripped = line.strip()
            spans = [(line.index(stripped), line.index(stripped) + len(stripped))]
        out = []
        for start, end in spans:
            if out and no_words.match(line[start:end]):
                out[-1] = (out[-1][0], end)
                continue
            cut = start
            for m in address.finditer(line, start, end):
                stop = m.end()
                nxt = stop + len(line[stop:end]) - len(line[stop:end].lstrip())
                if nxt < end:
                    out.append((cut, stop))
                    cut = nxt
            out.append((cut, end))
        for start, end in out:
            yield paragraph, line_start + start, line_start + end
        paragraph += 1


def test_tokens_are_syntoks_own(fnc1_lines):
    from syntok.tokenizer import Tokenizer

    from annotate.segment import _syntok

    tokenize, _ = _syntok()
    plain = Tokenizer(replace_not_contraction=False)
    _, lines = fnc1_lines
    for line in lines:
        got = [(t.spacing, t.value, t.offset) for t in tokenize(line)]
        assert got == [(t.spacing, t.value, t.offset) for t in plain.tokenize(line)], line


def test_spans_are_those_of_syntok_analyze_per_line(fnc1_lines):
    from annotate.segment import split_spans

    bodies, _ = fnc1_lines
    texts = [*bodies, "\n".join(HARD_LINES), "  \n\n— ... —\nA line.  \n"]
    n = 0
    for text in texts:
        got = list(split_spans(text))
        assert got == list(_reference_spans(text)), text[:80]
        n += len(got)
    assert n > 3000


def _reference_mask(paragraph):
    import re

    cleaned = re.sub(r"(?<=\w)’(?=\w)|(?<=s)’(?=\s)", "'", paragraph)
    mask = [False] * len(cleaned)
    depth, straight_open = 0, False
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


def test_quote_runs_match_a_mask_per_character(fnc1_lines):
    from annotate.segment import _in_quote, _line_spans, _quoted_runs

    _, lines = fnc1_lines
    extra = ["“a", "a”", '"', '""', "“”", "‘x’ y ’", "x “y” z", "« a » b « c", "“one” ”two“ \"three"]
    quoted = 0
    for line in [*lines, *extra]:
        mask = _reference_mask(line)
        runs = _quoted_runs(line)
        assert [any(a <= i < b for a, b in runs) for i in range(len(line))] == mask, line
        for _p, _ls, _line, spans in _line_spans(line):
            for start, end in spans:
                inside = [mask[i] for i in range(start, end) if not line[i].isspace()]
                expected = bool(inside) and sum(inside) / len(inside) >= 0.5
                assert _in_quote(line, start, end, runs) == expected, line[start:end]
                quoted += expected
    assert quoted > 50


def test_language_vote_and_speaker_cue_change_nothing(fnc1_lines):
    from annotate.segment import _STOPWORDS, _WORD_RE, _language, split_spans
    from annotate.speakers import _cue_words, _direct

    def reference_language(sentence, default):
        words = [w.lower() for w in _WORD_RE.findall(sentence)]
        if len(words) < 4:
            return default
        votes = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
        best, n = max(votes.items(), key=lambda kv: kv[1])
        others = max([v for k, v in votes.items() if k != best] or [0])
        return best if n >= 2 and n >= 1.5 * others and n / len(words) >= 0.15 else default

    _, lines = fnc1_lines
    spanish = "El presidente dijo que no hay pruebas de los hechos en la ciudad."
    sentences = [line[s:e] for line in lines for _p, s, e in split_spans(line)] + [spanish, "ΟΔΟΣ ΣΟΦΙΑΣ the of"]
    languages = {_language(s, "en") for s in sentences}
    assert {"en", "es"} <= languages
    speakers = 0
    for s in sentences:
        assert _language(s, "en") == reference_language(s, "en"), s
        assert _language(s, None) == reference_language(s, None), s
        # the cue is a shortcut: a sentence without one is a sentence no speaker pattern matches
        found = _direct(s)  # every pattern tried at every start
        cue = _cue_words(s)
        if not cue:
            assert found is None, s
        assert _direct(s, cue) == found, s  # and only where a subject can end before a cue word
        speakers += found is not None and found[1] is not None
    assert speakers > 100
