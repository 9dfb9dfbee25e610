"""A desk's own targets reach every stage: never silently replaced by the sample's.

Before: `train` learnt the desk's unknown target ids as free text, and `predict` (whose default
schema was the sample's) either refused the model or asked only about the sample's targets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from models_data import write_csv

ROOT = Path(__file__).resolve().parents[1]

DESK_TARGETS = """field = "stance"

[[targets]]
id = "rent-control"
name = "Rent control in the city"
description = "Capping rents. FAVOR = supports caps; AGAINST = opposes them."
keywords = ["rent", "tenant", "landlord"]

[[targets]]
id = "carbon-tax"
name = "A national carbon tax"
description = "Pricing carbon emissions. FAVOR = supports the tax; AGAINST = opposes it."
keywords = ["carbon", "emission"]
"""

FAVOR = {
    "rent-control": ["Tenants need rent caps now, said the mayor {n}.", "Capping rent protects tenant families {n}."],
    "carbon-tax": ["A carbon price cuts emission fast, she said {n}.", "We back the carbon tax on emission {n}."],
}
AGAINST = {
    "rent-control": ["Rent caps will ruin every landlord {n}.", "Landlords reject rent control plans {n}."],
    "carbon-tax": ["The carbon tax kills jobs, he said {n}.", "Emission levies hurt farmers badly {n}."],
}


def _desk(tmp_path: Path) -> Path:
    desk = tmp_path / "desk"
    desk.mkdir()
    shutil.copy(ROOT / "schemas" / "claims_stance.xml", desk / "desk.xml")
    (desk / "desk.targets.toml").write_text(DESK_TARGETS, encoding="utf-8")
    return desk / "desk.xml"


def _labels(tmp_path: Path) -> Path:
    rows = []
    for d in range(6):
        for target in FAVOR:
            for label, texts in (("Favor", FAVOR[target]), ("Against", AGAINST[target])):
                for t in texts:
                    rows.append({"text": t.format(n=d), "label": label, "field": "stance", "target": target,
                                 "doc_id": f"doc{d}"})  # fmt: skip
    return write_csv(tmp_path / "labels.csv", rows)


def test_predict_without_schema_uses_the_models_own_targets(cli, tmp_path):
    schema = _desk(tmp_path)
    code, _, err = cli("train", _labels(tmp_path), "-o", tmp_path / "m", "--schema", schema, "--n-splits", "2",
                       "--no-learning-curve")  # fmt: skip
    assert code == 0, err
    sentences = tmp_path / "s.jsonl"
    sentences.write_text(
        json.dumps({"sentence_id": "s1", "doc_id": "x", "text": "The council debated rent caps for tenants."}) + "\n"
    )
    code, _, err = cli("predict", tmp_path / "m", sentences, "-o", tmp_path / "p.jsonl")  # no --schema
    assert code == 0, err
    preds = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert {p["target"] for p in preds if p["field"] == "stance"} == {"rent-control"}


def test_train_refuses_a_target_the_schema_does_not_know(cli, tmp_path):
    code, out, err = cli("train", _labels(tmp_path), "-o", tmp_path / "m")  # the sample's schema
    assert code == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and "target 'rent-control' is not a target of schema claims_stance.xml" in line
    assert "labels.csv:2" in line
    assert not (tmp_path / "m").exists()
