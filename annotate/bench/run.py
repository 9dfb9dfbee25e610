"""Train the project's model for a public benchmark and score it with the official metric.

    >>> from annotate.bench.run import run_benchmark
    >>> r = run_benchmark("emergent", "url-versions-2015-06-14-clean-train.csv", fast=True)  # doctest: +SKIP
    >>> r.metric, r.evaluation  # doctest: +SKIP
    ('accuracy', 'dev split (20% of claims held out of the training file; not the official test split)')

With ``test`` the model is trained on all of ``train`` and scored on ``test`` (the official test
layout). Without it, a dev split is carved from ``train``: grouped by claim (Emergent), by body
(FNC-1), by debate (CLEF-2019), stratified per target (SemEval-2016); with ``folds`` k-fold
cross-validation on the same units replaces the single split. The result says which in
``evaluation``. ClaimBuster has no official split: ``train`` alone runs its 4-fold
cross-validation. ``fast`` subsamples the training data (CI smoke runs: the figures are then
not comparable with the published ones).

Every benchmark trains through :func:`annotate.models.train.train`, the code behind ``annotate
train``, with the benchmark's schema (``schemas/bench_*.xml``) and one named preset
(``Benchmark.preset``); nothing else differs from a user's project.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from annotate.bench import clef2020, loaders, scorers
from annotate.errors import InputError
from annotate.models.pipelines import CLAIM_HINTS, CONTEXT, frame
from annotate.models.train import train
from annotate.schema import Schema

__all__ = ["BENCHMARKS", "Benchmark", "BenchResult", "run_benchmark", "run_all", "results_table"]

DEV_FRACTION = 0.2
SEED = 0


@dataclass(frozen=True)
class Benchmark:
    """What a benchmark needs: its loader, metric, published anchor and where its data sits."""

    name: str
    title: str
    metric: str
    unit: str
    load: Callable[[str | Path], pd.DataFrame]
    data: str  # training file or folder, relative to the data directory
    target: float  # the goal on the official test split
    anchor: str  # best published figure on the official test split
    split: str  # how the dev split is carved
    preset: str  # the model preset (annotate train --preset) the benchmark trains


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(
            "semeval2016",
            "SemEval-2016 Task 6 A",
            "F_avg",
            "0-100",
            loaders.load_semeval2016,
            "semeval2016_stance/semeval2016-task6-trainingdata.txt",
            70.0,
            "68.98 (SVM-ngrams baseline); best team 67.82",
            "20% of tweets, stratified per target and label",
            "stance-tweet",
        ),
        Benchmark(
            "fnc1",
            "FNC-1",
            "relative weighted score",
            "%",
            loaders.load_fnc1,
            "fnc1/train_stances.csv",
            82.0,
            "82.02 (SOLAT, 1st); baseline 75.20",
            "20% of topics: headlines and bodies both unseen, unrelated pairs topped up to 73%",
            "stance-document",
        ),
        Benchmark(
            "emergent",
            "Emergent",
            "accuracy",
            "0-1",
            loaders.load_emergent,
            "emergent/url-versions-2015-06-14-clean-train.csv",
            0.75,
            "0.733 (Ferreira & Vlachos LR)",
            "20% of claims",
            "stance-headline",
        ),
        Benchmark(
            "clef2019",
            "CLEF-2019 CheckThat! T1",
            "MAP",
            "0-1",
            loaders.load_clef2019,
            "clef2019_checkthat_task1/data/training",
            0.17,
            "0.166 (Copenhagen, 1st)",
            "20% of debates",
            "checkworthy",
        ),
        Benchmark(
            "claimbuster",
            "ClaimBuster",
            "F1 (check-worthy)",
            "0-1",
            loaders.load_claimbuster,
            "claimbuster/kfold_25ncs.csv",
            float("nan"),
            "to be measured",
            "4-fold stratified CV",
            "checkworthy",
        ),
        Benchmark(
            "clef2020-t2",
            "CLEF-2020 CheckThat! T2",
            "MAP@5",
            "0-1",
            clef2020.load_clef2020_t2,
            "clef2020_checkthat_task2",
            0.93,
            "0.929 (Buster.ai, 1st; fine-tuned transformers)",
            "the official dev split (dev/); re-ranker trained on train/",
            "",  # no preset: annotate.matching's re-ranker (run_clef2020_t2)
        ),
    )
}

# fast=True: how much training data a smoke run keeps
_FAST_ROWS = {"semeval2016": 1200, "emergent": 2071, "claimbuster": 4000}
_FAST_GROUPS = {"fnc1": 250, "clef2019": 8}
_UNITS = {
    "semeval2016": "tweets",
    "fnc1": "by body",
    "emergent": "by claim",
    "clef2019": "by debate",
    "claimbuster": "sentences",
    "clef2020-t2": "tweets",
}


def _benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise InputError(f"unknown benchmark '{name}'", hint=f"use one of: {', '.join(BENCHMARKS)}, all")
    return BENCHMARKS[name]


def _load_test(bench: Benchmark, test: str | Path) -> pd.DataFrame:
    df = bench.load(test)
    if (df["label"] == "").any():
        raise InputError(
            "the test file has rows without gold labels",
            path=test,
            hint="give the labelled (gold) test file to score against",
        )
    return df


def _subsample(name: str, df: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    if name in _FAST_GROUPS:
        groups = df["group"].unique()
        if len(groups) > _FAST_GROUPS[name]:
            keep = set(rng.choice(groups, _FAST_GROUPS[name], replace=False))
            df = df[df["group"].isin(keep)]
    elif len(df) > _FAST_ROWS.get(name, len(df)):
        df = df.iloc[np.sort(rng.choice(len(df), _FAST_ROWS[name], replace=False))]
    return df.reset_index(drop=True)


def _dev_split(name: str, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A dev split built to imitate the benchmark's official test split (see ``Benchmark.split``)."""
    if name == "semeval2016":
        tr, te = train_test_split(
            df, test_size=DEV_FRACTION, stratify=df["target"] + "|" + df["label"], random_state=SEED
        )
        return tr.sort_index(), te.sort_index()
    if df["group"].nunique() < 2:
        raise InputError(
            f"a dev split needs at least 2 groups ({'debates' if name == 'clef2019' else 'groups'}), got 1",
            hint="give more training data, or a --test file",
        )
    if name == "fnc1":
        return fnc1_topic_split(df, DEV_FRACTION, SEED)
    splitter = GroupShuffleSplit(n_splits=1, test_size=DEV_FRACTION, random_state=SEED)
    tr_i, te_i = next(splitter.split(df, groups=df["group"]))
    return df.iloc[np.sort(tr_i)], df.iloc[np.sort(te_i)]


