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


def quickstart(workdir: str | Path = "out") -> Iterator[str]:
    """Run the main job, yielding one progress line per step."""
    workdir = Path(workdir)
    schema = Schema.from_file(default_schema_path())
    yield f"schema {schema.path} ok (hash {schema.hash}, fields: {', '.join(schema.fields)})"
    summary = ingest([SAMPLE_CORPUS], workdir / "sentences.jsonl")
    yield f"ingested {summary}"
