"""`annotate serve` /predict latency and throughput on loopback, next to the model's own predict_proba.

    python benchmarks/serve_latency.py                  # trains the small demo model in a temp dir
    python benchmarks/serve_latency.py --models DIR     # serves DIR (a folder of model versions)

The server is started as Label Studio would meet it: ``python -m annotate serve`` in its own
process on 127.0.0.1 (uvicorn), and every request carries the project's ``label_config``, as
Label Studio's requests do. Tasks are the sample article's sentences as ``annotate push`` makes
them (one per sentence x concerned target), repeated to fill a batch of 100.

Printed: p50 / p99 of /predict for 1 task and for 100 tasks; the same for the model call alone
(``predict_proba`` of every field model on the same tasks, in this process); the median of
their paired ratios (each server request is timed next to one model call, so both see the same
load on shared cores): the server's overhead, i.e. HTTP, JSON and building results from the schema;
and predictions per second with 8 concurrent clients.
Goals (issue 8): p99 for one task < 50 ms; overhead < 2x at 100 tasks.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sklearn  # noqa: E402

from annotate.corpus import read_documents  # noqa: E402
from annotate.models.pipelines import frame  # noqa: E402
from annotate.models.predict import pairs  # noqa: E402
from annotate.models.store import load  # noqa: E402
from annotate.resources import data_path  # noqa: E402
from annotate.schema import Schema, default_schema_path  # noqa: E402
from annotate.segment import iter_sentences  # noqa: E402
from annotate.studio.push import make_tasks  # noqa: E402

SAMPLE = data_path("corpora", "sample")


def tasks_from_sample(schema: Schema, n: int) -> list[dict[str, Any]]:
    sents = [s.to_dict() for s in iter_sentences(read_documents(SAMPLE))]
    data = list(make_tasks(sents, schema))
    return [{"id": i + 1, "data": data[i % len(data)]} for i in range(n)]


def demo_model(workdir: Path, schema: Schema) -> Path:
    from annotate.models.train import train_file
    from tests.models_data import claim_rows, stance_rows, write_csv

    labels = write_csv(workdir / "labels.csv", claim_rows() + stance_rows())
    models = workdir / "models"
    train_file(labels, schema, models / "demo", n_splits=3, learning_curve=False)
    return models


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The server requires credentials, as it does by default; given through the environment, never argv.
AUTH = ("bench", secrets.token_urlsafe(16))


def start_server(models: Path, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """``python -m annotate serve`` on a free loopback port, as Label Studio meets it; (process, URL) once healthy.

    Clients pass ``auth=AUTH``.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server; not a pipe, which its log would fill
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotate", "serve", "--models", str(models), "--port", str(port),
         "--schema", str(default_schema_path()), "--retrain-every", "0"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "ANNOTATE_SERVE_AUTH": ":".join(AUTH)},
        stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", auth=AUTH, timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            raise SystemExit(f"server did not start: {log.read().decode(errors='replace')[-2000:]}")
        time.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def paired(server: Any, model: Any, n: int) -> tuple[list[float], list[float]]:
    s, m = [], []
    for _ in range(n):
        s += timed(server, 1)
        m += timed(model, 1)
    return s, m


def model_call(model: Any, schema: Schema, tasks: list[dict[str, Any]]) -> None:
    """What the server cannot avoid: predict_proba of every field model on the tasks' rows."""
    recs = [
        {"sentence_id": str(i), "text": t["data"]["text"], "target": t["data"]["target"]} for i, t in enumerate(tasks)
    ]
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):  # as the server calls it
        for name, est in model.estimators.items():
            stance = model.kind(name) == "stance"
            rows = pairs(recs, schema) if stance else recs
            est.predict_proba(frame(rows, stance=stance))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=Path, help="folder of model versions (default: train the demo model)")
    ap.add_argument("--single", type=int, default=300, help="requests of 1 task")
    ap.add_argument("--batch", type=int, default=40, help="requests of 100 tasks")
    ap.add_argument("--concurrent", type=int, default=40, help="requests of 1 task per client, 8 clients")
    args = ap.parse_args()

    schema = Schema.from_file(default_schema_path())
    workdir = Path(tempfile.mkdtemp(prefix="annotate-serve-bench-"))
    try:
        if args.models:
            models = workdir / "models"
            shutil.copytree(args.models, models)  # retrains never happen here, but keep the original clean
        else:
            print("training the demo model ...", flush=True)
            models = demo_model(workdir, schema)
        folder = sorted(p for p in models.iterdir() if (p / "card.json").exists())[-1]
        model = load(folder, schema)
        tasks = tasks_from_sample(schema, 100)
        proc, url = start_server(models)
        try:
            run(url, model, schema, tasks, args)
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(url: str, model: Any, schema: Schema, tasks: list[dict[str, Any]], args: argparse.Namespace) -> None:
    def body(ts: list[dict[str, Any]]) -> dict[str, Any]:
        return {"tasks": ts, "project": "1.1732000000", "label_config": schema.xml, "params": {}}

    one, hundred = body(tasks[:1]), body(tasks[:100])
    with httpx.Client(base_url=url, auth=AUTH, timeout=60) as http:
        for _ in range(20):  # warm up: imports, schema cache, connection
            assert len(http.post("/predict", json=one).json()["results"]) == 1
        assert len(http.post("/predict", json=hundred).json()["results"]) == 100
        # server call and model call alternate, so both see the same machine load (shared cores)
        s1, m1 = paired(lambda: http.post("/predict", json=one).raise_for_status(),
                        lambda: model_call(model, schema, tasks[:1]), args.single)  # fmt: skip
        s100, m100 = paired(lambda: http.post("/predict", json=hundred).raise_for_status(),
                            lambda: model_call(model, schema, tasks[:100]), args.batch)  # fmt: skip

    errors: list[str] = []

    def client(n: int) -> None:
        with httpx.Client(base_url=url, auth=AUTH, timeout=60) as http:
            for _ in range(n):
                r = http.post("/predict", json=one)
                if r.status_code != 200:
                    errors.append(r.text)

    threads = [threading.Thread(target=client, args=(args.concurrent,)) for _ in range(8)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    total = 8 * args.concurrent

    print(f"model {model.model_version} ({', '.join(model.estimators)}); {os.cpu_count()} cores; server {url}")
    print(f"{'':24}{'p50 ms':>10}{'p99 ms':>10}{'model p50':>12}{'overhead':>10}")
    for label, s, m in (("/predict, 1 task", s1, m1), ("/predict, 100 tasks", s100, m100)):
        ratio = statistics.median(a / b for a, b in zip(s, m, strict=True))
        print(f"{label:24}{pct(s, 50):>10.2f}{pct(s, 99):>10.2f}{pct(m, 50):>12.2f}{ratio:>9.2f}x")
    print(f"8 concurrent clients, 1 task per request: {total / wall:.0f} predictions/s ({total} requests, {wall:.2f} s"
          f"{', ' + str(len(errors)) + ' errors' if errors else ''})")  # fmt: skip
    ok1 = pct(s1, 99) < 50
    ok100 = statistics.median(a / b for a, b in zip(s100, m100, strict=True)) < 2
    print(f"goals: p99 1 task < 50 ms: {'met' if ok1 else 'NOT met'}; overhead at 100 tasks < 2x: "
          f"{'met' if ok100 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
