"""The HTML agreement report: self-contained, every section present, n/a instead of NaN."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest

from annotate.agreement import simulate_annotations
from annotate.io import utc_stamp, write_jsonl
from annotate.report import HTMLReport, agreement_report, save_heatmap
from annotate.schema import Schema
from annotate.studio.pull import COLUMNS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def schema() -> Schema:
    from tests.conftest import DEFAULT_SCHEMA

    return Schema.from_file(DEFAULT_SCHEMA)


@pytest.fixture(scope="session")
def example() -> pd.DataFrame:
    """Three annotators on 30 sentences' claim_type; one of them careless."""
    labels = ["Check-worthy factual claim", "Other factual claim", "Opinion", "Not a claim"]
    good = np.full((4, 4), 0.1 / 3) + np.eye(4) * (0.9 - 0.1 / 3)
    careless = np.full((4, 4), 0.25)
    df, _ = simulate_annotations(
        30, {"ana@desk.org": good, "ben@desk.org": good, "cy@desk.org": careless}, labels, seed=2
    )
    return df


def images(page: str) -> list[bytes]:
    return [base64.b64decode(x) for x in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_report_is_self_contained_html_with_every_section(example, schema):
    texts = {sid: f"Sentence {sid} says something." for sid in example["sentence_id"]}
    page = agreement_report(example, schema, texts=texts, n_boot=100)
    assert isinstance(page, HTMLReport) and page._repr_html_() == str(page)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for heading in (
        "<h2>Per field</h2>",
        "<h2>claim_type</h2>",
        "<h3>Annotator pairs</h3>",
        "<h3>Most disagreement (top 10)</h3>",
        "<h2>Annotators</h2>",
    ):
        assert heading in page
    imgs = images(page)
    assert len(imgs) == 3 and all(i.startswith(PNG) for i in imgs)  # heat map, confusion, distribution
    assert "Sentence s00" in page  # disputed items come with their text
    assert not re.search(r"https?://|<script|<link", page)  # nothing fetched from elsewhere
    # stance has no answers: n/a with the reason, never a NaN shown as a number
    assert "nan" not in re.sub(r"data:image/png;base64,[^\"]+", "", page).lower()
    assert "no answers to &#x27;stance&#x27;" in page


def test_report_for_one_annotator_says_what_cannot_be_computed(schema):
    df = pd.DataFrame(
        [{"item": "s1", "sentence_id": "s1", "annotator": "a", "field": "claim_type", "value": "Opinion"}]
    )
    page = agreement_report(df, schema, n_boot=10)
    assert "only one annotator (a) answered &#x27;claim_type&#x27;" in page
    assert "no heat map: fewer than two annotators answered." in page
    assert len(images(page)) == 1  # the label distribution


def test_save_heatmap(example, schema, tmp_path):
    path = save_heatmap(example, schema, tmp_path / "img" / "kappa.png", n_boot=10)
    assert path.read_bytes().startswith(PNG)


def test_cli_report_agreement(cli, example, schema_path, tmp_path):
    assert list(example.columns) == COLUMNS  # simulate_annotations gives the flat table `annotate pull` writes
    ann = tmp_path / "ann"
    records = example.astype(object)
    write_jsonl(ann / f"{utc_stamp()}.annotations.jsonl", records.where(records.notna(), None).to_dict("records"))
    sentences = tmp_path / "sentences.jsonl"
    sentences.write_text('{"sentence_id": "s0001", "text": "The budget doubled."}\n')
    out = tmp_path / "report.html"
    code, stdout, err = cli("report", "agreement", ann, "-o", out, "--sentences", sentences, "--schema", schema_path)
    assert code == 0, err
    assert stdout.strip() == f"wrote {out}"
    assert "<h2>claim_type</h2>" in out.read_text()


def test_readme_example_prints_what_the_readme_shows(monkeypatch, tmp_path, capsys):
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Agreement and gold labels", 1)[1].split("\n## ", 1)[0]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, flags=re.S)[:2]
    monkeypatch.chdir(tmp_path)  # the example writes docs/img/... and report.html
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert capsys.readouterr().out == shown
    # "majority vote decides 74 sentences (72 right) and leaves 6 ties; Dawid-Skene decides all 80, 77 right"
    truth = ns["truth"]
    for method, decided, right, ties in (("majority", 74, 72, 6), ("dawid-skene", 80, 77, 0)):
        assert f"{decided} sentences ({right} right)" in section or f"all {decided}, {right} right" in section
        gold, conflicts = ns["resolve"](ns["df"], ns["schema"], method=method)
        labels = gold.set_index("item")["label"].reindex(truth.index)
        assert (len(gold), int((labels == truth).sum()), len(conflicts)) == (decided, right, ties)
    assert (tmp_path / "docs" / "img" / "agreement-heatmap.png").read_bytes().startswith(PNG)
    assert (ROOT / "docs" / "img" / "agreement-heatmap.png").exists()
