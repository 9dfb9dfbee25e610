"""Peak memory of streaming ``suggest`` and ``pull``, at two sizes, against the whole-in-memory way.

``suggest_file`` scores sentences chunk by chunk and keeps a bounded candidate set; ``pull``
(:func:`annotate.studio.pull.write_snapshot`) copies the export to disk in chunks and flattens it
task by task with ijson. Both should need the same memory for 100k items as for 10k. The
reference, measured in the same run, is the way both worked before they streamed: read every
sentence and sort every score (suggest), ``json.loads`` the whole export and build every row
(pull).

Inputs are built from real text: sentences from the FNC-1 training bodies in ../shared/data
(``benchmarks/scale.py``'s corpus, ingested once, then repeated with new ids), and exports from
the export recorded from a real Label Studio in ``tests/data`` (its tasks repeated with new
task, annotation and draft ids). The model is the shipped bootstrap claim model. Every
measurement runs in a fresh process; its peak RSS (``VmHWM``) is counted from just before the work
(after imports and model load: Linux ``clear_refs``), and CPU seconds are ``time.process_time``
of that process (the machine may be shared, so wall time is not used).

    python benchmarks/stream_memory.py [--sizes 10000,100000] [--no-reference] [--keep DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "tests" / "data" / "export_round_trip.json"
sys.path.insert(0, str(ROOT / "benchmarks"))


def _status_mb(key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the lifetime peak


def _reset_peak() -> None:
    """Restart the peak-RSS count here (Linux: ``clear_refs`` 5), so imports do not hide the work's peak."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


# --- inputs ------------------------------------------------------------------------------------


def build_sentences(n: int, base: Path, out: Path) -> None:
    """``n`` sentence records: the ingested base corpus repeated, with new sentence and document ids."""
    lines = base.read_text("utf-8").splitlines()
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            rec = json.loads(lines[i % len(lines)])
            rec["sentence_id"] = f"{rec['sentence_id']}-{i // len(lines)}"
            rec["doc_id"] = f"{rec['doc_id']}-{i // len(lines)}"
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def build_export(n: int, out: Path) -> None:
    """An export of ``n`` tasks, written task by task (the recorded tasks, repeated with new ids)."""
    recorded = json.loads(EXPORT.read_text("utf-8"))
    with out.open("w", encoding="utf-8") as fh:
        fh.write("[")
        for i in range(n):
            t = copy.deepcopy(recorded[i % len(recorded)])
            t["id"] = 1_000_000 + i
            for j, a in enumerate(t.get("annotations") or []):
                a["id"] = 10 * (1_000_000 + i) + j
            for j, d in enumerate(t.get("drafts") or []):
                d["id"] = 10 * (1_000_000 + i) + 5 + j
            fh.write(("," if i else "") + "\n" + json.dumps(t, ensure_ascii=False))
        fh.write("\n]\n")


# --- one measurement (in a fresh process) ------------------------------------------------------


def run_one(step: str, impl: str, path: Path, model: Path, workdir: Path) -> dict:
    from annotate.schema import Schema, default_schema_path

    schema = Schema.from_file(default_schema_path())
    if step == "suggest":
        from annotate.models.store import load

        loaded = load(model, schema)  # the model is there in both ways: not part of the growth
    _reset_peak()
    base_mb = _status_mb("VmRSS")
    t0 = time.process_time()
    if step == "suggest" and impl == "stream":
        from annotate.suggest import suggest_file

        n = suggest_file(loaded, path, workdir / "suggest.jsonl", schema, k=50, diversity=0.8).candidates
    elif step == "suggest":
        from annotate.models.pipelines import frame
        from annotate.models.predict import read_records
        from annotate.suggest import diverse, entropy, prefer_uncertain, score_stream

        est = loaded.estimators["claim_type"]
        records = read_records(path)
        ranked = prefer_uncertain(score_stream(records, lambda b: est.predict_proba(frame(b)), entropy))
        diverse(ranked, 50, threshold=0.8)
        n = len(ranked)
    elif impl == "stream":
        from annotate.studio.pull import write_snapshot

        def chunks():
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    yield chunk

        n = write_snapshot(chunks(), schema, workdir / "stream", "bench").summary["tasks"]
    else:
        from annotate.io import dumps
        from annotate.studio.pull import flatten, summarize

        raw = path.read_bytes()
        tasks = json.loads(raw)
        rows = list(flatten(tasks, schema, snapshot="s", project="bench"))
        summarize(tasks, rows, snapshot="s", project="bench")
        (workdir / "memory.jsonl").write_text("".join(dumps(r) + "\n" for r in rows), "utf-8")
        n = len(tasks)
    cpu = time.process_time() - t0
    return {"step": step, "impl": impl, "n": n, "cpu_s": cpu, "base_mb": base_mb, "peak_mb": _status_mb("VmHWM")}


def measure(step: str, impl: str, path: Path, model: Path, workdir: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--run", step, impl, str(path), str(model), str(workdir)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the table ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="sentences (suggest) and tasks (pull), comma-separated")
    ap.add_argument("--no-reference", action="store_true", help="skip the whole-in-memory reference")
    ap.add_argument("--keep", type=Path, help="build inputs here and keep them (default: a temporary folder)")
    ap.add_argument("--run", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        step, impl, path, model, workdir = args.run
        print(json.dumps(run_one(step, impl, Path(path), Path(model), Path(workdir))))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    impls = ["stream"] if args.no_reference else ["stream", "memory"]
    with tempfile.TemporaryDirectory(prefix="annotate-stream-") as tmp:
        d = args.keep or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        from scale import build_corpus

        from annotate.bootstrap import bootstrap
        from annotate.segment import ingest

        model = d / "model"
        if not (model / "card.json").exists():
            bootstrap(model)
        base = d / "base.sentences.jsonl"
        if not base.exists():
            build_corpus(10_000, d / "base.docs.jsonl")
            ingest([d / "base.docs.jsonl"], base)
        print(f"# {platform.machine()}, {platform.python_version()}, {time.strftime('%Y-%m-%d')}; "
              "peak RSS of the process (MB); base = after imports and model load", flush=True)  # fmt: skip
        print("| step | items | way | CPU s | items/CPU s | base RSS | peak RSS | peak - base |")
        print("|---|---:|---|---:|---:|---:|---:|---:|")
        for step in ("suggest", "pull"):
            for n in sizes:
                path = d / (f"s{n}.jsonl" if step == "suggest" else f"export{n}.json")
                if not path.exists():
                    (build_sentences(n, base, path) if step == "suggest" else build_export(n, path))
                for impl in impls:
                    work = Path(tempfile.mkdtemp(dir=d))
                    r = measure(step, impl, path, model, work)
                    print(f"| {step} | {r['n']:,} | {'streaming' if impl == 'stream' else 'whole in memory'} | "
                          f"{r['cpu_s']:.1f} | {r['n'] / max(r['cpu_s'], 1e-9):,.0f} | {r['base_mb']:.0f} | "
                          f"{r['peak_mb']:.0f} | {r['peak_mb'] - r['base_mb']:.0f} |", flush=True)  # fmt: skip
                    for f in sorted(work.rglob("*"), reverse=True):
                        f.unlink() if f.is_file() else f.rmdir()
                    work.rmdir()


if __name__ == "__main__":
    main()
