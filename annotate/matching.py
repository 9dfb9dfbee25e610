"""Claim matching: has this sentence's claim been checked already?

An **archive** of checked claims is read from one of three forms (:func:`load_archive`):

- a table, ``.csv`` / ``.tsv`` / ``.jsonl``: ``id`` and ``claim``, optionally ``title``, ``verdict``,
  ``url``, ``date``, ``publisher`` (CheckThat!'s ``vclaim_id`` / ``vclaim`` spelling is read too);
- schema.org **ClaimReview** JSON-LD, as fact-checkers publish it: a ``.json`` / ``.jsonld`` file,
  an ``.html`` page with ``<script type="application/ld+json">`` blocks, or a folder of them;
- a **gold file** of this project (``annotate resolve`` output) with the sentences it was labelled
  on: each labelled sentence becomes a claim whose verdict is its gold labels.

Matching is retrieval plus a learned re-ranker:

1. :class:`ClaimIndex` keeps three lexical views of every claim (claim + title): word 1-2 gram
   TF-IDF, char_wb 3-5 gram TF-IDF and BM25 (Robertson and Zaragoza 2009, "The Probabilistic
   Relevance Framework: BM25 and Beyond"; scikit-learn counts, numpy weights). The union of each
   view's top ``n_candidates`` are a sentence's candidates.
2. :func:`pair_features` describes each (sentence, candidate) pair: the similarities and their
   rank and gap to the best candidate, word coverage, number, capitalised-token (entity) and year
   agreement, negation mismatch and length ratio (:data:`FEATURES`).
3. The re-ranker (:func:`make_reranker`: gradient boosting with sigmoid calibration) turns them into
   the probability that the candidate is the same claim; it is trained on labelled pairs
   (:func:`fit_reranker`): CheckThat! 2020 Task 2 queries and qrels (:func:`load_queries`), or a
   desk's own.

Index and re-ranker are saved as skops files beside a card with their sha256 and the archive's
content hash (:func:`save_index`, :func:`load_index`, :func:`save_reranker`, :func:`load_reranker`);
a changed file or a changed archive is refused with one line, and an archive that only grew is
indexed incrementally (:meth:`ClaimIndex.update`).

    >>> archive = Archive([Claim("c1", "Unemployment fell to 3% in 2019."),
    ...                    Claim("c2", "The moon landing was staged.")])
    >>> index = ClaimIndex().build(archive)
    >>> [c for c, _ in index.search(["Was the moon landing staged?"], k=1)[0]]
    ['c2']
"""

from __future__ import annotations

import csv
import functools
import hashlib
import html.parser
import io
import json
import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from annotate.errors import InputError, ModelError
from annotate.io import atomic_write, dumps, ensure_not_input, read_jsonl, read_text, sha256_hex

__all__ = [
    "Claim",
    "Archive",
    "load_archive",
    "clean_text",
    "ClaimIndex",
    "FEATURES",
    "pair_features",
    "make_reranker",
    "Reranker",
    "fit_reranker",
    "save_index",
    "load_index",
    "save_reranker",
    "load_reranker",
    "MatchSummary",
    "FitSummary",
    "match",
    "match_records",
    "fit_reranker_file",
    "load_queries",
]

# --- the archive --------------------------------------------------------------------------

_OPTIONAL = ("title", "verdict", "url", "date", "publisher")


@dataclass(frozen=True)
class Claim:
    """One checked claim of an archive; ``title`` is the fact-check's headline, if known."""

    claim_id: str
    claim: str
    title: str = ""
    verdict: str = ""
    url: str = ""
    date: str = ""
    publisher: str = ""

    @property
    def document(self) -> str:
        """What is indexed: the claim, then the title."""
        return f"{self.claim} {self.title}".strip()

    def digest(self) -> str:
        return sha256_hex(json.dumps(asdict(self), sort_keys=True, ensure_ascii=False), 32)


def _chain(claims: Iterable[Claim], start: str = "") -> str:
    """Hash of a sequence of claims, extendable: ``_chain(a + b) == _chain(b, _chain(a))``."""
    h = start
    for c in claims:
        h = hashlib.sha256((h + c.digest()).encode()).hexdigest()[:32]
    return h


@dataclass
class Archive:
    """The checked claims in archive order, and where they came from."""

    claims: list[Claim]
    source: str = ""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for c in self.claims:
            if c.claim_id in seen:
                raise InputError(
                    f"claim id '{c.claim_id}' appears twice",
                    path=self.source or None,
                    hint="give every archive claim its own id",
                )
            seen.add(c.claim_id)

    def __len__(self) -> int:
        return len(self.claims)

    @property
    def hash(self) -> str:
        """Content hash of the claims in order (ids, texts and metadata)."""
        return _chain(self.claims)


def load_archive(path: str | Path, *, sentences: str | Path | None = None, on_empty_claim: str = "error") -> Archive:
    """Read an archive of checked claims from a table, ClaimReview JSON-LD, or a gold file.

    ``path``: a ``.csv`` / ``.tsv`` / ``.jsonl`` table (columns ``id``, ``claim`` and optionally
    ``title``, ``verdict``, ``url``, ``date``, ``publisher``; also ``claim_id`` / ``vclaim_id`` and
    ``vclaim`` / ``claimReviewed`` / ``text``; a first column without a name is the id, as in
    CheckThat!'s ``verified_claims.docs.tsv``), a ``.json`` / ``.jsonld`` / ``.html`` file of
    ClaimReview JSON-LD, a folder of such files, or a gold file of ``annotate resolve``
    (``sentence_id``, ``field``, ``label`` rows), which needs ``sentences``: the ``annotate ingest``
    output that holds its sentences' text.

    ``on_empty_claim``: ``"error"`` (default) refuses a row without claim text, naming its line;
    ``"skip"`` leaves such rows out.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("id,claim,verdict\\nc1,Taxes rose 5%.,False\\n")
    >>> load_archive(p).claims[0]
    Claim(claim_id='c1', claim='Taxes rose 5%.', title='', verdict='False', url='', date='', publisher='')
    """
    if on_empty_claim not in ("error", "skip"):
        raise InputError(f"on_empty_claim must be 'error' or 'skip', got '{on_empty_claim}'")
    path = Path(path)
    if not path.exists():
        raise InputError("no such archive file or folder", path=path, hint="check the path")
    if path.is_dir():
        claims = _claimreview_folder(path)
    else:
        suffix = path.suffix.lower()
        if suffix in (".csv", ".tsv"):
            claims = _table_claims(_csv_rows(path), path, on_empty_claim)
        elif suffix in (".jsonl", ".ndjson"):
            rows = list(read_jsonl(path))
            if rows and _is_gold(rows[0][1]):
                claims = _gold_claims(rows, path, sentences)
            else:
                claims = _table_claims(iter(rows), path, on_empty_claim)
        elif suffix in (".json", ".jsonld"):
            claims = _claimreviews(_json_ld(read_text(path), path), path)
        elif suffix in (".html", ".htm"):
            claims = _claimreviews(_html_json_ld(read_text(path), path), path)
        else:
            raise InputError(
                f"unknown archive file type '{suffix}'",
                path=path,
                hint="give a .csv, .tsv or .jsonl table, ClaimReview .json/.jsonld/.html, or a folder of them",
            )
        if not claims:
            raise InputError("the archive holds no claims", path=path, hint="give a file with at least one claim")
    return Archive(claims, source=str(path))


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("file is empty", path=path, hint="give a table with a header row") from None
    except csv.Error as err:
        raise InputError(f"cannot read the header ({err})", path=path) from None
    # CheckThat!'s files start with an unnamed index column: that column is the id
    names = [h.strip() or ("id" if i == 0 else f"column{i}") for i, h in enumerate(header)]
    try:
        for row in reader:
            if not any(v.strip() for v in row):
                continue
            if len(row) != len(names):
                raise InputError(
                    f"expected {len(names)} columns as in the header, got {len(row)}",
                    path=path,
                    line=reader.line_num,
                    hint="quote fields that hold the separator, or fix that row",
                )
            yield reader.line_num, dict(zip(names, row, strict=True))
    except csv.Error as err:
        raise InputError(f"cannot read as a table ({err})", path=path, line=reader.line_num) from None


_ID_COLUMNS = ("id", "claim_id", "vclaim_id")
_CLAIM_COLUMNS = ("claim", "vclaim", "claimReviewed", "text")


def _pick(row: dict[str, Any], names: Sequence[str]) -> tuple[str | None, Any]:
    for n in names:
        if n in row:
            return n, row[n]
    return None, None


