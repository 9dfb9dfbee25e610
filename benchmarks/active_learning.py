"""Active-learning study: how many labels each sampling strategy needs, against random sampling.

Two tasks, each on data the project's benchmarks already read (``../shared/data``; the official
test splits are never used):

- **checkworthy**: CLEF-2019 CheckThat! Task 1 training debates (16,421 sentences, 2.7%
  check-worthy). Each seed splits the 19 debates, whole debates only, into a held-out set
  (at least 20% of the sentences), a cold-start set (at least 20%) and the pool (the rest,
  7,900-9,800 sentences). The cold-start set trains the model a desk has before its first
  label: the recipe of :func:`annotate.bootstrap.bootstrap` (``make_claim_model(C=0.1)``, every
  positive and three negatives per positive) on debates that are neither pool nor held out.
  Scores: average precision of the check-worthy class over the held-out sentences (primary)
  and F1 of that class as the model predicts it.
- **stance**: SemEval-2016 Task 6 A training tweets (2,814 (target, tweet) pairs). Each seed
  holds out 20% (stratified by target and stance); the rest (2,251) is the pool. There is no
  cold-start stance model, so every strategy starts from the same random seed set. Scores:
  F_avg, the official (F1 FAVOR + F1 AGAINST) / 2 (primary), and macro-F1.

A run labels ``--seed-size`` items, then repeatedly trains the model ``annotate train`` builds
with the default preset (``make_claim_model(hints=True)``: the CLEF sentences carry speaker and
position; ``make_stance_model()``), scores it on the held-out set and labels ``--batch`` more,
chosen by a strategy of :mod:`annotate.active`, up to ``--budget`` labels. Until every class has
5 labels (the least ``annotate train`` accepts) the desk has no model of its own: the cold-start
model chooses (random sampling where there is none) and the curve scores "no model" (AP =
the share of positives, F1 = 0). Strategies: random, entropy, margin, least-confidence,
rare-mix, margin+random, cluster-margin, density (see :mod:`annotate.active`); the row
``auto (default)`` is the one ``annotate suggest`` uses on that kind of field
(:func:`annotate.suggest.resolve_method`: rare-mix for a claim field, entropy for stance). With
two classes entropy, margin and least confidence rank alike (each falls as ``|p - 0.5|`` grows),
so on check-worthiness margin runs once and stands for the three
(``tests/test_active_learning.py`` checks that the three pick the same items).

Every seed pairs all strategies on the same split and seed set. Reported per budget: the mean
over seeds with a 95% t-interval; per strategy, the budgets where it is significantly better or
worse than random (95% t-interval of the paired difference entirely above or below 0); and the
labels it needs to reach random's final score (first budget where its mean curve reaches
random's mean at ``--budget``), with a 95% bootstrap interval over seeds (2,000 resamples of
the seeds, both curves resampled together). ``>B`` means not reached within the budget.

Run (the figures of ``docs/active_learning.md``: about 45 minutes on one core of a shared
2-core machine)::

    python benchmarks/active_learning.py --seeds 10 --budget 2000 --plots docs/img --save curves.json

``--load curves.json`` prints and plots again without simulating; runs of other seeds
(``--first-seed``) can be loaded together (``--load a.json,b.json``). CI runs
``--seeds 1 --budget 600``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
CLEF = "clef2019_checkthat_task1/data/training"
SEMEVAL = "semeval2016_stance/semeval2016-task6-trainingdata.txt"
MIN_PER_CLASS = 5  # annotate train's default
POSITIVE = "Check-worthy"


@dataclass
class Split:
    pool: pd.DataFrame
    test: pd.DataFrame
    cold: Any  # the cold-start model, or None
    X_pool: pd.DataFrame
    X_test: pd.DataFrame


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    metrics: tuple[str, str]  # primary first
    strategies: tuple[str, ...]
    aliases: dict[str, str]  # strategy -> the strategy whose run it shares (same ranking)
    split: Callable[[pd.DataFrame, int], Split]
    make: Callable[[], Any]
    score: Callable[[Any, Split], dict[str, float]]
    empty: Callable[[Split], dict[str, float]]
    load: Callable[[Path], pd.DataFrame]
    kind: str  # the kind of schema field the task is ("claim" or "stance"): what `suggest --method auto` reads


# --- check-worthiness (CLEF-2019) ----------------------------------------------------------------


def _take_debates(sizes: pd.Series, order: list[str], share: float) -> list[str]:
    out, n = [], 0
    for g in order:
        if n >= share * sizes.sum():
            break
        out.append(g)
        n += sizes[g]
    return out


def clef_split(df: pd.DataFrame, seed: int) -> Split:
    """Whole debates: >= 20% of the sentences held out, >= 20% for the cold-start model, the rest the pool."""
    from annotate.bootstrap import BOOTSTRAP_PARAMS, NEGATIVES_PER_POSITIVE
    from annotate.models.pipelines import frame, make_claim_model

    sizes = df.groupby("group").size()
    order = [str(g) for g in np.random.default_rng(seed).permutation(sorted(sizes.index))]
    test_g = _take_debates(sizes, order, 0.2)
    rest = [g for g in order if g not in test_g]
    cold_g = _take_debates(sizes[rest], rest, 0.25)  # 20% of all sentences
    test = df[df["group"].isin(test_g)].reset_index(drop=True)
    cold = df[df["group"].isin(cold_g)]
    pool = df[~df["group"].isin(test_g + cold_g)].reset_index(drop=True)
    pos = cold[cold["label"] == POSITIVE]
    neg = cold[cold["label"] != POSITIVE].sample(n=len(pos) * NEGATIVES_PER_POSITIVE, random_state=0)
    recipe = pd.concat([pos, neg])
    model = make_claim_model(**BOOTSTRAP_PARAMS).fit(frame(recipe), recipe["label"].to_numpy())
    return Split(pool, test, model, frame(pool), frame(test))


def clef_score(model, s: Split) -> dict[str, float]:
    from annotate.bench.scorers import average_precision, binary_f1

    y = (s.test["label"] == POSITIVE).astype(int).to_numpy()
    p = model.predict_proba(s.X_test)[:, list(model.classes_).index(POSITIVE)]
    pred = (model.predict(s.X_test) == POSITIVE).astype(int)
    return {"AP": average_precision(y, p), "F1": binary_f1(y, pred)}


def clef_empty(s: Split) -> dict[str, float]:
    return {"AP": float((s.test["label"] == POSITIVE).mean()), "F1": 0.0}


def clef_load(data: Path) -> pd.DataFrame:
    from annotate.bench.loaders import load_clef2019

    return load_clef2019(data / CLEF)


def clef_model():
    from annotate.models.pipelines import make_claim_model

    return make_claim_model(hints=True)


# --- stance (SemEval-2016) -----------------------------------------------------------------------


def semeval_split(df: pd.DataFrame, seed: int) -> Split:
    from sklearn.model_selection import train_test_split

    from annotate.models.pipelines import frame

    pool, test = train_test_split(df, test_size=0.2, random_state=seed, stratify=df["target"] + "|" + df["label"])
    pool, test = pool.reset_index(drop=True), test.reset_index(drop=True)
    return Split(pool, test, None, frame(pool, stance=True), frame(test, stance=True))


def semeval_score(model, s: Split) -> dict[str, float]:
    from sklearn.metrics import f1_score

    from annotate.bench.scorers import semeval_f_avg

    gold, pred = s.test["label"].tolist(), model.predict(s.X_test).tolist()
    return {"F_avg": semeval_f_avg(gold, pred) / 100, "macro-F1": float(f1_score(gold, pred, average="macro"))}


def semeval_empty(s: Split) -> dict[str, float]:
    return {"F_avg": 0.0, "macro-F1": 0.0}


def semeval_load(data: Path) -> pd.DataFrame:
    from annotate.bench.loaders import load_semeval2016

    return load_semeval2016(data / SEMEVAL)


def semeval_model():
    from annotate.models.pipelines import make_stance_model

    return make_stance_model()


ALL = ("random", "entropy", "margin", "least-confidence", "rare-mix", "margin+random", "cluster-margin", "density")
TASKS: dict[str, Task] = {
    "checkworthy": Task("checkworthy", "check-worthiness, CLEF-2019 training debates", ("AP", "F1"), ALL,
                        {"entropy": "margin", "least-confidence": "margin"}, clef_split, clef_model, clef_score,
                        clef_empty, clef_load, "claim"),
    "stance": Task("stance", "stance, SemEval-2016 Task 6 A training tweets", ("F_avg", "macro-F1"), ALL, {},
                   semeval_split, semeval_model, semeval_score, semeval_empty, semeval_load, "stance"),
}  # fmt: skip


# --- the simulation ------------------------------------------------------------------------------


def _fit(task: Task, s: Split, labelled: list[int]):
    """The desk's own model on its labels, or None while a class has fewer than MIN_PER_CLASS."""
    from annotate.models.train import _set_calibration_cv

    y = s.pool["label"].to_numpy()[labelled]
    counts = pd.Series(y).value_counts()
    if len(counts) < 2 or counts.min() < MIN_PER_CLASS:
        return None
    model = task.make()
    _set_calibration_cv(model, y)
    return model.fit(s.X_pool.iloc[labelled], y)


