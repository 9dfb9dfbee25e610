"""Claim matching: archives in every form, the index and its refusals, the re-ranker, the CLI,
the trec_eval metrics, and the CheckThat! 2020 T2 benchmark on a slice of the real data."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from annotate.bench.clef2020 import average_precision_at_k, retrieval_scores
from annotate.errors import InputError, ModelError
from annotate.matching import (
    Archive,
    Claim,
    ClaimIndex,
    clean_text,
    fit_reranker,
    load_archive,
    load_index,
    load_queries,
    load_reranker,
    match_records,
    pair_features,
    save_index,
    save_reranker,
)
from tests.conftest import needs_shared_data, require_shared_data

CLEF = Path(__file__).resolve().parents[2] / "shared" / "data" / "clef2020_checkthat_task2"
needs_clef = needs_shared_data(CLEF)  # skipped without the data, except in CI, where it fails


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


CLAIMS = [
    Claim("c1", "Unemployment fell to 3% in 2019.", "Did Unemployment Fall to 3 Percent?", "True", "https://x/1"),
    Claim("c2", "The moon landing in 1969 was staged in a studio.", "Was the Moon Landing Faked?", "False"),
    Claim("c3", "Drinking bleach cures the flu.", "Does Bleach Cure Flu?", "False", "https://x/3"),
    Claim("c4", "Joe Biden owns the largest mansion in Delaware.", "Biden's Mansion", "Mostly false"),
    Claim("c5", "A shark swam on a flooded highway in Houston.", "Highway Shark", "Fake"),
]


@pytest.fixture
def archive_csv(tmp_path: Path) -> Path:
    path = tmp_path / "archive.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "claim", "title", "verdict", "url", "date", "publisher"])
        for c in CLAIMS:
            w.writerow([c.claim_id, c.claim, c.title, c.verdict, c.url, c.date, c.publisher])
    return path


# --- archives ---------------------------------------------------------------------------------


def test_csv_archive_reads_every_column(archive_csv):
    archive = load_archive(archive_csv)
    assert archive.claims == CLAIMS
    assert archive.source == str(archive_csv)


def test_checkthat_tsv_has_an_unnamed_id_column_and_quoted_fields(tmp_path):
    path = tmp_path / "verified_claims.docs.tsv"
    path.write_text(
        '\tvclaim\ttitle\n2\t"A ""law to separate families"" was enacted."\tWas the Law Passed?\n'
        "222\tJoe Biden owns the largest mansion in his state.\tDoes Joe Biden Own It?\n",
        encoding="utf-8",
    )
    assert load_archive(path).claims == [
        Claim("2", 'A "law to separate families" was enacted.', "Was the Law Passed?"),
        Claim("222", "Joe Biden owns the largest mansion in his state.", "Does Joe Biden Own It?"),
    ]


def test_jsonl_table_archive(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"claim_id": 7, "claim": "Taxes  rose\n5%.", "verdict": "False"}])
    assert load_archive(path).claims == [Claim("7", "Taxes rose 5%.", verdict="False")]


CLAIMREVIEW = {
    "@context": "https://schema.org",
    "@graph": [
        {"@type": "WebPage", "name": "not a review"},
        {
            "@type": "ClaimReview",
            "url": "https://checker.example/flat-earth",
            "claimReviewed": "The world is flat",
            "name": "Is the world flat?",
            "datePublished": "2016-06-22",
            "author": {"@type": "Organization", "name": "Example Checks"},
            "itemReviewed": {"@type": "Claim", "author": {"@type": "Person", "name": "Someone"}},
            "reviewRating": {"@type": "Rating", "ratingValue": "1", "bestRating": "5", "alternateName": "False"},
        },
        {
            "@type": ["ClaimReview"],
            "url": "https://checker.example/flat-earth",
            "claimReviewed": "Ships vanish over the horizon because of a conspiracy",
            "reviewRating": {"ratingValue": "2", "bestRating": "5"},
            "author": [{"name": "Example Checks"}, {"name": "Partner"}],
        },
    ],
}


def test_claimreview_jsonld_file(tmp_path):
    path = tmp_path / "reviews.jsonld"
    path.write_text(json.dumps(CLAIMREVIEW), encoding="utf-8")
    assert load_archive(path).claims == [
        Claim(
            "https://checker.example/flat-earth",
            "The world is flat",
            title="Is the world flat?",
            verdict="False",
            url="https://checker.example/flat-earth",
            date="2016-06-22",
            publisher="Example Checks",
        ),
        # a second review on the same page gets the page's url numbered
        Claim(
            "https://checker.example/flat-earth#2",
            "Ships vanish over the horizon because of a conspiracy",
            verdict="2/5",
            url="https://checker.example/flat-earth",
            publisher="Example Checks; Partner",
        ),
    ]


def _page(*blocks: dict) -> str:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(b)}</script>\n' for b in blocks)
    return f"<html><head><title>t</title>\n{scripts}</head><body><p>text</p></body></html>"


def test_claimreview_html_pages_in_a_folder(tmp_path):
    review = {
        "@type": "ClaimReview",
        "@id": "https://fc.example/r/1",
        "claimReviewed": "Bleach cures the flu",
        "reviewRating": {"alternateName": "False"},
    }
    other = {"@type": "ClaimReview", "url": "https://fc.example/r/2", "itemReviewed": {"text": "Sharks on highway"}}
    folder = tmp_path / "pages"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.html").write_text(_page({"@type": "NewsArticle", "headline": "x"}, review), encoding="utf-8")
    (folder / "sub" / "b.htm").write_text(_page(other, review), encoding="utf-8")  # review again: counted once
    (folder / "notes.txt").write_text("ignored", encoding="utf-8")
    claims = load_archive(folder).claims
    assert [(c.claim_id, c.claim, c.verdict) for c in claims] == [
        ("https://fc.example/r/1", "Bleach cures the flu", "False"),
        ("https://fc.example/r/2", "Sharks on highway", ""),
    ]
    assert load_archive(folder / "a.html").claims == claims[:1]


def test_gold_file_archive_needs_its_sentences(tmp_path):
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"item": "s1", "sentence_id": "s1", "field": "claim_type", "label": "Check-worthy factual claim"},
            {"item": "s1|t", "sentence_id": "s1", "target": "t", "field": "stance", "label": "Against"},
            {"item": "s2", "sentence_id": "s2", "field": "claim_type", "label": "Opinion"},
        ],
    )
    sentences = write_jsonl(
        tmp_path / "sentences.jsonl",
        [
            {"sentence_id": "s1", "doc_id": "d", "index": 0, "text": "Exports rose 5% in 2019.", "url": "https://n/1"},
            {"sentence_id": "s2", "doc_id": "d", "index": 1, "text": "I think it is bad."},
        ],
    )
    assert load_archive(gold, sentences=sentences).claims == [
        Claim(
            "s1",
            "Exports rose 5% in 2019.",
            verdict="claim_type: Check-worthy factual claim; stance (t): Against",
            url="https://n/1",
        ),
        Claim("s2", "I think it is bad.", verdict="claim_type: Opinion"),
    ]
    with pytest.raises(InputError, match="a gold file holds no sentence text"):
        load_archive(gold)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.csv", "id,text_of_claim\n1,x\n", "a.csv:2: a claim needs an 'id' and a 'claim' column (found: id, "),
        ("a.csv", "id,claim\n1,One.\n2,\n", "a.csv:3: claim '2' has no text. fill it in or remove the row."),
        (
            "a.csv",
            "id,claim\n1,One.\n1,Two.\n",
            "a.csv: claim id '1' appears twice. give every archive claim its own id.",
        ),
        ("a.csv", "id,claim\n1,One.,extra\n", "a.csv:2: expected 2 columns as in the header, got 3"),
        ("a.xlsx", "x", "a.xlsx: unknown archive file type '.xlsx'"),
        ("a.json", '{"@type": "ClaimReview", ', "a.json: not valid JSON"),
        ("a.json", '{"@type": "WebPage"}', "a.json: no ClaimReview with a claimReviewed text found"),
        ("a.html", "<html><p>no json-ld</p></html>", "a.html: no ClaimReview with a claimReviewed text found"),
        ("a.jsonl", '{"id": "1", "claim": "One."}\n{oops\n', "a.jsonl:2: not valid JSON"),
    ],
)
def test_bad_archive_is_one_line_exit_2(cli, tmp_path, name, content, expected):
    archive = tmp_path / name
    archive.write_text(content, encoding="utf-8")
    sentences = write_jsonl(tmp_path / "s.jsonl", [{"sentence_id": "s1", "text": "One."}])
    out = tmp_path / "out" / "m.jsonl"
    code, _, err = cli("match", sentences, "--archive", archive, "-o", out)
    assert code == 2
    assert one_line(err).startswith(f"error: {tmp_path}/{expected}")
    assert not out.exists()


def test_bad_sentences_and_k_are_one_line_exit_2(cli, tmp_path, archive_csv):
    bad = tmp_path / "s.jsonl"
    bad.write_text('{"sentence_id": "s1"}\n', encoding="utf-8")
    code, _, err = cli("match", bad, "--archive", archive_csv, "-o", tmp_path / "m.jsonl")
    assert code == 2 and "s.jsonl:1: not a sentence record: 'text' is missing." in one_line(err)
    good = write_jsonl(tmp_path / "g.jsonl", [{"sentence_id": "s1", "text": "One."}])
    code, _, err = cli("match", good, "--archive", archive_csv, "-o", tmp_path / "m.jsonl", "-k", "0")
    assert code == 2 and one_line(err) == "error: -k must be at least 1, got 0. ask for e.g. -k 5."


def test_output_equal_to_an_input_is_refused(cli, tmp_path, archive_csv):
    sentences = write_jsonl(tmp_path / "s.jsonl", [{"sentence_id": "s1", "text": "Bleach cures flu."}])
    before = archive_csv.read_bytes(), sentences.read_bytes()
    for output in (sentences, archive_csv):
        code, _, err = cli("match", sentences, "--archive", archive_csv, "-o", output)
        assert code == 2 and "the output is the input" in one_line(err)
    assert (archive_csv.read_bytes(), sentences.read_bytes()) == before


# --- text and index ---------------------------------------------------------------------------


def test_clean_text_drops_links_and_the_tweet_signature_and_splits_tags():
    tweet = "Look #AustralianFires @RepMattGaetz pic.twitter.com/ab1 — Rep. M (@RepM) October 17, 2018"
    assert clean_text(tweet) == "Look Australian Fires Rep Matt Gaetz Rep. M"
    assert clean_text("See https://t.co/x now.") == "See now."


def test_index_finds_the_reworded_claim(archive_csv):
    index = ClaimIndex().build(load_archive(archive_csv))
    found = index.search(
        ["Biden has the biggest mansion in all of Delaware", "they faked the moon landings", "bleach will cure flu"],
        k=2,
    )
    assert [f[0][0] for f in found] == ["c4", "c2", "c3"]
    assert all(len(f) == 2 and f[0][1] >= f[1][1] for f in found)


def test_pair_features_are_the_documented_columns(archive_csv):
    from annotate.matching import FEATURES

    index = ClaimIndex(n_candidates=5).build(load_archive(archive_csv))
    q, c, X = pair_features(index, ["Unemployment fell to 3% in 2019, not 5%", "Nothing about this."])
    assert X.shape == (len(q), len(FEATURES)) and set(q.tolist()) == {0, 1}
    row = dict(zip(FEATURES, X[(q == 0) & (c == 0)][0], strict=True))  # the text and claim c1
    assert row["numbers_shared"] == 1 and row["years_shared"] == 1 and row["years_mismatch"] == 0
    assert row["negation_mismatch"] == 1  # "not" in the text only
    assert row["word_rank"] == pytest.approx(np.log(2))  # c1 is the best candidate
    other = dict(zip(FEATURES, X[(q == 0) & (c == 1)][0], strict=True))  # c2 names 1969
    assert other["years_mismatch"] == 1 and other["numbers_shared"] == 0


def test_saved_index_gives_the_same_features(tmp_path, archive_csv):
    index = ClaimIndex().build(load_archive(archive_csv))
    save_index(index, tmp_path / "idx")
    again = load_index(tmp_path / "idx")
    texts = ["Biden mansion Delaware", "shark on a Houston highway"]
    for a, b in zip(pair_features(index, texts), pair_features(again, texts), strict=True):
        np.testing.assert_allclose(a, b)
    assert again.claims_ == index.claims_ and again.archive_hash_ == index.archive_hash_


def test_changed_index_file_is_refused(cli, tmp_path, archive_csv):
    index = ClaimIndex().build(load_archive(archive_csv))
    save_index(index, tmp_path / "idx")
    data = bytearray((tmp_path / "idx" / "index.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "idx" / "index.skops").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="the claim index file changed after it was saved"):
        load_index(tmp_path / "idx")
    sentences = write_jsonl(tmp_path / "s.jsonl", [{"sentence_id": "s1", "text": "Bleach cures flu."}])
    code, _, err = cli("match", sentences, "--archive", archive_csv, "--index", tmp_path / "idx", "-o", tmp_path / "m")
    assert code == 1
    assert "index.skops: the claim index file changed after it was saved" in one_line(err)


def test_changed_archive_is_refused_and_a_grown_one_is_added(cli, tmp_path, archive_csv):
    sentences = write_jsonl(
        tmp_path / "s.jsonl", [{"sentence_id": "s1", "text": "Vaccines contain microchips to track people."}]
    )
    out, idx = tmp_path / "m.jsonl", tmp_path / "idx"
    args = ("match", sentences, "--archive", archive_csv, "--index", idx, "-o", out, "-k", "1")
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert "index built and saved" in stdout
    code, stdout, _ = cli(*args)
    assert "index loaded;" in stdout

    original = archive_csv.read_text("utf-8")
    archive_csv.write_text(original + "c6,Vaccines contain microchips that track people.,Microchips?,False,,,\n")
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert "index loaded, added 1 and saved" in stdout
    assert json.loads(out.read_text("utf-8"))["matches"][0]["claim_id"] == "c6"
    assert json.loads((idx / "card.json").read_text("utf-8"))["n_claims"] == 6

    archive_csv.write_text(original.replace("Drinking bleach", "Drinking ammonia"), encoding="utf-8")
    code, _, err = cli(*args)
    assert code == 2
    assert one_line(err) == (
        f"error: {archive_csv}: the archive changed since the index was built (claim 3 ('c3') is changed). "
        "rebuild the index (--rebuild), or give the archive it was built from."
    )
    code, stdout, err = cli(*args, "--rebuild")
    assert code == 0 and "index rebuilt and saved" in stdout, err


def test_update_refits_once_the_archive_has_grown_enough():
    small = Archive(CLAIMS[:2])
    index = ClaimIndex(rebuild_growth=0.5).build(small)
    assert index.update(small) == "unchanged"
    assert index.update(Archive(CLAIMS[:3])) == "added 1"
    assert index.update(Archive(CLAIMS)) == "rebuilt" and index.n_fitted_ == 5
    with pytest.raises(InputError, match="the archive changed since the index was built"):
        index.update(Archive(CLAIMS[1:]))


def test_match_without_a_reranker_ranks_by_retrieval(cli, tmp_path, archive_csv):
    sentences = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"sentence_id": "s1", "doc_id": "d", "text": "A shark was swimming on a flooded Houston highway!"},
            {"sentence_id": "s2", "doc_id": "d", "text": "Joe Biden owns the biggest mansion in Delaware."},
        ],
    )
    out = tmp_path / "m.jsonl"
    code, stdout, err = cli("match", sentences, "--archive", archive_csv, "-o", out, "-k", "3")
    assert code == 0, err
    assert "no re-ranker: ranked by retrieval score, probability empty" in stdout
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["sentence_id"] for r in rows] == ["s1", "s2"]
    assert rows[0]["text"].startswith("A shark")
    first = rows[0]["matches"][0]
    assert first == {
        "claim_id": "c5",
        "claim": "A shark swam on a flooded highway in Houston.",
        "probability": None,
        "verdict": "Fake",
        "url": "",
        "rank": 1,
        "score": first["score"],
    }
    assert [m["rank"] for m in rows[1]["matches"]] == [1, 2, 3]
    assert rows[1]["matches"][0]["claim_id"] == "c4"
    scores = [m["score"] for m in rows[1]["matches"]]
    assert scores == sorted(scores, reverse=True)


# --- trec_eval metrics ------------------------------------------------------------------------


def test_average_precision_at_k_is_trec_evals():
    # relevant at ranks 2 and 4, one relevant never retrieved: (1/2 + 2/4) / 3
    assert average_precision_at_k(["a", "r1", "b", "r2"], {"r1", "r2", "r3"}, 5) == pytest.approx(1 / 3)
    # the cutoff drops the hit at rank 4: (1/2) / 3
    assert average_precision_at_k(["a", "r1", "b", "r2"], {"r1", "r2", "r3"}, 3) == pytest.approx(1 / 6)
    assert average_precision_at_k([], {"r"}, 5) == 0.0


def test_retrieval_scores_by_hand():
    qrels = {"q1": {"a"}, "q2": {"b", "c"}, "q3": {"d"}}
    rankings = {"q1": ["a", "x"], "q2": ["x", "c", "y", "b"]}  # q3 has no ranking
    s = retrieval_scores(rankings, qrels)
    assert s["map@1"] == pytest.approx((1 + 0 + 0) / 3)
    assert s["map@3"] == pytest.approx((1 + (1 / 2) / 2 + 0) / 3)
    assert s["map@5"] == pytest.approx((1 + (1 / 2 + 2 / 4) / 2 + 0) / 3)
    assert s["mrr"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert s["recall@1"] == pytest.approx((1 + 0 + 0) / 3)
    assert s["recall@5"] == pytest.approx((1 + 1 + 0) / 3)


# --- the re-ranker and the benchmark on a slice of CheckThat! 2020 ----------------------------


def _tsv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter="\t", lineterminator="\n").writerows(rows)


def clef_slice(root: Path, n_train: int = 300, n_dev: int = 100, every: int = 5) -> Path:
    """CheckThat! 2020 T2 in its layout, smaller: the first tweets of each split, the claims they
    cite, and every ``every``-th other claim."""
    keep_splits = {}
    cited: set[str] = set()
    for split, n in (("train", n_train), ("dev", n_dev)):
        queries, qrels = load_queries(CLEF / split)
        ids = [q for q in queries if q in qrels][:n]
        keep_splits[split] = (ids, queries, qrels)
        cited |= {c for q in ids for c in qrels[q]}
    with (CLEF / "verified_claims.docs.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    claims = [r for i, r in enumerate(rows[1:]) if r[0] in cited or i % every == 0]
    root.mkdir(parents=True, exist_ok=True)
    _tsv(root / "verified_claims.docs.tsv", [rows[0], *claims])
    for split, (ids, queries, qrels) in keep_splits.items():
        (root / split).mkdir()
        _tsv(root / split / "tweets.queries.tsv", [["", "tweet_content"]] + [[q, queries[q]] for q in ids])
        _tsv(root / split / "tweet-vclaim-pairs.qrels", [[q, "0", c, "1"] for q in ids for c in sorted(qrels[q])])
    return root


def tfidf_map5(data: Path, split: str, **vectorizer) -> float:
    """The task notes' baseline, written here independently: TF-IDF cosine over vclaim + title."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    with (data / "verified_claims.docs.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    queries, qrels = load_queries(data / split)
    ids = list(qrels)
    vec = TfidfVectorizer(**vectorizer)
    X = vec.fit_transform([f"{r[1]} {r[2]}" for r in rows])
    S = (vec.transform([queries[q] for q in ids]) @ X.T).toarray()
    aps = []
    for i, q in enumerate(ids):
        top = [rows[j][0] for j in np.argsort(-S[i], kind="stable")[:5]]
        hits, total = 0, 0.0
        for rank, c in enumerate(top, start=1):
            if c in qrels[q]:
                hits += 1
                total += hits / rank
        aps.append(total / len(qrels[q]))
    return float(np.mean(aps))


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory) -> Path:
    require_shared_data(CLEF)
    return clef_slice(tmp_path_factory.mktemp("clef2020") / "data")


