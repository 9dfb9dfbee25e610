"""A desk's own targets reach every stage: never silently replaced by the sample's.

Before: `train` learnt the desk's unknown target ids as free text, and `predict` (whose default
schema was the sample's) either refused the model or asked only about the sample's targets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from models_data import write_csv

from annotate.resources import data_path

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
    shutil.copy(data_path("schemas", "claims_stance.xml"), desk / "desk.xml")
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


def test_a_targets_file_without_field_is_refused(cli, tmp_path):
    """Without `field = "stance"` every task was pushed without a target, and nothing said so."""
    schema = _desk(tmp_path)
    targets = schema.with_name("desk.targets.toml")
    targets.write_text(DESK_TARGETS.replace('field = "stance"\n', ""), encoding="utf-8")
    code, out, err = cli("schema", "check", schema)
    assert code == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and "targets file has targets but no 'field' line" in line
    assert str(targets) in line and 'field = "stance"' in line


def test_a_sidecar_named_like_the_readme_says_is_read(cli, tmp_path):
    """`article.meta.json` (the README's spelling) was ignored: only `article.txt.meta.json` was read."""
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "housing.txt").write_text("Rents rose 12% last year. The mayor wants caps.\n", encoding="utf-8")
    (docs / "housing.meta.json").write_text(
        json.dumps({"id": "housing-2026", "title": "Rents", "url": "https://example.org/rents"}), encoding="utf-8"
    )
    code, _, err = cli("ingest", docs, "-o", tmp_path / "s.jsonl")
    assert code == 0, err
    first = json.loads((tmp_path / "s.jsonl").read_text().splitlines()[0])
    assert first["doc_id"] == "housing-2026" and first["title"] == "Rents"


def test_a_sidecar_that_belongs_to_no_article_is_named(cli, tmp_path):
    """A sidecar of a renamed article (or with a typo) was dropped without a word."""
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "housing.txt").write_text("Rents rose 12% last year.\n", encoding="utf-8")
    (docs / "housing.meta.json").write_text(json.dumps({"title": "Rents"}), encoding="utf-8")
    (docs / "hosuing-old.meta.json").write_text(json.dumps({"title": "Typo"}), encoding="utf-8")
    code, out, err = cli("ingest", docs, "-o", tmp_path / "s.jsonl")
    assert code == 0, err
    warning = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "1 sidecar(s) belong to no article" in warning[0]
    assert "hosuing-old.meta.json" in warning[0] and "housing.meta.json" not in warning[0].replace("hosuing", "")


def test_two_sidecars_for_one_article_are_refused(cli, tmp_path):
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.txt").write_text("One sentence.\n", encoding="utf-8")
    (docs / "a.meta.json").write_text('{"id": "x"}', encoding="utf-8")
    (docs / "a.txt.meta.json").write_text('{"id": "y"}', encoding="utf-8")
    code, _, err = cli("ingest", docs, "-o", tmp_path / "s.jsonl")
    assert code == 2 and "two sidecars" in err and not (tmp_path / "s.jsonl").exists()
