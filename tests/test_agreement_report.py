"""The HTML agreement report: self-contained, every section present, n/a instead of NaN."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest

from annotate.agreement import simulate_annotations
from annotate.agreement_report import HTMLReport, agreement_report, save_heatmap
from annotate.io import utc_stamp, write_jsonl
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
    n = records["annotation_id"].nunique()
    assert stdout.strip() == f"wrote {out}: agreement on {n} annotations"
    assert "<h2>claim_type</h2>" in out.read_text()


def test_docs_example_prints_what_the_docs_show(monkeypatch, tmp_path, capsys):
    """The agreement example of docs/annotations.md runs and prints exactly the output shown there."""
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "annotations.md").read_text(encoding="utf-8")
    section = doc.split("## Agreement and gold labels", 1)[1].split("\n## ", 1)[0]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, flags=re.S)[:2]
    monkeypatch.chdir(tmp_path)  # the example writes docs/img/... and report.html
    ns: dict = {}
    exec(compile(code, "docs/annotations.md", "exec"), ns)
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


# --- reading aids (issue 14) -----------------------------------------------------------------


def pair_table(value: float, n_items: int = 6) -> pd.DataFrame:
    """An agreement table with one Cohen's kappa, for annotators a and b on ``n_items`` items."""
    from annotate.agreement import AGREEMENT_COLUMNS

    row = dict.fromkeys(AGREEMENT_COLUMNS)
    row.update(field="claim_type", metric="cohen_kappa", annotator_a="a", annotator_b="b", value=value)
    row.update(ci_low=np.nan, ci_high=np.nan, n_items=n_items, n_annotators=2)
    return pd.DataFrame([row], columns=AGREEMENT_COLUMNS)


def dominant_colour(png: bytes) -> tuple[int, int, int]:
    """The most frequent coloured (not white, black or grey) pixel of a PNG, as 8-bit RGB."""
    import io

    from matplotlib.image import imread

    rgb = (imread(io.BytesIO(png))[..., :3] * 255).round().astype(int).reshape(-1, 3)
    coloured = rgb[rgb.max(axis=1) - rgb.min(axis=1) > 24]
    colours, counts = np.unique(coloured, axis=0, return_counts=True)
    return tuple(int(c) for c in colours[counts.argmax()])


def test_heatmap_colours_kappa_by_reading_band_not_on_a_minus_one_to_one_scale():
    from annotate.agreement_report import heatmap_png

    # kappa 0.30 is "fair" (Landis & Koch 1977): on a -1..1 red-yellow-green scale it sat in the
    # green half; a banded scale gives it the "fair" colour, a warm one, not green
    r, g, b = dominant_colour(heatmap_png(pair_table(0.30), "claim_type"))
    assert r >= g, f"kappa 0.30 drawn in a green ({r}, {g}, {b})"
    fair, almost_perfect = (dominant_colour(heatmap_png(pair_table(v), "claim_type")) for v in (0.25, 0.9))
    assert fair == (r, g, b)  # one colour per band
    assert almost_perfect[1] > almost_perfect[0]  # green is kept for "almost perfect"


def test_report_names_the_reading_bands_beside_the_heat_map(example, schema):
    page = agreement_report(example, schema, n_boot=50)
    legend = page.split("<h2>claim_type</h2>", 1)[1].split("<h3>", 1)[0]
    for band in ("poor", "slight", "fair", "moderate", "substantial", "almost perfect"):
        assert band in legend
    assert "Landis &amp; Koch (1977)" in legend
    for band in ("reliable", "tentative", "discard"):  # Krippendorff's alpha
        assert band in page
    # each figure says how it reads
    per_field = page.split("<h2>Per field</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<th>reading</th>" in per_field


def test_report_span_f1_is_na_for_an_annotator_who_never_marks_spans(schema):
    from annotation_rows import row

    df = pd.DataFrame(
        [
            row("s1", "a", "claim_type", "Opinion", 1),
            row("s1", "a", "spans", "Claim", 1, start=0, end=10),
            row("s1", "c", "claim_type", "Opinion", 2),
        ]
    )
    page = agreement_report(df, schema, n_boot=10)
    spans = page.split("<h2>Spans</h2>", 1)[1].split("<h2>", 1)[0]
    assert "0.000" not in spans
    assert "<td>n/a</td>" in spans and "c marked no &#x27;spans&#x27; span" in spans


def test_report_notes_figures_on_few_items_and_shows_kappas_interval(schema):
    few, _ = simulate_annotations(
        6,
        {"a": np.eye(4) * 0.7 + 0.075, "b": np.eye(4) * 0.7 + 0.075},
        ["Check-worthy factual claim", "Other factual claim", "Opinion", "Not a claim"],
        seed=1,
    )
    page = agreement_report(few, schema, n_boot=200)
    per_field = page.split("<h2>Per field</h2>", 1)[1].split("<h2>", 1)[0]
    assert per_field.count("few items: wide interval") == 3  # observed, alpha, Fleiss
    pairs = page.split("<h3>Annotator pairs</h3>", 1)[1].split("<h3>", 1)[0]
    assert "<th>95% CI</th>" in pairs and "few items: wide interval" in pairs
    assert re.search(r"<td>\[-?\d\.\d{3},&nbsp;-?\d\.\d{3}\]</td>", pairs)


def test_report_shows_stance_agreement_per_target(schema):
    from test_agreement import ENERGY, stance_table

    page = agreement_report(stance_table(), schema, n_boot=50)
    section = page.split("<h3>Stance agreement per target</h3>", 1)[1].split("<h3>", 1)[0]
    assert "US-Mexico security cooperation on drones" in section  # every target, unannotated ones too
    energy = next(r for r in section.split("<tr>") if ENERGY in r)
    assert "<td>0.750</td>" in energy and "0.636" in energy and "few items: wide interval" in energy
