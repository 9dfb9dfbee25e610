"""Train one model per schema field, with document-grouped cross-validation and a report.

:func:`train` takes the tidy label table of :func:`annotate.labels.load_labels` and, for each
categorical field that has labels, fits :func:`~annotate.models.pipelines.make_claim_model` (a
single-text field) or :func:`~annotate.models.pipelines.make_stance_model` (the schema's target
field, or any field whose rows carry a target). Before the final fit on all rows it runs
``StratifiedGroupKFold`` grouped by document (``group`` column), so sentences of one article never
sit on both sides of a split, and scores the out-of-fold predictions: per-class precision, recall,
F1 and average precision, macro-F1, the confusion matrix, the class balance, and a learning curve
(the same folds, each training part cut to a fraction).

Label problems are refused with one line: a field with one class only, or a class with fewer than
``min_per_class`` labels (named policy ``on_rare_class``: ``"error"`` by default, or ``"drop"``
the class and record a warning in the report).

:func:`train_file` saves the result with :func:`annotate.models.store.save`, which writes the
report as JSON and as the page of :func:`annotate.models.report.report_html`.
"""

from __future__ import annotations

import datetime as dt
import inspect
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    make_scorer,
    precision_recall_fscore_support,
)
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, TunedThresholdClassifierCV
from sklearn.pipeline import Pipeline

from annotate.acceptance import threshold_for_precision
from annotate.errors import InputError
from annotate.labels import load_labels
from annotate.models.pipelines import FrameColumns, calibration_folds, frame
from annotate.models.presets import DEFAULT_PRESET, get_preset
from annotate.models.report import summary_lines
from annotate.models.store import FieldModel, TrainResult, save
from annotate.schema import Schema

# TrainResult and FieldModel live in store, which writes them (and must not import this module)
__all__ = ["FieldModel", "TrainResult", "TrainSummary", "train", "train_file", "LIBRARIES"]

LIBRARIES = ("annotate", "scikit-learn", "numpy", "scipy", "pandas", "skops")
RARE_CLASS_POLICIES = ("error", "drop")  # refuse a class below min_per_class, or drop its rows
_LEARNING_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "unknown"
    return out


