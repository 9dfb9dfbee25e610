"""Named presets: which model ``annotate train`` builds for a claim field and for a stance field.

A preset is the only thing a benchmark may choose beyond its loader and schema: ``annotate
bench`` trains through the same :func:`annotate.models.train.train` as ``annotate train
--preset NAME``, so the figures of the benchmarks are figures of models users can build. The
preset's name is recorded in the report and the model card.

=================  ==================================  =========================================
preset             claim field                         stance field
=================  ==================================  =========================================
default            sentence words + claim cues         words of both + pair cues + target x word
checkworthy        + char n-grams, the neighbouring    as default
                   sentences, speaker and position
stance-tweet       as default                          one SVM per target on word 1-3 and
                                                       char 2-5 grams (SemEval-2016)
stance-headline    as default                          headline words, question marks, hedging
                                                       and refuting words, overlap (Emergent)
stance-document    as default                          claim-vs-text overlap, cosines and cue
                                                       words into boosted trees (FNC-1)
=================  ==================================  =========================================

>>> sorted(PRESETS)
['checkworthy', 'default', 'stance-document', 'stance-headline', 'stance-tweet']
>>> make_model("stance-tweet", "stance").steps[-1][0]
'clf'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline

from annotate.errors import InputError
from annotate.models.pipelines import (
    make_checkworthy_model,
    make_claim_model,
    make_document_stance_model,
    make_headline_stance_model,
    make_stance_model,
    make_tweet_stance_model,
)

__all__ = ["Preset", "PRESETS", "DEFAULT_PRESET", "make_model", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """A pair of model factories, one per kind of field, with what it is for."""

    name: str
    summary: str
    claim: Callable[..., Pipeline]
    stance: Callable[..., Pipeline]
    #: a binary claim field (check-worthy or not) gets the decision threshold that maximises the F1
    #: of its check-worthy class in inner cross-validation (``TunedThresholdClassifierCV``)
    tune_threshold: bool = False

    def factory(self, kind: str) -> Callable[..., Pipeline]:
        return self.stance if kind == "stance" else self.claim


DEFAULT_PRESET = "default"

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "default",
            "fast linear models for sentences and short targets (the sample project; predict speed first)",
            make_claim_model,
            make_stance_model,
        ),
        Preset(
            "checkworthy",
            "claims among their neighbours: char n-grams, previous/next sentence, speaker, position",
            make_checkworthy_model,
            make_stance_model,
            tune_threshold=True,
        ),
        Preset(
            "stance-tweet",
            "stance of short texts toward a few fixed targets: one linear SVM per target on word and char n-grams",
            make_claim_model,
            make_tweet_stance_model,
        ),
        Preset(
            "stance-headline",
            "stance of a headline toward a claim: its words, question marks, hedges and refuting words, overlap",
            make_claim_model,
            make_headline_stance_model,
        ),
        Preset(
            "stance-document",
            "stance of a long text or a headline toward a claim: overlap, cosines and cue words into boosted trees",
            make_claim_model,
            make_document_stance_model,
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a user's mistake (one line, exit 2)."""
    if name not in PRESETS:
        raise InputError(f"unknown preset '{name}'", hint=f"use one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def make_model(preset: str, kind: str, **params: Any) -> Pipeline:
    """An unfitted model of ``preset`` for a field of ``kind`` ("claim" or "stance")."""
    return get_preset(preset).factory(kind)(**params)