@needs_clef
@pytest.mark.slow
def test_bench_on_a_slice_beats_the_tfidf_baselines(cli, slice_dir):
    code, out, err = cli("bench", "clef2020-t2", "--train", slice_dir, "--json")
    assert code == 0, err
    r = json.loads(out)
    word = tfidf_map5(slice_dir, "dev", ngram_range=(1, 2))
    char = tfidf_map5(slice_dir, "dev", analyzer="char_wb", ngram_range=(3, 5))
    assert r["baseline_word_tfidf"] == pytest.approx(word)
    assert r["baseline_char_tfidf"] == pytest.approx(char)
    assert r["score"] == r["map@5"] > max(word, char)
    assert r["map@1"] <= r["map@3"] <= r["map@5"] <= r["map@10"] <= 1
    assert 0 < r["recall@5"] <= r["recall@10"] <= 1
    assert r["n_train"] == 300 and r["n_test"] == 100 and "dev split" in r["evaluation"]
    # calibrated: the best match's mean probability is near the share of best matches that are right
    assert abs(r["top1_mean_probability"] - r["top1_precision"]) < 0.15

    # --test: a folder laid out as dev/ (here dev itself): the same figures
    code, out, err = cli("bench", "clef2020-t2", "--train", slice_dir, "--test", slice_dir / "dev", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["score"] == r["score"] and again["evaluation"].startswith("test folder")


@pytest.fixture(scope="module")
def trained(slice_dir, tmp_path_factory) -> Path:
    """A re-ranker trained by `annotate fit-reranker` on the slice's training tweets."""
    from typer.testing import CliRunner

    from annotate.cli import app

    out = tmp_path_factory.mktemp("reranker") / "rr"
    args = ["fit-reranker", str(slice_dir / "train"), "--archive", str(slice_dir / "verified_claims.docs.tsv")]
    result = CliRunner().invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("trained a re-ranker on 300 sentences")
    return out


@needs_clef
@pytest.mark.slow
def test_match_with_the_reranker_gives_calibrated_probabilities(cli, tmp_path, slice_dir, trained):
    queries, qrels = load_queries(slice_dir / "dev")
    ids = list(qrels)[:40]
    sentences = write_jsonl(
        tmp_path / "s.jsonl", [{"sentence_id": q, "doc_id": "tweets", "text": queries[q]} for q in ids]
    )
    out = tmp_path / "m.jsonl"
    archive = slice_dir / "verified_claims.docs.tsv"
    code, stdout, err = cli("match", sentences, "--archive", archive, "-o", out, "--reranker", trained)
    assert code == 0, err
    assert f"re-ranker {trained}" in stdout
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["sentence_id"] for r in rows] == ids
    hits = []
    for r in rows:
        probs = [m["probability"] for m in r["matches"]]
        assert len(probs) == 5 and probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
        hits.append(r["matches"][0]["claim_id"] in qrels[r["sentence_id"]])
    # most dev tweets find their claim first, and those get a higher probability than the misses
    assert np.mean(hits) > 0.6
    top = np.array([r["matches"][0]["probability"] for r in rows])
    assert top[np.array(hits)].mean() > top[~np.array(hits)].mean()


