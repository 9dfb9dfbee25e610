"""Push and pull throughput against a local Label Studio on sqlite and on PostgreSQL, and resumption.

    python benchmarks/push_pull.py                                 # 10,000 tasks, sqlite and PostgreSQL
    python benchmarks/push_pull.py --n 100000 --database both      # the issue 9 figures
    python benchmarks/push_pull.py --database sqlite --data-dir DIR   # reuse (or start) the server of DIR
    python benchmarks/push_pull.py --url URL             # any running server (token: LABEL_STUDIO_API_KEY)

Each database gets its own throw-away server (sqlite in a temp data dir; PostgreSQL from Debian's
binaries on 127.0.0.1, started by :mod:`annotate.studio.pgserver` as the test layer does, with
its default durability). On each, in one run on the same task data:

1. ``raw import``: the SDK's ``projects.import_tasks`` in batches of 1,000, with annotations
   on 10% of the tasks (two annotators, some skips): the reference rate, and the project pulled in 5;
2. ``push``: ``annotate push`` into a new project (listing nothing, batches of 1,000);
3. ``re-push``: the same push again, which lists every task and imports none (and, for the
   record, the listing rate of push's raw pages against the SDK's pager, on the first 10,000);
4. ``interrupted push``: ``annotate push`` run as a subprocess and killed (SIGKILL) once about
   half of the tasks are in, then pushed again: the check is task count == n and no task_key twice;
5. ``pull``: ``annotate pull`` of project 1 (snapshot export + flat table).

Rates are wall-clock on whatever else the machine is running: the load average is printed, and
the ``vs raw`` column (same server, same run) is the figure to compare across machines.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotate.schema import Schema, default_schema_path  # noqa: E402
from annotate.studio import server  # noqa: E402
from annotate.studio.client import connect  # noqa: E402
from annotate.studio.pgserver import local_postgres  # noqa: E402
from annotate.studio.pull import pull  # noqa: E402
from annotate.studio.push import iter_task_keys, make_tasks, push  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def sentences(n: int) -> list[dict]:
    """Ingest-format records that concern no target: one task per sentence."""
    out = []
    for i in range(n):
        text = f"Sentence {i} of the benchmark: the committee discussed item {i} at length on Tuesday."
        out.append(
            {
                "sentence_id": f"b{i:07d}",
                "doc_id": f"doc{i // 40}",
                "index": i % 40,
                "paragraph": 0,
                "start": 0,
                "end": len(text),
                "text": text,
                "context": {"previous": "", "next": ""},
                "title": "Benchmark",
                "source": "synthetic",
                "date": "2026-11-30",
            }  # fmt: skip
        )
    return out


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--n", type=int, default=10_000, help="tasks per project [10000]")
    ap.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--data-dir", help="reuse (or start) the server of this data dir (one database only)")
    ap.add_argument("--url")
    args = ap.parse_args()

    rows: list[dict] = []
    if args.url:
        rows.append(run(connect(args.url), args.n, "server at " + args.url))
    else:
        for db in ("sqlite", "postgresql") if args.database == "both" else (args.database,):
            with local_server(db, args.data_dir) as studio:
                rows.append(run(studio, args.n, db))
    print(f"\n{args.n:,} tasks per project; load average at the end: {load()}\n")
    print(
        "| database | tasks | raw import tasks/s | push s | push tasks/s | push vs raw | re-push (list all) s "
        "| pull s | pull tasks/s | interrupted push: killed at | after re-push | duplicates |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        vs_raw = r["push_rate"] / r["raw_rate"]
        print(f"| {r['database']} | {r['n']:,} | {r['raw_rate']:,.0f} | {r['push_s']:.1f} | {r['push_rate']:,.0f} "
              f"| {vs_raw:.2f}x | {r['repush_s']:.1f} | {r['pull_s']:.1f} | {r['pull_rate']:,.0f} "
              f"| {r['killed_at']:,} | {r['resumed_count']:,} | {r['duplicates']} |")  # fmt: skip
    bad = [r["database"] for r in rows if r["resumed_count"] != r["n"] or r["duplicates"]]
    if bad:
        sys.exit(f"interrupted push check FAILED on {', '.join(bad)}")


@contextlib.contextmanager
def local_server(database: str, data_dir: str | None):
    """A Label Studio on ``database`` for the run (a throw-away PostgreSQL too), stopped afterwards."""
    with contextlib.ExitStack() as stack:
        url = None
        if database == "postgresql":
            t = time.perf_counter()
            pg = stack.enter_context(local_postgres())
            url = pg.url
            print(f"PostgreSQL {pg.display} ready in {time.perf_counter() - t:.1f} s")
        keep = data_dir is not None
        d = Path(data_dir) if keep else Path(tempfile.mkdtemp(prefix=f"annotate-bench-{database}-"))
        if not keep:
            stack.callback(shutil.rmtree, d, ignore_errors=True)
            stack.callback(server.stop, d)
        t = time.perf_counter()
        info = server.start(d, port=None if keep else server.free_port(), timeout=900, detach=keep, database=url)
        print(f"Label Studio on {info.database} ready in {time.perf_counter() - t:.1f} s (reused: {info.reused})")
        yield connect(info.url, server.read_token(d))


def raw_import(studio, tasks: list[dict], title: str) -> tuple[int, float]:
    """The reference: SDK import_tasks in batches of 1,000, annotations on 10% (two annotators, skips)."""
    ls = studio.client
    tag = uuid.uuid4().hex[:6]
    users = [ls.users.create(email=f"b{k}-{tag}@example.com", username=f"b{k}-{tag}") for k in range(2)]
    project = ls.projects.create(title=title, label_config=Schema.from_file(default_schema_path()).xml)
    n = len(tasks)
    t = time.perf_counter()
    for i in range(0, n, 1000):
        batch = []
        for k in range(i, min(i + 1000, n)):
            item: dict = {"data": tasks[k]}
            if k % 10 == 0:
                choice = ["Opinion", "Not a claim", "Other factual claim"][k % 3]
                result = [{"from_name": "claim_type", "to_name": "text", "type": "choices",
                           "value": {"choices": [choice]}}]  # fmt: skip
                skip = k % 250 == 0
                item["annotations"] = [
                    {"result": result, "completed_by": users[0].id, "lead_time": 3.0},
                    {"result": [] if skip else result, "completed_by": users[1].id, "was_cancelled": skip},
                ]
            batch.append(item)
        res = ls.projects.import_tasks(id=project.id, request=batch)
        assert res.task_count == len(batch), res
    return project.id, time.perf_counter() - t


def interrupted_push(studio, records: list[dict], schema: Schema, title: str, tmp: Path) -> tuple[int, int, int]:
    """Kill an ``annotate push`` subprocess half-way (SIGKILL), push again; (killed at, count, duplicates)."""
    n = len(records)
    path = tmp / "sentences.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    exe = ROOT / ".venv" / "bin" / "annotate"
    cmd = [str(exe) if exe.exists() else "annotate", "push", str(path), "--project", title, "--url", studio.url]
    env = {**os.environ, "LABEL_STUDIO_API_KEY": studio._token}  # not on the command line
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ls = studio.client
    killed_at, project_id = 0, None
    try:
        while proc.poll() is None:
            if project_id is None:
                project_id = next((p.id for p in ls.projects.list() if p.title == title), None)
            count = (ls.projects.get(id=project_id).task_number or 0) if project_id else 0
            if count >= n // 2:
                proc.send_signal(signal.SIGKILL)  # no clean-up, no KeyboardInterrupt handler: a crash
                proc.wait()
                killed_at = ls.projects.get(id=project_id).task_number or 0
                break
            time.sleep(0.2)
        else:
            raise SystemExit(f"the push finished before it could be interrupted: {proc.stderr.read().decode()[-500:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(2)  # let the server finish the batch it was importing when the client died
    rest = push(studio, records, schema, project=title)
    keys = collections.Counter(k for k, _ in iter_task_keys(studio, rest.project_id))
    duplicates = sum(c - 1 for c in keys.values() if c > 1)
    count = ls.projects.get(id=rest.project_id).task_number
    assert count == sum(keys.values()), (count, sum(keys.values()))
    return killed_at, count, duplicates


def listing_rates(studio, project_id: int, limit: int) -> tuple[float, float]:
    """Tasks/s listing the first ``limit`` task keys: push's raw pages vs the SDK's pager (why push is raw)."""
    t = time.perf_counter()
    for done, _ in enumerate(iter_task_keys(studio, project_id), 1):
        if done >= limit:
            break
    raw = limit / (time.perf_counter() - t)
    t = time.perf_counter()
    pager = studio.client.tasks.list(project=project_id, fields="task_only", page_size=1000)
    for done, task in enumerate(pager, 1):
        assert task.data["task_key"]
        if done >= limit:
            break
    return raw, limit / (time.perf_counter() - t)


def run(studio, n: int, database: str) -> dict:
    schema = Schema.from_file(default_schema_path())
    records = sentences(n)
    tasks = list(make_tasks(records, schema))
    assert len(tasks) == n
    tag = uuid.uuid4().hex[:6]
    ls = studio.client
    out: dict = {"database": database, "n": n}
    print(f"[{database}] load average {load()}")

    raw_id, secs = raw_import(studio, tasks, f"bench-raw-{tag}")
    out["raw_rate"] = n / secs
    print(f"[{database}] raw import: {secs:.1f} s, {n / secs:,.0f} tasks/s")

    title = f"bench-push-{tag}"
    t = time.perf_counter()
    first = push(studio, records, schema, project=title)
    out["push_s"] = time.perf_counter() - t
    out["push_rate"] = n / out["push_s"]
    assert first.imported == n
    print(f"[{database}] push: {out['push_s']:.1f} s, {out['push_rate']:,.0f} tasks/s")

    t = time.perf_counter()
    again = push(studio, records, schema, project=title)
    out["repush_s"] = time.perf_counter() - t
    assert again.imported == 0 and again.existing == n
    print(f"[{database}] re-push (lists {n:,} tasks, imports none): {out['repush_s']:.1f} s")

    out["list_raw_rate"], out["list_sdk_rate"] = listing_rates(studio, first.project_id, min(n, 10_000))
    print(f"[{database}] listing task keys: raw pages {out['list_raw_rate']:,.0f} tasks/s, "
          f"SDK pager {out['list_sdk_rate']:,.0f} tasks/s")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        killed, count, dups = interrupted_push(studio, records, schema, f"bench-interrupt-{tag}", Path(tmp))
        out.update(killed_at=killed, resumed_count=count, duplicates=dups)
        print(f"[{database}] interrupted push: killed at {killed:,} tasks; after re-push {count:,}, {dups} duplicates")

        raw_title = ls.projects.get(id=raw_id).title
        t = time.perf_counter()
        result = pull(studio, raw_title, Path(tmp) / "annotations")
        out["pull_s"] = time.perf_counter() - t
    out["pull_rate"] = result.summary["tasks"] / out["pull_s"]
    assert result.summary["tasks"] == n
    print(f"[{database}] pull: {out['pull_s']:.1f} s, {out['pull_rate']:,.0f} tasks/s; "
          f"{result.summary['annotations']} annotations, {result.summary['skipped']} skipped, "
          f"{result.summary['rows']} rows")  # fmt: skip
    print(f"[{database}] load average {load()}")
    return out


if __name__ == "__main__":
    main()