def simulate(task: Task, s: Split, strategy: str, seed: int, args, extras: dict[str, Any]) -> list[dict[str, float]]:
    """One learning curve: ``[{"labels": n, metric: score, ...}]`` for n = seed size, +batch, ... budget."""
    from annotate.active import select

    rng = np.random.default_rng(seed)
    n = len(s.pool)
    labelled: list[int] = []
    chooser = s.cold
    curve = []
    while len(labelled) < min(args.budget, n):
        want = min(args.seed_size if not labelled else args.batch, args.budget - len(labelled))
        rest = np.setdiff1d(np.arange(n), labelled)
        if strategy == "random" or chooser is None:
            pick = rest[rng.choice(len(rest), want, replace=False)]
        else:
            proba = chooser.predict_proba(s.X_pool.iloc[rest])
            counts = s.pool["label"].iloc[labelled].value_counts().to_dict() if labelled else None
            vectors = extras["vectors"][rest] if strategy == "cluster-margin" else None
            density = extras["density"][rest] if strategy == "density" else None
            local = select(strategy, proba, [str(c) for c in chooser.classes_], want, rng=rng, counts=counts,
                           vectors=vectors, density=density)  # fmt: skip
            pick = rest[local]
        labelled.extend(int(i) for i in pick)
        own = _fit(task, s, labelled)
        row = {"labels": len(labelled), **(task.score(own, s) if own is not None else task.empty(s))}
        row["positives" if task.name == "checkworthy" else "rarest"] = int(
            s.pool["label"].iloc[labelled].value_counts().reindex(sorted(s.pool["label"].unique()), fill_value=0).min()
        )
        curve.append(row)
        chooser = own if own is not None else s.cold
    return curve


