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
"""

from __future__ import annotations

import datetime as dt
import html
import inspect
import json
import platform
from dataclasses import dataclass, field
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

from annotate.errors import InputError
from annotate.models.pipelines import FrameColumns, calibration_folds, frame
from annotate.models.presets import DEFAULT_PRESET, get_preset
from annotate.schema import Schema

__all__ = ["FieldModel", "TrainResult", "train", "train_file", "summary_lines", "report_html", "LIBRARIES"]

LIBRARIES = ("annotate", "scikit-learn", "numpy", "scipy", "pandas", "skops")
RARE_CLASS_POLICIES = ("error", "drop")  # refuse a class below min_per_class, or drop its rows
_LEARNING_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


@dataclass
class FieldModel:
    """A fitted pipeline for one field, with what is needed to rebuild and judge it."""

    field: str
    kind: str  # "claim" | "stance"
    estimator: Pipeline
    labels: list[str]
    params: dict[str, Any]
    report: dict[str, Any]


@dataclass
class TrainResult:
    """Everything :func:`annotate.models.store.save` writes: models, report and card metadata."""

    name: str
    schema_hash: str
    schema_path: str
    models: dict[str, FieldModel]
    data: dict[str, Any]
    created: str
    libraries: dict[str, str] = field(default_factory=dict)
    #: the schema's config and targets file, written into the model folder so it travels with it
    schema_xml: str = ""
    schema_targets: str | None = None
    #: the label table the models learned from, kept in the folder (``training_labels.jsonl``)
    labels: Any = None

    @property
    def report(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created": self.created,
            "schema": {"path": self.schema_path, "hash": self.schema_hash},
            "data": self.data,
            "libraries": self.libraries,
            "fields": {name: m.report for name, m in self.models.items()},
        }


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


# --- HTML --------------------------------------------------------------------------------


def report_html(report: dict[str, Any], card: dict[str, Any] | None = None) -> str:
    """A self-contained HTML page (no scripts, no external assets) for a training report."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>annotate model {e(report['name'])}</title>",
        "<style>body{font:14px/1.4 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th:first-child,td:first-child{text-align:left}.warn{color:#a40}</style></head><body>",
        f"<h1>Model {e(report['name'])}</h1>",
        f"<p>Trained {e(report['created'])} on {e(str(report['data']['path']))} "
        f"({report['data']['rows']} labels, data hash {e(str(report['data']['hash']))}); "
        f"schema {e(report['schema']['path'])} (hash {e(report['schema']['hash'])})"
        + (f"; model version <b>{e(card['model_version'])}</b>" if card else "")
        + ".</p>",
    ]
    for fname, r in report["fields"].items():
        cv = r["cv"]
        parts.append(f"<h2>{e(fname)} ({e(r['kind'])} model)</h2>")
        for w in r["warnings"]:
            parts.append(f"<p class='warn'>Warning: {e(w)}</p>")
        if cv is None:
            parts.append(
                f"<p>{r['n']} labels; not cross-validated.</p><p>Parameters: <code>{e(str(r['params']))}</code></p>"
            )
            continue
        parts.append(
            f"<p>{r['n']} labels; {cv['n_splits']}-fold cross-validation, "
            f"{'grouped by document (' + str(cv['n_groups']) + ' documents)' if cv['grouped'] else 'not grouped'}. "
            f"Macro-F1 <b>{r['metrics']['macro_f1']:.3f}</b>, accuracy {r['metrics']['accuracy']:.3f} "
            "(out-of-fold predictions).</p>"
        )
        parts.append(_baselines_html(r))
        parts.append(
            "<table><tr><th>class</th><th>labels</th><th>precision</th><th>recall</th><th>F1</th><th>AP</th></tr>"
        )
        for c, m in r["metrics"]["per_class"].items():
            parts.append(
                f"<tr><td>{e(c)}</td><td>{m['support']}</td><td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td>"
                f"<td>{m['f1']:.3f}</td><td>{m['average_precision']:.3f}</td></tr>"
            )
        parts.append("</table><h3>Confusion matrix (rows gold, columns predicted)</h3><table><tr><th></th>")
        labels = r["confusion_matrix"]["labels"]
        parts.extend(f"<th>{e(c)}</th>" for c in labels)
        parts.append("</tr>")
        for c, row in zip(labels, r["confusion_matrix"]["matrix"], strict=True):
            parts.append(f"<tr><td>{e(c)}</td>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>")
        parts.append("</table><h3>Learning curve</h3>")
        parts.append(_curve_svg(r["learning_curve"]))
        parts.append("<table><tr><th>training labels</th><th>macro-F1</th><th>std</th></tr>")
        for p in r["learning_curve"]:
            parts.append(
                f"<tr><td>{p['n_train']}</td><td>{p['macro_f1_mean']:.3f}</td><td>{p['macro_f1_std']:.3f}</td></tr>"
            )
        parts.append(f"</table><p>Parameters: <code>{e(str(r['params']))}</code></p>")
    parts.append(f"<h2>Libraries</h2><p><code>{e(str(report['libraries']))}</code></p></body></html>")
    return "\n".join(parts)


