"""The main job on the embedded default: what ``make start`` runs on a fresh clone.

Each step is idempotent, so running it again reuses what is there and duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from annotate.schema import Schema, default_schema_path
from annotate.segment import ingest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = ROOT / "corpora" / "sample"


def quickstart(workdir: str | Path = "out", data_dir: str | Path | None = None) -> Iterator[str]:
    """Run the main job, yielding one progress line per step."""
    workdir = Path(workdir)
    schema = Schema.from_file(default_schema_path())
    yield f"schema {schema.path} ok (hash {schema.hash}, fields: {', '.join(schema.fields)})"
    summary = ingest([SAMPLE_CORPUS], workdir / "sentences.jsonl")
    yield f"ingested {summary}"
    yield from _label_studio(workdir, schema, data_dir)


def _label_studio(workdir: Path, schema: Schema, data_dir: str | Path | None = None) -> Iterator[str]:
    """Start (or reuse) the local Label Studio and push the sample with ingest-hint pre-annotations."""
    from annotate.io import write_jsonl
    from annotate.studio import server
    from annotate.studio.client import connect
    from annotate.studio.push import hint_predictions, push, read_sentences

    yield "starting Label Studio (the first start migrates its database: 30 s to a few minutes)..."
    info = server.start(data_dir)
    yield from info.lines()
    sentences = read_sentences(workdir / "sentences.jsonl")
    preds = workdir / "hints.predictions.jsonl"
    write_jsonl(preds, hint_predictions(sentences, schema))
    studio = connect(info.url, server.read_token(info.data_dir))
    yield str(push(studio, sentences, schema, project="annotate-sample", predictions=preds))
