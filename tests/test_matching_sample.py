"""The packaged sample archive: illustrative, it loads, and the sample article finds its claims."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.matching import ClaimIndex, load_archive, match, match_records
from annotate.quickstart import SAMPLE_ARCHIVE, SAMPLE_CORPUS
from annotate.segment import ingest

#: The start of a sentence of the sample article, and the archive claim written for it.
INTENDED = {
    "At the very start of her Wednesday morning press conference": "sample-011",
    "Energy Minister González announced that private companies": "sample-001",
    "Once completed, the projects": "sample-002",
    "Earlier this year, Steven Willoughby": "sample-003",
    "He also said that “it’s only a matter of time”": "sample-004",
    "Mexican crime groups have been using drones": "sample-005",
    "Cartel drone attacks force residents": "sample-006",
    "Asked about the linking of Mexican and U.S.": "sample-007",
    "Sheinbaum said that U.S. President Donald Trump’s designation": "sample-008",
    "Sheinbaum subsequently noted that Mexico can request": "sample-009",
    "“… Both governments agreed to deepen": "sample-010",
}


@pytest.fixture(scope="module")
def sample_sentences(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sentences.jsonl"
    ingest([SAMPLE_CORPUS], path)
    return path


def sentence_texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]


def intended_texts(path: Path) -> dict[str, str]:
    """``text -> claim id`` for the sentences the archive was written for (each prefix once)."""
    texts = sentence_texts(path)
    found = {prefix: [t for t in texts if t.startswith(prefix)] for prefix in INTENDED}
    assert all(len(ts) == 1 for ts in found.values()), found
    return {ts[0]: INTENDED[prefix] for prefix, ts in found.items()}


def test_the_sample_archive_loads_and_says_it_is_illustrative():
    archive = load_archive(SAMPLE_ARCHIVE)
    assert len(archive) == 16
    assert [c.claim_id for c in archive.claims] == [f"sample-{i:03d}" for i in range(1, 17)]
    for c in archive.claims:
        assert c.claim and c.title and c.verdict and c.date
        assert c.url.startswith("https://factcheck.example/") and c.publisher == "Example Fact Desk (illustrative)"
    readme = (SAMPLE_ARCHIVE.parent / "README.md").read_text("utf-8")
    assert "illustrative" in readme and "not real fact-checks" in readme


def test_each_sample_sentence_finds_its_claim_first(sample_sentences):
    index = ClaimIndex().build(load_archive(SAMPLE_ARCHIVE))
    wanted = intended_texts(sample_sentences)
    found = match_records(index, list(wanted), k=1)
    assert {text: m[0]["claim_id"] for text, m in zip(wanted, found, strict=True)} == wanted


def test_match_file_on_the_sample_writes_every_sentence(sample_sentences, tmp_path):
    out = tmp_path / "matches.jsonl"
    summary = match(sample_sentences, SAMPLE_ARCHIVE, out, k=3)
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["text"] for r in rows] == sentence_texts(sample_sentences)
    assert summary.matched == summary.sentences == len(rows) and summary.n_claims == 16
    by_text = {r["text"]: r["matches"] for r in rows}
    for text, claim_id in intended_texts(sample_sentences).items():
        top = by_text[text][0]
        assert top["claim_id"] == claim_id and top["rank"] == 1 and top["probability"] is None
        assert top["url"].startswith("https://factcheck.example/")