def _baselines_html(r: dict[str, Any]) -> str:
    """The model beside the majority and plain TF-IDF + logistic-regression baselines (same folds)."""
    if "baselines" not in r:
        return ""
    key = html.escape(r["key_metric"]["name"])
    rows = [
        f"<h3>Beside the baselines (same folds)</h3><table><tr><th>model</th><th>{key}</th><th>macro-F1</th></tr>",
        f"<tr><td><b>this model</b> (preset {html.escape(r.get('preset', DEFAULT_PRESET))})</td>"
        f"<td><b>{r['key_metric']['model']:.3f}</b></td><td><b>{r['metrics']['macro_f1']:.3f}</b></td></tr>",
    ]
    names = {"tfidf_logreg": "TF-IDF + logistic regression (Label Studio's example)", "majority": "majority class"}
    for name, b in r["baselines"].items():
        label = html.escape(names.get(name, name))
        rows.append(f"<tr><td>{label}</td><td>{b['key_f1']:.3f}</td><td>{b['macro_f1']:.3f}</td></tr>")
    return "".join(rows) + "</table>"


def _curve_svg(points: list[dict[str, Any]], width: int = 360, height: int = 180) -> str:
    if not points:
        return ""
    pad = 30
    xs = [p["n_train"] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1

    def sx(v: float) -> float:
        return pad + (v - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(v: float) -> float:
        return height - pad - v * (height - 2 * pad)

    line = " ".join(f"{sx(p['n_train']):.1f},{sy(p['macro_f1_mean']):.1f}" for p in points)
    dots = "".join(f"<circle cx='{sx(p['n_train']):.1f}' cy='{sy(p['macro_f1_mean']):.1f}' r='3'/>" for p in points)
    return (
        f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg' role='img' "
        "aria-label='macro-F1 by number of training labels'>"
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' stroke='#888'/>"
        f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{height - pad}' stroke='#888'/>"
        f"<text x='2' y='{pad}' font-size='10'>1.0</text><text x='2' y='{height - pad}' font-size='10'>0.0</text>"
        f"<text x='{width // 2 - 40}' y='{height - 5}' font-size='10'>training labels</text>"
        f"<polyline fill='none' stroke='#2f54eb' stroke-width='2' points='{line}'/>{dots}</svg>"
    )


def train_file(
    labels: str | Path,
    schema: Schema,
    output: str | Path,
    *,
    sentences: str | Path | None = None,
    field: str | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Load a label table, :func:`train`, save to the folder ``output``; return the model card.

    ``name`` defaults to the folder name; ``kwargs`` go to :func:`train`.
    """
    from annotate.labels import load_labels
    from annotate.models.store import save

    output = Path(output)
    df = load_labels(labels, schema, field=field, sentences=sentences)
    result = train(df, schema, name=name or output.name, **kwargs)
    return save(result, output)


def summary_lines(card: dict[str, Any], output: str | Path) -> list[str]:
    """What ``annotate train`` prints: one line per field, then where the report is."""
    lines = [f"model {card['model_version']} -> {output}"]
    report = json.loads((Path(output) / "report.json").read_text("utf-8"))
    for fname, f in card["fields"].items():
        r = report["fields"][fname]
        preset = r.get("preset", DEFAULT_PRESET)
        line = f"  {fname} ({f['kind']}, preset {preset}): {f['n']} labels, {len(f['labels'])} classes"
        if r.get("cv") is not None:
            line += f", CV macro-F1 {f['macro_f1']:.3f}"
        if "baselines" in r:
            k, plain = r["key_metric"], r["baselines"]["tfidf_logreg"]
            line += (
                f", {k['name']} {k['model']:.3f} (TF-IDF + LR baseline {plain['key_f1']:.3f}, "
                f"majority {r['baselines']['majority']['key_f1']:.3f})"
            )
        lines.append(line)
    for fname, r in report["fields"].items():
        lines.extend(f"  warning ({fname}): {w}" for w in r["warnings"])
    lines.append(f"  report: {Path(output) / 'report.html'}")
    return lines