def train(
    labels: pd.DataFrame,
    schema: Schema,
    *,
    name: str = "model",
    fields: list[str] | None = None,
    n_splits: int = 5,
    min_per_class: int = 5,
    on_rare_class: str = "error",
    hints: bool | str = "auto",
    params: dict[str, dict[str, Any]] | None = None,
    learning_curve: bool = True,
    random_state: int = 0,
    preset: str = DEFAULT_PRESET,
    evaluate: bool = True,
) -> TrainResult:
    """Fit and cross-validate one model per field of ``labels``.

    Parameters
    ----------
    labels : the table of :func:`annotate.labels.load_labels` (columns ``text``, ``target``,
        ``field``, ``label``, ``group``, hints...). ``labels.attrs`` (path, data_hash) goes into
        the model card.
    schema : the schema the labels were checked against; its hash is recorded.
    name : model name; with the content hash it makes the ``model_version`` of predictions.
    fields : train only these fields (default: every field with labels).
    n_splits : folds of the grouped cross-validation (fewer if there are fewer documents).
    min_per_class : fewest labels a class may have.
    on_rare_class : ``"error"`` (default) refuses a class below ``min_per_class``; ``"drop"``
        leaves its rows out and records a warning in the report.
    hints : claim model reads speaker / position / in_quote: ``True``, ``False``, or ``"auto"``
        (when any row has a speaker or a non-zero position).
    params : keyword arguments per field for the preset's factory (``make_claim_model`` ...).
    learning_curve : also fit on 25/50/75% of every training fold (four times the CV cost).
    preset : which models to build (:data:`annotate.models.presets.PRESETS`), recorded in the
        report and the model card.
    evaluate : run the grouped cross-validation and the baselines (False: only the final fit,
        as ``annotate bench`` does, which scores its own held-out split).
    """
    if on_rare_class not in RARE_CLASS_POLICIES:
        raise InputError(
            f"unknown rare-class policy '{on_rare_class}'", hint="use --on-rare-class error or --on-rare-class drop"
        )
    chosen = get_preset(preset)
    source = labels.attrs.get("path", "<labels>")
    if labels.empty:
        raise InputError("no labels to train on", path=source, hint="label some sentences first")
    wanted = fields or list(dict.fromkeys(labels["field"]))
    models: dict[str, FieldModel] = {}
    for fname in wanted:
        rows = labels[labels["field"] == fname].reset_index(drop=True)
        if rows.empty:
            raise InputError(f"no labels for field '{fname}'", path=source, hint="label it, or train other fields")
        f = schema.field(fname)
        # the schema's target field; without one (benchmark schemas), any field whose rows have targets
        stance = fname == schema.target_field if schema.target_field else bool(rows["target"].notna().any())
        rows, warnings = _check_classes(rows, fname, source, min_per_class, on_rare_class)
        use_hints = (
            bool(rows["speaker"].astype(bool).any() or rows["position"].astype(float).gt(0).any())
            if hints == "auto"
            else bool(hints)
        )
        kwargs = dict((params or {}).get(fname, {}))
        kind = "stance" if stance else "claim"
        make = chosen.factory(kind)
        if "hints" in inspect.signature(make).parameters:
            kwargs.setdefault("hints", use_hints)
        X = frame(rows, stance=stance)
        y = rows["label"].to_numpy()
        order = [v for v in f.values if v in set(y)]
        key, _ = key_classes(order, kind)
        if chosen.tune_threshold and kind == "claim" and len(order) == 2 and len(key) == 1:
            make = _tuned_threshold(make, key[0])
        if evaluate:
            report = _cross_validate(make, kwargs, X, rows, y, order, n_splits, learning_curve, random_state, kind)
        else:
            report = _unevaluated(y, order)
        report.update(kind=kind, preset=chosen.name, params=_jsonable(kwargs), warnings=warnings + report["warnings"])
        final = make(**kwargs)
        _set_calibration_cv(final, y)
        final.fit(X, y)
        models[fname] = FieldModel(fname, "stance" if stance else "claim", final, order, _jsonable(kwargs), report)
    return TrainResult(
        labels=labels,
        name=name,
        schema_hash=schema.hash,
        schema_path=schema.path,
        schema_xml=schema.xml,
        schema_targets=schema.targets_text,
        models=models,
        data={
            "path": source,
            "hash": labels.attrs.get("data_hash", ""),
            "rows": len(labels),
            "skipped": labels.attrs.get("skipped", 0),
            **{key: labels.attrs[key] for key in ("sampling", "recipe") if key in labels.attrs},
        },
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        libraries=library_versions(),
    )


def _check_classes(
    rows: pd.DataFrame, fname: str, source: str, min_per_class: int, on_rare_class: str
) -> tuple[pd.DataFrame, list[str]]:
    warnings: list[str] = []
    counts = rows["label"].value_counts()
    rare = counts[counts < min_per_class]
    if len(rare) and on_rare_class == "drop":
        warnings.append(
            f"dropped rare classes (fewer than {min_per_class} labels): "
            + ", ".join(f"{k} ({v})" for k, v in rare.items())
        )
        rows = rows[~rows["label"].isin(rare.index)].reset_index(drop=True)
        counts = rows["label"].value_counts()
        rare = rare.iloc[:0]
    if len(counts) < 2:
        only = f"'{counts.index[0]}', {counts.iloc[0]} labels" if len(counts) else "none left"
        raise InputError(
            f"field '{fname}' has one class only ({only}); a classifier needs at least two",
            path=source,
            hint="label examples of the other classes",
        )
    if len(rare):
        label, n = rare.index[0], int(rare.iloc[0])
        raise InputError(
            f"class '{label}' of field '{fname}' has {n} label{'s' if n != 1 else ''}; "
            f"each class needs at least {min_per_class}",
            path=source,
            hint="label more examples of it, or drop rare classes (--on-rare-class drop)",
        )
    return rows, warnings