@needs_clef
@pytest.mark.slow
def test_changed_or_foreign_reranker_is_refused(tmp_path, trained):
    import shutil

    copy = tmp_path / "rr"
    shutil.copytree(trained, copy)
    card = json.loads((copy / "card.json").read_text("utf-8"))
    card["features_version"] = 0
    (copy / "card.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="trained on pair features version 0"):
        load_reranker(copy)
    (copy / "reranker.skops").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="the re-ranker file changed after it was saved"):
        load_reranker(copy)


@needs_clef
@pytest.mark.slow
def test_model_option_matches_only_checkworthy_sentences(cli, tmp_path, schema_path, tmp_path_factory, slice_dir):
    from models_data import demo_model

    model = demo_model(tmp_path_factory, schema_path)
    sentences = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"sentence_id": "s1", "doc_id": "d", "index": 0, "text": "Exports rose 12% in 2019, the ministry said."},
            {"sentence_id": "s2", "doc_id": "d", "index": 1, "text": "Good morning to everyone here today."},
        ],
    )
    out = tmp_path / "m.jsonl"
    archive = slice_dir / "verified_claims.docs.tsv"
    code, stdout, err = cli("match", sentences, "--archive", archive, "-o", out, "--model", model)
    assert code == 0, err
    assert "for 1 of 2 sentences (1 not check-worthy left out)" in stdout
    assert [json.loads(line)["sentence_id"] for line in out.read_text("utf-8").splitlines()] == ["s1"]