def pool_vectors(pool: pd.DataFrame):
    """TF-IDF rows (L2-normalised) of the pool texts, for cluster-margin and density."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from annotate.active import mean_similarity

    text = (
        (pool["target"].astype(str) + " | " + pool["text"].astype(str))
        if pool["target"].astype(bool).any()
        else pool["text"]
    )
    X = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(text.astype(str))
    return {"vectors": X, "density": mean_similarity(X)}


def run_task(task: Task, args) -> dict[str, Any]:
    df = task.load(args.data)
    wanted = [s for s in task.strategies if s in args.strategies]
    runs: dict[str, list[list[dict[str, float]]]] = {s: [] for s in wanted}
    cold_scores, sizes, seeds = [], [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds.get(task.name, args.seeds["*"])):
        t0 = time.perf_counter()
        seeds.append(seed)
        split = task.split(df, seed)
        extras = pool_vectors(split.pool)
        sizes.append((len(split.pool), len(split.test)))
        if split.cold is not None:
            cold_scores.append(task.score(split.cold, split))
        done: dict[str, list[dict[str, float]]] = {}
        for strategy in wanted:
            base = task.aliases.get(strategy, strategy)
            if base not in done:
                done[base] = simulate(task, split, base, seed, args, extras)
            runs[strategy].append(done[base])
        print(f"  {task.name} seed {seed}: pool {len(split.pool)}, held out {len(split.test)}, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    return {"task": task.name, "title": task.title, "metrics": list(task.metrics), "runs": runs, "seeds": seeds,
            "cold_start": cold_scores, "sizes": sizes, "aliases": task.aliases}  # fmt: skip


# --- statistics ----------------------------------------------------------------------------------


def matrix(runs: list[list[dict[str, float]]], metric: str) -> np.ndarray:
    """seeds x budgets."""
    return np.array([[row[metric] for row in run] for run in runs], dtype=float)


def t_interval(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% t-interval along ``axis`` (NaN bounds with one seed)."""
    from scipy import stats

    n = a.shape[axis]
    mean = a.mean(axis=axis)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan
    half = stats.t.ppf(0.975, n - 1) * a.std(axis=axis, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def labels_to_reach(curve: np.ndarray, budgets: np.ndarray, goal: float) -> float:
    """First budget whose score reaches ``goal`` (inf if none)."""
    hit = np.nonzero(curve >= goal - 1e-12)[0]
    return float(budgets[hit[0]]) if len(hit) else float("inf")


def reach_with_interval(strat: np.ndarray, rand: np.ndarray, budgets: np.ndarray, n_boot: int = 2000, seed: int = 0):
    """Labels for the mean curve of ``strat`` to reach random's mean final score, with a bootstrap 95% interval."""
    point = labels_to_reach(strat.mean(axis=0), budgets, rand.mean(axis=0)[-1])
    if len(strat) < 2:
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        i = rng.integers(len(strat), size=len(strat))
        draws.append(labels_to_reach(strat[i].mean(axis=0), budgets, rand[i].mean(axis=0)[-1]))
    return point, float(np.percentile(draws, 2.5, method="lower")), float(np.percentile(draws, 97.5, method="higher"))


def significantly_worse(strat: np.ndarray, rand: np.ndarray, budgets: np.ndarray) -> list[int]:
    """Budgets where the 95% t-interval of the paired difference (strategy - random) lies below 0."""
    _, _, hi = t_interval(strat - rand)
    return [int(b) for b, h in zip(budgets, hi, strict=True) if np.isfinite(h) and h < 0]


def significantly_better(strat: np.ndarray, rand: np.ndarray, budgets: np.ndarray) -> list[int]:
    """Budgets where the 95% t-interval of the paired difference (strategy - random) lies above 0."""
    _, lo, _ = t_interval(strat - rand)
    return [int(b) for b, x in zip(budgets, lo, strict=True) if np.isfinite(x) and x > 0]


def ranges(budgets: list[int], step: int) -> str:
    """``[300, 400, 500, 900]`` -> ``"300-500, 900"``."""
    out: list[list[int]] = []
    for b in budgets:
        if out and b - out[-1][-1] == step:
            out[-1].append(b)
        else:
            out.append([b])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in out) or "never"