def _set_calibration_cv(model: Pipeline, y: np.ndarray) -> None:
    """Calibration folds: at most the model's ``cv``, at least 2, never more than the rarest class.

    Models without internal folds (boosted trees) are left as they are.
    """
    smallest = int(pd.Series(y).value_counts().min())
    for key, cv in model.get_params().items():
        if key != "clf__cv" and not key.endswith("__clf__cv"):
            continue  # the calibration folds of a model, or of each member of an ensemble
        k = cv if isinstance(cv, int) else getattr(cv, "n_splits", None)
        if k is not None:
            model.set_params(**{key: calibration_folds(max(2, min(k, smallest)))})


def _fit(make, kwargs: dict[str, Any], X: pd.DataFrame, y: np.ndarray) -> Pipeline | None:
    # A fold's training part may hold a class only once (grouped folds split documents, not
    # labels): leave such a class out of that fit; its probability is then 0 in that fold.
    keep = pd.Series(y).map(pd.Series(y).value_counts()).to_numpy() >= 2
    if len(set(y[keep])) < 2:
        return None
    model = make(**kwargs)
    _set_calibration_cv(model, y[keep])
    return model.fit(X[keep], y[keep])


def _proba(model: Pipeline | None, X: pd.DataFrame, order: list[str]) -> np.ndarray:
    out = np.zeros((len(X), len(order)))
    if model is None:
        return out
    p = model.predict_proba(X)
    for j, c in enumerate(model.classes_):
        out[:, order.index(c)] = p[:, j]
    return out


def _cross_validate(
    make,
    kwargs: dict[str, Any],
    X: pd.DataFrame,
    rows: pd.DataFrame,
    y: np.ndarray,
    order: list[str],
    n_splits: int,
    learning_curve: bool,
    random_state: int,
    kind: str = "claim",
) -> dict[str, Any]:
    warnings: list[str] = []
    groups = rows["group"].fillna(rows["sentence_id"]).fillna(pd.Series(rows.index.astype(str)))
    n_groups = groups.nunique()
    smallest = int(pd.Series(y).value_counts().min())
    grouped = n_groups >= 2
    if grouped:
        k = max(2, min(n_splits, n_groups))
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
        splits = list(splitter.split(X, y, groups))
    else:
        k = max(2, min(n_splits, smallest))
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
        splits = list(splitter.split(X, y))
        warnings.append("all labels come from one document: folds are not grouped by document")
    if grouped and n_groups < n_splits:
        warnings.append(f"only {n_groups} documents: {k}-fold instead of {n_splits}-fold cross-validation")
    rng = np.random.default_rng(random_state)
    fractions = _LEARNING_FRACTIONS if learning_curve else (1.0,)
    curve: dict[float, list[tuple[int, float]]] = {fr: [] for fr in fractions}
    oof = np.zeros((len(X), len(order)))
    baseline_pred = {name: np.empty(len(X), dtype=object) for name in BASELINES}
    for train_idx, test_idx in splits:
        for name, build in BASELINES.items():
            baseline_pred[name][test_idx] = build(kind).fit(X.iloc[train_idx], y[train_idx]).predict(X.iloc[test_idx])
        for fr in fractions:
            idx = train_idx if fr == 1.0 else np.sort(rng.choice(train_idx, int(len(train_idx) * fr), replace=False))
            model = _fit(make, kwargs, X.iloc[idx], y[idx])
            p = _proba(model, X.iloc[test_idx], order)
            pred = np.array(order)[p.argmax(axis=1)]
            curve[fr].append((len(idx), f1_score(y[test_idx], pred, labels=order, average="macro", zero_division=0)))
            if fr == 1.0:
                oof[test_idx] = p
    pred = np.array(order)[oof.argmax(axis=1)]
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=order, zero_division=0)
    per_class = {}
    for j, c in enumerate(order):
        per_class[c] = {
            "precision": round(float(prec[j]), 4),
            "recall": round(float(rec[j]), 4),
            "f1": round(float(f1[j]), 4),
            "support": int(support[j]),
            "average_precision": round(float(average_precision_score(y == c, oof[:, j])), 4),
        }
    key, key_name = key_classes(order, kind)
    model_key = _key_f1(y, pred, order, key)
    baselines = {
        name: {
            "macro_f1": round(float(f1_score(y, p, labels=order, average="macro", zero_division=0)), 4),
            "key_f1": _key_f1(y, p, order, key),
        }
        for name, p in baseline_pred.items()
    }
    plain = baselines["tfidf_logreg"]
    if model_key <= plain["key_f1"] or np.mean(f1) <= plain["macro_f1"]:
        warnings.append(
            f"does not beat the plain TF-IDF + logistic regression baseline ({key_name} {model_key:.3f} vs "
            f"{plain['key_f1']:.3f}, macro-F1 {np.mean(f1):.3f} vs {plain['macro_f1']:.3f}): "
            "label more, or try another --preset; too weak to pre-annotate"
        )
    return {
        "n": len(y),
        "labels": order,
        "prefill": _prefill(oof.max(axis=1), pred, y, order),
        "key_metric": {"name": key_name, "classes": key, "model": model_key},
        "baselines": baselines,
        "class_balance": {c: int((y == c).sum()) for c in order},
        "cv": {"n_splits": k, "grouped": grouped, "n_groups": int(n_groups), "random_state": random_state},
        "metrics": {
            "macro_f1": round(float(np.mean(f1)), 4),
            "accuracy": round(float((pred == y).mean()), 4),
            "per_class": per_class,
        },
        "confusion_matrix": {
            "labels": order,
            "matrix": confusion_matrix(y, pred, labels=order).tolist(),
            "rows": "gold",
            "columns": "predicted",
        },
        "learning_curve": [
            {
                "fraction": fr,
                "n_train": int(np.mean([n for n, _ in curve[fr]])),
                "macro_f1_mean": round(float(np.mean([s for _, s in curve[fr]])), 4),
                "macro_f1_std": round(float(np.std([s for _, s in curve[fr]])), 4),
            }
            for fr in fractions
        ],
        "warnings": warnings,
    }