def test_too_few_labelled_pairs_is_one_line(cli, tmp_path, archive_csv):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("text,claim_id\nBiden has a huge mansion,c4\nbleach cures flu,c3\n", encoding="utf-8")
    code, _, err = cli("fit-reranker", pairs, "--archive", archive_csv, "-o", tmp_path / "rr")
    assert code == 2
    assert "too few labelled matches among the candidates to train a re-ranker (2 pairs, 2 sentences" in one_line(err)
    pairs.write_text("text,claim_id\nBiden has a huge mansion,c99\n", encoding="utf-8")
    code, _, err = cli("fit-reranker", pairs, "--archive", archive_csv, "-o", tmp_path / "rr")
    assert code == 2 and "1 labelled claim id(s) are not in the archive, e.g. 'c99'" in one_line(err)
    assert not (tmp_path / "rr").exists()


TOPICS = [
    "the mayor of Springfield banned dogs from parks",
    "a volcano erupted under the Atlantic ocean in 2021",
    "chocolate milk comes from brown cows",
    "the Eiffel Tower will be sold for scrap metal",
    "Canada declared pizza a vegetable",
    "scientists found water on the planet Mars",
    "a man lived for 200 years in Peru",
    "the senate voted to abolish daylight saving time",
    "Apple will stop making phones in 2030",
    "a cat was elected mayor of an Alaska town",
    "eating carrots lets you see in the dark",
    "the Great Wall of China is visible from space",
]


