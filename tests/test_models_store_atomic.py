"""A model folder is replaced whole or not at all: a failing or killed `train` keeps the old model.

Before, `save` overwrote the folder file by file: a `train` killed while overwriting left a new
`.skops` beside the old card, so the old model was gone and the new one was refused.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from models_data import claim_rows, stance_rows, train_demo, write_csv

from annotate.labels import load_labels
from annotate.models.store import load, save
from annotate.models.train import train
from annotate.resources import data_path
from annotate.schema import Schema

SCHEMA = data_path("schemas", "claims_stance.xml")


class _Unwritable:
    """An object skops cannot write (as a full disk or a kill would stop the write)."""

    def __getstate__(self):
        raise RuntimeError("cannot be written")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_save_that_fails_half_way_keeps_the_old_model(tmp_path):
    schema = Schema.from_file(SCHEMA)
    old = train_demo(tmp_path, SCHEMA)
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    rows = load_labels(write_csv(tmp_path / "more.csv", claim_rows(8) + stance_rows()), schema)
    result = train(rows, schema, name="demo", n_splits=2, learning_curve=False)
    assert list(result.models)[0] == "claim_type"
    result.models["stance"].estimator = _Unwritable()  # the second file fails to write
    with pytest.raises(RuntimeError, match="cannot be written"):
        save(result, old)
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before
    assert load(old, schema).model_version == json.loads(before["card.json"])["model_version"]
    assert _leftovers(old.parent) == []


def test_a_second_save_replaces_the_whole_folder(tmp_path):
    schema = Schema.from_file(SCHEMA)
    folder = train_demo(tmp_path, SCHEMA)
    (folder / "stale.skops").write_bytes(b"left by hand")
    rows = load_labels(write_csv(tmp_path / "claims.csv", claim_rows(8)), schema)
    card = save(train(rows, schema, name="demo", n_splits=2, learning_curve=False), folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "card.json",
        "claim_type.skops",
        "report.html",
        "report.json",
        "schema.targets.toml",
        "schema.xml",
        "training_labels.jsonl",
    ]
    assert load(folder, schema).model_version == card["model_version"]
    assert _leftovers(folder.parent) == []


@pytest.mark.slow
def test_train_killed_at_random_points_leaves_a_loadable_model(tmp_path):
    """SIGKILL `annotate train` over an existing model at random moments: the folder always loads."""
    schema = Schema.from_file(SCHEMA)
    folder = train_demo(tmp_path, SCHEMA)
    labels = write_csv(tmp_path / "more.csv", claim_rows(8) + stance_rows())
    cmd = [sys.executable, "-m", "annotate", "train", str(labels), "-o", str(folder), "--n-splits", "2",
           "--no-learning-curve"]  # fmt: skip
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    full = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    load(folder, schema)
    rng = random.Random(7)
    for _ in range(6):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.7, 1.0) * full)  # the save is at the end
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # the old model or a new one, whole: load checks every file against the card, and the
        # card against its model_version (skops files carry zip dates, so each run has its own)
        load(folder, schema)
    stray = [p for p in folder.parent.iterdir() if p.name.startswith(".") and p.name.endswith(".old")]
    assert stray == []
