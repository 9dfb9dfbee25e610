"""A self-contained HTML agreement report (plots embedded as base64 PNGs), also shown in notebooks.

:func:`agreement_report` returns an :class:`HTMLReport`, a ``str`` that Jupyter renders through
``_repr_html_``; ``annotate report agreement`` writes it to a file. Sections, per categorical field:
the agreement table (:func:`annotate.agreement.agreement`), a heat map of Cohen's kappa for every
annotator pair coloured by Landis & Koch band, the confusion (coincidence) matrix between
annotators, each annotator's label distribution, for the stance field its agreement per target
(:func:`annotate.agreement.agreement_by_target`), and the items with the most disagreement with
their text; then span F1 and per-annotator statistics. Kappa and alpha show their reading band
and 95% CI, figures on few items say so, and values that cannot be computed show as "n/a" with
the reason.
Plots use matplotlib's Agg backend, so no display is needed.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annotate.agreement import (
    ALPHA_BANDS,
    KAPPA_BANDS,
    agreement,
    agreement_by_target,
    annotator_stats,
    coincidences,
    disagreements,
    label_order,
    pairwise_matrix,
    reading,
)
from annotate.annotations import prepare, votes
from annotate.html_page import page
from annotate.io import atomic_write
from annotate.schema import Schema

__all__ = ["HTMLReport", "ReportFile", "agreement_report", "heatmap_png", "report_file", "save_heatmap", "write_report"]


class HTMLReport(str):
    """An HTML document as a ``str``; notebooks display it as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return buf.getvalue()


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"/>'


def _short(name: str) -> str:
    return name.split("@")[0] if "@" in name else name


#: one colour per reading band (ColorBrewer RdYlGn, 6 classes): fair is yellow, green from "substantial" up
BAND_COLOURS = {
    "poor": "#d73027",
    "slight": "#fc8d59",
    "fair": "#fee08b",
    "moderate": "#d9ef8b",
    "substantial": "#91cf60",
    "almost perfect": "#1a9850",
    "reliable": "#1a9850",
    "tentative": "#fee08b",
    "discard": "#fc8d59",
}
_NA_COLOUR = "#d9d9d9"
_DARK_BANDS = {"poor", "almost perfect", "reliable"}  # white text on these


def heatmap_png(table: pd.DataFrame, field: str, metric: str = "cohen_kappa") -> bytes | None:
    """PNG of the annotator x annotator matrix of a pairwise kappa, or None for one annotator.

    Cells are coloured by reading band (:func:`annotate.agreement.reading`, Landis & Koch 1977),
    not on a continuous scale, and a legend names the bands. Cells show the value and the number
    of shared items; pairs that cannot be computed are grey and read "n/a".
    """
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    m = pairwise_matrix(table, field, metric)
    if len(m) < 2:
        return None
    t = table[(table["field"] == field) & (table["metric"] == metric)]
    n = {(a, b): k for a, b, k in t[["annotator_a", "annotator_b", "n_items"]].itertuples(index=False)}
    plt = _plt()
    size = 1.2 + 0.75 * len(m)
    fig, ax = plt.subplots(figsize=(size + 2.2, size))
    values = m.to_numpy(float, copy=True)
    np.fill_diagonal(values, np.nan)  # self-agreement is not informative; grey like n/a cells
    bands = [[reading(metric, x) for x in row] for row in values]
    ax.imshow([[to_rgb(BAND_COLOURS.get(b or "", _NA_COLOUR)) for b in row] for row in bands])
    names = [_short(x) for x in m.index]
    ax.set_xticks(range(len(m)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(m)), names)
    for i, a in enumerate(m.index):
        for j, b in enumerate(m.columns):
            val = m.iloc[i, j]
            if i == j:
                text = ""
            elif np.isnan(val):
                text = "n/a"
            else:
                k = n.get((a, b), n.get((b, a)))
                text = f"{val:.2f}" + (f"\nn={k}" if k is not None else "")
            colour = "white" if bands[i][j] in _DARK_BANDS else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    label = {"cohen_kappa": "Cohen's kappa"}.get(metric, metric)
    ax.set_title(f"{field}: {label} per annotator pair", fontsize=10)
    legend = [Patch(color=BAND_COLOURS[b], label=f"{b} ({r})") for b, r, _ in reversed(KAPPA_BANDS)]
    legend.append(Patch(color=_NA_COLOUR, label="n/a"))
    ax.legend(
        handles=legend,
        title="Landis & Koch (1977)",
        fontsize=7,
        title_fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
    )
    return _png(fig)