# --- report --------------------------------------------------------------------------------------


def _fmt_labels(x: float, budget: int) -> str:
    return f">{budget}" if not np.isfinite(x) else f"{int(x)}"


def _fmt_ci(lo: float, hi: float, budget: int) -> str:
    if np.isnan(lo):
        return "n/a"
    return f"{_fmt_labels(lo, budget)}-{_fmt_labels(hi, budget)}"


def with_default(result: dict[str, Any]) -> dict[str, Any]:
    """The result with a row for ``annotate suggest``'s default method, as it resolves on this task."""
    from annotate.suggest import DEFAULT_METHOD, resolve_method

    used = resolve_method(DEFAULT_METHOD, TASKS[result["task"]].kind)
    if used not in result["runs"]:
        return result
    name = f"{DEFAULT_METHOD} (default)"
    runs = {"random": result["runs"]["random"], name: result["runs"][used]}
    runs.update((s, r) for s, r in result["runs"].items() if s != "random")
    return {**result, "runs": runs, "aliases": {**result.get("aliases", {}), name: used}}


def report(result: dict[str, Any], budget: int) -> dict[str, Any]:
    """Print the task's tables (Markdown) and return its summary."""
    result = with_default(result)
    runs = result["runs"]
    metric, second = result["metrics"]
    budgets = np.array([row["labels"] for row in runs["random"][0]])
    rand = matrix(runs["random"], metric)
    n_seeds = len(rand)
    print(f"\n## {result['title']}: {n_seeds} seed(s), pool {result['sizes'][0][0]}, held out {result['sizes'][0][1]}"
          " (seed 0)")  # fmt: skip
    if result["cold_start"]:
        cs = {m: float(np.mean([c[m] for c in result["cold_start"]])) for m in result["metrics"]}
        print(f"cold-start model on the held-out debates: {metric} {cs[metric]:.3f}, {second} {cs[second]:.3f}")
    summary: dict[str, Any] = {"budgets": budgets.tolist(), "strategies": {}}
    print(
        f"\n| strategy | {metric} at {budgets[-1]} (95% CI) | labels to reach random's final {metric} "
        f"{rand.mean(axis=0)[-1]:.3f} (95% CI) | share of random's labels | significantly better than random at "
        f"({metric}) | significantly worse than random at ({metric} or {second}) |"
    )
    print("|---|---:|---:|---:|---|---|")  # fmt: skip
    for strategy, rs in runs.items():
        m = matrix(rs, metric)
        mean, lo, hi = t_interval(m)
        point, rlo, rhi = reach_with_interval(m, rand, budgets)
        worse = sorted(
            set(significantly_worse(m, rand, budgets))
            | set(significantly_worse(matrix(rs, second), matrix(runs["random"], second), budgets))
        )
        share = f"{point / budgets[-1]:.0%}" if np.isfinite(point) else "-"
        ci = f"{mean[-1]:.3f} ({lo[-1]:.3f}-{hi[-1]:.3f})" if n_seeds > 1 else f"{mean[-1]:.3f}"
        alias = f" (= {result['aliases'][strategy]})" if strategy in result.get("aliases", {}) else ""
        step = int(budgets[1] - budgets[0]) if len(budgets) > 1 else 1
        better = significantly_better(m, rand, budgets)
        print(f"| {strategy}{alias} | {ci} | {_fmt_labels(point, budget)} ({_fmt_ci(rlo, rhi, budget)}) | {share} | "
              f"{ranges(better, step) if strategy != 'random' else '-'} | "
              f"{ranges(worse, step) if strategy != 'random' else '-'} |")  # fmt: skip
        summary["strategies"][strategy] = {"final": float(mean[-1]), "reach": point, "reach_ci": [rlo, rhi],
                                           "worse_at": worse, "better_at": better}  # fmt: skip
    for met in (metric, second):
        print(f"\n{met}, mean over seeds (95% CI half-width) per budget:\n")
        names = list(runs)
        print("| labels | " + " | ".join(names) + " |")
        print("|---:|" + "---:|" * len(names))
        stats = {s: t_interval(matrix(runs[s], met)) for s in names}
        for j, b in enumerate(budgets):
            cells = []
            for s in names:
                mean, lo, hi = stats[s]
                cells.append(f"{mean[j]:.3f}" + (f" ±{(hi[j] - lo[j]) / 2:.3f}" if n_seeds > 1 else ""))
            print(f"| {b} | " + " | ".join(cells) + " |")
    key = "positives" if result["task"] == "checkworthy" else "rarest"
    found = {s: np.mean([run[-1][key] for run in rs]) for s, rs in runs.items()}
    print(f"\n{'check-worthy sentences among the labels' if key == 'positives' else 'labels of the rarest class'} "
          f"at {budgets[-1]}: " + ", ".join(f"{s} {v:.0f}" for s, v in found.items()))  # fmt: skip
    return summary


