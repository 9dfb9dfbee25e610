"""The main job on the embedded default: what ``make start`` runs on a fresh clone.

Each step is idempotent, so running it again reuses what is there and duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from annotate.resources import data_path
from annotate.schema import Schema, default_schema_path
from annotate.segment import ingest

SAMPLE_CORPUS = data_path("corpora", "sample")
#: Checked claims written for the sample (illustrative, not real fact-checks; see its README).
SAMPLE_ARCHIVE = data_path("corpora", "sample_archive", "claims.csv")


def quickstart(workdir: str | Path = "out", data_dir: str | Path | None = None) -> Iterator[str]:
    """Run the main job, yielding one progress line per step."""
    workdir = Path(workdir)
    schema = Schema.from_file(default_schema_path())
    yield f"schema {schema.path} ok (hash {schema.hash}, fields: {', '.join(schema.fields)})"
    summary = ingest([SAMPLE_CORPUS], workdir / "sentences.jsonl")
    yield f"ingested {summary}"
    yield from _label_studio(workdir, schema, data_dir)


def _label_studio(workdir: Path, schema: Schema, data_dir: str | Path | None = None) -> Iterator[str]:
    """Start (or reuse) the local Label Studio; push the sample with the bootstrap model's pre-annotations.

    Two prediction sources go with the tasks: the bootstrap claim model (CLEF-2019, calibrated
    scores; the project shows it as the pre-annotation) and ingest's speaker hint (Speaker spans,
    a rule, shown as a second prediction tab). Each task also shows the sample archive's closest
    claims and asks whether the sentence was "already checked" (:func:`_match_sample`).
    """
    from annotate.bootstrap import bootstrap
    from annotate.io import read_jsonl, write_jsonl
    from annotate.models.predict import predict_file
    from annotate.studio import server
    from annotate.studio.client import connect
    from annotate.studio.push import hint_predictions, push, read_sentences

    card = bootstrap(workdir / "models" / "bootstrap", schema)
    yield f"bootstrap claim model {card.get('model_version', card.get('name'))} in {workdir / 'models' / 'bootstrap'}"
    model_preds = workdir / "model.predictions.jsonl"
    summary = predict_file(workdir / "models" / "bootstrap", workdir / "sentences.jsonl", model_preds, schema)
    yield f"predicted {summary.predictions} claim types (model_version {summary.model_version})"
    matches = workdir / "matches.jsonl"
    yield _match_sample(workdir / "sentences.jsonl", matches)
    sentences = read_sentences(workdir / "sentences.jsonl")
    preds = workdir / "predictions.jsonl"
    write_jsonl(preds, [*(r for _, r in read_jsonl(model_preds)), *hint_predictions(sentences, schema)])
    yield "starting Label Studio (the first start migrates its database: 30 s to a few minutes)..."
    info = server.start(data_dir)
    yield from info.lines()
    studio = connect(info.url, server.read_token(info.data_dir))
    yield str(push(studio, sentences, schema, project="annotate-sample", predictions=preds, matches=matches))


def _match_sample(sentences: Path, output: Path) -> str:
    """Match the sample's sentences against the packaged sample archive, without a re-ranker.

    A re-ranker trained on CheckThat! 2020 (the labelled pairs at hand, in ``../shared``) takes
    about 20 s to fit, and its probabilities do not carry over: every CheckThat! tweet has a
    verified claim, so it learned that a query's best candidate is usually right, and it gives
    up to 0.93 to sentences of the sample that repeat no claim at all. So the sample shows the
    archive's closest claims by retrieval score, with no probability and no pre-annotated
    answer: the desk's answers to "already checked" are the pairs that train its own re-ranker.
    """
    from annotate.matching import match
    from annotate.studio.matches import SHOWN

    summary = match(sentences, SAMPLE_ARCHIVE, output, k=SHOWN)
    return f"matched {summary.matched} sentences against the sample archive ({summary.n_claims} illustrative claims)"