def hand_made(**index_params) -> tuple[ClaimIndex, list[str], list[set[str]]]:
    """Twelve claims and twelve sentences, each a rewording of one of them."""
    archive = Archive([Claim(f"c{i}", t.capitalize() + ".") for i, t in enumerate(TOPICS)])
    index = ClaimIndex(n_candidates=4, **index_params).build(archive)
    return index, [f"BREAKING: I just read that {t}!!" for t in TOPICS], [{f"c{i}"} for i in range(len(TOPICS))]


def test_reranker_round_trip_on_hand_made_pairs(tmp_path):
    """Enough to train and save."""
    index, texts, relevant = hand_made()
    reranker = fit_reranker(index, texts, relevant)
    save_reranker(reranker, tmp_path / "rr")
    again = load_reranker(tmp_path / "rr")
    a = match_records(index, texts[:3], k=2, reranker=reranker)
    b = match_records(index, texts[:3], k=2, reranker=again)
    assert a == b
    assert [found[0]["claim_id"] for found in a] == ["c0", "c1", "c2"]
    assert again.card["n_positive"] == 12 and again.card["n_queries"] == 12


def test_bench_clef2020_bad_folders_are_one_line(cli, tmp_path):
    code, _, err = cli("bench", "clef2020-t2", "--train", tmp_path / "nope", "--json")
    assert code == 2 and one_line(err) == f"error: {tmp_path / 'nope'}: no such folder. give the folder holding " + (
        "verified_claims.docs.tsv, train/ and dev/."
    )
    code, _, err = cli("bench", "clef2020-t2", "--train", tmp_path, "--folds", "5")
    assert code == 2 and "clef2020-t2 has no --folds" in one_line(err)