def plot(result: dict[str, Any], folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    budgets = np.array([row["labels"] for row in runs["random"][0]])
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    styles = {"random": ("black", "-"), "entropy": ("tab:blue", "-"), "margin": ("tab:orange", "--"),
              "least-confidence": ("tab:green", ":"), "rare-mix": ("tab:red", "-"), "margin+random": ("tab:olive", "-"),
              "cluster-margin": ("tab:purple", "-"), "density": ("tab:brown", "-")}  # fmt: skip
    metric, second = result["metrics"]
    n = len(runs["random"])
    from annotate.suggest import DEFAULT_METHOD, resolve_method

    default = resolve_method(DEFAULT_METHOD, TASKS[result["task"]].kind)
    panels = [(axes[0], metric, False), (axes[1], metric, True), (axes[2], second, False)]
    for ax, met, paired in panels:
        rand = matrix(runs["random"], met)
        for s, rs in runs.items():
            if s in result.get("aliases", {}) or (paired and s == "random"):
                continue
            m = matrix(rs, met)
            mean, lo, hi = t_interval(m - rand if paired else m)
            color, ls = styles.get(s, (None, "-"))
            label = s if s != "margin" or not result.get("aliases") else "margin = entropy = least-confidence"
            if s == default:
                label += ", the default (suggest --method auto)"
            ax.plot(budgets, mean, color=color, ls=ls, lw=2 if s == "random" else 1.5, label=label)
            if not np.isnan(lo).all():
                ax.fill_between(budgets, lo, hi, color=color, alpha=0.12)
        if paired:
            ax.axhline(0, color="black", lw=1)
            ax.set_title(f"{met} minus random's, same seed: mean, 95% CI")
        else:
            if result["cold_start"]:
                cs = float(np.mean([c[met] for c in result["cold_start"]]))
                ax.axhline(cs, color="grey", ls="-.", lw=1, label="cold-start model")
            ax.axhline(rand.mean(axis=0)[-1], color="black", ls=":", lw=0.8)
            ax.set_title(f"{met}: mean of {n} seeds, 95% CI")
        ax.axvline(budgets[-1] / 2, color="grey", ls=":", lw=0.8)
        ax.set_xlabel("labels")
        ax.set_ylabel(met + (" difference" if paired else ""))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Active learning, {result['title']}")
    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"active-learning-{result['task']}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_seeds(text: str) -> dict[str, int]:
    """``"5"`` -> every task 5 seeds; ``"checkworthy=10,stance=5"`` -> per task (others 5)."""
    if "=" not in text:
        return {"*": int(text)}
    out = {"*": 5}
    for part in text.split(","):
        name, _, n = part.partition("=")
        out[name.strip()] = int(n)
    return out


def merge(saved: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Runs of the same tasks saved separately (other seeds), as one result per task."""
    out: dict[str, dict[str, Any]] = {}
    for results in saved:
        for r in results:
            seeds = r.get("seeds", list(range(len(r["runs"]["random"]))))  # files before --first-seed: 0, 1, ...
            if r["task"] not in out:
                out[r["task"]] = {**json.loads(json.dumps(r)), "seeds": seeds}
                continue
            m = out[r["task"]]
            if set(seeds) & set(m["seeds"]):
                raise SystemExit(f"{r['task']}: seeds {sorted(set(seeds) & set(m['seeds']))} are loaded twice")
            for s, runs in r["runs"].items():
                m["runs"].setdefault(s, []).extend(runs)
            m["cold_start"] += r["cold_start"]
            m["sizes"] += r["sizes"]
            m["seeds"] += seeds
    return list(out.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    ap.add_argument("--tasks", default="checkworthy,stance")
    ap.add_argument("--strategies", default=",".join(ALL))
    ap.add_argument("--seed-size", type=int, default=100)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--budget", type=int, default=2000)
    ap.add_argument(
        "--seeds",
        "--repeats",
        dest="seeds",
        default="5",
        help="seeds per task: N, or TASK=N,... (e.g. checkworthy=10,stance=5)",
    )
    ap.add_argument("--first-seed", type=int, default=0, help="seeds are FIRST, FIRST+1, ... (runs to --load together)")
    ap.add_argument("--plots", type=Path, default=None, help="write one PNG per task into this folder")
    ap.add_argument("--save", type=Path, default=None, help="write the curves as JSON (with --load: merged)")
    ap.add_argument("--load", default=None, help="report saved curves (comma-separated JSON files, merged) instead")
    args = ap.parse_args()
    args.strategies = [s.strip() for s in args.strategies.split(",")]
    args.seeds = parse_seeds(args.seeds)
    if "random" not in args.strategies:
        args.strategies.insert(0, "random")
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if args.load:
        results = merge([json.loads(Path(p).read_text("utf-8")) for p in args.load.split(",")])
        args.budget = int(results[0]["runs"]["random"][0][-1]["labels"])
        if args.save:
            args.save.write_text(json.dumps(results), "utf-8")
    else:
        print(f"# active_learning, {time.strftime('%Y-%m-%d %H:%M')}: seeds {args.seeds}, seed set {args.seed_size}, "
              f"batch {args.batch}, budget {args.budget}", flush=True)  # fmt: skip
        results = [run_task(TASKS[t.strip()], args) for t in args.tasks.split(",")]
        if args.save:
            args.save.write_text(json.dumps(results), "utf-8")
    for result in results:
        report(result, args.budget)
        if args.plots:
            print(f"plot: {plot(result, args.plots)}")
    print(f"\ntook {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