def _str(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def _table_claims(rows: Iterator[tuple[int, dict[str, Any]]], path: Path, on_empty: str) -> list[Claim]:
    claims = []
    for lineno, row in rows:
        id_col, cid = _pick(row, _ID_COLUMNS)
        claim_col, text = _pick(row, _CLAIM_COLUMNS)
        if id_col is None or claim_col is None:
            found = ", ".join(map(str, row)) or "none"
            raise InputError(
                f"a claim needs an 'id' and a 'claim' column (found: {found})",
                path=path,
                line=lineno,
                hint="name the columns id, claim[, title, verdict, url, date, publisher]",
            )
        cid, text = _str(cid), _str(text)
        if not cid:
            raise InputError("claim without an id", path=path, line=lineno, hint="give every claim an id")
        if not text:
            if on_empty == "skip":
                continue
            raise InputError(f"claim '{cid}' has no text", path=path, line=lineno, hint="fill it in or remove the row")
        claims.append(Claim(cid, text, **{k: _str(row.get(k)) for k in _OPTIONAL}))
    return claims


# --- ClaimReview JSON-LD ------------------------------------------------------------------


def _json_ld(text: str, path: Path, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"not valid JSON ({err.msg} at line {err.lineno + (line or 1) - 1}, column {err.colno})",
            path=path,
            hint="give ClaimReview JSON-LD as schema.org describes it",
        ) from None


class _LdScripts(html.parser.HTMLParser):
    """The text of every ``<script type="application/ld+json">`` block, with its line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: list[tuple[int, str]] = []
        self._open: tuple[int, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = (dict(attrs).get("type") or "").split(";")[0].strip().lower()
        if tag == "script" and kind == "application/ld+json":
            self._open = (self.getpos()[0], [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open is not None:
            self.blocks.append((self._open[0], "".join(self._open[1])))
            self._open = None


def _html_json_ld(text: str, path: Path) -> list[Any]:
    parser = _LdScripts()
    parser.feed(text)
    parser.close()
    return [_json_ld(block, path, line) for line, block in parser.blocks if block.strip()]


def _is_type(node: dict[str, Any], name: str) -> bool:
    types = node.get("@type", [])
    types = types if isinstance(types, list) else [types]
    return any(str(t).rsplit("/", 1)[-1].rsplit(":", 1)[-1] == name for t in types)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every ClaimReview object in a JSON-LD document (top level, lists, ``@graph``, data feeds)."""
    if isinstance(node, list):
        for x in node:
            yield from _walk(x)
    elif isinstance(node, dict):
        if _is_type(node, "ClaimReview"):
            yield node
            return
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _walk(value)


def _name(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(n for n in (_name(v) for v in value) if n)
    if isinstance(value, dict):
        return _str(value.get("name") or value.get("url") or "")
    return _str(value)


def _verdict(rating: Any) -> str:
    if isinstance(rating, list):
        rating = rating[0] if rating else None
    if not isinstance(rating, dict):
        return _str(rating)
    if rating.get("alternateName"):
        return _str(rating["alternateName"])
    value = _str(rating.get("ratingValue"))
    if value and rating.get("bestRating"):
        return f"{value}/{_str(rating['bestRating'])}"
    return value or _str(rating.get("name"))


def _review_claim(node: dict[str, Any], fallback_id: str) -> Claim | None:
    text = _str(node.get("claimReviewed"))
    item = node.get("itemReviewed")
    if not text and isinstance(item, dict):
        text = _str(item.get("text") or item.get("name"))
    if not text:
        return None
    cid = _str(node.get("@id") or node.get("url") or fallback_id)
    return Claim(
        claim_id=cid,
        claim=text,
        title=_str(node.get("name") or node.get("headline")),
        verdict=_verdict(node.get("reviewRating")),
        url=_str(node.get("url")),
        date=_str(node.get("datePublished")),
        publisher=_name(node.get("author") or node.get("publisher")),
    )


def _claimreviews(doc: Any, path: Path) -> list[Claim]:
    claims: list[Claim] = []
    ids: dict[str, int] = {}
    for node in _walk(doc):
        c = _review_claim(node, f"{path.name}#{len(claims) + 1}")
        if c is None:
            continue
        # one page may review several claims under one url: number the later ones
        n = ids.get(c.claim_id, 0)
        ids[c.claim_id] = n + 1
        if n:
            c = replace(c, claim_id=f"{c.claim_id}#{n + 1}")
        claims.append(c)
    if not claims:
        raise InputError(
            "no ClaimReview with a claimReviewed text found",
            path=path,
            hint='give schema.org ClaimReview JSON-LD ("@type": "ClaimReview")',
        )
    return claims


def _claimreview_folder(path: Path) -> list[Claim]:
    files = sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".jsonld", ".html", ".htm")
    )
    if not files:
        raise InputError(
            "no .json, .jsonld or .html files in this folder", path=path, hint="give a folder of ClaimReview pages"
        )
    claims: list[Claim] = []
    seen: set[str] = set()
    for f in files:
        doc = _json_ld(read_text(f), f) if f.suffix.lower() in (".json", ".jsonld") else _html_json_ld(read_text(f), f)
        found = [c for c in (_review_claim(n, f"{f.relative_to(path)}#{i + 1}") for i, n in enumerate(_walk(doc))) if c]
        for c in found:  # the same review published on two pages counts once
            if c.claim_id not in seen:
                seen.add(c.claim_id)
                claims.append(c)
    if not claims:
        raise InputError(
            "no ClaimReview with a claimReviewed text in any file of this folder",
            path=path,
            hint="give pages carrying schema.org ClaimReview JSON-LD",
        )
    return claims


# --- a gold file of this project ----------------------------------------------------------


def _is_gold(row: dict[str, Any]) -> bool:
    return {"sentence_id", "field", "label"} <= row.keys() and not ({"claim", "text"} & row.keys())


def _gold_claims(rows: list[tuple[int, dict[str, Any]]], path: Path, sentences: str | Path | None) -> list[Claim]:
    if sentences is None:
        raise InputError(
            "a gold file holds no sentence text",
            path=path,
            hint="also give the sentences it was labelled on (--archive-sentences sentences.jsonl)",
        )
    from annotate.labels import read_sentences

    texts = read_sentences(sentences)
    labels: dict[str, list[str]] = {}
    for lineno, row in rows:
        sid = _str(row.get("sentence_id"))
        if sid not in texts:
            raise InputError(
                f"sentence '{sid}' is not in {sentences}",
                path=path,
                line=lineno,
                hint="give the sentences file the gold labels were made on",
            )
        target = f" ({row['target']})" if row.get("target") else ""
        labels.setdefault(sid, []).append(f"{row['field']}{target}: {row['label']}")
    claims = []
    for sid, verdicts in labels.items():
        rec = texts[sid]
        claims.append(
            Claim(
                sid,
                _str(rec["text"]),
                title=_str(rec.get("title")),
                verdict="; ".join(verdicts),
                url=_str(rec.get("url")),
                date=_str(rec.get("date")),
                publisher=_str(rec.get("source")),
            )
        )
    return claims


# --- text -----------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S+", re.I)
# a tweet copied from a page ends with "— Name (@handle) Month D, YYYY"
_SIGNATURE = re.compile(r"\s*[—–-]\s*([^—–\n]{0,80}?)\s*\(@(\w+)\)\s*([A-Z][a-z]+\.? \d{1,2}, (\d{4}))\s*$")
_TAG = re.compile(r"([#@])(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=[A-Z])(?=[A-Z][a-z])")


def _split_tag(m: re.Match[str]) -> str:
    return " " + _CAMEL.sub(" ", m.group(2).replace("_", " ")) + " "


def clean_text(text: str) -> str:
    """A sentence or tweet as the index reads it: links dropped, hashtags and handles split.

    A tweet's closing "— Name (@handle) Month D, YYYY" keeps the name only; ``#AustralianFires``
    becomes ``Australian Fires``.

    >>> clean_text("CBC deletes Trump #DefundTheCBC https://t.co/x — Brad Trost (@BradTrostCPC) December 26, 2019")
    'CBC deletes Trump Defund The CBC Brad Trost'
    """
    text = _URL.sub(" ", text)
    text = _SIGNATURE.sub(lambda m: " " + m.group(1), text)
    text = _TAG.sub(_split_tag, text)
    return " ".join(text.split())


def _tweet_date(text: str) -> tuple[int, str] | None:
    """(year, lowercased month) of a tweet's closing date line, if it has one."""
    m = _SIGNATURE.search(_URL.sub(" ", text))
    return (int(m.group(4)), m.group(3).split()[0].rstrip(".").lower()) if m else None


