"""Public benchmarks for stance and check-worthiness: loaders, official scorers, runner.

The models are the users' own: each benchmark trains a preset of :mod:`annotate.models.presets`.

    from annotate.bench import run_benchmark
    result = run_benchmark("semeval2016", "semeval2016-task6-trainingdata.txt", fast=True)
    result["score"]   # a dev-split figure when no test file is given

Benchmarks: ``semeval2016``, ``fnc1``, ``emergent``, ``clef2019``, ``claimbuster``, ``clef2020-t2``
(claim matching: :mod:`annotate.matching`, scored by :mod:`annotate.bench.clef2020`).
"""

from annotate.bench.run import BENCHMARKS, run_all, run_benchmark

__all__ = ["BENCHMARKS", "run_benchmark", "run_all"]
