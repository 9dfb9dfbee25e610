"""Load test of `annotate serve` on loopback: many clients, good and bad requests, for a while.

    python benchmarks/serve_load.py                        # 8 and 32 clients, 60 s each
    python benchmarks/serve_load.py --seconds 10 --clients 8

The server runs as Label Studio meets it (``python -m annotate serve``, its own process, on
127.0.0.1). Each client loops for ``--seconds`` over a fixed mix of requests (bounded in time and
count, loopback only): good /predict requests (1 and 20 tasks), and bad ones that a hostile or
broken client sends: invalid JSON, a non-JSON content type, tasks that are not a list, malformed
webhook annotations, an unknown route. Printed per run: requests, p50 / p99 latency of the good
ones, every status class of the bad ones, 5xx count, and the server's resident memory before and
after (growth in MB). Goals (reliability issue): the server stays up, zero 5xx, flat memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402
from serve_latency import AUTH, demo_model, pct, start_server, tasks_from_sample  # noqa: E402

from annotate.schema import Schema, default_schema_path  # noqa: E402

JSON = {"content-type": "application/json"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def requests_mix(schema: Schema, tasks: list[dict[str, Any]]) -> list[tuple[str, str, bytes, dict[str, str], bool]]:
    """(name, path, body, headers, good) for each kind of request a client sends in turn."""

    def predict(ts: list[dict[str, Any]]) -> bytes:
        return json.dumps({"tasks": ts, "project": "1.1732000000", "label_config": schema.xml}).encode()

    bad_annotation = {"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "result": [None]},
                      "task": tasks[0], "project": {"id": 1}}  # fmt: skip
    return [
        ("predict 1", "/predict", predict(tasks[:1]), JSON, True),
        ("predict 20", "/predict", predict(tasks[:20]), JSON, True),
        ("invalid JSON", "/predict", b"{not json", JSON, False),
        ("text/plain", "/webhook", json.dumps(bad_annotation).encode(), {"content-type": "text/plain"}, False),
        ("tasks not a list", "/predict", b'{"tasks": {"id": 1}}', JSON, False),
        ("bad annotation", "/webhook", json.dumps(bad_annotation).encode(), JSON, False),
        ("unknown route", "/nowhere", b"{}", JSON, False),
    ]


def run(url: str, pid: int, mix: list[Any], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        i = offset
        with httpx.Client(base_url=url, auth=AUTH, timeout=60) as http:
            while time.monotonic() < stop:
                name, path, body, headers, good = mix[i % len(mix)]
                i += 1
                t = time.perf_counter()
                try:
                    r = http.post(path, content=body, headers=headers)
                    code = f"{r.status_code // 100}xx"
                except httpx.TransportError as err:
                    code = f"transport error ({type(err).__name__})"
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    statuses[f"{name}: {code}"] += 1
                    if good and code == "2xx":
                        latencies.append(ms)

    before = rss_mb(pid)
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "clients": clients,
        "requests": sum(statuses.values()),
        "p50": pct(latencies, 50) if latencies else float("nan"),
        "p99": pct(latencies, 99) if latencies else float("nan"),
        "statuses": statuses,
        "server_errors": sum(n for k, n in statuses.items() if k.endswith("5xx") or "transport" in k),
        "rss_before": before,
        "rss_after": rss_mb(pid),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="8,32", help="comma-separated numbers of concurrent clients")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long each run lasts")
    args = ap.parse_args()
    schema = Schema.from_file(default_schema_path())
    workdir = Path(tempfile.mkdtemp(prefix="annotate-serve-load-"))
    try:
        print("training the demo model ...", flush=True)
        models = demo_model(workdir, schema)
        tasks = tasks_from_sample(schema, 20)
        proc, url = start_server(models)
        try:
            mix = requests_mix(schema, tasks)
            run(url, proc.pid, mix, 2, 3.0)  # warm up: imports, schema cache, connections
            print(
                "| clients | seconds | requests | good p50 ms | good p99 ms | 5xx or dropped | RSS MB before -> after |"
            )
            print("|---:|---:|---:|---:|---:|---:|---|")
            results = []
            for n in (int(c) for c in args.clients.split(",")):
                r = run(url, proc.pid, mix, n, args.seconds)
                results.append(r)
                row = [n, f"{args.seconds:.0f}", r["requests"], f"{r['p50']:.1f}", f"{r['p99']:.1f}",
                       r["server_errors"], f"{r['rss_before']:.0f} -> {r['rss_after']:.0f}"]  # fmt: skip
                print("| " + " | ".join(str(c) for c in row) + " |", flush=True)
            print(
                "status classes, last run:", ", ".join(f"{k} {v}" for k, v in sorted(results[-1]["statuses"].items()))
            )
            up = proc.poll() is None and httpx.get(f"{url}/health", auth=AUTH, timeout=5).status_code == 200
            growth = results[-1]["rss_after"] - results[0]["rss_before"]
            errors = sum(r["server_errors"] for r in results)
            print(f"server still up: {'yes' if up else 'NO'}; 5xx or dropped: {errors}; "
                  f"memory growth over all runs: {growth:+.0f} MB")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