_WORD = re.compile(r"\w+(?:['’]\w+)?")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_YEAR = re.compile(r"^(?:1[89]|20)\d\d$")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’&.-]*")
_NEGATIONS = frozenset(
    ("not", "no", "never", "nobody", "nothing", "none", "neither", "nor", "nowhere", "without", "cannot")
)  # and every word ending in n't
_MONTHS = frozenset(
    ("january", "february", "march", "april", "may", "june")
    + ("july", "august", "september", "october", "november", "december")
)


@functools.cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@dataclass(frozen=True)
class _Terms:
    """What the pair features read from one text."""

    words: frozenset[str]  # stems of the content words
    numbers: frozenset[str]  # numbers that are not years, commas dropped
    years: frozenset[str]
    entities: frozenset[str]  # capitalised tokens (not sentence-initial stop words), lowercased
    months: frozenset[str]
    negated: bool
    length: int


def _terms(text: str, stop: frozenset[str]) -> _Terms:
    tokens = [t.lower().replace("’", "'") for t in _WORD.findall(text)]
    nums = {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}
    years = {n for n in nums if _YEAR.match(n)}
    caps = {t.lower() for t in _CAPITALISED.findall(text)}
    return _Terms(
        words=frozenset(_stem()(t) for t in tokens if t not in stop and not t.isdigit()),
        numbers=frozenset(nums - years),
        years=frozenset(years),
        entities=frozenset(c.rstrip(".") for c in caps if c not in stop and c not in _MONTHS),
        months=frozenset(t for t in tokens if t in _MONTHS),
        negated=any(t in _NEGATIONS or t.endswith("n't") for t in tokens),
        length=len(tokens),
    )


def _overlap(a: frozenset[str], b: frozenset[str]) -> tuple[float, float, float]:
    """Shared count, Jaccard, and the share of ``b`` found in ``a``."""
    shared = len(a & b)
    union = len(a | b)
    return float(shared), shared / union if union else 0.0, shared / len(b) if b else 0.0


# --- the index ------------------------------------------------------------------------------

#: The pair features, in column order (see :func:`pair_features`).
FEATURES: tuple[str, ...] = (
    "word_cos", "char_cos", "bm25_share",
    "word_gap", "char_gap", "bm25_gap",
    "word_rank", "char_rank", "bm25_rank", "fused_rank",
    "word_cos_claim", "word_cos_title",
    "words_shared", "claim_words_covered", "title_words_covered", "query_words_covered",
    "numbers_shared", "numbers_jaccard", "numbers_mismatch", "claim_numbers_missing",
    "entities_shared", "entities_jaccard", "claim_entities_covered",
    "years_shared", "years_mismatch", "claim_year_after_query", "claim_names_query_year", "claim_names_query_month",
    "negation_mismatch", "log_length_ratio",
    "emb_cos", "emb_gap", "emb_rank",
)  # fmt: skip
#: Bumped whenever a feature changes meaning: a re-ranker from another version is refused.
FEATURES_VERSION = 2
#: The columns of the semantic view: NaN when the index has no embeddings.
EMBEDDING_FEATURES = slice(FEATURES.index("emb_cos"), FEATURES.index("emb_rank") + 1)
_TERM_FEATURES = slice(FEATURES.index("words_shared"), FEATURES.index("log_length_ratio") + 1)
_LEXICAL = ("word", "char", "bm25")


_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@functools.cache
def _stem() -> Any:
    """Porter's stemmer (nltk's, no data files), cached: words recur across claims and queries."""
    from nltk.stem.porter import PorterStemmer

    return functools.lru_cache(maxsize=500_000)(PorterStemmer().stem)


def _stems(text: str) -> list[str]:
    from sklearn.feature_extraction.text import strip_accents_unicode

    stem = _stem()
    return [stem(t) for t in _TOKEN.findall(strip_accents_unicode(text.lower()))]


def _stem_ngrams(text: str) -> list[str]:
    """Word view tokens: stems and stem bigrams (M. F. Porter 1980, "An algorithm for suffix stripping")."""
    s = _stems(text)
    return s + [f"{a} {b}" for a, b in zip(s, s[1:], strict=False)]


def _stem_terms(text: str) -> list[str]:
    """BM25 view tokens: stems of the words that are not English stop words."""
    stop = _stop_words()
    from sklearn.feature_extraction.text import strip_accents_unicode

    stem = _stem()
    return [stem(t) for t in _TOKEN.findall(strip_accents_unicode(text.lower())) if t not in stop]


def _word_vectorizer(vocabulary: dict[str, int] | None = None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=_stem_ngrams, sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary)


def char_vectorizer(vocabulary: dict[str, int] | None = None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 5),
        sublinear_tf=True,
        strip_accents="unicode",
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def _bm25_vectorizer(vocabulary: dict[str, int] | None = None):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer=_stem_terms, dtype=np.float32, vocabulary=vocabulary)


def _with_idf(vectorizer, idf: np.ndarray):
    vectorizer.idf_ = idf  # TfidfVectorizer's public setter: a fixed vocabulary and its idf
    return vectorizer


#: The static word vectors of the semantic view: WordLlama's (D. Miller 2024), shipped in its wheel.
EMBEDDINGS = "wordllama"


@functools.cache
def _word_vectors() -> tuple[Any, np.ndarray]:
    """WordLlama's tokenizer and token vectors (256 dimensions), read from the files its wheel ships.

    wordllama 0.4 looks for the tokenizer in a folder its wheel lacks and would then download it;
    pointing its cache at the package's own folder finds the shipped files, and
    ``disable_download`` makes a missing file an error instead of a download.
    """
    try:
        import wordllama
    except ImportError:
        raise InputError(
            "the semantic view needs the wordllama package, which is not installed",
            hint="pip install 'annotate[embeddings]', or build the index with embeddings=None",
        ) from None
    model = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    tokenizer = model.tokenizer
    tokenizer.no_padding()
    return tokenizer, np.asarray(model.embedding, dtype=np.float32)


def _embed(texts: Sequence[str]) -> np.ndarray:
    """Each text's mean token vector at unit length, as WordLlama pools (zeros for an empty text).

    The mean is a sparse token-count matrix times the vectors: much faster than padded batches.
    """
    tokenizer, vectors = _word_vectors()
    encode = getattr(tokenizer, "encode_batch_fast", None) or tokenizer.encode_batch  # fast: tokenizers >= 0.21
    encoded = encode(list(texts), add_special_tokens=False) if texts else []
    lengths = np.array([len(e.ids) for e in encoded], dtype=np.int64)
    ids = np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encoded]) if encoded else lengths
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    counts = sp.csr_matrix((np.ones(len(ids), np.float32), ids, indptr), shape=(len(texts), len(vectors)))
    pooled = np.asarray(counts @ vectors, dtype=np.float32)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.divide(pooled, norms, out=np.zeros_like(pooled), where=norms > 0)


def _embeddings_in_use(embeddings: str | None) -> str | None:
    """What an index's ``embeddings`` parameter means on this machine: ``EMBEDDINGS`` or None."""
    if embeddings not in ("auto", EMBEDDINGS, None):
        raise InputError(f"embeddings must be 'auto', '{EMBEDDINGS}' or None, got '{embeddings}'")
    if embeddings == "auto":
        import importlib.util

        return EMBEDDINGS if importlib.util.find_spec("wordllama") is not None else None
    if embeddings:
        _word_vectors()  # not installed: one line now, not at the first search
    return embeddings


