"""The live-queue simulation (``benchmarks/live_queue.py``) at reduced settings, on the session's Label Studio.

Both arms run for real: one project each, a simulated annotator taking what "Label All Tasks"
serves, `serve`'s backend retraining from Label Studio. The test checks the simulation's
mechanics, not which arm wins (a 60-label run on one seed decides nothing): every label is
accounted for, the curves have a point per retrain, the live arm's queue was set, and the figures
print. The statistics are tested without a server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from script_modules import script_module

from tests.conftest import needs_shared_data

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sim():
    with script_module("benchmarks/live_queue.py", "live_queue_sim") as module:
        yield module


def test_labels_to_reach_and_the_summary(sim):
    assert sim.labels_to_reach([(0, 0.1), (20, 0.3), (40, 0.25), (60, 0.5)], 0.3) == 20
    assert sim.labels_to_reach([(0, 0.1), (20, 0.2)], 0.3) is None
    runs = [sim.Run("random", 0, [(0, 0.1), (20, 0.2), (40, 0.3)], positives=1),
            sim.Run("live", 0, [(0, 0.1), (20, 0.35), (40, 0.4)], positives=4)]  # fmt: skip
    result = sim.summary(runs)
    assert result["seeds"] == [{"seed": 0, "goal": 0.3, "budget": 40, "live_final": 0.4, "random_needs": 40,
                                "live_needs": 20, "positives": {"random": 1, "live": 4}}]  # fmt: skip
    assert "| 0 | 0.300 | 40 | 20 | 0.400 | 1 / 4 |" in sim.report(result)


@pytest.mark.integration
@needs_shared_data(ROOT.parent / "shared" / "data" / "clef2019_checkthat_task1")  # skips locally, fails in CI
def test_the_simulation_runs_both_arms_against_the_real_server(studio, sim, capsys):
    budget, every = 40, 20
    lines: list[str] = []
    runs = sim.simulate(studio.studio(), seeds=[0], pool=200, test=800, budget=budget, every=every, queue_size=20,
                        log=lines.append)  # fmt: skip
    assert [r.arm for r in runs] == ["random", "live"]
    for r in runs:
        assert [n for n, _ in r.curve] == [0, 20, 40], r
        assert all(0.0 <= ap <= 1.0 for _, ap in r.curve)
    # the same cold-start model scores the same before the first label, in both arms
    assert runs[0].curve[0] == runs[1].curve[0]
    result = sim.summary(runs)
    print(sim.report(result))
    assert "| seed | goal" in capsys.readouterr().out and len(lines) == 2
