"""annotate: sentence-level claim and stance annotation with Label Studio and scikit-learn.

The loop, one function per stage (each also a CLI command)::

    ingest  -> sentences.jsonl       annotate.segment.ingest
    push    -> Label Studio tasks    annotate.studio.push.push
    pull    -> annotation snapshots  annotate.studio.pull.pull
    agree / resolve -> gold labels   annotate.agreement, annotate.resolve
    train / predict / suggest        annotate.models, annotate.suggest
"""

from annotate.corpus import Document, read_documents
from annotate.errors import AnnotateError, InputError, ModelError, SchemaError, StudioError
from annotate.schema import Schema
from annotate.segment import Sentence, ingest

__version__ = "0.1.0"

__all__ = [
    "AnnotateError",
    "Document",
    "InputError",
    "ModelError",
    "Schema",
    "SchemaError",
    "Sentence",
    "StudioError",
    "ingest",
    "read_documents",
]
