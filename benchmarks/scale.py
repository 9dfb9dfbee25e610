"""Scale: ingest (and predict, once a model is given) over 10k, 100k and 1M sentences.

Corpora are built from real article text, the FNC-1 training bodies in ../shared/data,
repeated with distinct document ids until the sentence count is reached. Every measurement
runs in a fresh subprocess so its peak RSS is its own. Modes:

- ``single``: one process;
- ``jobs``: joblib processes on every core (``n_jobs=-1``);
- ``dask``: a ``dask.distributed.LocalCluster`` with two single-threaded worker processes.

    python benchmarks/scale.py [--sizes 10000,100000,1000000] [--modes single,jobs,dask] [--model DIR|bootstrap]
                               [--stages ingest,predict]

``--model bootstrap`` trains the bootstrap claim model (``annotate.bootstrap``, a few seconds)
into a temporary folder and measures predict with it.

Prints one table row per (stage, size, mode): wall time, sentences/s, the rate relative to
the single process at the same size, the CPU seconds of the main process and of the workers
(joblib's, or the Dask workers' since they started), sentences per CPU second, the rate those
CPU seconds allow on two idle cores (the figure that does not depend on what else runs on a
shared machine), peak RSS of the main process and of a worker, and the load average after.
Goals on a 2-core machine: ingest >= 5,000 sentences/s, predict >= 20,000
sentences/s, peak RSS < 1 GB at 1M sentences.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BODIES = ROOT.parent / "shared" / "data" / "fnc1" / "train_bodies.csv"


def build_corpus(n_sentences: int, out: Path) -> int:
    """Write documents (JSONL) holding about ``n_sentences`` sentences; return the document count."""
    from annotate.corpus import Document
    from annotate.segment import split_spans

    csv.field_size_limit(sys.maxsize)
    with BODIES.open(encoding="utf-8") as fh:
        bodies = [row["articleBody"] for row in csv.DictReader(fh) if row["articleBody"].strip()]
    counts = [sum(1 for _ in split_spans(Document("x", b).text)) for b in bodies[:200]]
    per_doc = max(1.0, sum(counts) / len(counts))
    n_docs = max(1, round(n_sentences / per_doc))
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n_docs):
            fh.write(json.dumps({"id": f"fnc-{i:07d}", "text": bodies[i % len(bodies)]}, ensure_ascii=False) + "\n")
    return n_docs


def _peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, not ``ru_maxrss``, which Linux carries over fork and exec
    (a child of a 300 MB parent would report at least 300 MB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(stage: str, mode: str, corpus: Path, model: str | None) -> dict:
    """Measure one stage in this (fresh) process; print a JSON line."""
    from annotate.segment import ingest

    out = corpus.with_suffix(f".{mode}.sentences.jsonl")
    cluster = None
    kwargs: dict = {}
    if mode == "jobs":
        kwargs["n_jobs"] = -1
    elif mode == "dask":
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        kwargs["dask"] = cluster.scheduler_address
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    worker_rss = 0.0
    worker_cpu = 0.0
    if stage == "ingest":
        summary = ingest([corpus], out, **kwargs)
        n = summary.sentences
    else:
        from annotate.models.predict import predict_file
        from annotate.schema import Schema, default_schema_path

        sentences = corpus.with_suffix(".single.sentences.jsonl")
        preds = out.with_suffix(".preds.jsonl")
        n = predict_file(model, sentences, preds, Schema.from_file(default_schema_path()), **kwargs).sentences
    wall = time.perf_counter() - t0
    main_cpu = time.process_time() - cpu0
    if cluster is not None:
        from distributed import Client

        with Client(cluster) as client:
            worker_rss = max(client.run(_peak_rss_mb).values())
            worker_cpu = sum(client.run(time.process_time).values())  # since the worker started
        cluster.close()
    elif mode == "jobs":
        # stop joblib's (loky's) reusable workers so that their CPU time is counted as ours
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = children.ru_utime + children.ru_stime
        worker_rss = children.ru_maxrss / 1024
    return {"stage": stage, "mode": mode, "sentences": n, "seconds": wall, "rss_mb": _peak_rss_mb(),
            "worker_rss_mb": worker_rss, "main_cpu": main_cpu, "worker_cpu": worker_cpu,
            "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--modes", default="single,dask")
    ap.add_argument("--model", default=None, help="a trained model folder, or `bootstrap`: also measure predict")
    ap.add_argument("--stages", default="ingest,predict", help="ingest, predict (predict needs --model)")
    ap.add_argument("--one", nargs=3, metavar=("STAGE", "MODE", "CORPUS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        stage, mode, corpus = args.one
        print(json.dumps(run_one(stage, mode, Path(corpus), args.model)))
        return
    stages = [s for s in args.stages.split(",") if s != "predict" or args.model]
    if args.model == "bootstrap":
        from annotate.bootstrap import bootstrap

        args.model = tempfile.mkdtemp(prefix="annotate-scale-model-")
        atexit.register(shutil.rmtree, args.model, ignore_errors=True)
        bootstrap(args.model)
    print(f"# scale benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print("| stage | sentences | mode | seconds | sentences/s | vs single | CPU s main + workers "
          "| sentences per CPU s | 2-core bound (sentences/s) | peak RSS main (MB) | peak RSS worker (MB) | load |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="annotate-scale-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            corpus = Path(tmp) / f"corpus-{size}.jsonl"
            build_corpus(size, corpus)
            for stage in stages:
                base_rate = None
                sentences = corpus.with_suffix(".single.sentences.jsonl")
                if stage == "predict" and not sentences.exists():  # predict's input, not timed
                    from annotate.segment import ingest

                    ingest([corpus], sentences, n_jobs=-1)
                for mode in args.modes.split(","):
                    cmd = [sys.executable, __file__, "--one", stage, mode, str(corpus)]
                    if args.model:
                        cmd += ["--model", args.model]
                    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                    rate = res["sentences"] / res["seconds"]
                    base_rate = base_rate or rate
                    cpu = res["main_cpu"] + res["worker_cpu"]
                    # what the CPU work allows on two idle cores: the busiest process, or all
                    # the work shared evenly by both cores, whichever is longer
                    cores = 1 if mode == "single" else min(2, os.cpu_count() or 1)
                    bound = res["sentences"] / max(res["main_cpu"], cpu / cores)
                    print(f"| {stage} | {res['sentences']:,} | {mode} | {res['seconds']:.1f} | {rate:,.0f} | "
                          f"{rate / base_rate:.2f}x | {res['main_cpu']:.1f} + {res['worker_cpu']:.1f} | "
                          f"{res['sentences'] / cpu:,.0f} | {bound:,.0f} | {res['rss_mb']:.0f} | "
                          f"{res['worker_rss_mb']:.0f} | {res['load']:.1f} |", flush=True)
            for p in Path(tmp).glob(f"corpus-{size}*"):
                p.unlink()


if __name__ == "__main__":
    main()
