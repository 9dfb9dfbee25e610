"""annotate: sentence-level claim and stance annotation with Label Studio and scikit-learn.

The loop, one function per stage (each also a CLI command)::

    ingest            documents -> sentences.jsonl             annotate.segment.ingest
    push / pull       sentences <-> Label Studio snapshots     annotate.studio.push.push, annotate.studio.pull.pull
    agreement         how far annotators agree                 annotate.agreement.agreement
    resolve / review  gold labels, conflicts to a reviewer     annotate.resolve.resolve, annotate.review
    train / predict   scikit-learn models per schema field     annotate.models.train.train, annotate.models.predict
    suggest           what to label next                       annotate.suggest.suggest
    serve             the model live in Label Studio           annotate.serve.create_app
    match             checked already? archive claims          annotate.matching.match

The names below are imported lazily, so ``import annotate`` stays fast and a command that
never trains does not import scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from annotate.errors import AnnotateError, InputError, ModelError, SchemaError, StudioError

__version__ = "0.1.0"

_LAZY = {
    "Document": "annotate.corpus",
    "read_documents": "annotate.corpus",
    "Sentence": "annotate.segment",
    "ingest": "annotate.segment",
    "Schema": "annotate.schema",
    "connect": "annotate.studio.client",
    "push": "annotate.studio.push",
    "pull": "annotate.studio.pull",
    "order_queue": "annotate.studio.queue",
    "load_annotations": "annotate.annotations",
    "agreement": "annotate.agreement",
    "agreement_by_target": "annotate.agreement",
    "annotator_stats": "annotate.agreement",
    "resolve": "annotate.resolve",
    "review_push": "annotate.review",
    "review_pull": "annotate.review",
    "agreement_report": "annotate.agreement_report",
    "load_labels": "annotate.labels",
    "train": "annotate.models.train",
    "make_claim_model": "annotate.models.pipelines",
    "make_stance_model": "annotate.models.pipelines",
    "predict": "annotate.models.predict",
    "suggest": "annotate.suggest",
    "create_app": "annotate.serve",
    "run_benchmark": "annotate.bench.run",
    "match": "annotate.matching",
    "load_archive": "annotate.matching",
}

__all__ = ["AnnotateError", "InputError", "ModelError", "SchemaError", "StudioError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'annotate' has no attribute {name!r}")
