"""A claim model before any annotation exists, trained on CLEF-2019 CheckThat! Task 1 (English).

The sample project needs useful pre-annotations on day one. CLEF-2019 Task 1 labels 16,421
sentences of 19 US political debates and speeches as check-worthy (1, 2.7%) or not (0), by
whether factcheck.org checked them. ``corpora/bootstrap/clef2019_checkworthy.csv`` (package data,
:mod:`annotate.resources`) is a copy of that training data as a flat label table (CSV, one row per
sentence, licence in ``corpora/bootstrap/README.md``), so a fresh clone or an installed wheel does not
depend on ``../shared``. It is a CSV,
not JSONL, so that ``annotate ingest corpora/`` passes over it instead of reading its rows as
documents.

Label mapping onto the default schema's ``claim_type`` (:data:`CLEF_LABELS`):

- 1 -> "Check-worthy factual claim": what a fact-checker chose to check;
- 0 -> "Other factual claim": CLEF has no finer split of the rest. "Not a claim" would be the
  wrong default for news text, where most sentences state facts, and it would also hide the
  stance question (the schema's ``visibleWhen``), so annotators would have to undo it first.

Prior: factcheck.org checked 2.7% of debate sentences, so a model calibrated on all of CLEF
almost never gives "Check-worthy" the top probability. Other annotations find far more
(28.6% of ClaimBuster's sentences are check-worthy factual claims), so the bootstrap keeps every positive and
:data:`NEGATIVES_PER_POSITIVE` random negatives per positive (seed 0): its calibrated scores then
reflect a 25% prior, and some sentences of the sample article are pre-annotated as check-worthy.

The model never predicts "Opinion" or "Not a claim"; a model trained on the project's own labels
replaces it as soon as there are enough (``annotate train``). The original label is kept in
each row as ``clef_label``, so another mapping is one edit of :data:`CLEF_LABELS` and
:func:`build_table` away.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from annotate.errors import InputError
from annotate.io import atomic_write, file_hash
from annotate.models.store import read_card
from annotate.resources import data_path
from annotate.schema import Schema, default_schema_path

__all__ = ["CLEF_LABELS", "BOOTSTRAP_TABLE", "build_table", "bootstrap"]

BOOTSTRAP_TABLE = data_path("corpora", "bootstrap", "clef2019_checkworthy.csv")
# build_table's default source: the release in ../shared beside a checkout (the repo's own tooling)
CLEF_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "clef2019_checkthat_task1" / "data" / "training"
CLEF_LABELS = {"1": "Check-worthy factual claim", "0": "Other factual claim"}
#: Parameters of the bootstrap model (C chosen on document-grouped folds of the CLEF data).
BOOTSTRAP_PARAMS: dict[str, Any] = {"C": 0.1, "hints": False}
NEGATIVES_PER_POSITIVE = 3
#: Bumped whenever the model's recipe changes (features, their classes): an existing bootstrap
#: model of another recipe is retrained rather than reused. 2: ``WordTfidf`` words (3x faster
#: prediction, same features).
BOOTSTRAP_RECIPE = 2


def build_table(source: str | Path = CLEF_SOURCE, output: str | Path = BOOTSTRAP_TABLE) -> int:
    """Convert the CLEF-2019 training TSVs (``line, speaker, text, label``) into the label table."""
    source = Path(source)
    files = sorted(source.glob("*.tsv"))
    if not files:
        raise InputError("no CLEF-2019 .tsv files", path=source, hint="give data/training of the CLEF-2019 Task 1 repo")
    n = 0
    columns = ["doc_id", "line_number", "speaker", "text", "label", "clef_label"]
    with atomic_write(output) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for path in files:
            for lineno, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                parts = line.split("\t")
                if len(parts) != 4 or parts[3].strip() not in CLEF_LABELS:
                    raise InputError("expected line_number, speaker, text, label (0/1)", path=path, line=lineno)
                number, speaker, text, label = (p.strip() for p in parts)
                writer.writerow([path.stem, int(number), speaker, text, CLEF_LABELS[label], int(label)])
                n += 1
    return n


def bootstrap(
    output: str | Path = "models/bootstrap",
    schema: Schema | None = None,
    *,
    table: str | Path = BOOTSTRAP_TABLE,
    force: bool = False,
) -> dict[str, Any]:
    """Train (or reuse) the bootstrap claim model in ``output``; return its model card.

    Idempotent: an existing model trained on the same table for the same schema, with the same
    :data:`BOOTSTRAP_RECIPE`, is reused.
    """
    from annotate.labels import load_labels
    from annotate.models.store import save
    from annotate.models.train import train

    schema = schema or Schema.from_file(default_schema_path())
    output = Path(output)
    table = Path(table)
    card_path = output / "card.json"
    if card_path.exists() and not force:
        card = read_card(output)
        data = card["training_data"]
        if (
            card["schema"]["hash"] == schema.hash
            and data["hash"] == file_hash(table)
            and data.get("recipe") == BOOTSTRAP_RECIPE
        ):
            return card
    labels = load_labels(table, schema, field="claim_type")
    positive = labels["label"] == CLEF_LABELS["1"]
    negatives = labels[~positive].sample(
        n=min(int(positive.sum()) * NEGATIVES_PER_POSITIVE, int((~positive).sum())), random_state=0
    )
    sample = labels[positive | labels.index.isin(negatives.index)].reset_index(drop=True)
    sample.attrs.update(labels.attrs)
    sample.attrs["recipe"] = BOOTSTRAP_RECIPE
    sample.attrs["sampling"] = (
        f"all {int(positive.sum())} positives, {len(negatives)} of {int((~positive).sum())} negatives (seed 0)"
    )
    result = train(
        sample,
        schema,
        name="bootstrap-clef2019",
        params={"claim_type": dict(BOOTSTRAP_PARAMS)},
        hints=False,
        n_splits=3,
    )
    return save(result, output)