def _band(metric: str, value: float) -> str:
    """The reading of a figure as a coloured HTML label, or "" when it has none."""
    band = reading(metric, value)
    if band is None:
        return ""
    return f'<span class="band" style="background:{BAND_COLOURS[band]}">{html.escape(band)}</span>'


def _key(bands: Any, source: str) -> str:
    items = " ".join(
        f'<span class="band" style="background:{BAND_COLOURS[b]}">{html.escape(b)}</span>&nbsp;{html.escape(r)}'
        for b, r, _ in bands
    )
    return f"<p class='note'>{html.escape(source)}: {items}</p>"


def _kappa_key() -> str:
    """HTML legend of the kappa reading bands (Landis & Koch 1977)."""
    return _key(KAPPA_BANDS, "Cohen's and Fleiss' kappa read as in Landis & Koch (1977)")


def _alpha_key() -> str:
    """HTML legend of Krippendorff's reading of alpha (2004, p. 241)."""
    return _key(ALPHA_BANDS, "Krippendorff's alpha read as in Krippendorff (2004)")


def _confusion_png(cm: pd.DataFrame, field: str) -> bytes | None:
    if cm.to_numpy().sum() == 0:
        return None
    plt = _plt()
    size = 1.5 + 0.7 * len(cm)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    ax.imshow(cm.to_numpy(float), cmap="Blues")
    ax.set_xticks(range(len(cm)), cm.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(cm)), cm.index)
    hi = cm.to_numpy().max()
    for i in range(len(cm)):
        for j in range(len(cm)):
            v = int(cm.iloc[i, j])
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color="white" if v > hi / 2 else "black")
    ax.set_xlabel("label by another annotator")
    ax.set_ylabel("label by one annotator")
    ax.set_title(f"{field}: pairs of answers on the same item", fontsize=10)
    return _png(fig)


def _distribution_png(v: pd.DataFrame, labels: list[str], field: str) -> bytes | None:
    if not len(v):
        return None
    plt = _plt()
    tab = pd.crosstab(v["annotator"], v["label"]).reindex(columns=labels, fill_value=0)
    share = tab.div(tab.sum(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.45 * len(share)))
    left = np.zeros(len(share))
    colors = plt.get_cmap("tab10").colors
    for k, lab in enumerate(labels):
        ax.barh([_short(a) for a in share.index], share[lab], left=left, color=colors[k % 10], label=lab)
        left += share[lab].to_numpy()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the annotator's answers")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(f"{field}: label distribution per annotator", fontsize=10)
    return _png(fig)