def _stories(df: pd.DataFrame) -> tuple[pd.Index, pd.Index, np.ndarray]:
    """FNC-1's stories: the connected components of the headline-body graph of related pairs.

    Related pairs (agree, disagree, discuss) link a headline to a body about the same story.
    Returns the distinct headlines, the distinct bodies, and the component of each (headlines
    first, then bodies).
    """
    heads = pd.Index(df["target"].unique())
    bodies = pd.Index(df["group"].unique())
    related = df[df["label"] != "Unrelated"]
    hi = heads.get_indexer(related["target"])
    bi = bodies.get_indexer(related["group"]) + len(heads)
    n = len(heads) + len(bodies)
    _, component = connected_components(sp.coo_matrix((np.ones(len(hi)), (hi, bi)), shape=(n, n)), directed=False)
    return heads, bodies, component


def fnc1_topic_split(
    df: pd.DataFrame, fraction: float = DEV_FRACTION, seed: int = SEED, unrelated_share: float = 0.73
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and dev pairs of FNC-1 whose headlines and bodies are disjoint, as in the test split.

    FNC-1's test split shares no headline and no body with its training split; a dev split that
    only holds bodies out (the old protocol here) scored 90.4 where the test gave 76.6.

    ``fraction`` of the stories (:func:`_stories`) go to dev with every pair whose headline
    and body are both theirs; pairs that cross the two sides are dropped. Unrelated pairs mostly
    cross stories, so dev is topped up with new unrelated pairs (a dev headline with a dev body
    of another story, the way FNC-1 made its unrelated pairs) to ``unrelated_share`` of its
    pairs, the share in the official splits; otherwise the weighted score would mean something
    else than on the test split.
    """
    heads, bodies, component = _stories(df)
    rng = np.random.default_rng(seed)
    stories = np.unique(component)
    dev_stories = rng.choice(stories, max(1, int(len(stories) * fraction)), replace=False)
    dev_node = np.isin(component, dev_stories)
    head_dev = dev_node[heads.get_indexer(df["target"])]
    body_dev = dev_node[bodies.get_indexer(df["group"]) + len(heads)]
    train, dev = df[~head_dev & ~body_dev], df[head_dev & body_dev]
    n_related = int((dev["label"] != "Unrelated").sum())
    wanted = int(round(n_related * unrelated_share / (1 - unrelated_share))) - int((dev["label"] == "Unrelated").sum())
    story = dict(zip(heads, component[: len(heads)], strict=True)) | dict(
        zip(bodies, component[len(heads) :], strict=True)
    )
    dev_heads = dev["target"].unique()
    dev_bodies = dev.drop_duplicates("group")
    seen = set(zip(dev["target"], dev["group"], strict=True))
    extra = []
    for _ in range(50 * max(wanted, 0)):
        if len(extra) >= wanted:
            break
        h = dev_heads[rng.integers(len(dev_heads))]
        body = dev_bodies.iloc[rng.integers(len(dev_bodies))]
        if story[h] == story[body["group"]] or (h, body["group"]) in seen:
            continue
        seen.add((h, body["group"]))
        extra.append({**body.to_dict(), "target": h, "label": "Unrelated", "raw_label": "unrelated"})
    if extra:
        dev = pd.concat([dev, pd.DataFrame(extra, columns=dev.columns)], ignore_index=True)
    return train.reset_index(drop=True), dev.reset_index(drop=True)


def _labels(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """A benchmark table as the label table ``annotate train`` reads (one field, the schema's)."""
    field = loaders.SCHEMAS[name][1]
    out = df.reset_index(drop=True).copy()
    out["field"] = field
    out["sentence_id"] = out.get("id", pd.Series(range(len(out)))).astype(str)
    if not (out["target"].astype(str) != "").any():
        out["target"] = None  # a single-text field (check-worthiness): no target
    for col, default in {**CLAIM_HINTS, **CONTEXT}.items():  # the optional columns a model may read
        if col not in out:
            out[col] = default
    out.attrs.update(path=f"<{name} training data>", data_hash="")
    return out


def _fit(name: str, train_df: pd.DataFrame):
    """The benchmark's model, trained by :func:`annotate.models.train.train` with its preset."""
    bench = BENCHMARKS[name]
    schema = Schema.from_file(loaders.schema_path(name))
    result = train(_labels(name, train_df), schema, name=name, preset=bench.preset, evaluate=False)
    return result.models[loaders.SCHEMAS[name][1]].estimator


def _score(name: str, test: pd.DataFrame, model) -> dict[str, Any]:
    """The official metric (``score``) and diagnostics for one fitted model on ``test``."""
    gold = test["label"].tolist()
    X = frame(_labels(name, test), stance=name not in ("clef2019", "claimbuster"))
    if name in ("clef2019", "claimbuster"):
        y = (test["label"] == "Check-worthy").astype(int).to_numpy()
        scores = model.predict_proba(X)[:, list(model.classes_).index("Check-worthy")]
        if name == "claimbuster":
            pred = (model.predict(X) == "Check-worthy").astype(int)
            return {"score": scorers.binary_f1(y, pred)}
        r = scorers.clef_scores(test["group"].tolist(), y, scores)
        return {
            "score": r["map"],
            "r_precision": r["r_precision"],
            "p_at_10": r["p_at_10"],
            "ap_per_debate": r["ap_per_debate"],
        }
    pred = model.predict(X).tolist()
    if name == "semeval2016":
        return {
            "score": scorers.semeval_f_avg(gold, pred),
            "per_target": scorers.semeval_per_target(test["target"].tolist(), gold, pred),
        }
    if name == "fnc1":
        macro, per = scorers.fnc_macro_f1(gold, pred)
        return {"score": scorers.fnc_relative_score(gold, pred), "macro_f1": macro, "f1_per_class": per}
    return {"score": scorers.accuracy(gold, pred)}


def _fit_score(name: str, train: pd.DataFrame, test: pd.DataFrame, fast: bool) -> tuple[dict[str, Any], float]:
    """Fit on ``train``, score ``test``; returns (scores, wall-clock fit seconds)."""
    start, cpu = time.perf_counter(), time.process_time()
    model = _fit(name, train)
    fit_seconds = time.perf_counter() - start
    return {**_score(name, test, model), "fit_cpu_seconds": round(time.process_time() - cpu, 2)}, fit_seconds


def _folds(name: str, df: pd.DataFrame, folds: int):
    """K-fold splits that respect each benchmark's unit: per target and label, label, or group."""
    if name == "semeval2016":
        return StratifiedKFold(folds, shuffle=True, random_state=SEED).split(df, df["target"] + "|" + df["label"])
    if name == "claimbuster":
        return StratifiedKFold(folds, shuffle=True, random_state=SEED).split(df, df["label"])
    if df["group"].nunique() < folds:
        raise InputError(
            f"{folds}-fold cross-validation needs at least {folds} groups, got {df['group'].nunique()}",
            hint="use fewer folds",
        )
    return GroupKFold(folds, shuffle=True, random_state=SEED).split(df, groups=df["group"])


def _cross_validate(name: str, df: pd.DataFrame, folds: int, fast: bool) -> dict[str, Any]:
    """Mean and sd of the official metric over ``folds`` folds; fit seconds summed over folds.

    ClaimBuster's protocol (Hassan et al. 2017) is this with 4 stratified folds.
    """
    if folds < 2:
        raise InputError(f"--folds must be at least 2, got {folds}", hint="use e.g. --folds 5")
    scores, fit_seconds, cpu = [], 0.0, 0.0
    for tr_i, te_i in _folds(name, df, folds):
        r, secs = _fit_score(name, df.iloc[tr_i], df.iloc[te_i], fast)
        scores.append(float(r["score"]))
        fit_seconds += secs
        cpu += r["fit_cpu_seconds"]
    return {
        "score": float(np.mean(scores)),
        "score_sd": float(np.std(scores)),
        "fold_scores": scores,
        "fit_seconds": fit_seconds,
        "fit_cpu_seconds": round(cpu, 2),
        "n_train": int(len(df) - len(df) // folds),
        "n_test": int(len(df) // folds),
    }


@dataclass(frozen=True)
class BenchResult:
    """One benchmark's score; ``str()`` is the CLI's report, :meth:`to_dict` what ``--json`` prints.

    ``score`` is the official metric (see :func:`run_benchmark`), ``score_sd`` its sd over folds
    (cross-validation only); ``preset`` names the ``annotate train`` preset, or ``model``
    describes a model that is not one (CLEF-2020 task 2). ``details`` holds the benchmark's own
    diagnostics (FNC-1 macro-F1, SemEval per target, CLEF R-precision, fold scores, CPU seconds, ...).
    """

    benchmark: str
    metric: str
    score: float
    evaluation: str
    n_train: int
    n_test: int
    fit_seconds: float
    fast: bool
    subsampled: bool
    preset: str | None = None
    model: str | None = None
    score_sd: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # the keys in the order the benchmark reported them, so `bench --json` prints what it always did
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_dict(cls, result: Mapping[str, Any]) -> BenchResult:
        """Typed fields from their keys; every other key goes to ``details``."""
        typed = {f.name for f in fields(cls)} - {"details", "key_order"}
        return cls(
            **{k: v for k, v in result.items() if k in typed},
            details={k: v for k, v in result.items() if k not in typed},
            key_order=tuple(result),
        )

    def to_dict(self) -> dict[str, Any]:
        """One flat JSON-ready dict: the typed fields that are set, then ``details``."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("details", "key_order")}
        values = {k: v for k, v in values.items() if v is not None} | self.details
        order = [k for k in self.key_order if k in values] or list(values)
        return {k: values[k] for k in order}

    def __str__(self) -> str:
        sd = f" ± {self.score_sd:.3g}" if self.score_sd is not None else ""
        model = self.model or f"annotate train --preset {self.preset}"
        return (
            f"{self.benchmark}: {self.metric} = {self.score:.4g}{sd} on {self.evaluation}\n"
            f"  model: {model}\n"
            f"  n_train {self.n_train}, n_test {self.n_test}, fit {self.fit_seconds:.1f} s"
        )


def run_benchmark(
    name: str,
    train: str | Path,
    test: str | Path | None = None,
    fast: bool = False,
    threads: int | None = 1,
    folds: int | None = None,
) -> BenchResult:
    """Train the benchmark's model on ``train`` and score ``test`` (or a dev split) officially.

    Returns a :class:`BenchResult`: ``benchmark``, ``metric``, ``score`` (FNC-1: percent;
    SemEval: 0-100 F_avg; Emergent: 0-1 accuracy; CLEF: 0-1 MAP; ClaimBuster: 0-1 F1),
    ``n_train``, ``n_test``, ``fit_seconds``, ``evaluation`` (what was scored: the test file, a
    dev split or CV), ``fast``, and in ``details`` ``fit_cpu_seconds`` and diagnostics (FNC-1
    macro-F1, SemEval per target, CLEF R-precision and P@10, ...). ``threads`` caps OpenMP/BLAS
    threads (None: the libraries' default); one thread is the default because OpenMP's
    busy-waiting makes tree boosting many times slower on a machine whose cores are shared with
    other jobs.
    """
    with threadpool_limits(limits=threads):
        if name == "clef2020-t2":
            if folds is not None:
                raise InputError(
                    "clef2020-t2 has no --folds", hint="it scores dev/ (or --test) after training on train/"
                )
            return BenchResult.from_dict(clef2020.run_clef2020_t2(train, test, fast=fast))
        return BenchResult.from_dict(_run(name, train, test, fast, folds))


def _run(name: str, train: str | Path, test: str | Path | None, fast: bool, folds: int | None) -> dict[str, Any]:
    bench = _benchmark(name)
    df = bench.load(train)
    if (df["label"] == "").any():
        raise InputError(
            "the training file has rows without labels", path=train, hint="give the labelled training file"
        )
    n_rows = len(df)
    if fast:
        df = _subsample(name, df)
    result: dict[str, Any] = {
        "benchmark": name,
        "metric": bench.metric,
        "preset": bench.preset,
        "fast": fast,
        "subsampled": len(df) < n_rows,
    }
    if name == "claimbuster" and test is None and folds is None:
        folds = 4
    if folds is not None and test is None:
        unit = {"semeval2016": "stratified per target and label", "claimbuster": "stratified"}.get(name, "grouped")
        result.update(
            _cross_validate(name, df, folds, fast),
            evaluation=f"{folds}-fold {unit} cross-validation ({_UNITS[name]}; not the official test split)",
        )
    else:
        if test is not None:
            tr, te = df, _load_test(bench, test)
            evaluation = f"test file {test}"
        else:
            tr, te = _dev_split(name, df)
            evaluation = f"dev split ({bench.split} held out of the training file; not the official test split)"
        r, secs = _fit_score(name, tr, te, fast)
        result.update(r, fit_seconds=secs, n_train=len(tr), n_test=len(te), evaluation=evaluation)
    result["score"] = float(result["score"])
    result["fit_seconds"] = round(float(result["fit_seconds"]), 2)
    return result


def _fmt(value: float, unit: str) -> str:
    return f"{value:.2f}" if unit in ("%", "0-100") else f"{value:.3f}"


def results_table(results: list[BenchResult]) -> str:
    """A Markdown table of ``run_benchmark`` results, with the published anchors beside them."""
    lines = [
        "| benchmark | metric | score | evaluated on | n train / n eval | fit s | target (official test) | published |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b = BENCHMARKS[r.benchmark]
        score = _fmt(r.score, b.unit)
        if r.score_sd is not None:
            score += f" ± {_fmt(r.score_sd, b.unit)}"
        if r.evaluation.startswith("test file"):
            where = "test file"
        elif "cross-validation" in r.evaluation:
            where = r.evaluation.split(" (")[0].replace("cross-validation", "CV")
        else:
            where = f"dev: {b.split}"
        if r.subsampled:
            where += " (fast subsample)"
        target = "-" if np.isnan(b.target) else f"> {_fmt(b.target, b.unit)}"
        lines.append(
            f"| {b.title} | {b.metric} ({b.unit}) | {score} | {where} | {r.n_train} / {r.n_test} "
            f"| {r.fit_seconds:.0f} | {target} | {b.anchor} |"
        )
    return "\n".join(lines) + "\n"


def run_all(data_dir: str | Path, fast: bool = False, threads: int | None = 1) -> str:
    """Run every benchmark whose training data is in ``data_dir``; return a Markdown table.

    ``data_dir`` has the layout of ``../shared/data`` (``fnc1/train_stances.csv``, ...). Each
    benchmark is scored on a dev split carved from its training data (ClaimBuster: 4-fold CV).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError("no such data folder", path=data_dir, hint="give the folder that holds the datasets")
    results = [
        run_benchmark(name, data_dir / b.data, fast=fast, threads=threads)
        for name, b in BENCHMARKS.items()
        if (data_dir / b.data).exists()
    ]
    if not results:
        raise InputError(
            "no benchmark data in this folder",
            path=data_dir,
            hint="expected e.g. " + ", ".join(b.data for b in BENCHMARKS.values()),
        )
    return results_table(results)