#: the precision a pre-filled label should have: an annotator who finds one wrong label in ten
#: still reads the pre-annotations critically, and is spared the other nine
PREFILL_PRECISION = 0.9


def _prefill(confidence: np.ndarray, pred: np.ndarray, gold: np.ndarray, order: list[str]) -> dict[str, Any]:
    """Per predicted label, the lowest score at which the out-of-fold predictions of that label were
    right :data:`PREFILL_PRECISION` of the time (None: no score gets there, never pre-fill it), and
    what pre-filling from those scores did in CV. ``push --min-score auto`` reads them.

    Per label, not per field: on CLEF-2019 a 90%-precise gate for claim type as a whole lets every
    prediction through (98% of sentences are rightly "not check-worthy") while the "check-worthy"
    pre-fills stay mostly wrong (docs/active_learning.md). Each label has to earn it on its own.
    """
    thresholds: dict[str, float | None] = {}
    filled = np.zeros(len(pred), dtype=bool)
    for label in order:
        mine = pred == label
        # at least 10 pre-filled predictions of the label, so that a few lucky ones do not set the bar
        t = threshold_for_precision(confidence[mine], gold[mine] == label, PREFILL_PRECISION, min_prefilled=10)
        thresholds[label] = None if t is None else round(t, 4)
        if t is not None:
            filled |= mine & (confidence >= t)
    right = filled & (pred == gold)
    return {
        "precision_target": PREFILL_PRECISION,
        "min_score": thresholds,
        "prefilled": round(float(filled.mean()), 4) if len(pred) else 0.0,
        "precision": round(float(right.sum() / filled.sum()), 4) if filled.any() else None,
    }