# --- the semantic view (static word vectors) ------------------------------------------------


class _Encoding:
    def __init__(self, ids: list[int]) -> None:
        self.ids = ids


class _WordTokenizer:
    """A stand-in for WordLlama's tokenizer: one id per lowercased word, from a fixed hash."""

    def encode_batch_fast(self, texts: list[str], add_special_tokens: bool = False) -> list[_Encoding]:
        import zlib

        return [_Encoding([zlib.crc32(w.encode()) % 97 for w in t.lower().split()]) for t in texts]


@pytest.fixture
def fake_vectors(monkeypatch):
    """Stand-in word vectors, so that the view is tested without the wordllama wheel."""
    import annotate.matching as matching

    vectors = np.random.default_rng(0).normal(size=(97, 8)).astype(np.float32)
    monkeypatch.setattr(matching, "_word_vectors", lambda: (_WordTokenizer(), vectors))
    return vectors


def test_embedding_view_scores_the_candidates_and_is_saved(tmp_path, archive_csv, fake_vectors):
    from annotate.matching import EMBEDDING_FEATURES, FEATURES

    index = ClaimIndex(embeddings="wordllama").build(load_archive(archive_csv))
    assert index.embeddings_ == "wordllama"
    texts = ["Biden mansion Delaware", "shark on a Houston highway", ""]
    q, c, X = pair_features(index, texts)
    emb = X[:, EMBEDDING_FEATURES]
    assert np.isfinite(emb).all() and (np.abs(emb[:, 0]) <= 1 + 1e-6).all()
    # the same text as a claim's document: cosine 1, the best candidate of its view
    doc = clean_text(CLAIMS[4].document)
    q, c, X = pair_features(index, [doc])
    row = dict(zip(FEATURES, X[c == 4][0], strict=True))
    assert row["emb_cos"] == pytest.approx(1.0) and row["emb_gap"] == 0 and row["emb_rank"] == pytest.approx(np.log(2))
    save_index(index, tmp_path / "idx")
    again = load_index(tmp_path / "idx")
    assert again.embeddings_ == "wordllama"
    for a, b in zip(pair_features(index, texts), pair_features(again, texts), strict=True):
        np.testing.assert_allclose(a, b)
    # grown archive: the new claims get vectors too
    grown = Archive([*load_archive(archive_csv).claims, Claim("c6", "Sharks swim in Houston streets.")])
    assert again.update(grown) == "added 1" and again._vectors.shape == (6, 8)


