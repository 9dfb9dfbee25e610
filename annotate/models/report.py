"""A training report, read: the self-contained HTML page and the lines ``annotate train`` prints.

:func:`annotate.models.train.train` builds the report (a dict: per field the cross-validated
metrics, the baselines, the confusion matrix and the learning curve);
:func:`annotate.models.store.save` writes it beside the model as ``report.json`` and, through
:func:`report_html`, ``report.html``. :func:`summary_lines` says it in a few lines for the terminal.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from annotate.html_page import page
from annotate.models.presets import DEFAULT_PRESET

__all__ = ["report_html", "summary_lines"]


#: Metrics are numbers: right-aligned, with the row's name on the left.
_CSS = """
td, th { text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def report_html(report: dict[str, Any], card: dict[str, Any] | None = None) -> str:
    """A self-contained HTML page (no scripts, no external assets) for a training report."""
    e = html.escape
    parts = [
        f"<h1>Model {e(report['name'])}</h1>",
        f"<p>Trained {e(report['created'])} on {e(str(report['data']['path']))} "
        f"({report['data']['rows']} labels, data hash {e(str(report['data']['hash']))}); "
        f"schema {e(report['schema']['path'])} (hash {e(report['schema']['hash'])})"
        + (f"; model version <b>{e(card['model_version'])}</b>" if card else "")
        + ".</p>",
    ]
    for fname, r in report["fields"].items():
        cv = r["cv"]
        parts.append(f"<h2>{e(fname)} ({e(r['kind'])} model)</h2>")
        for w in r["warnings"]:
            parts.append(f"<p class='warn'>Warning: {e(w)}</p>")
        if cv is None:
            parts.append(
                f"<p>{r['n']} labels; not cross-validated.</p><p>Parameters: <code>{e(str(r['params']))}</code></p>"
            )
            continue
        parts.append(
            f"<p>{r['n']} labels; {cv['n_splits']}-fold cross-validation, "
            f"{'grouped by document (' + str(cv['n_groups']) + ' documents)' if cv['grouped'] else 'not grouped'}. "
            f"Macro-F1 <b>{r['metrics']['macro_f1']:.3f}</b>, accuracy {r['metrics']['accuracy']:.3f} "
            "(out-of-fold predictions).</p>"
        )
        parts.append(_baselines_html(r))
        parts.append(
            "<table><tr><th>class</th><th>labels</th><th>precision</th><th>recall</th><th>F1</th><th>AP</th></tr>"
        )
        for c, m in r["metrics"]["per_class"].items():
            parts.append(
                f"<tr><td>{e(c)}</td><td>{m['support']}</td><td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td>"
                f"<td>{m['f1']:.3f}</td><td>{m['average_precision']:.3f}</td></tr>"
            )
        parts.append("</table><h3>Confusion matrix (rows gold, columns predicted)</h3><table><tr><th></th>")
        labels = r["confusion_matrix"]["labels"]
        parts.extend(f"<th>{e(c)}</th>" for c in labels)
        parts.append("</tr>")
        for c, row in zip(labels, r["confusion_matrix"]["matrix"], strict=True):
            parts.append(f"<tr><td>{e(c)}</td>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>")
        parts.append("</table><h3>Learning curve</h3>")
        parts.append(_curve_svg(r["learning_curve"]))
        parts.append("<table><tr><th>training labels</th><th>macro-F1</th><th>std</th></tr>")
        for p in r["learning_curve"]:
            parts.append(
                f"<tr><td>{p['n_train']}</td><td>{p['macro_f1_mean']:.3f}</td><td>{p['macro_f1_std']:.3f}</td></tr>"
            )
        parts.append(f"</table><p>Parameters: <code>{e(str(r['params']))}</code></p>")
    parts.append(f"<h2>Libraries</h2><p><code>{e(str(report['libraries']))}</code></p>")
    return page(f"annotate model {report['name']}", "\n".join(parts), css=_CSS)


def _baselines_html(r: dict[str, Any]) -> str:
    """The model beside the majority and plain TF-IDF + logistic-regression baselines (same folds)."""
    if "baselines" not in r:
        return ""
    key = html.escape(r["key_metric"]["name"])
    rows = [
        f"<h3>Beside the baselines (same folds)</h3><table><tr><th>model</th><th>{key}</th><th>macro-F1</th></tr>",
        f"<tr><td><b>this model</b> (preset {html.escape(r.get('preset', DEFAULT_PRESET))})</td>"
        f"<td><b>{r['key_metric']['model']:.3f}</b></td><td><b>{r['metrics']['macro_f1']:.3f}</b></td></tr>",
    ]
    names = {"tfidf_logreg": "TF-IDF + logistic regression (Label Studio's example)", "majority": "majority class"}
    for name, b in r["baselines"].items():
        label = html.escape(names.get(name, name))
        rows.append(f"<tr><td>{label}</td><td>{b['key_f1']:.3f}</td><td>{b['macro_f1']:.3f}</td></tr>")
    return "".join(rows) + "</table>"


def _curve_svg(points: list[dict[str, Any]], width: int = 360, height: int = 180) -> str:
    if not points:
        return ""
    pad = 30
    xs = [p["n_train"] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1

    def sx(v: float) -> float:
        return pad + (v - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(v: float) -> float:
        return height - pad - v * (height - 2 * pad)

    line = " ".join(f"{sx(p['n_train']):.1f},{sy(p['macro_f1_mean']):.1f}" for p in points)
    dots = "".join(f"<circle cx='{sx(p['n_train']):.1f}' cy='{sy(p['macro_f1_mean']):.1f}' r='3'/>" for p in points)
    return (
        f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg' role='img' "
        "aria-label='macro-F1 by number of training labels'>"
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' stroke='#888'/>"
        f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{height - pad}' stroke='#888'/>"
        f"<text x='2' y='{pad}' font-size='10'>1.0</text><text x='2' y='{height - pad}' font-size='10'>0.0</text>"
        f"<text x='{width // 2 - 40}' y='{height - 5}' font-size='10'>training labels</text>"
        f"<polyline fill='none' stroke='#2f54eb' stroke-width='2' points='{line}'/>{dots}</svg>"
    )


def summary_lines(card: dict[str, Any], report: dict[str, Any], output: str | Path) -> list[str]:
    """What ``annotate train`` prints: one line per field, then where the report is."""
    lines = [f"model {card['model_version']} -> {output}"]
    for fname, f in card["fields"].items():
        r = report["fields"][fname]
        preset = r.get("preset", DEFAULT_PRESET)
        line = f"  {fname} ({f['kind']}, preset {preset}): {f['n']} labels, {len(f['labels'])} classes"
        if r.get("cv") is not None:
            line += f", CV macro-F1 {f['macro_f1']:.3f}"
        if "baselines" in r:
            k, plain = r["key_metric"], r["baselines"]["tfidf_logreg"]
            line += (
                f", {k['name']} {k['model']:.3f} (TF-IDF + LR baseline {plain['key_f1']:.3f}, "
                f"majority {r['baselines']['majority']['key_f1']:.3f})"
            )
        lines.append(line)
    for fname, r in report["fields"].items():
        gate = r.get("prefill")
        if gate:
            by_label = ", ".join(
                f"{label} from {t:.2f}" if t is not None else f"{label} never" for label, t in gate["min_score"].items()
            )
            lines.append(
                f"  {fname}: `push --min-score auto` pre-fills {by_label} ({gate['prefilled']:.0%} of sentences in "
                f"CV, {gate['precision_target']:.0%}+ right per label); the rest show as hints"
            )
        lines.extend(f"  warning ({fname}): {w}" for w in r["warnings"])
    lines.append(f"  report: {Path(output) / 'report.html'}")
    return lines