def _rowwise_dot(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    return np.asarray(a.multiply(b).sum(axis=1), dtype=np.float64).ravel()


class ClaimIndex:
    """Word TF-IDF, char TF-IDF, BM25 and (optionally) embedding views of an archive, and its
    candidates for a sentence.

    Parameters
    ----------
    n_candidates : int
        How many claims each view contributes to a sentence's candidates (their union is
        re-ranked). More raises recall and costs time.
    k1, b : float
        BM25's term-frequency saturation and length normalisation (Lucene's defaults).
    rebuild_growth : float
        :meth:`update` refits the vocabularies from scratch once the archive has grown by this
        share since the last fit; below it, new claims are added with the fitted vocabularies.
    embeddings : {"auto", "wordllama", None}
        The semantic view: cosine of mean static word vectors (:data:`EMBEDDINGS`, from the
        ``wordllama`` wheel; nothing is downloaded). ``"auto"`` (default) uses it when
        ``wordllama`` is installed (``pip install 'annotate[embeddings]'``); ``"wordllama"``
        requires it; None leaves it out. It scores candidates, it does not add any.

    Attributes set by :meth:`build`: ``claims_`` (archive order), ``archive_hash_``, ``n_fitted_``
    (claims at the last fit), ``embeddings_`` (``"wordllama"`` or None), the fitted views and
    their matrices.
    """

    def __init__(
        self,
        n_candidates: int = 20,
        k1: float = 1.2,
        b: float = 0.75,
        rebuild_growth: float = 0.5,
        embeddings: str | None = "auto",
    ) -> None:
        self.n_candidates = n_candidates
        self.k1 = k1
        self.b = b
        self.rebuild_growth = rebuild_growth
        self.embeddings = embeddings

    # -- building ------------------------------------------------------------------------

    def build(self, archive: Archive) -> ClaimIndex:
        """Fit the three views on ``archive`` and index every claim; returns ``self``."""
        if not len(archive):
            raise InputError("cannot index an empty archive", path=archive.source or None)
        self.embeddings_ = _embeddings_in_use(self.embeddings)
        self._vectors: np.ndarray | None = None
        docs = [clean_text(c.document) for c in archive.claims]
        self.word_ = _word_vectorizer()
        self.char_ = char_vectorizer()
        fitted = {"word": self.word_.fit_transform(docs), "char": self.char_.fit_transform(docs)}
        counts_vec = _bm25_vectorizer()
        counts = counts_vec.fit_transform(docs).tocsc()
        self.bm25_vocabulary_ = counts_vec.vocabulary_
        n = counts.shape[0]
        df = np.diff(counts.indptr).astype(np.float64)
        self.bm25_idf_ = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.avgdl_ = float(counts.sum() / n) or 1.0
        self.n_fitted_ = n
        self.claims_: list[Claim] = []
        self._matrices: dict[str, sp.csr_matrix] = {}
        self._terms_cache: dict[int, tuple[_Terms, _Terms, _Terms]] = {}
        self._append(archive.claims, fitted)
        self.archive_hash_ = archive.hash
        return self

    def _bm25_rows(self, docs: list[str]) -> sp.csr_matrix:
        counts = _bm25_vectorizer(self.bm25_vocabulary_).transform(docs).tocsr()
        dl = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
        norm = self.k1 * (1 - self.b + self.b * dl / self.avgdl_)
        w = counts.copy()
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        tf = counts.data.astype(np.float64)
        w.data = (self.bm25_idf_[counts.indices] * tf * (self.k1 + 1) / (tf + norm[rows])).astype(np.float32)
        return w

    def _append(self, claims: Sequence[Claim], done: dict[str, Any] | None = None) -> None:
        """Index ``claims`` after those indexed; ``done``: views already computed for them."""
        done = done or {}
        docs = [clean_text(c.document) for c in claims]
        new = {
            "word": done["word"] if "word" in done else self.word_.transform(docs),
            "word_claim": self.word_.transform([clean_text(c.claim) for c in claims]),
            "word_title": self.word_.transform([clean_text(c.title) for c in claims]),
            "char": done["char"] if "char" in done else self.char_.transform(docs),
            "bm25": self._bm25_rows(docs),
        }
        for name, m in new.items():
            m = sp.csr_matrix(m, dtype=np.float32)
            self._matrices[name] = sp.vstack([self._matrices[name], m], format="csr") if name in self._matrices else m
        if self.embeddings_:
            vectors = _embed(docs)
            self._vectors = vectors if self._vectors is None else np.vstack([self._vectors, vectors])
        self.claims_.extend(claims)

    def update(self, archive: Archive) -> str:
        """Bring the index up to ``archive``: ``"unchanged"``, ``"added N"`` or ``"rebuilt"``.

        An archive whose first claims are the indexed ones, unchanged and in order, only grew:
        its new claims are added (a refit once it has grown by ``rebuild_growth``). Any other
        change (a claim edited, removed or reordered) raises an :class:`InputError`: rebuild.
        """
        self._check_fitted()
        n = len(self.claims_)
        if archive.hash == self.archive_hash_:
            return "unchanged"
        if len(archive) < n or _chain(archive.claims[:n]) != self.archive_hash_:
            raise InputError(
                f"the archive changed since the index was built ({_first_difference(self.claims_, archive.claims)})",
                path=archive.source or None,
                hint="rebuild the index (--rebuild), or give the archive it was built from",
            )
        if len(archive) > self.n_fitted_ * (1 + self.rebuild_growth):
            self.build(archive)
            return "rebuilt"
        self._extend_vocabularies([clean_text(c.document) for c in archive.claims[n:]])
        self._append(archive.claims[n:])
        self.archive_hash_ = archive.hash
        return f"added {len(archive) - n}"

    def _extend_vocabularies(self, docs: list[str]) -> None:
        """Give each view the terms of ``docs`` it has never seen, so that new claims are found
        by their new words (names, places) before the next refit.

        A new term occurs in none of the indexed claims (each vocabulary holds every term of the
        claims it was fitted on), so its document frequency is its count in ``docs``; the known
        terms keep their idf until the refit.
        """
        n = len(self.claims_) + len(docs)
        sizes = {}
        for view, make in (("word", _word_vectorizer), ("char", char_vectorizer)):
            vec = getattr(self, f"{view}_")
            df = _new_terms(vec.build_analyzer(), docs, vec.vocabulary_)
            if df:
                vocabulary = dict(vec.vocabulary_) | {t: len(vec.vocabulary_) + i for i, t in enumerate(df)}
                idf_new = np.log((1 + n) / (1 + np.fromiter(df.values(), dtype=np.float64))) + 1
                setattr(self, f"{view}_", _with_idf(make(vocabulary), np.concatenate([vec.idf_, idf_new])))
            sizes[view] = len(getattr(self, f"{view}_").vocabulary_)
        df = _new_terms(_stem_terms, docs, self.bm25_vocabulary_)
        if df:
            self.bm25_vocabulary_ = self.bm25_vocabulary_ | {
                t: len(self.bm25_vocabulary_) + i for i, t in enumerate(df)
            }
            counts = np.fromiter(df.values(), dtype=np.float64)
            self.bm25_idf_ = np.concatenate([self.bm25_idf_, np.log1p((n - counts + 0.5) / (counts + 0.5))]).astype(
                np.float32
            )
        sizes["bm25"] = len(self.bm25_vocabulary_)
        for name, m in self._matrices.items():
            width = sizes[name.split("_")[0]]
            self._matrices[name] = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))

    def _check_fitted(self) -> None:
        if not hasattr(self, "archive_hash_"):
            raise ModelError("the claim index is not built", hint="call build(archive) first")

    # -- searching -----------------------------------------------------------------------

    def _queries(self, texts: Sequence[str]) -> dict[str, Any]:
        cleaned = [clean_text(t) for t in texts]
        q_bm25 = _bm25_vectorizer(self.bm25_vocabulary_).transform(cleaned)
        q_bm25.data[:] = 1.0  # BM25 sums each query term once
        out = {
            "word": sp.csr_matrix(self.word_.transform(cleaned)),
            "char": sp.csr_matrix(self.char_.transform(cleaned)),
            "bm25": sp.csr_matrix(q_bm25),
        }
        if self._vectors is not None:
            out["emb"] = _embed(cleaned)
        return out

    def _view_scores(self, q: dict[str, Any]) -> dict[str, np.ndarray]:
        # archive @ queries.T keeps the big matrix in its CSR layout (q @ archive.T would convert it)
        return {v: (self._matrices[v] @ q[v].T).toarray().T.astype(np.float64) for v in _LEXICAL}

    def _candidate_batches(
        self, texts: Sequence[str], batch: int = 64
    ) -> Iterator[tuple[int, list[np.ndarray], list[dict[str, np.ndarray]], sp.csr_matrix]]:
        """Per batch of texts: its start, each text's candidates and their scores, the word vectors."""
        self._check_fitted()
        n_top = min(self.n_candidates, len(self.claims_))
        for start in range(0, len(texts), batch):
            chunk = list(texts[start : start + batch])
            q = self._queries(chunk)
            scores = self._view_scores(q)
            best = {v: s.max(axis=1, keepdims=True) for v, s in scores.items()}
            fused = sum(np.divide(s, best[v], out=np.zeros_like(s), where=best[v] > 0) for v, s in scores.items()) / 3
            views = [*scores.values(), fused]
            if n_top < len(self.claims_):
                tops = [np.argpartition(-s, n_top - 1, axis=1)[:, :n_top] for s in views]
            else:
                tops = [np.broadcast_to(np.arange(n_top), (len(chunk), n_top)) for _ in views]
            positions, picked = [], []
            for j in range(len(chunk)):
                pos = np.unique(np.concatenate([t[j] for t in tops]))
                positions.append(pos)
                picked.append({v: s[j, pos] for v, s in scores.items()} | {"fused": fused[j, pos]})
            if "emb" in q:  # the semantic view scores the lexical candidates only
                for j, pos in enumerate(positions):
                    picked[j]["emb"] = (self._vectors[pos] @ q["emb"][j]).astype(np.float64)
            yield start, positions, picked, q["word"]

    def candidates(self, texts: Sequence[str], *, batch: int = 64) -> Iterator[tuple[int, np.ndarray, dict[str, Any]]]:
        """For each text: ``(i, claim positions, view scores)``, the union of each view's best.

        The view scores hold, for the candidates, ``word``, ``char``, ``bm25``, the fused
        retrieval score (the mean of the three, each divided by the text's best) and, with
        embeddings, ``emb`` (cosine of the mean word vectors).
        """
        for start, positions, picked, _ in self._candidate_batches(texts, batch):
            for j, (pos, s) in enumerate(zip(positions, picked, strict=True)):
                yield start + j, pos, s

    def _claim_terms(self, p: int) -> tuple[_Terms, _Terms, _Terms]:
        """The terms of claim ``p``'s document, claim and title, computed once per index."""
        cache = self.__dict__.setdefault("_terms_cache", {})
        if p not in cache:
            c, stop = self.claims_[p], _stop_words()
            cache[p] = tuple(_terms(clean_text(t), stop) for t in (c.document, c.claim, c.title))
        return cache[p]

    def search(self, texts: Sequence[str], k: int = 5) -> list[list[tuple[str, float]]]:
        """The ``k`` best claims of each text by fused retrieval score (no re-ranker)."""
        out = []
        for _, pos, s in self.candidates(texts):
            order = np.argsort(-s["fused"], kind="stable")[:k]
            out.append([(self.claims_[pos[i]].claim_id, float(s["fused"][i])) for i in order])
        return out