def _num(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


def _ci(lo: float, hi: float) -> str:
    return f"[{_num(lo)},&nbsp;{_num(hi)}]" if not np.isnan(lo) else ""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _esc(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else html.escape(str(x))


#: The rules of this page beyond the shared style of :data:`annotate.html_page.BASE_CSS`.
_CSS = """
td.na { color: #8c8c8c; }
.band { padding: 0 4px; border-radius: 3px; white-space: nowrap; }
img { max-width: 100%; margin: 0.5em 1em 0.5em 0; vertical-align: top; }
"""


def _by_target_html(by: pd.DataFrame, field: str) -> str:
    """The per-target table of the target field (stance), or a note when nobody answered it."""
    if not len(by):
        return ""

    def fig(metric: str, x: float) -> str:
        return _num(x) + (f" {_band(metric, x)}" if reading(metric, x) else "")

    rows = [
        [
            (f"{_esc(r.name)}<br><code>{_esc(r.target)}</code>" if isinstance(r.name, str) else _esc(r.target)),
            str(r.n_items),
            str(r.n_annotators),
            _num(r.observed_agreement),
            fig("krippendorff_alpha", r.krippendorff_alpha),
            _ci(r.ci_low, r.ci_high),
            fig("fleiss_kappa", r.fleiss_kappa),
            fig("cohen_kappa", r.cohen_kappa),
            f'<span class="note">{_esc(r.note)}</span>',
        ]
        for r in by.itertuples(index=False)
    ]
    head = ["target", "items", "annotators", "observed", "Krippendorff's alpha", "95% CI", "Fleiss' kappa"]
    head += ["Cohen's kappa (two annotators)", "note"]
    return f"<h3>{html.escape(field.capitalize())} agreement per target</h3>" + _table(head, rows)


def agreement_report(
    df: pd.DataFrame,
    schema: Schema,
    *,
    texts: Mapping[str, str] | None = None,
    top: int = 10,
    n_boot: int = 1000,
    seed: int = 0,
    title: str = "Agreement report",
) -> HTMLReport:
    """Build the self-contained HTML report for the annotations in ``df``.

    ``texts`` maps sentence_id -> sentence text for the "most disagreement" list (otherwise a
    ``text`` column of ``df`` is used, if any). ``top`` is how many such items to list per field.
    Raises what :func:`annotate.agreement.agreement` raises (empty table, another schema).
    """
    table = agreement(df, schema, n_boot=n_boot, seed=seed)
    d = prepare(df, schema)
    stats = annotator_stats(d, schema)
    dis = disagreements(d, schema, texts=texts)
    n_ann = d.loc[~d["was_cancelled"], "annotation_id"].nunique()
    n_skip = d.loc[d["was_cancelled"], "annotation_id"].nunique()
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Schema <code>{html.escape(Path(schema.path).name)}</code> (hash {html.escape(schema.hash)}); "
        f"{d['annotator'].nunique()} annotators, {n_ann} annotations, {n_skip} cancelled, "
        f"{d['sentence_id'].nunique()} sentences.</p>",
    ]
    field_rows = table[table["annotator_a"].isna()]
    rows = []
    for r in field_rows.itertuples(index=False):
        ci = _ci(r.ci_low, r.ci_high)
        cls = ' class="na"' if np.isnan(r.value) else ""
        rows.append(
            [
                html.escape(r.field),
                html.escape(r.metric),
                f"<span{cls}>{_num(r.value)}</span>",
                _band(r.metric, r.value),
                ci,
                str(r.n_items),
                str(r.n_annotators),
                f'<span class="note">{_esc(r.note)}</span>',
            ]
        )
    parts.append(
        "<h2>Per field</h2>"
        + _table(["field", "metric", "value", "reading", "95% CI", "items", "annotators", "note"], rows)
        + _kappa_key()
        + _alpha_key()
    )

    for f in schema.categorical_fields:
        v = votes(d, schema, f.name, prepared=True)
        parts.append(f"<h2>{html.escape(f.name)}</h2>")
        imgs = []
        hm = heatmap_png(table, f.name)
        if hm:
            imgs.append(_img(hm, f"{f.name} kappa heat map"))
        if len(v):
            labels = label_order(f, v["label"])
            cm = _confusion_png(coincidences(d, schema, f.name), f.name)
            if cm:
                imgs.append(_img(cm, f"{f.name} confusion matrix"))
            dist = _distribution_png(v, labels, f.name)
            if dist:
                imgs.append(_img(dist, f"{f.name} label distribution"))
        if not hm:
            parts.append("<p class='note'>no heat map: fewer than two annotators answered.</p>")
        parts.append("".join(imgs))
        if hm:
            parts.append(_kappa_key())
        if f.name == schema.target_field:
            parts.append(_by_target_html(agreement_by_target(d, schema, n_boot=n_boot, seed=seed), f.name))
        pair = table[(table["field"] == f.name) & table["annotator_a"].notna()]
        if len(pair):
            parts.append(
                "<h3>Annotator pairs</h3>"
                + _table(
                    ["annotator A", "annotator B", "Cohen's kappa", "reading", "95% CI", "items", "note"],
                    [
                        [
                            _esc(r.annotator_a),
                            _esc(r.annotator_b),
                            _num(r.value),
                            _band(r.metric, r.value),
                            _ci(r.ci_low, r.ci_high),
                            str(r.n_items),
                            f'<span class="note">{_esc(r.note)}</span>',
                        ]
                        for r in pair.itertuples(index=False)
                    ],
                )
            )
        worst = dis[(dis["field"] == f.name) & (dis["n_labels"] > 1)].head(top)
        if len(worst):
            parts.append(
                f"<h3>Most disagreement (top {len(worst)})</h3>"
                + _table(
                    ["item", "text", "answers", "majority share"],
                    [
                        [
                            _esc(r.item),
                            _esc(r.text) or "<span class='na'>(text not given)</span>",
                            "<br>".join(f"{_esc(_short(a))}: {_esc(lab)}" for a, lab in r.votes.items()),
                            _num(r.majority_share),
                        ]
                        for r in worst.itertuples(index=False)
                    ],
                )
            )
        else:
            parts.append("<p class='note'>No item with disagreement.</p>")

    spans = table[table["metric"].str.startswith("span_f1")]
    if len(spans):
        parts.append(
            "<h2>Spans</h2>"
            + _table(
                ["field", "metric", "annotator A", "annotator B", "F1", "sentences", "note"],
                [
                    [
                        _esc(r.field),
                        _esc(r.metric),
                        _esc(r.annotator_a),
                        _esc(r.annotator_b),
                        _num(r.value),
                        str(r.n_items),
                        f'<span class="note">{_esc(r.note)}</span>',
                    ]
                    for r in spans.itertuples(index=False)
                ],
            )
        )
    if len(stats):
        parts.append(
            "<h2>Annotators</h2>"
            + _table(
                [
                    "annotator",
                    "field",
                    "answers",
                    "agreement with others",
                    "agreement with aggregate",
                    "labels",
                    "median lead time (s)",
                    "skip rate",
                    "note",
                ],
                [
                    [
                        _esc(r.annotator),
                        _esc(r.field),
                        str(r.n_answers),
                        _num(r.agreement_with_others),
                        _num(r.agreement_with_aggregate),
                        ", ".join(f"{_esc(k)}: {c}" for k, c in r.label_distribution.items()),
                        "n/a" if np.isnan(r.median_lead_time) else f"{r.median_lead_time:.1f}",
                        _num(r.skip_rate),
                        f'<span class="note">{_esc(r.note)}</span>',
                    ]
                    for r in stats.itertuples(index=False)
                ],
            )
        )
    return HTMLReport(page(title, "\n".join(parts), css=_CSS))


def write_report(report: str, path: str | Path) -> Path:
    """Write an HTML report atomically."""
    path = Path(path)
    with atomic_write(path) as fh:
        fh.write(report)
    return path


@dataclass(frozen=True)
class ReportFile:
    """What :func:`report_file` wrote; ``str()`` is the line ``annotate report agreement`` prints."""

    path: Path
    annotations: int
    with_text: bool

    def __str__(self) -> str:
        text = "" if self.with_text else " (no sentence text: give --sentences to show it)"
        return f"wrote {self.path}: agreement on {self.annotations} annotations{text}"


def report_file(
    df: pd.DataFrame, schema: Schema, output: str | Path, *, sentences: str | Path | None = None, **kw: Any
) -> ReportFile:
    """:func:`agreement_report` of the table ``df``, with the text of ``sentences`` (a sentences
    file) for its disputed items, written to ``output``."""
    from annotate.sentences import read_sentence_lines

    texts = {r["sentence_id"]: r["text"] for _, r in read_sentence_lines(sentences)} if sentences else None
    path = write_report(agreement_report(df, schema, texts=texts, **kw), output)
    return ReportFile(path, int(prepare(df)["annotation_id"].nunique()), texts is not None)


def save_heatmap(df: pd.DataFrame, schema: Schema, path: str | Path, field: str | None = None, **kw: Any) -> Path:
    """Save the kappa heat map of ``field`` (default: the first categorical field) as a PNG."""
    from annotate.errors import InputError

    name = field or schema.categorical_fields[0].name
    png = heatmap_png(agreement(df, schema, field=name, **kw), name)
    if png is None:
        raise InputError(f"no heat map for '{name}': fewer than two annotators answered it")
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        fh.write(png)
    return path
