"""Live queue against a random queue, on a real Label Studio: labels needed to reach a goal score.

Issue 17, item 4. One project per arm holds the same ``--pool`` sentences of the CLEF-2019
CheckThat! Task 1 training debates (2.7% check-worthy; schema ``bench_checkworthy.xml``). A
simulated annotator presses "Label All Tasks" (the next-task request the browser sends), answers
with the gold label, and again, ``--budget`` times. `serve`'s backend (:class:`annotate.serve.Backend`,
in this process) retrains every ``--every`` labels from the project's annotations in Label
Studio, exactly as it does behind ``annotate serve``, and the new model is scored on held-out
debates (average precision of the check-worthy class). The arms differ in one setting:

- **live**: ``queue_size=--queue-size``: after each retrain the backend re-orders the queue
  (:mod:`annotate.serve.live_queue`; ``suggest``'s ``auto`` method, ``rare-mix`` on this claim
  field). The first model re-orders it once before the first label, as ``push --order`` would.
- **random**: ``queue_size=0`` and the project's sampling "Uniform sampling".

Both start from the same cold-start model, the default preset trained on the bootstrap recipe's
labels (every positive of other debates plus three negatives per positive); every retrained
version keeps those labels (its base labels) and adds the annotations. The goal is the random
arm's final AP; "labels to reach" is the first retrain at which the live arm's AP reaches it.
The two arms of a seed share the split, the pool and the cold-start model.

Run (figures of ``docs/active_learning.md``)::

    python benchmarks/live_queue.py --seeds 2 --pool 600 --budget 160   # a throw-away local Label Studio
    python benchmarks/live_queue.py --url URL  # any running server (token: LABEL_STUDIO_API_KEY)

The integration test ``tests/test_live_queue_simulation.py`` runs it at reduced settings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "clef2019_checkthat_task1" / "data" / "training"
POSITIVE = "Check-worthy"
FIELD = "checkworthy"
ARMS = ("random", "live")


@dataclass
class Split:
    """One seed's data: the pool pushed to Label Studio, the held-out sentences, the cold-start labels."""

    pool: pd.DataFrame
    test: pd.DataFrame
    cold: pd.DataFrame


@dataclass
class Run:
    """One arm of one seed: AP after each retrain, by labels so far (0: the cold-start model)."""

    arm: str
    seed: int
    curve: list[tuple[int, float]] = field(default_factory=list)
    positives: int = 0
    seconds: float = 0.0


def schema() -> Any:
    from annotate.resources import data_path
    from annotate.schema import Schema

    return Schema.from_file(data_path("schemas", "bench_checkworthy.xml"))


def load(data: Path = DATA) -> pd.DataFrame:
    from annotate.bench.loaders import load_clef2019

    df = load_clef2019(data)
    df["sentence_id"] = df["group"] + ":" + df["line"].astype(str)
    return df