def _new_terms(analyze: Any, docs: list[str], known: dict[str, int]) -> dict[str, int]:
    """The terms of ``docs`` missing from ``known``, with their document frequency, sorted."""
    df: dict[str, int] = {}
    for d in docs:
        for t in set(analyze(d)):
            if t not in known:
                df[t] = df.get(t, 0) + 1
    return dict(sorted(df.items()))


def _first_difference(old: Sequence[Claim], new: Sequence[Claim]) -> str:
    """Where an archive first departs from the indexed claims, for the error line."""
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a.claim_id != b.claim_id:
            return f"claim {i + 1} is now '{b.claim_id}', was '{a.claim_id}'"
        if a != b:
            return f"claim {i + 1} ('{a.claim_id}') is changed"
    return f"it has {len(new)} claims, the index {len(old)}"


def _ranks(x: np.ndarray) -> np.ndarray:
    """1 for the best of ``x``, 2 for the next...; ties in archive order."""
    r = np.empty(len(x))
    r[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1)
    return r


def _retrieval_features(feats: np.ndarray, s: dict[str, np.ndarray]) -> None:
    """Columns 0-9 and the embedding columns of :data:`FEATURES` for one text's candidates, in place."""
    best = {v: s[v].max() for v in ("word", "char", "bm25")}
    feats[:, 0] = s["word"]
    feats[:, 1] = s["char"]
    feats[:, 2] = s["bm25"] / best["bm25"] if best["bm25"] > 0 else 0.0
    for j, v in enumerate(("word", "char", "bm25")):
        feats[:, 3 + j] = s[v] - best[v]
    for j, v in enumerate(("word", "char", "bm25", "fused")):
        feats[:, 6 + j] = np.log1p(_ranks(s[v]))
    if "emb" in s:
        emb = feats[:, EMBEDDING_FEATURES]
        emb[:, 0] = s["emb"]
        emb[:, 1] = s["emb"] - s["emb"].max()
        emb[:, 2] = np.log1p(_ranks(s["emb"]))
    else:
        feats[:, EMBEDDING_FEATURES] = np.nan  # the trees route a missing value as they learnt to


def _term_features(
    qt: _Terms, q_date: tuple[int, str] | None, doc: _Terms, claim: _Terms, title: _Terms
) -> tuple[float, ...]:
    """The term columns of :data:`FEATURES` (``words_shared`` to ``log_length_ratio``) for one pair."""
    n_shared, n_jac, _ = _overlap(qt.numbers, doc.numbers)
    e_shared, e_jac, e_cov = _overlap(qt.entities, doc.entities)
    y_shared = len(qt.years & doc.years)
    same_year = q_date is not None and str(q_date[0]) in doc.years
    return (
        len(qt.words & doc.words),
        _overlap(qt.words, claim.words)[2],
        _overlap(qt.words, title.words)[2],
        _overlap(doc.words, qt.words)[2],
        n_shared,
        n_jac,
        float(bool(qt.numbers and doc.numbers and not n_shared)),
        len(doc.numbers - qt.numbers),
        e_shared,
        e_jac,
        e_cov,
        y_shared,
        float(bool(qt.years and doc.years and not y_shared)),
        float(q_date is not None and any(int(y) > q_date[0] for y in doc.years)),
        float(same_year),
        float(same_year and q_date is not None and q_date[1] in doc.months),
        float(qt.negated != doc.negated),
        math.log((doc.length + 1) / (qt.length + 1)),
    )


