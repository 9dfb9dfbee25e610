"""Speaker attribution: the new rules (annotate/speakers.py) against the old ones (ce0bd44), in one run.

Prints, for the old and the new attribution:

- precision, recall and F1 on the hand-checked set (``tests/data/speakers``, scored as in
  ``tests/speakers_gold.py``), with the wrong names of each;
- the segmentation CPU time per sentence on the sample corpus (its one article repeated as 200
  documents with distinct ids, for stable timings) and on 500 FNC-1 bodies (real news text,
  when ``../shared/data/fnc1`` is there), and the ratio new/old (above 1: the new is slower);
- on those FNC-1 bodies, how many sentences each gives a speaker, and how many get a different one.

The old attribution is ``annotate/segment.py`` as it was at commit ce0bd44, read with
``git show`` and loaded as a module of its own; both run in this process, on the same
documents, with runs interleaved so that a busy machine slows both alike.

    python benchmarks/speakers.py [--repeat 5] [--fnc1 500]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotate import segment as new_segment  # noqa: E402
from annotate.corpus import Document, read_documents  # noqa: E402
from annotate.resources import data_path  # noqa: E402
from tests.speakers_gold import load_gold, predictions, score  # noqa: E402

OLD_COMMIT = "ce0bd44"
FNC1 = ROOT.parent / "shared" / "data" / "fnc1" / "train_bodies.csv"


def old_module() -> types.ModuleType:
    """``annotate/segment.py`` at ``OLD_COMMIT``, as a module named ``segment_ce0bd44``."""
    try:
        source = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:annotate/segment.py"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"cannot read annotate/segment.py at {OLD_COMMIT} with git ({exc}); run from a clone with history")
    module = types.ModuleType(f"segment_{OLD_COMMIT}")
    module.__file__ = f"{OLD_COMMIT}:annotate/segment.py"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def sample_docs(copies: int) -> list[Document]:
    (doc,) = read_documents(data_path("corpora", "sample"))
    return [Document(f"{doc.doc_id}-{i}", doc.text, language=doc.language) for i in range(copies)]


def fnc1_docs(n: int) -> list[Document]:
    if n <= 0 or not FNC1.exists():
        return []
    csv.field_size_limit(sys.maxsize)
    with FNC1.open(encoding="utf-8") as fh:
        bodies = [row["articleBody"] for row in csv.DictReader(fh) if row["articleBody"].strip()]
    return [Document(f"fnc-{i}", b, language="en") for i, b in enumerate(bodies[:n])]


def timings(docs: list[Document], old, repeat: int) -> tuple[float, float, int]:
    """CPU seconds per sentence of ``_records`` for the old and the new module.

    The two alternate on chunks of 20 documents, so that whatever else runs on the machine
    falls on both alike; each total is the best of ``repeat`` runs (CPU time of this process,
    the least disturbed run), the usual estimate for a CPU-bound step on a shared machine.
    """
    n = sum(len(new_segment._records(d)) for d in docs)  # also warms both up
    sum(len(old._records(d)) for d in docs)
    chunks = [docs[i : i + 20] for i in range(0, len(docs), 20)]
    best = {"old": float("inf"), "new": float("inf")}
    for _ in range(repeat):
        total = {"old": 0.0, "new": 0.0}
        for chunk in chunks:
            for name, module in (("old", old), ("new", new_segment)):
                t0 = time.process_time()
                for d in chunk:
                    module._records(d)
                total[name] += time.process_time() - t0
        best = {k: min(best[k], total[k]) for k in best}
    return best["old"] / n, best["new"] / n, n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (the best is kept)")
    parser.add_argument("--fnc1", type=int, default=500, help="FNC-1 bodies to time and compare (0: none)")
    args = parser.parse_args(argv)
    old = old_module()

    docs, items = load_gold()
    named = sum(1 for i in items if i.expected not in (None, "?"))
    print(f"hand-checked set: {len(docs)} articles, {len(items)} sentences, {named} with an expected speaker")
    results = {}
    for name, module in (("old", old), ("new", new_segment)):
        results[name] = score(items, predictions(docs, module._records))
        print(f"  {name} ({OLD_COMMIT if name == 'old' else 'this tree'}): {results[name]}")
    for name, result in results.items():
        for item, got in result.wrong:
            print(f"    {name} wrong: {item.doc_id}: {item.text[:60]!r} -> {got!r} (expected {item.expected!r})")

    print(f"segmentation CPU time, best of {args.repeat} runs (ingest's _records: split, ids, hints)")
    corpora = [("sample corpus x200", sample_docs(200))]
    fnc = fnc1_docs(args.fnc1)
    if fnc:
        corpora.append((f"FNC-1, {len(fnc)} bodies", fnc))
    for label, corpus in corpora:
        t_old, t_new, n = timings(corpus, old, args.repeat)
        print(
            f"  {label}: {n} sentences; old {t_old * 1e6:.1f} us/sentence, new {t_new * 1e6:.1f} us/sentence, "
            f"ratio new/old {t_new / t_old:.2f}"
        )

    if fnc:
        pairs = [
            (o["speaker"], n["speaker"])
            for d in fnc
            for o, n in zip(old._records(d), new_segment._records(d), strict=True)
        ]
        given_old = sum(o is not None for o, _ in pairs)
        given_new = sum(n is not None for _, n in pairs)
        changed = sum(o != n for o, n in pairs if o is not None and n is not None)
        print(
            f"FNC-1 sentences with a speaker: old {given_old}, new {given_new} of {len(pairs)}; "
            f"both give one but differ: {changed}"
        )


if __name__ == "__main__":
    main()
