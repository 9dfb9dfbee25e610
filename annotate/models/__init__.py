"""scikit-learn models for claim type and stance: build, train, store, predict.

    pipelines.py   make_claim_model(), make_stance_model(): Pipelines over a ColumnTransformer
    features.py    ClaimFeatures, PairFeatures, TargetWordTfidf: transformers for cues and pairs
    train.py       train(labels, schema) -> TrainResult (grouped CV report); train_file()
    report.py      report_html(), summary_lines(): the training report as a page and as lines
    store.py       save(TrainResult) / load(): skops files + model card; refuses untrusted or foreign models
    predict.py     predict() -> prediction records; to_predictions() -> Label Studio predictions

Submodules import scikit-learn lazily from here, so ``import annotate`` stays fast.
"""

from __future__ import annotations

from typing import Any

# ``train`` and ``predict`` are left out: they are also submodule names, and the submodule
# would shadow the function once imported. Use annotate.models.train.train and so on.
__all__ = ["make_claim_model", "make_stance_model", "save", "load", "to_predictions"]

_WHERE = {
    "make_claim_model": "pipelines",
    "make_stance_model": "pipelines",
    "save": "store",
    "load": "store",
    "to_predictions": "predict",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"annotate.models.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'annotate.models' has no attribute {name!r}")
