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