def pair_features(index: ClaimIndex, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates of each text and their pair features.

    Returns ``(query, claim, X)``: for every (text, candidate) pair the text's position in
    ``texts``, the claim's position in ``index.claims_``, and one row of :data:`FEATURES`:

    - ``word_cos``, ``char_cos``: cosine of the text with claim + title; ``bm25_share``: BM25 over
      the text's best candidate's; ``*_gap``: the score minus the best candidate's; ``*_rank``:
      log(1 + rank among the candidates) per view and for the fused score;
    - ``word_cos_claim``, ``word_cos_title``: the word cosine with the claim and the title alone;
    - content words shared, and the share of the claim's, the title's and the text's words found
      in the other;
    - numbers (years apart): shared, Jaccard, both have numbers but share none, the claim's
      numbers the text lacks; capitalised tokens (names, places, organisations): shared,
      Jaccard, share of the claim's found; years: shared, both name years but none in common;
      when the text is a tweet ending in its date: the claim names a later year, the tweet's
      year, the tweet's month and year;
    - one of the two is negated and the other not; log of the claim's length over the text's;
    - ``emb_cos``, ``emb_gap``, ``emb_rank``: the semantic view's cosine, its gap to the best
      candidate's and log(1 + rank); NaN when the index has no embeddings.
    """
    stop = _stop_words()
    rows_q, rows_c, blocks = [], [], []
    m = index._matrices
    for start, positions, picked, q_word in index._candidate_batches(texts):
        lengths = [len(p) for p in positions]
        feats = np.zeros((sum(lengths), len(FEATURES)))
        all_pos = np.concatenate(positions)
        in_batch = np.repeat(np.arange(len(positions)), lengths)
        for j, part in enumerate(("claim", "title")):
            feats[:, 10 + j] = _rowwise_dot(q_word[in_batch], m[f"word_{part}"][all_pos])
        row = 0
        for j, (pos, s) in enumerate(zip(positions, picked, strict=True)):
            i = start + j
            block = feats[row : row + len(pos)]
            row += len(pos)
            _retrieval_features(block, s)
            qt = _terms(clean_text(texts[i]), stop)
            q_date = _tweet_date(texts[i])
            for r, p in enumerate(pos.tolist()):
                block[r, _TERM_FEATURES] = _term_features(qt, q_date, *index._claim_terms(p))
            rows_q.append(np.full(len(pos), i))
        rows_c.append(all_pos)
        blocks.append(feats)
    if not blocks:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros((0, len(FEATURES)))
    return np.concatenate(rows_q), np.concatenate(rows_c), np.vstack(blocks)


# --- the re-ranker --------------------------------------------------------------------------


def make_reranker(random_state: int = 0):
    """The re-ranker: gradient-boosted trees over :data:`FEATURES`, calibrated with a sigmoid.

    ``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` fits the sigmoid on out-of-fold
    scores and the trees on all pairs; the sigmoid is monotone, so it ranks exactly as the trees
    do (isotonic calibration would tie many candidates). The folds are contiguous blocks of the
    pairs, which come grouped by query, so a query's pairs stay (but at a fold's edge) in one fold.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import KFold

    # small trees, many of them: chosen by 5-fold grouped CV on CheckThat!'s training tweets
    trees = HistGradientBoostingClassifier(
        max_iter=900,
        learning_rate=0.05,
        max_leaf_nodes=7,
        l2_regularization=1.0,
        random_state=random_state,
    )
    return CalibratedClassifierCV(trees, method="sigmoid", cv=KFold(5), ensemble=False)


@dataclass
class Reranker:
    """A fitted re-ranker and its card: the features it reads and what it was trained on."""

    estimator: Any
    card: dict[str, Any]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability that each pair's candidate is the same claim as its sentence.

        A re-ranker trained with embeddings refuses pairs of an index without them: it would
        rank without its semantic view, worse, and say nothing.
        """
        if self.card.get("embeddings") and len(X) and np.isnan(X[:, EMBEDDING_FEATURES]).all():
            raise ModelError(
                f"the re-ranker was trained with {self.card['embeddings']} embeddings and the claim index has none",
                hint="pip install 'annotate[embeddings]' and rebuild the index (--rebuild), or retrain the re-ranker",
            )
        return self.estimator.predict_proba(X)[:, list(self.estimator.classes_).index(True)]


def fit_reranker(
    index: ClaimIndex,
    texts: Sequence[str],
    relevant: Sequence[Iterable[str]],
    *,
    source: str = "",
    random_state: int = 0,
) -> Reranker:
    """Train a re-ranker on labelled queries: ``texts[i]`` is proved by the claims ``relevant[i]``.

    Every candidate :func:`pair_features` finds for a text is a training pair: positive if its
    claim id is one of the text's relevant ids, negative otherwise. Relevant claims the
    candidates miss are counted (``card["candidate_recall"]``), not trained on.
    """
    if len(texts) != len(relevant):
        raise ValueError(f"texts and relevant differ in length: {len(texts)} != {len(relevant)}")
    rel = [set(map(str, r)) for r in relevant]
    known = {c.claim_id for c in index.claims_}
    n_relevant = sum(len(r) for r in rel)
    missing = sorted({c for r in rel for c in r} - known)
    if missing:
        raise InputError(
            f"{len(missing)} labelled claim id(s) are not in the archive, e.g. '{missing[0]}'",
            path=source or None,
            hint="give the archive the labels refer to",
        )
    qi, ci, X = pair_features(index, texts)
    y = np.array([index.claims_[c].claim_id in rel[q] for q, c in zip(qi.tolist(), ci.tolist(), strict=True)])
    n_pos = int(y.sum())
    queries_with_pos = len(set(qi[y].tolist()))
    if n_pos < 10 or queries_with_pos < 10:
        raise InputError(
            f"too few labelled matches among the candidates to train a re-ranker ({n_pos} pairs, "
            f"{queries_with_pos} sentences; at least 10 of each needed)",
            path=source or None,
            hint="label more sentences with the archive claims they repeat",
        )
    if index.embeddings_ is None:
        # a column with no value at all breaks the trees' binning; a constant one is never split on
        X[:, EMBEDDING_FEATURES] = 0.0
    start = time.perf_counter()
    estimator = make_reranker(random_state).fit(X, y)
    card = {
        "kind": "annotate claim re-ranker",
        "features": list(FEATURES),
        "features_version": FEATURES_VERSION,
        "n_candidates": index.n_candidates,
        "embeddings": index.embeddings_,
        "trained_on": source,
        "n_queries": len(texts),
        "n_pairs": int(len(y)),
        "n_positive": n_pos,
        "candidate_recall": round(n_pos / n_relevant, 4) if n_relevant else None,
        "fit_seconds": round(time.perf_counter() - start, 2),
        "archive_hash": index.archive_hash_,
        "libraries": _libraries(),
    }
    return Reranker(estimator, card)


def _libraries() -> dict[str, str]:
    from annotate.models.train import library_versions

    return library_versions()


# --- saving and loading -----------------------------------------------------------------------

INDEX_FILE = "index.skops"
RERANKER_FILE = "reranker.skops"
CARD_FILE = "card.json"

#: Types beyond skops' defaults that a saved re-ranker holds; anything else is refused.
RERANKER_TRUSTED: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.model_selection._split.KFold",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "builtins.getattr",
)
#: A saved index is a dict of strings, numbers, numpy arrays and CSR matrices.
INDEX_TRUSTED: tuple[str, ...] = ("scipy.sparse._csr.csr_matrix", "numpy.dtype", "numpy.float32", "numpy.float64")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_folder(path: Path, filename: str, payload: bytes, card: dict[str, Any]) -> None:
    """The skops file, then the card naming its sha256 (each written atomically)."""
    if path.exists() and not path.is_dir():
        raise InputError("a file stands where the folder goes", path=path, hint="choose another path")
    path.mkdir(parents=True, exist_ok=True)
    with atomic_write(path / filename, "wb") as fh:
        fh.write(payload)
    card = {**card, "file": filename, "sha256": hashlib.sha256(payload).hexdigest()}
    with atomic_write(path / CARD_FILE) as fh:
        fh.write(json.dumps(card, indent=2, ensure_ascii=False) + "\n")


def _read_folder(
    path: str | Path, filename: str, what: str, trusted: tuple[str, ...], made_by: str
) -> tuple[Any, dict]:
    """The object in a folder written by :func:`_write_folder`, refusing a changed or foreign file."""
    import skops.io as sio

    path = Path(path)
    card_path = path / CARD_FILE
    if not card_path.is_file():
        problem = "no such folder" if not path.exists() else f"not a saved {what} (no {CARD_FILE})"
        raise InputError(f"{path}: {problem}", hint=f"give a folder written by {made_by}")
    try:
        card = json.loads(card_path.read_text("utf-8"))
        recorded = card["sha256"]
    except (ValueError, KeyError, TypeError) as err:
        raise ModelError(f"{card_path}: not a valid {what} card ({err})", hint=f"rebuild it with {made_by}") from None
    file = path / filename
    if not file.is_file():
        raise ModelError(f"{file}: the {what} file is missing", hint=f"rebuild it with {made_by}")
    if _sha256(file) != recorded:
        raise ModelError(
            f"{file}: the {what} file changed after it was saved (sha256 differs from {CARD_FILE})",
            hint=f"rebuild it with {made_by}, or restore the file",
        )
    try:
        untrusted = sio.get_untrusted_types(file=file)
    except Exception as err:  # a damaged zip or schema raises a variety of types
        raise ModelError(
            f"{file}: not a readable skops file ({type(err).__name__})", hint=f"rebuild it with {made_by}"
        ) from None
    refused = sorted(set(untrusted) - set(trusted))
    if refused:
        raise ModelError(
            f"{file}: refusing to load untrusted types: {', '.join(refused)}", hint=f"rebuild it with {made_by}"
        )
    return sio.load(file, trusted=list(untrusted)), card


def save_reranker(reranker: Reranker, path: str | Path) -> None:
    """Write ``reranker.skops`` and ``card.json`` (its sha256 and training facts) into ``path``."""
    import skops.io as sio

    _write_folder(Path(path), RERANKER_FILE, sio.dumps(reranker.estimator), reranker.card)


def load_reranker(path: str | Path) -> Reranker:
    """A re-ranker saved by :func:`save_reranker`; refused if changed, untrusted or of other features."""
    made_by = "`annotate fit-reranker`"
    estimator, card = _read_folder(path, RERANKER_FILE, "re-ranker", RERANKER_TRUSTED, made_by)
    if card.get("features_version") != FEATURES_VERSION or card.get("features") != list(FEATURES):
        raise ModelError(
            f"{path}: the re-ranker was trained on pair features version {card.get('features_version')}, "
            f"this annotate computes version {FEATURES_VERSION}",
            hint=f"retrain it with {made_by}",
        )
    return Reranker(estimator, card)


def _index_state(index: ClaimIndex) -> dict[str, Any]:
    def terms(vocabulary: dict[str, int]) -> str:
        out = [""] * len(vocabulary)
        for t, i in vocabulary.items():
            out[i] = t
        return "\n".join(out)

    return {
        "params": {k: getattr(index, k) for k in ("n_candidates", "k1", "b", "rebuild_growth", "embeddings")},
        "embeddings": index.embeddings_ or "",
        "vectors": index._vectors if index._vectors is not None else np.zeros((0, 0), dtype=np.float32),
        "word_terms": terms(index.word_.vocabulary_),
        "word_idf": np.asarray(index.word_.idf_, dtype=np.float64),
        "char_terms": terms(index.char_.vocabulary_),
        "char_idf": np.asarray(index.char_.idf_, dtype=np.float64),
        "bm25_terms": terms(index.bm25_vocabulary_),
        "bm25_idf": np.asarray(index.bm25_idf_, dtype=np.float64),
        "avgdl": index.avgdl_,
        "n_fitted": index.n_fitted_,
        "archive_hash": index.archive_hash_,
        "claims": json.dumps([asdict(c) for c in index.claims_], ensure_ascii=False),
        "matrices": dict(index._matrices),
    }


def _index_from_state(state: dict[str, Any]) -> ClaimIndex:
    def vocabulary(terms: str) -> dict[str, int]:
        return {t: i for i, t in enumerate(terms.split("\n"))}

    index = ClaimIndex(**state["params"])
    index.word_ = _with_idf(_word_vectorizer(vocabulary(state["word_terms"])), state["word_idf"])
    index.char_ = _with_idf(char_vectorizer(vocabulary(state["char_terms"])), state["char_idf"])
    index.bm25_vocabulary_ = vocabulary(state["bm25_terms"])
    index.bm25_idf_ = np.asarray(state["bm25_idf"], dtype=np.float32)
    index.avgdl_ = float(state["avgdl"])
    index.n_fitted_ = int(state["n_fitted"])
    index.claims_ = [Claim(**c) for c in json.loads(state["claims"])]
    index._matrices = {k: sp.csr_matrix(v) for k, v in state["matrices"].items()}
    index.archive_hash_ = str(state["archive_hash"])
    # an index saved before the semantic view existed has none
    index.embeddings_ = str(state.get("embeddings") or "") or None
    index._vectors = np.asarray(state["vectors"], dtype=np.float32) if index.embeddings_ else None
    if index.embeddings_:
        _word_vectors()  # the sentences need the same vectors: not installed is one line now
    return index


def save_index(index: ClaimIndex, path: str | Path) -> None:
    """Write ``index.skops`` and ``card.json`` (sha256, archive hash, claim count) into ``path``."""
    import skops.io as sio

    index._check_fitted()
    card = {
        "kind": "annotate claim index",
        "archive_hash": index.archive_hash_,
        "n_claims": len(index.claims_),
        "n_fitted": index.n_fitted_,
        "libraries": _libraries(),
    }
    _write_folder(Path(path), INDEX_FILE, sio.dumps(_index_state(index)), card)


def load_index(path: str | Path) -> ClaimIndex:
    """An index saved by :func:`save_index`; refused if its file changed since."""
    state, card = _read_folder(path, INDEX_FILE, "claim index", INDEX_TRUSTED, "`annotate match --index`")
    index = _index_from_state(state)
    if index.archive_hash_ != card.get("archive_hash"):
        raise ModelError(f"{path}: the index card and the index disagree on the archive", hint="rebuild the index")
    return index


# --- matching sentences -----------------------------------------------------------------------


@dataclass
class MatchSummary:
    """What :func:`match` did; ``str()`` is the CLI's line."""

    output: Path
    sentences: int
    matched: int
    skipped: int
    k: int
    n_claims: int
    index: str  # "built", "built and saved", "loaded", "loaded, added N and saved", "rebuilt and saved"
    reranker: str | None
    likely: int  # sentences whose best match has probability >= 0.5

    def __str__(self) -> str:
        skipped = f" ({self.skipped} not check-worthy left out)" if self.skipped else ""
        line = (
            f"wrote the top {self.k} archive claims for {self.matched} of {self.sentences} sentences{skipped} "
            f"to {self.output}; archive {self.n_claims} claims, index {self.index}"
        )
        if self.reranker:
            return line + f"; {self.likely} sentences have a match with probability >= 0.5 (re-ranker {self.reranker})"
        return line + "; no re-ranker: ranked by retrieval score, probability empty (train one: annotate fit-reranker)"


def _ready_index(archive: Archive, index: str | Path | None, rebuild: bool) -> tuple[ClaimIndex, str]:
    """The index of ``archive``: built, or read from ``index`` and brought up to date (and saved)."""
    if index is None:
        return ClaimIndex().build(archive), "built"
    path = Path(index)
    if rebuild or not path.exists():
        built = ClaimIndex().build(archive)
        save_index(built, path)
        return built, "rebuilt and saved" if rebuild else "built and saved"
    loaded = load_index(path)
    status = loaded.update(archive)
    if status == "unchanged":
        return loaded, "loaded"
    save_index(loaded, path)
    return loaded, f"loaded, {status} and saved"


def match_records(
    index: ClaimIndex, texts: Sequence[str], *, k: int = 5, reranker: Reranker | None = None
) -> list[list[dict[str, Any]]]:
    """The ``k`` best archive claims of each text, best first, as output records.

    Each match: ``claim_id``, ``claim``, ``probability`` (the re-ranker's; None without one),
    ``verdict``, ``url``, ``rank`` (1 = best); without a re-ranker also ``score``, the fused
    retrieval score. Equal probabilities keep archive order.
    """
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}", hint="ask for e.g. -k 5")
    out: list[list[dict[str, Any]]] = [[] for _ in texts]
    if reranker is not None:
        qi, ci, X = pair_features(index, texts)
        proba = reranker.predict_proba(X) if len(X) else np.zeros(0)
        for i in range(len(texts)):
            sel = np.flatnonzero(qi == i)
            order = sel[np.lexsort((ci[sel], -proba[sel]))][:k]
            out[i] = [_match(index.claims_[ci[j]], r, probability=float(proba[j])) for r, j in enumerate(order, 1)]
        return out
    for i, pos, s in index.candidates(texts):
        order = np.lexsort((pos, -s["fused"]))[:k]
        out[i] = [_match(index.claims_[pos[j]], r, score=float(s["fused"][j])) for r, j in enumerate(order, 1)]
    return out


def _match(c: Claim, rank: int, probability: float | None = None, score: float | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "claim_id": c.claim_id,
        "claim": c.claim,
        "probability": None if probability is None else round(probability, 4),
        "verdict": c.verdict,
        "url": c.url,
        "rank": rank,
    }
    if score is not None:
        rec["score"] = round(score, 4)
    return rec


@dataclass
class _ClaimChecker:
    """A claim model (``annotate train`` folder) loaded once, to find check-worthy sentences."""

    model: Any  # annotate.models.store.LoadedModel
    schema: Any  # annotate.schema.Schema
    field: str
    key: frozenset[str]  # the field's values that count as check-worthy

    @classmethod
    def load(cls, path: str | Path) -> _ClaimChecker:
        from annotate.models.store import load, model_schema
        from annotate.models.train import key_classes
        from annotate.schema import Schema, default_schema_path

        schema = model_schema(path) or Schema.from_file(default_schema_path())
        loaded = load(path, schema)
        claim_fields = [f for f in loaded.estimators if loaded.kind(f) == "claim"]
        if not claim_fields:
            raise InputError(f"{path}: the model has no claim field", hint="give a model trained on claim labels")
        name = claim_fields[0]
        key, _ = key_classes([str(c) for c in loaded.card["fields"][name]["labels"]], "claim")
        return cls(loaded, schema, name, frozenset(key))

    def checkworthy(self, records: list[dict[str, Any]]) -> list[bool]:
        """Whether the model predicts each sentence check-worthy."""
        from annotate.models.predict import predict

        values = {r["sentence_id"]: r["value"] for r in predict(self.model, records, self.schema, fields=[self.field])}
        return [values.get(r["sentence_id"]) in self.key for r in records]


def _match_chunks(
    chunks: list[list[dict[str, Any]]],
    index: ClaimIndex,
    reranker: Reranker | None,
    checker: _ClaimChecker | None,
    k: int,
) -> list[tuple[int, str, int, int]]:
    """Worker side of :func:`match` (module-level, so it pickles): per chunk of sentence records,
    ``(sentences, output lines, left out as not check-worthy, likely matched)``.

    The lines travel back as one string per chunk; every sentence's matches depend on that
    sentence alone, so the output is the same however the stream is cut and spread.
    """
    out = []
    for chunk in chunks:
        keep = checker.checkworthy(chunk) if checker is not None else [True] * len(chunk)
        chosen = [r for r, kept in zip(chunk, keep, strict=True) if kept]
        results = match_records(index, [r["text"] for r in chosen], k=k, reranker=reranker)
        lines, likely = [], 0
        for rec, found in zip(chosen, results, strict=True):
            lines.append(dumps({"sentence_id": rec["sentence_id"], "text": rec["text"], "matches": found}) + "\n")
            likely += bool(found and (found[0]["probability"] or 0) >= 0.5)
        out.append((len(chunk), "".join(lines), len(chunk) - len(chosen), likely))
    return out


def match(
    sentences: str | Path,
    archive: str | Path,
    output: str | Path,
    *,
    k: int = 5,
    index: str | Path | None = None,
    rebuild: bool = False,
    reranker: str | Path | None = None,
    model: str | Path | None = None,
    archive_sentences: str | Path | None = None,
    batch: int = 512,
    n_jobs: int = 1,
    dask: Any = None,
    progress: bool = False,
) -> MatchSummary:
    """Write, for each sentence, the ``k`` archive claims it most likely repeats.

    ``sentences``: ``annotate ingest`` output (``sentence_id``, ``text``). ``archive``: see
    :func:`load_archive` (``archive_sentences`` for a gold file). ``index``: a folder to keep the
    index in: built and saved when missing, else loaded, checked against the archive (refused if
    the archive changed, updated if it only grew) and saved again if updated; ``rebuild`` builds
    it anew. ``reranker``: a folder of :func:`save_reranker`, giving calibrated probabilities;
    without it candidates are ranked by the fused retrieval score. ``model``: a claim model folder
    (``annotate train``); only sentences it predicts check-worthy are matched.

    The sentences stream through in chunks of about ``batch`` (whole documents), in this process,
    on ``n_jobs`` local processes (``-1``: all cores; the index and re-ranker travel with every
    chunk) or on a Dask cluster (``dask=ADDRESS``: they are scattered to each worker once), by
    :func:`annotate.parallel.ordered_map`; the output is byte-identical in every case.
    ``progress`` draws a line with the rate on stderr.

    Each output line: ``{"sentence_id", "text", "matches": [{"claim_id", "claim", "probability",
    "verdict", "url", "rank"}, ...]}``, written atomically; an output equal to an input is refused.
    """
    from annotate.models.predict import iter_record_chunks
    from annotate.parallel import ordered_map
    from annotate.progress import progress as progress_line

    output = Path(output)
    ensure_not_input(output, sentences, archive, archive_sentences, index, reranker, model)
    if k < 1:
        raise InputError(f"-k must be at least 1, got {k}", hint="ask for e.g. -k 5")
    loaded_reranker = load_reranker(reranker) if reranker is not None else None
    checker = _ClaimChecker.load(model) if model is not None else None
    arch = load_archive(archive, sentences=archive_sentences)
    claim_index, status = _ready_index(arch, index, rebuild)
    n = skipped = likely = 0
    chunks = iter_record_chunks(sentences, chunksize=batch)
    shared = (claim_index, loaded_reranker, checker, k)
    with atomic_write(output) as fh, progress_line(progress, "matching") as tick:
        for n_chunk, block, n_skipped, n_likely in ordered_map(
            _match_chunks, chunks, chunksize=1, n_jobs=n_jobs, dask=dask, shared=shared
        ):
            fh.write(block)
            n, skipped, likely = n + n_chunk, skipped + n_skipped, likely + n_likely
            tick(n)
    return MatchSummary(
        output=output,
        sentences=n,
        matched=n - skipped,
        skipped=skipped,
        k=k,
        n_claims=len(claim_index.claims_),
        index=status,
        reranker=str(reranker) if reranker is not None else None,
        likely=likely,
    )


# --- training a re-ranker from files ----------------------------------------------------------


@dataclass
class FitSummary:
    """What :func:`fit_reranker_file` did; ``str()`` is the CLI's line."""

    output: Path
    n_queries: int
    n_positive: int
    n_pairs: int
    candidate_recall: float | None
    n_claims: int

    def __str__(self) -> str:
        recall = (
            f"; the candidates hold {self.candidate_recall:.1%} of the labelled matches"
            if self.candidate_recall is not None
            else ""
        )
        return (
            f"trained a re-ranker on {self.n_queries} sentences ({self.n_positive} matching of {self.n_pairs} "
            f"candidate pairs, archive {self.n_claims} claims){recall}; wrote {self.output}"
        )


#: The files of one CheckThat! 2020 Task 2 split (Shaar et al. 2020): tweets, and their qrels.
QUERIES_FILE = "tweets.queries.tsv"
QRELS_FILE = "tweet-vclaim-pairs.qrels"


def _tsv(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise InputError(f"no {path.name} here", path=path.parent, hint="give a folder in the CheckThat! 2020 layout")
    try:
        return list(csv.reader(io.StringIO(read_text(path), newline=""), delimiter="\t"))
    except csv.Error as err:
        raise InputError(f"cannot read as TSV ({err})", path=path) from None


def load_queries(folder: str | Path) -> tuple[dict[str, str], dict[str, set[str]]]:
    """The tweets (``{tweet_id: text}``) and qrels (``{tweet_id: {vclaim_id, ...}}``) of one split.

    Qrels rows with relevance 0 are left out, as trec_eval ignores them. A qrels tweet missing
    from the tweets file is an error naming its line.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder", path=folder, hint=f"give a folder holding {QUERIES_FILE} and {QRELS_FILE}")
    rows = _tsv(folder / QUERIES_FILE)
    queries: dict[str, str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise InputError(
                f"expected tweet_id<TAB>tweet_content, got {len(row)} field(s)", path=folder / QUERIES_FILE, line=n
            )
        queries[row[0].strip()] = row[1]
    qrels: dict[str, set[str]] = {}
    for n, row in enumerate(_tsv(folder / QRELS_FILE), start=1):
        if not row:
            continue
        if len(row) != 4:
            raise InputError(
                f"expected tweet_id<TAB>0<TAB>vclaim_id<TAB>relevance, got {len(row)} field(s)",
                path=folder / QRELS_FILE,
                line=n,
            )
        tid, _, cid, relevance = (x.strip() for x in row)
        if tid not in queries:
            raise InputError(f"tweet {tid} is not in {QUERIES_FILE}", path=folder / QRELS_FILE, line=n)
        if relevance not in ("0", ""):
            qrels.setdefault(tid, set()).add(cid)
    if not qrels:
        raise InputError("no relevant pairs in the qrels", path=folder / QRELS_FILE, hint="give the gold qrels file")
    return queries, qrels


def read_labelled_pairs(path: str | Path) -> tuple[list[str], list[set[str]]]:
    """Labelled sentences and the archive claims each repeats, from a folder or a table.

    ``path``: a CheckThat! 2020 Task 2 folder (``tweets.queries.tsv`` and
    ``tweet-vclaim-pairs.qrels``), or a ``.csv`` / ``.tsv`` / ``.jsonl`` table with ``text`` and
    ``claim_id`` (and optionally ``label``: rows with 0 / false / no are left out), one row per
    matching pair. Returns the distinct texts and, for each, its set of claim ids.
    """
    path = Path(path)
    if path.is_dir():
        queries, qrels = load_queries(path)
        ids = [q for q in queries if q in qrels]
        return [queries[q] for q in ids], [qrels[q] for q in ids]
    if not path.exists():
        raise InputError("no such file or folder of labelled pairs", path=path, hint="check the path")
    from annotate.labels import read_table

    by_text: dict[str, set[str]] = {}
    for lineno, row in read_table(path):
        text, cid = _str(row.get("text")), _str(row.get("claim_id"))
        if not text or not cid:
            raise InputError(
                "a labelled pair needs 'text' and 'claim_id'",
                path=path,
                line=lineno,
                hint="one row per sentence and the archive claim it repeats",
            )
        if _str(row.get("label", "1")).lower() in ("0", "false", "no"):
            by_text.setdefault(text, set())
            continue
        by_text.setdefault(text, set()).add(cid)
    texts = [t for t, ids in by_text.items() if ids]
    return texts, [by_text[t] for t in texts]


def fit_reranker_file(
    pairs: str | Path,
    archive: str | Path,
    output: str | Path,
    *,
    archive_sentences: str | Path | None = None,
    matches: str | Path | None = None,
) -> FitSummary:
    """Train a re-ranker on labelled pairs (:func:`read_labelled_pairs`) over ``archive``; save it.

    With ``matches`` (the ``annotate match`` output pushed with ``push --matches``), ``pairs`` is
    a gold file of ``annotate resolve`` and the pairs are the desk's answers to the ``checked``
    field (:func:`annotate.studio.matches.checked_pairs`): the loop feeds the re-ranker.
    """
    output = Path(output)
    ensure_not_input(output, pairs, archive, archive_sentences, matches)
    arch = load_archive(archive, sentences=archive_sentences)
    if matches is not None:
        from annotate.studio.matches import checked_pairs

        texts, relevant = checked_pairs(pairs, matches)
    else:
        texts, relevant = read_labelled_pairs(pairs)
    index = ClaimIndex().build(arch)
    reranker = fit_reranker(index, texts, relevant, source=str(pairs))
    save_reranker(reranker, output)
    c = reranker.card
    return FitSummary(output, c["n_queries"], c["n_positive"], c["n_pairs"], c["candidate_recall"], len(arch))
