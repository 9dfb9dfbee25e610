"""Push and pull throughput for 10,000 sentences against a local Label Studio, next to one raw SDK call.

    python benchmarks/push_pull.py                    # starts a throw-away server in a temp dir
    python benchmarks/push_pull.py --data-dir DIR     # reuses (or starts) the server of DIR
    python benchmarks/push_pull.py --url URL --token T

Measured in one run on the same task data: (1) one raw ``projects.import_tasks`` call with all
tasks, (2) ``annotate`` push into a new project (batches of 1,000 + the listing of existing
keys), (3) a re-push that finds every task already there, (4) pull (snapshot export + flat
table) of a project with the same tasks and annotations on 10% of them (imported in one call).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotate.schema import Schema, default_schema_path  # noqa: E402
from annotate.studio import server  # noqa: E402
from annotate.studio.client import connect  # noqa: E402
from annotate.studio.pull import pull  # noqa: E402
from annotate.studio.push import make_tasks, push  # noqa: E402


def sentences(n: int) -> list[dict]:
    """Ingest-format records that concern no target: one task per sentence."""
    out = []
    for i in range(n):
        text = f"Sentence {i} of the benchmark: the committee discussed item {i} at length on Tuesday."
        out.append(
            {"sentence_id": f"b{i:06d}", "doc_id": f"doc{i // 40}", "index": i % 40, "paragraph": 0, "start": 0,
             "end": len(text), "text": text, "context": {"previous": "", "next": ""}, "title": "Benchmark",
             "source": "synthetic", "date": "2026-11-25"}  # fmt: skip
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--data-dir")
    ap.add_argument("--url")
    ap.add_argument("--token")
    args = ap.parse_args()

    tmp = None
    if args.url:
        studio = connect(args.url, args.token)
    else:
        data_dir = args.data_dir or tempfile.mkdtemp(prefix="annotate-bench-ls-")
        tmp = None if args.data_dir else data_dir
        t = time.perf_counter()
        port = None if args.data_dir else server.free_port()
        info = server.start(data_dir, port=port, timeout=300, detach=bool(args.data_dir))
        print(f"server {info.url} ready in {time.perf_counter() - t:.1f} s (reused: {info.reused})")
        studio = connect(info.url, server.read_token(data_dir))
    try:
        run(studio, args.n)
    finally:
        if tmp:
            server.stop(tmp)
            shutil.rmtree(tmp, ignore_errors=True)


def run(studio, n: int) -> None:
    ls = studio.client
    schema = Schema.from_file(default_schema_path())
    records = sentences(n)
    tasks = list(make_tasks(records, schema))
    assert len(tasks) == n
    tag = uuid.uuid4().hex[:6]
    rows = []

    raw_project = ls.projects.create(title=f"bench-raw-{tag}", label_config=schema.xml)
    t = time.perf_counter()
    res = ls.projects.import_tasks(id=raw_project.id, request=[{"data": d} for d in tasks])
    raw = time.perf_counter() - t
    assert res.task_count == n, res
    rows.append(("raw SDK import_tasks (one call)", n, raw))

    title = f"bench-push-{tag}"
    t = time.perf_counter()
    first = push(studio, records, schema, project=title)
    rows.append(("annotate push (new project)", first.imported, time.perf_counter() - t))
    assert first.imported == n

    t = time.perf_counter()
    again = push(studio, records, schema, project=title)
    rows.append(("annotate re-push (all present)", again.existing, time.perf_counter() - t))
    assert again.imported == 0

    # pull reads a third project: the same tasks imported with annotations on 10% of them
    # (two annotators, some skips), since creating annotations one by one would dominate the run
    users = [ls.users.create(email=f"b{k}-{tag}@example.com", username=f"b{k}-{tag}") for k in range(2)]
    pull_title = f"bench-pull-{tag}"
    pull_project = ls.projects.create(title=pull_title, label_config=schema.xml)
    labelled = []
    for k, d in enumerate(tasks):
        item: dict = {"data": d}
        if k < n // 10:
            choice = ["Opinion", "Not a claim", "Other factual claim"][k % 3]
            result = [{"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}]
            item["annotations"] = [
                {"result": result, "completed_by": users[0].id, "lead_time": 3.0},
                {"result": [] if k % 25 == 0 else result, "completed_by": users[1].id, "was_cancelled": k % 25 == 0},
            ]
        labelled.append(item)
    res = ls.projects.import_tasks(id=pull_project.id, request=labelled)
    print(f"pull project: imported {res.task_count} tasks, {res.annotation_count} annotations")
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        result = pull(studio, pull_title, out)
        rows.append(("annotate pull (export + table)", result.summary["tasks"], time.perf_counter() - t))

    print(f"\n{n} sentences, {studio.url}\n")
    print("| operation | tasks | seconds | tasks/s | vs raw import |")
    print("|---|---:|---:|---:|---:|")
    raw_rate = n / raw
    for name, count, secs in rows:
        rate = count / secs
        print(f"| {name} | {count} | {secs:.2f} | {rate:,.0f} | {rate / raw_rate:.2f}x |")
    print(f"\npull summary: {result.summary['annotations']} annotations (imported {res.annotation_count}, "
          f"server counters {result.summary['server_counted_annotations']}), {result.summary['skipped']} skipped, "
          f"{result.summary['rows']} rows")  # fmt: skip
    for p in (raw_project.id, first.project_id, pull_project.id):
        ls.projects.delete(id=p)


if __name__ == "__main__":
    main()