def test_without_embeddings_the_columns_are_missing(archive_csv):
    from annotate.matching import EMBEDDING_FEATURES

    index = ClaimIndex(embeddings=None).build(load_archive(archive_csv))
    _, _, X = pair_features(index, ["Biden mansion Delaware"])
    assert index.embeddings_ is None and np.isnan(X[:, EMBEDDING_FEATURES]).all()
    with pytest.raises(InputError, match="embeddings must be 'auto', 'wordllama' or None, got 'glove'"):
        ClaimIndex(embeddings="glove").build(load_archive(archive_csv))


def test_reranker_with_embeddings_refuses_an_index_without(fake_vectors):
    index, texts, relevant = hand_made(embeddings="wordllama")
    reranker = fit_reranker(index, texts, relevant)
    assert reranker.card["embeddings"] == "wordllama"
    assert [found[0]["claim_id"] for found in match_records(index, texts[:3], k=2, reranker=reranker)] == [
        "c0",
        "c1",
        "c2",
    ]
    lexical, _, _ = hand_made(embeddings=None)
    with pytest.raises(ModelError, match="trained with wordllama embeddings and the claim index has none"):
        match_records(lexical, texts[:3], k=2, reranker=reranker)


def test_embeddings_without_wordllama_is_one_line(monkeypatch, archive_csv):
    import sys

    import annotate.matching as matching

    matching._word_vectors.cache_clear()
    monkeypatch.setitem(sys.modules, "wordllama", None)  # importing it raises ImportError
    try:
        with pytest.raises(InputError, match="needs the wordllama package, which is not installed") as err:
            ClaimIndex(embeddings="wordllama").build(load_archive(archive_csv))
        assert "pip install 'annotate[embeddings]'" in err.value.hint
    finally:
        matching._word_vectors.cache_clear()


def test_wordllama_vectors_come_from_its_wheel():
    """The real vectors (when the `embeddings` extra is installed): read offline, and meaningful."""
    import importlib.util

    if importlib.util.find_spec("wordllama") is None:
        # the test extra installs it: in CI a missing package fails, on a developer's venv it skips
        if os.environ.get("ANNOTATE_REQUIRE_ALL_LAYERS"):
            pytest.fail("wordllama is not installed: CI installs the 'test' extra, which includes it")
        pytest.skip("wordllama is not installed (pip install 'annotate[embeddings]')")
    from annotate.matching import _embed

    a, b, c = _embed(["Joe Biden owns the largest mansion", "Biden has the biggest house", "the moon landing"])
    assert a.shape == (256,) and np.linalg.norm(a) == pytest.approx(1, abs=1e-5)
    assert a @ b > a @ c + 0.3
