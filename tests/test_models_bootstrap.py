"""The bootstrap claim model: CLEF-2019 rows mapped onto the schema, trained once, reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotate.bootstrap import CLEF_LABELS, bootstrap, build_table
from annotate.errors import InputError
from annotate.labels import load_labels
from annotate.resources import data_path
from annotate.schema import Schema

ROOT = Path(__file__).resolve().parents[1]


def clef_dir(tmp_path: Path) -> Path:
    """Three tiny 'debates' in the CLEF TSV layout: line, speaker, text, label."""
    src = tmp_path / "clef"
    src.mkdir()
    for d in range(3):
        lines = []
        for i in range(12):
            if i % 3 == 0:
                lines.append(f"{i + 1}\tA\tTaxes rose {10 * d + i}% in 2019 and cost $4 billion.\t1")
            else:
                lines.append(f"{i + 1}\tB\tThank you all, what a night number {i}.\t0")
        (src / f"debate{d}.tsv").write_text("\n".join(lines) + "\n")
    return src


def test_build_table_maps_labels_onto_schema_choices(tmp_path):
    table = tmp_path / "t.csv"
    assert build_table(clef_dir(tmp_path), table) == 36
    df = load_labels(table, Schema.from_file(data_path("schemas", "claims_stance.xml")))
    assert set(df["field"]) == {"claim_type"}
    assert df["label"].value_counts().to_dict() == {"Other factual claim": 24, "Check-worthy factual claim": 12}
    assert set(CLEF_LABELS.values()) <= set(
        Schema.from_file(data_path("schemas", "claims_stance.xml")).field("claim_type").values
    )
    assert df["group"].nunique() == 3


def test_build_table_refuses_a_bad_line(tmp_path):
    src = clef_dir(tmp_path)
    (src / "debate0.tsv").write_text("1\tA\tno label here\n")
    with pytest.raises(InputError, match=r"debate0.tsv:1: expected line_number, speaker, text, label"):
        build_table(src, tmp_path / "t.csv")


def test_bootstrap_trains_once_and_reuses(tmp_path):
    table = tmp_path / "t.csv"
    build_table(clef_dir(tmp_path), table)
    card = bootstrap(tmp_path / "boot", table=table)
    assert card["fields"]["claim_type"]["labels"] == ["Check-worthy factual claim", "Other factual claim"]
    assert card["fields"]["claim_type"]["params"] == {"C": 0.1, "hints": False}
    stamp = (tmp_path / "boot" / "claim_type.skops").stat().st_mtime_ns
    again = bootstrap(tmp_path / "boot", table=table)
    assert again["model_version"] == card["model_version"]
    assert (tmp_path / "boot" / "claim_type.skops").stat().st_mtime_ns == stamp


def test_bootstrap_retrains_a_model_of_an_older_recipe(tmp_path):
    import json

    from annotate.bootstrap import BOOTSTRAP_RECIPE

    table = tmp_path / "t.csv"
    build_table(clef_dir(tmp_path), table)
    card = bootstrap(tmp_path / "boot", table=table)
    assert card["training_data"]["recipe"] == BOOTSTRAP_RECIPE
    old = {**card, "training_data": {k: v for k, v in card["training_data"].items() if k != "recipe"}}
    (tmp_path / "boot" / "card.json").write_text(json.dumps(old))  # as written before recipes existed
    again = bootstrap(tmp_path / "boot", table=table)
    assert again["training_data"]["recipe"] == BOOTSTRAP_RECIPE
    assert json.loads((tmp_path / "boot" / "card.json").read_text())["training_data"]["recipe"] == BOOTSTRAP_RECIPE


def test_shipped_table_is_the_clef_training_data():
    table = data_path("corpora", "bootstrap", "clef2019_checkworthy.csv")
    lines = table.read_text("utf-8").count("\n")
    assert lines == 16_421 + 1  # header + every sentence of the 19 training debates