def split(df: pd.DataFrame, seed: int, pool_size: int, test_size: int) -> Split:
    """Whole debates: a quarter held out, a quarter for the cold start, ``pool_size`` sentences of the rest."""
    from annotate.bootstrap import NEGATIVES_PER_POSITIVE

    rng = np.random.default_rng(seed)
    groups = [str(g) for g in rng.permutation(sorted(df["group"].unique()))]
    q = max(1, len(groups) // 4)
    test = df[df["group"].isin(groups[:q])]
    cold = df[df["group"].isin(groups[q : 2 * q])]
    rest = df[df["group"].isin(groups[2 * q :])]
    pos = cold[cold["label"] == POSITIVE]
    neg = cold[cold["label"] != POSITIVE].sample(n=len(pos) * NEGATIVES_PER_POSITIVE, random_state=seed)
    return Split(
        pool=rest.sample(n=min(pool_size, len(rest)), random_state=seed).reset_index(drop=True),
        test=test.sample(n=min(test_size, len(test)), random_state=seed).reset_index(drop=True),
        cold=pd.concat([pos, neg], ignore_index=True),
    )


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Sentence records as ``annotate ingest`` writes them (what ``push`` turns into tasks)."""
    return [
        {"sentence_id": r.sentence_id, "doc_id": r.group, "text": r.text, "speaker": r.speaker, "start": 0,
         "end": len(r.text), "context": {"previous": r.previous, "next": r.next}}
        for r in df.itertuples()
    ]  # fmt: skip


def cold_model(s: Split, folder: Path) -> Path:
    """The first model: the default preset on the cold-start labels, saved as ``folder``."""
    from annotate.io import write_jsonl
    from annotate.models.train import train_file

    folder.parent.mkdir(parents=True, exist_ok=True)
    labels = folder.parent / "cold_labels.jsonl"
    write_jsonl(labels, [{"sentence_id": r.sentence_id, "doc_id": r.group, "text": r.text, "speaker": r.speaker,
                          "field": FIELD, "label": r.label} for r in s.cold.itertuples()])  # fmt: skip
    train_file(labels, schema(), folder, n_splits=3, learning_curve=False)
    return folder


def average_precision(model: Any, test: pd.DataFrame) -> float:
    from annotate.bench.scorers import average_precision as ap
    from annotate.models.pipelines import frame

    est = model.estimators[FIELD]
    proba = est.predict_proba(frame(test))[:, list(est.classes_).index(POSITIVE)]
    return float(ap((test["label"] == POSITIVE).astype(int).to_numpy(), proba))


def next_task(studio: Any, project_id: int) -> dict[str, Any] | None:
    """The task "Label All Tasks" serves next (the request the browser sends; docs/queue_order.md)."""
    r = httpx.post(f"{studio.url}/api/dm/actions", params={"id": "next_task", "project": project_id},
                   json={"project": str(project_id)}, headers=studio.headers(), timeout=120)  # fmt: skip
    if r.status_code == 404:
        return None
    r.raise_for_status()
    return r.json()


def answer(studio: Any, task_id: int, label: str) -> None:
    item = {"from_name": FIELD, "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    r = httpx.post(f"{studio.url}/api/tasks/{task_id}/annotations", json={"result": [item]},
                   headers=studio.headers(), timeout=120)  # fmt: skip
    r.raise_for_status()


def run_arm(
    studio: Any, s: Split, arm: str, *, seed: int, budget: int, every: int, queue_size: int, workdir: Path,
    first_model: Path,
) -> Run:  # fmt: skip
    """Push the pool, label ``budget`` tasks as "Label All Tasks" serves them, retrain every ``every``."""
    from annotate.serve import Backend
    from annotate.studio.push import make_tasks

    sch = schema()
    ls = studio.client
    project = ls.projects.create(title=f"live-queue-{arm}-{seed}-{uuid.uuid4().hex[:6]}", label_config=sch.xml,
                                 sampling="Uniform sampling")  # fmt: skip
    ls.projects.import_tasks(id=project.id, request=[{"data": t} for t in make_tasks(records(s.pool), sch)])
    gold = dict(zip(s.pool["sentence_id"], s.pool["label"], strict=True))
    models = workdir / arm / "models"
    shutil.copytree(first_model, models / first_model.name)
    backend = Backend(models, schema=sch, retrain_every=0, projects={project.id}, studio=lambda: studio,
                      queue_size=queue_size if arm == "live" else 0)  # fmt: skip
    run = Run(arm, seed)
    started = time.perf_counter()
    try:
        backend.retrainer.reorder(backend.slot)  # live: the first model orders the queue, as push --order would
        run.curve.append((0, average_precision(backend.slot.model, s.test)))
        for n in range(1, budget + 1):
            task = next_task(studio, project.id)
            if task is None:
                break
            label = gold[task["data"]["sentence_id"]]
            run.positives += label == POSITIVE
            answer(studio, task["id"], label)
            if n % every == 0 or n == budget:
                backend.request_retrain(force=True)
                backend.wait_idle()
                if backend.last_error:
                    raise RuntimeError(backend.last_error)
                run.curve.append((n, average_precision(backend.slot.model, s.test)))
    finally:
        backend.close()
        ls.projects.delete(id=project.id)
    run.seconds = time.perf_counter() - started
    return run


def simulate(
    studio: Any, *, seeds: list[int], pool: int = 1000, test: int = 3000, budget: int = 200, every: int = 20,
    queue_size: int = 50, data: Path = DATA, log: Any = print,
) -> list[Run]:  # fmt: skip
    """Both arms for each seed; returns the runs (see the module doc)."""
    df = load(data)
    runs = []
    for seed in seeds:
        s = split(df, seed, pool, test)
        with tempfile.TemporaryDirectory(prefix="live-queue-") as tmp:
            first = cold_model(s, Path(tmp) / "cold" / "cold")
            for arm in ARMS:
                r = run_arm(studio, s, arm, seed=seed, budget=budget, every=every, queue_size=queue_size,
                            workdir=Path(tmp), first_model=first)  # fmt: skip
                log(f"seed {seed} {arm}: AP {r.curve[0][1]:.3f} -> {r.curve[-1][1]:.3f} after {r.curve[-1][0]} "
                    f"labels, {r.positives} check-worthy labelled, {r.seconds:.0f} s")  # fmt: skip
                runs.append(r)
    return runs


def labels_to_reach(curve: list[tuple[int, float]], goal: float) -> int | None:
    """The first label count at which ``curve`` reaches ``goal`` (None: never)."""
    return next((n for n, score in curve if score >= goal - 1e-12), None)


def summary(runs: list[Run]) -> dict[str, Any]:
    """Per seed: the goal (random's final AP), labels the live arm needed to reach it, and the mean."""
    by_seed: dict[int, dict[str, Run]] = {}
    for r in runs:
        by_seed.setdefault(r.seed, {})[r.arm] = r
    rows = []
    for seed, arms in sorted(by_seed.items()):
        goal = arms["random"].curve[-1][1]
        rows.append({
            "seed": seed, "goal": goal, "budget": arms["random"].curve[-1][0],
            "live_final": arms["live"].curve[-1][1],
            "random_needs": labels_to_reach(arms["random"].curve, goal),
            "live_needs": labels_to_reach(arms["live"].curve, goal),
            "positives": {a: r.positives for a, r in arms.items()},
        })  # fmt: skip
    return {"seeds": rows, "curves": {f"{r.arm}-{r.seed}": r.curve for r in runs}}


def report(result: dict[str, Any]) -> str:
    lines = ["| seed | goal: random's final AP | random needs | live queue needs | live's final AP | "
             "check-worthy labelled (random / live) |", "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in result["seeds"]:
        live = r["live_needs"] if r["live_needs"] is not None else f">{r['budget']}"
        lines.append(f"| {r['seed']} | {r['goal']:.3f} | {r['random_needs']} | {live} | {r['live_final']:.3f} | "
                     f"{r['positives']['random']} / {r['positives']['live']} |")  # fmt: skip
    return "\n".join(lines)


@contextlib.contextmanager
def local_studio():
    """A throw-away local Label Studio (sqlite) for the run."""
    from annotate.studio import server
    from annotate.studio.client import connect

    d = Path(tempfile.mkdtemp(prefix="annotate-live-queue-"))
    try:
        info = server.start(d, port=server.free_port(), timeout=900, detach=False)
        yield connect(info.url, server.read_token(d))
    finally:
        server.stop(d)
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--pool", type=int, default=1000, help="sentences pushed per project [1000]")
    ap.add_argument("--test", type=int, default=3000, help="held-out sentences scored [3000]")
    ap.add_argument("--budget", type=int, default=200, help="labels per arm [200]")
    ap.add_argument("--every", type=int, default=20, help="retrain every N labels [20]")
    ap.add_argument("--queue-size", type=int, default=50, help="the live queue's depth [50]")
    ap.add_argument("--save", type=Path, help="write the summary and curves as JSON")
    ap.add_argument("--url")
    args = ap.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    settings = dict(seeds=seeds, pool=args.pool, test=args.test, budget=args.budget, every=args.every,
                    queue_size=args.queue_size)  # fmt: skip
    with contextlib.ExitStack() as stack:
        if args.url:
            from annotate.studio.client import connect

            studio = connect(args.url)
        else:
            studio = stack.enter_context(local_studio())
        result = summary(simulate(studio, **settings))
    print(report(result))
    if args.save:
        args.save.write_text(json.dumps({"settings": settings, **result}, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