def _tuned_threshold(make, positive: str):
    """``make`` wrapped so that ``predict`` uses the threshold that maximises the F1 of ``positive``.

    The default threshold of calibrated probabilities (0.5) suits accuracy; a rare class (28.6% of
    ClaimBuster's sentences, 2.7% of CLEF-2019's) is found with a lower one. The threshold is
    chosen by cross-validation inside the training data (scikit-learn's
    ``TunedThresholdClassifierCV``); ``predict_proba`` is the calibrated model's, unchanged.
    """

    def build(**params: Any) -> TunedThresholdClassifierCV:
        return TunedThresholdClassifierCV(
            make(**params), scoring=make_scorer(f1_score, pos_label=positive), cv=calibration_folds(3)
        )

    return build


def _majority(kind: str) -> Pipeline:
    return Pipeline([("columns", FrameColumns(("text",))), ("clf", DummyClassifier(strategy="most_frequent"))])


def _tfidf_logreg(kind: str) -> Pipeline:
    # Label Studio's scikit-learn example backend: TF-IDF of the text into logistic regression.
    # For a stance field the target's words go in beside the text's, as the one model sees
    # every target.
    cols: list[tuple[str, Any, Any]] = [("text", TfidfVectorizer(), "text")]
    if kind == "stance":
        cols.append(("target", TfidfVectorizer(), "target"))
    return Pipeline(
        [
            ("columns", FrameColumns(("target", "text") if kind == "stance" else ("text",))),
            ("features", ColumnTransformer(cols)),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )


#: The baselines every training report compares the model with, under the same folds.
BASELINES = {"majority": _majority, "tfidf_logreg": _tfidf_logreg}

_STANCE_KEYS = {"favor", "favour", "for", "against", "agree", "disagree", "support", "oppose"}


def key_classes(labels: list[str], kind: str) -> tuple[list[str], str]:
    """The classes whose F1 matters most for a field, and the name of that score.

    A claim field: its check-worthy class ("F1 check-worthy"); a stance field: the classes that
    take a side, favor and against ("F1 favor/against", the mean of their F1s, as SemEval-2016
    scores). Otherwise, or when those classes are absent: every class (macro-F1).
    """
    if kind == "stance":
        key = [c for c in labels if c.strip().lower() in _STANCE_KEYS]
        if key:
            return key, "F1 " + "/".join(key)
    else:
        key = [c for c in labels if "check" in c.lower() and "worthy" in c.lower() and not c.lower().startswith("not")]
        if key:
            return key[:1], f"F1 {key[0]}"
    return list(labels), "macro-F1"


def _key_f1(y: np.ndarray, pred: np.ndarray, order: list[str], key: list[str]) -> float:
    f1 = f1_score(y, pred, labels=key, average=None, zero_division=0)
    return round(float(np.mean(f1)), 4)


def _unevaluated(y: np.ndarray, order: list[str]) -> dict[str, Any]:
    """The report of a model trained without cross-validation (``evaluate=False``)."""
    return {
        "n": len(y),
        "labels": order,
        "class_balance": {c: int((y == c).sum()) for c in order},
        "cv": None,
        "metrics": {"macro_f1": None, "accuracy": None, "per_class": {}},
        "warnings": ["not cross-validated (evaluate=False): scored elsewhere"],
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class TrainSummary:
    """What :func:`train_file` did; ``str()`` is what ``annotate train`` prints."""

    output: Path
    card: dict[str, Any]  # as written to card.json
    report: dict[str, Any]  # as written to report.json

    @property
    def model_version(self) -> str:
        return str(self.card["model_version"])

    def __str__(self) -> str:
        return "\n".join(summary_lines(self.card, self.report, self.output))


def train_file(
    labels: str | Path,
    schema: Schema,
    output: str | Path,
    *,
    sentences: str | Path | None = None,
    field: str | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> TrainSummary:
    """Load a label table, :func:`train`, save to the folder ``output``; return what was written.

    ``name`` defaults to the folder name; ``kwargs`` go to :func:`train`.
    """
    output = Path(output)
    df = load_labels(labels, schema, field=field, sentences=sentences)
    result = train(df, schema, name=name or output.name, **kwargs)
    return TrainSummary(output, save(result, output), result.report)
