"""Inter-annotator agreement on the flat annotations table, per schema field and annotator pair.

Input is the tidy table that ``annotate pull`` produces (:func:`annotate.annotations.load_annotations`):
one row per task x annotation x field result, with at least the columns ``item``, ``sentence_id``,
``annotator``, ``field`` and ``value`` (:mod:`annotate.annotations` owns the table: its columns,
:func:`~annotate.annotations.prepare` and the :func:`~annotate.annotations.votes`; the optional
columns get their defaults when absent, so a notebook can pass a small frame).

Rows that are no vote (``was_cancelled``, ``is_draft``, a non-empty ``issue``, a ``field`` of
None) are left out of every statistic but counted: :func:`annotator_stats` reports the skip rate.
A field with a ``visibleWhen`` condition (stance) counts only where the same annotation's answer
to the condition field allows it. The same annotator may answer a per-sentence field in several
tasks (one per stance target); their latest answer per item (by ``updated_at``) is the vote.

Everything that cannot be computed (one annotator, no shared items, a single label in use, span
F1 with an annotator who never marks a span) is reported as a missing ``value`` with a ``note``
saying why, never as a number. A figure on fewer than :data:`FEW_ITEMS` items says so in its note;
:func:`reading` gives the conventional band of a kappa (Landis & Koch 1977) or alpha
(Krippendorff 2004); :func:`agreement_by_target` gives the stance field's agreement per target.

Implementations used: Krippendorff's alpha from ``krippendorff`` (Castro 2017), Cohen's kappa from
scikit-learn, Fleiss' kappa from statsmodels. Observed agreement and span F1 are a few lines each
and tested against published worked examples (Fleiss 1971; Hripcsak & Rothschild 2005).
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annotate.annotations import (  # the table's names stay importable from here too
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    is_vote,
    prepare,
    span_votes,
    table_row,
    votes,
    votes_by_item,
)
from annotate.errors import SchemaError
from annotate.schema import Field, Schema

__all__ = [
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "FEW_ITEMS",
    "AGREEMENT_COLUMNS",
    "prepare",
    "votes",
    "span_votes",
    "agreement",
    "BY_TARGET_COLUMNS",
    "agreement_by_target",
    "format_by_target",
    "annotator_stats",
    "pairwise_matrix",
    "coincidences",
    "disagreements",
    "observed_agreement",
    "span_f1",
    "label_order",
    "KAPPA_BANDS",
    "ALPHA_BANDS",
    "reading",
    "reading_key",
    "format_agreement",
    "records",
    "describe_table",
    "simulate_annotations",
    "AgreementSummary",
    "summarize",
]

_MIN_BOOT_ITEMS = 5  # below this, resampling items says nothing about the spread
FEW_ITEMS = 30  #: a figure on fewer items than this gets the note FEW_ITEMS_NOTE
FEW_ITEMS_NOTE = "few items: wide interval"
AGREEMENT_COLUMNS = [
    "field",
    "metric",
    "annotator_a",
    "annotator_b",
    "value",
    "ci_low",
    "ci_high",
    "n_items",
    "n_annotators",
    "note",
]
BY_TARGET_COLUMNS = [
    "target",
    "name",
    "n_items",
    "n_annotators",
    "observed_agreement",
    "krippendorff_alpha",
    "ci_low",
    "ci_high",
    "fleiss_kappa",
    "cohen_kappa",
    "note",
]


# Reading bands. Kappa: Landis, J. R., Koch, G. G. (1977). The measurement of observer agreement
# for categorical data. Biometrics 33(1), 159-174, https://doi.org/10.2307/2529310 (p. 165).
# Alpha: Krippendorff, K. (2004). Content Analysis, 2nd ed., p. 241: rely on alpha >= .800, draw
# only tentative conclusions from .667 <= alpha < .800, discard the rest.
#: (band, the range it covers, upper bound) from the lowest band up; kappa <= bound is in the band
KAPPA_BANDS: tuple[tuple[str, str, float], ...] = (
    ("poor", "< 0", 0.0),  # strictly below 0
    ("slight", "0-0.20", 0.20),
    ("fair", "0.21-0.40", 0.40),
    ("moderate", "0.41-0.60", 0.60),
    ("substantial", "0.61-0.80", 0.80),
    ("almost perfect", "0.81-1", 1.0),
)
#: (band, the range it covers, lower bound) from the highest band down; alpha >= bound is in the band
ALPHA_BANDS: tuple[tuple[str, str, float], ...] = (
    ("reliable", ">= 0.800", 0.800),
    ("tentative", "0.667-0.800", 0.667),
    ("discard", "< 0.667", -np.inf),
)
_KAPPAS = ("cohen_kappa", "fleiss_kappa")


def reading(metric: str, value: float | None) -> str | None:
    """The conventional reading of a figure: a Landis & Koch band for Cohen's and Fleiss' kappa,
    Krippendorff's for alpha; None for other metrics (observed agreement, span F1) and n/a values.
    The value is read as printed, to 3 decimals.

    >>> reading("cohen_kappa", 0.30), reading("krippendorff_alpha", 0.70)
    ('fair', 'tentative')
    """
    if value is None or not np.isfinite(value):
        return None
    value = round(float(value), 3)  # the figure as printed: 0.6667 reads as 0.667, tentative
    if metric in _KAPPAS:
        if value < 0:
            return KAPPA_BANDS[0][0]
        return next(name for name, _, hi in KAPPA_BANDS[1:] if value <= hi or hi == 1.0)
    if metric == "krippendorff_alpha":
        return next(name for name, _, lo in ALPHA_BANDS if value >= lo)
    return None


def reading_key(metrics: Iterable[str] = ("cohen_kappa", "krippendorff_alpha")) -> str:
    """One line naming the bands used for ``metrics`` (for the foot of a table)."""
    metrics = set(metrics)
    parts = []
    if metrics & set(_KAPPAS):
        parts.append("kappa (Landis & Koch 1977): " + ", ".join(f"{r} {n}" for n, r, _ in KAPPA_BANDS))
    if "krippendorff_alpha" in metrics:
        parts.append("alpha (Krippendorff 2004): " + ", ".join(f"{r} {n}" for n, r, _ in ALPHA_BANDS))
    return "; ".join(parts)


# --- fields -----------------------------------------------------------------------------


def label_order(f: Field, labels: Iterable[str] = ()) -> list[str]:
    """The field's choices in schema order, then any other labels seen (multiple-choice sets)."""
    return list(f.values) + sorted(set(labels) - set(f.values))


def _categorical(schema: Schema, field: str | None) -> list[Field]:
    if field is None:
        return schema.categorical_fields
    f = schema.field(field)
    if not (f.categorical or f.type == "labels"):
        raise SchemaError(
            f"field '{field}' is a {f.type} field; agreement is computed for categorical and span fields",
            path=schema.path,
            hint="use one of: " + ", ".join(x.name for x in [*schema.categorical_fields, *schema.span_fields]),
        )
    return [f] if f.categorical else []


# --- metrics ----------------------------------------------------------------------------


def observed_agreement(counts: np.ndarray) -> float:
    """Mean over items of the share of agreeing annotator pairs.

    ``counts`` is items x categories (how many annotators picked each category). For item i with
    m_i >= 2 ratings, P_i = sum_k n_ik (n_ik - 1) / (m_i (m_i - 1)) (Fleiss 1971, eq. 2, "the extent
    of agreement on subject i"); with equal m_i the mean is Fleiss' P-bar.
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
    Bulletin 76(5), 378-382. https://doi.org/10.1037/h0031619
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    keep = m >= 2
    if not keep.any():
        return float("nan")
    c, m = counts[keep], m[keep]
    return float(((c * (c - 1)).sum(axis=1) / (m * (m - 1))).mean())


def span_f1(
    a: Iterable[tuple[int, int, str]], b: Iterable[tuple[int, int, str]], *, overlap: bool = False
) -> tuple[int, int, int]:
    """Matches between two annotators' spans: ``(matched_a, matched_b, n_a + n_b)``.

    F1 = (matched_a + matched_b) / (n_a + n_b), symmetric in a and b, the F-measure with either
    annotator as the reference (Hripcsak & Rothschild 2005). ``overlap=False`` matches equal
    ``(start, end, label)``; ``overlap=True`` matches a span to any span of the same label whose
    character range overlaps it (half-open ranges).
    Hripcsak, G., Rothschild, A. S. (2005). Agreement, the F-measure, and reliability in
    information retrieval. JAMIA 12(3), 296-298. https://doi.org/10.1197/jamia.M1733
    """
    a, b = list(a), list(b)
    if not overlap:
        sa, sb = set(a), set(b)
        return len(sa & sb), len(sa & sb), len(sa) + len(sb)

    def hits(x: list[tuple[int, int, str]], y: list[tuple[int, int, str]]) -> int:
        return sum(any(lx == ly and sx < ey and sy < ex for sy, ey, ly in y) for sx, ex, lx in x)

    return hits(a, b), hits(b, a), len(a) + len(b)


def _alpha(value_counts: np.ndarray, n_values: int) -> float:
    import krippendorff

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return float(
                krippendorff.alpha(
                    value_counts=value_counts, value_domain=list(range(n_values)), level_of_measurement="nominal"
                )
            )
        except ValueError:  # one value only in the data
            return float("nan")


def _resample_weights(n: int, *, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` x ``n`` multiplicities of ``n`` items drawn with replacement (fixed seed)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_boot, n))
    return np.stack([np.bincount(row, minlength=n) for row in draws]).astype(float)


def _alpha_bootstrap(counts: np.ndarray, *, n_boot: int, seed: int) -> np.ndarray:
    """Nominal alpha of ``n_boot`` resamples of the items (rows of ``counts``), NaN-free.

    Vectorised with the coincidence-matrix form (Krippendorff 2011, section C): for items with
    m_u >= 2 values, n = sum m_u, agreeing coincidences sum_u sum_c n_uc (n_uc - 1) / (m_u - 1),
    n_c = sum_u n_uc, and alpha = 1 - (n - 1) (n - o_agree) / (n^2 - sum_c n_c^2). A resample is a
    vector of item multiplicities, so all resamples are two matrix products. The test suite checks
    this form against ``krippendorff.alpha`` on the point estimate.
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    with np.errstate(all="ignore"):
        agree = (counts * (counts - 1)).sum(axis=1) / (m - 1)
    w = _resample_weights(len(counts), n_boot=n_boot, seed=seed)
    n, o = w @ m, w @ agree
    nc = w @ counts
    with np.errstate(all="ignore"):
        alpha = 1 - (n - 1) * (n - o) / (n**2 - (nc**2).sum(axis=1))
    return alpha[np.isfinite(alpha)]


def _fleiss_bootstrap(counts: np.ndarray, *, n_boot: int, seed: int) -> np.ndarray:
    """Fleiss' kappa of ``n_boot`` resamples of the items (rows of ``counts``, each summing to m).

    Fleiss (1971): P_i = (sum_j n_ij^2 - m) / (m (m - 1)), p_j = share of all ratings in category
    j, kappa = (mean P_i - sum p_j^2) / (1 - sum p_j^2); with item multiplicities as weights. NaN
    (one category only in a resample) is kept, in the order of the resamples; the test suite checks
    each against ``statsmodels.stats.inter_rater.fleiss_kappa``.
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)[0]
    p_item = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    w = _resample_weights(len(counts), n_boot=n_boot, seed=seed)
    n = w.sum(axis=1)
    p_bar = w @ p_item / n
    p_e = ((w @ counts / (n * m)[:, None]) ** 2).sum(axis=1)
    with np.errstate(all="ignore"):
        return np.where(p_e < 1, (p_bar - p_e) / (1 - p_e), np.nan)


def _cohen_bootstrap(a: np.ndarray, b: np.ndarray, n_labels: int, *, n_boot: int, seed: int) -> np.ndarray:
    """Cohen's kappa of ``n_boot`` resamples of the items two annotators share (label codes ``a``, ``b``).

    kappa = (p_o - p_e) / (1 - p_e) with p_e from the two annotators' own label shares (Cohen 1960),
    item multiplicities as weights; NaN where p_e = 1. The test suite checks each against
    ``sklearn.metrics.cohen_kappa_score`` with the multiplicities as ``sample_weight``.
    """
    a, b = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
    eye = np.eye(n_labels)
    w = _resample_weights(len(a), n_boot=n_boot, seed=seed)
    n = w.sum(axis=1)
    p_o = w @ (a == b).astype(float) / n
    p_e = ((w @ eye[a]) * (w @ eye[b])).sum(axis=1) / n**2
    with np.errstate(all="ignore"):
        return np.where(p_e < 1, (p_o - p_e) / (1 - p_e), np.nan)


def _interval(boots: np.ndarray, n_items: int, n_boot: int) -> tuple[float, float, str | None]:
    """Percentile 95% interval of bootstrap values, or NaNs and the reason there is none."""
    boots = boots[np.isfinite(boots)]
    if n_items < _MIN_BOOT_ITEMS:
        return np.nan, np.nan, f"too few ({n_items}) for a bootstrap interval"
    if len(boots) < max(20, n_boot // 2):
        return np.nan, np.nan, "no bootstrap interval: most resamples use one label only"
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(lo), float(hi), None


def _few(n_items: int, note: str | None) -> str | None:
    """Prefix the small-n note to ``note`` for a figure on fewer than :data:`FEW_ITEMS` items."""
    if n_items >= FEW_ITEMS:
        return note
    return FEW_ITEMS_NOTE + (f"; {note}" if note else "")


def _kappa(a: list[str], b: list[str], labels: list[str]) -> float:
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(a, b, labels=labels, replace_undefined_by=np.nan))


def _row(field: str, metric: str, **kw: Any) -> dict[str, Any]:
    row = dict.fromkeys(AGREEMENT_COLUMNS)
    row.update(field=field, metric=metric, value=np.nan, ci_low=np.nan, ci_high=np.nan, n_items=0, n_annotators=0)
    row.update(kw)
    return row


def _field_agreement(v: pd.DataFrame, f: Field, *, n_boot: int, seed: int, left_out: str) -> list[dict[str, Any]]:
    name = f.name
    annotators = sorted(v["annotator"].unique())
    domain = label_order(f, v["label"])
    code = {lab: i for i, lab in enumerate(domain)}
    per_item = v.groupby("item")["annotator"].nunique()
    shared = per_item[per_item >= 2].index
    n_ann = len(annotators)
    metrics = ["observed_agreement", "krippendorff_alpha", "fleiss_kappa"]

    why = None
    if len(v) == 0:
        why = f"no answers to '{name}'{left_out}; nothing to compute"
    elif n_ann < 2:
        why = (
            f"only one annotator ({annotators[0]}) answered '{name}' ({len(per_item)} items); "
            "agreement needs at least two annotators on the same item"
        )
    elif len(shared) == 0:
        why = f"no item was answered by two or more annotators ({len(per_item)} items, {n_ann} annotators, no overlap)"
    if why:
        rows = [_row(name, m, n_annotators=n_ann, note=why) for m in metrics]
        rows += [
            _row(name, "cohen_kappa", annotator_a=a, annotator_b=b, n_annotators=2, note=why)
            for a, b in itertools.combinations(annotators, 2)
        ]
        return rows

    vs = v[v["item"].isin(shared)]
    counts = pd.crosstab(vs["item"], vs["label"].map(code)).reindex(columns=range(len(domain)), fill_value=0).to_numpy()
    n_items = len(counts)
    n_ann_shared = vs["annotator"].nunique()
    rows = [
        _row(
            name,
            "observed_agreement",
            value=observed_agreement(counts),
            n_items=n_items,
            n_annotators=n_ann_shared,
            note=_few(n_items, None),
        )
    ]

    # Krippendorff's alpha with a bootstrap over items (percentile interval, fixed seed)
    alpha = _alpha(counts, len(domain))
    if np.isnan(alpha):
        rows.append(
            _row(
                name,
                "krippendorff_alpha",
                n_items=n_items,
                n_annotators=n_ann_shared,
                note=f"alpha undefined: every answer on the {n_items} shared items is '{vs['label'].iloc[0]}'"
                " (no variation to measure agreement against)",
            )
        )
    else:
        lo, hi, why = _interval(_alpha_bootstrap(counts, n_boot=n_boot, seed=seed), n_items, n_boot)
        note = _few(n_items, why)
        rows.append(
            _row(
                name,
                "krippendorff_alpha",
                value=alpha,
                ci_low=lo,
                ci_high=hi,
                n_items=n_items,
                n_annotators=n_ann_shared,
                note=note,
            )
        )

    # Fleiss' kappa needs the same number of ratings per item: use the most common number
    m_per_item = counts.sum(axis=1)
    sizes = pd.Series(m_per_item).value_counts()
    m = int(max(sizes.index, key=lambda k: (sizes[k], k)))
    sub = counts[m_per_item == m]
    from statsmodels.stats.inter_rater import fleiss_kappa

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fk = float(fleiss_kappa(sub, method="fleiss"))
    notes = []
    if len(sub) < n_items:
        notes.append(
            f"on the {len(sub)} items with exactly {m} annotators (Fleiss' kappa needs the same number of "
            f"ratings per item); alpha uses all {n_items}"
        )
    lo = hi = np.nan
    if not np.isfinite(fk):
        fk, note = np.nan, f"Fleiss' kappa undefined: one label only on the {len(sub)} items with {m} annotators"
    else:
        lo, hi, why = _interval(_fleiss_bootstrap(sub, n_boot=n_boot, seed=seed), len(sub), n_boot)
        note = _few(len(sub), "; ".join([*notes, *([why] if why else [])]) or None)
    rows.append(
        _row(
            name,
            "fleiss_kappa",
            value=fk,
            ci_low=lo,
            ci_high=hi,
            n_items=len(sub),
            n_annotators=n_ann_shared,
            note=note,
        )
    )

    # Cohen's kappa for every pair, on the items both answered
    wide = v.pivot(index="item", columns="annotator", values="label")
    for a, b in itertools.combinations(annotators, 2):
        both = wide[[a, b]].dropna()
        if len(both) == 0:
            rows.append(
                _row(name, "cohen_kappa", annotator_a=a, annotator_b=b, n_annotators=2, note="no item answered by both")
            )
            continue
        k = _kappa(list(both[a]), list(both[b]), domain)
        lo = hi = np.nan
        if np.isnan(k):
            same = "agree on all of them" if (both[a] == both[b]).all() else "disagree"
            note = f"kappa undefined on {len(both)} shared item(s): both use one label only and {same}"
        else:
            ca, cb = both[a].map(code).to_numpy(), both[b].map(code).to_numpy()
            boots = _cohen_bootstrap(ca, cb, len(domain), n_boot=n_boot, seed=seed)
            lo, hi, why = _interval(boots, len(both), n_boot)
            note = _few(len(both), why)
        rows.append(
            _row(
                name,
                "cohen_kappa",
                annotator_a=a,
                annotator_b=b,
                value=k,
                ci_low=lo,
                ci_high=hi,
                n_items=len(both),
                n_annotators=2,
                note=note,
            )
        )
    return rows


def _span_agreement(sv: pd.DataFrame, f: Field) -> list[dict[str, Any]]:
    annotators = sorted(sv["annotator"].unique())
    rows: list[dict[str, Any]] = []
    if len(annotators) < 2:
        why = f"only one annotator ({annotators[0]}) annotated sentences" if annotators else "no annotations"
        return [
            _row(f.name, m, n_annotators=len(annotators), note=why + "; span F1 needs two annotators")
            for m in ("span_f1_exact", "span_f1_overlap")
        ]
    wide = sv.pivot(index="sentence_id", columns="annotator", values="spans")
    # an annotator who marked no span at all does not annotate spans: no F1 with them, not 0
    n_sentences = sv.groupby("annotator")["spans"].size()
    marks = sv.groupby("annotator")["spans"].agg(lambda s: any(len(x) for x in s))
    for a, b in itertools.combinations(annotators, 2):
        both = wide[[a, b]].dropna()
        silent = [x for x in (a, b) if not marks[x]]
        for metric, overlap in (("span_f1_exact", False), ("span_f1_overlap", True)):
            ma = mb = n = 0
            for sa, sb in both.itertuples(index=False):
                x, y, z = span_f1(sa, sb, overlap=overlap)
                ma, mb, n = ma + x, mb + y, n + z
            note = None
            if len(both) == 0:
                note = "no sentence annotated by both"
            elif n == 0:
                note = f"neither marked any '{f.name}' span on the {len(both)} shared sentences"
            elif silent:
                x = silent[0]
                note = (
                    f"{x} marked no '{f.name}' span on any of their {n_sentences[x]} sentences: "
                    f"no F1 with {x} (n/a, not 0)"
                )
                n = 0
            rows.append(
                _row(
                    f.name,
                    metric,
                    annotator_a=a,
                    annotator_b=b,
                    value=(ma + mb) / n if n else np.nan,
                    n_items=len(both),
                    n_annotators=2,
                    note=_few(len(both), note) if n else note,
                )
            )
    return rows


def agreement(
    df: pd.DataFrame, schema: Schema, field: str | None = None, *, n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Agreement per field: one row per (field, metric[, annotator pair]).

    For each categorical field (or just ``field``), over the items answered by two or more
    annotators: ``observed_agreement`` (mean share of agreeing pairs), ``krippendorff_alpha``
    (nominal; missing data allowed) with a bootstrap 95% interval over items (``n_boot``
    resamples, ``seed``), ``fleiss_kappa`` and ``cohen_kappa`` for every annotator pair. For
    span fields: ``span_f1_exact`` and ``span_f1_overlap`` for every pair (see :func:`span_f1`).
    Answers to fields the schema lacks get one ``not_in_schema`` row each, so they are not lost.

    Columns: :data:`AGREEMENT_COLUMNS` = field, metric, annotator_a, annotator_b, value, ci_low,
    ci_high, n_items, n_annotators, note. ``value`` is NaN exactly when it cannot be computed, and
    then ``note`` says why.

    References: Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability.
    https://repository.upenn.edu/asc_papers/43 ; Fleiss (1971), doi:10.1037/h0031619 ; Cohen, J.
    (1960). A coefficient of agreement for nominal scales. doi:10.1177/001316446002000104 ;
    Efron, B., Tibshirani, R. (1993). An Introduction to the Bootstrap (percentile interval).

    >>> agreement(df, schema)[["field", "metric", "value", "n_items"]]  # doctest: +SKIP
    """
    d = prepare(df, schema)
    fields = _categorical(schema, field)
    span_fields = schema.span_fields if field is None else [f for f in schema.span_fields if f.name == field]
    rows: list[dict[str, Any]] = []
    for f in fields:
        v = votes(d, schema, f.name, prepared=True)
        left = [
            f"{n} {w}"
            for w, n in (
                ("hidden by the condition", v.attrs["hidden"]),
                ("not a choice of the schema", v.attrs["unknown"]),
            )
            if n
        ]
        left_out = f" ({', '.join(left)})" if left else ""
        rows += _field_agreement(v, f, n_boot=n_boot, seed=seed, left_out=left_out)
    for f in span_fields:
        rows += _span_agreement(span_votes(d, schema, f.name, prepared=True), f)
    if field is None:
        ok = d[is_vote(d)]
        for name, n in ok.loc[~ok["field"].isin(list(schema.fields)), "field"].value_counts().sort_index().items():
            rows.append(
                _row(
                    str(name),
                    "not_in_schema",
                    note=f"{n} answers to '{name}', which {Path(schema.path).name} does not have; not computed",
                )
            )
    out = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    for col in ("value", "ci_low", "ci_high"):
        out[col] = out[col].astype(float)
    out["n_items"] = out["n_items"].astype(int)
    out["n_annotators"] = out["n_annotators"].astype(int)
    return out


def agreement_by_target(df: pd.DataFrame, schema: Schema, *, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Agreement of the target field (stance) per target: one row per target.

    Every target of the schema gets a row, in the schema's order (an unannotated one with
    ``n_items`` 0 and a note), then any other target found in the table. Columns:
    :data:`BY_TARGET_COLUMNS` = target, name, n_items, n_annotators (on the items answered by two
    or more), observed_agreement, krippendorff_alpha with its bootstrap 95% interval (ci_low,
    ci_high), fleiss_kappa, cohen_kappa (only where exactly two annotators answered the target;
    with more, read Fleiss), note. Each figure is what :func:`agreement` gives on that target's
    items alone. Empty when the schema has no target field or nobody answered it.
    """
    if schema.target_field is None:
        return pd.DataFrame(columns=BY_TARGET_COLUMNS)
    d = prepare(df, schema)
    f = schema.field(schema.target_field)
    v = votes(d, schema, f.name, prepared=True)
    if not len(v):
        return pd.DataFrame(columns=BY_TARGET_COLUMNS)
    known = [t.id for t in schema.targets]
    found = [t for t in v["target"].dropna().astype(str).unique() if t not in known]
    rows = []
    for target in [*known, *sorted(found)]:
        t = schema.target(target)
        row = dict.fromkeys(BY_TARGET_COLUMNS)
        row.update(target=target, name=t.name if t else None, n_items=0, n_annotators=0)
        vt = v[v["target"].astype(str) == target]
        if not len(vt):
            row.update(note=f"no {f.name} answers for this target")
            rows.append(row)
            continue
        got = {r["metric"]: r for r in _field_agreement(vt, f, n_boot=n_boot, seed=seed, left_out="")}
        alpha = got["krippendorff_alpha"]
        row.update(
            n_items=got["observed_agreement"]["n_items"],
            n_annotators=got["observed_agreement"]["n_annotators"],
            observed_agreement=got["observed_agreement"]["value"],
            krippendorff_alpha=alpha["value"],
            ci_low=alpha["ci_low"],
            ci_high=alpha["ci_high"],
            fleiss_kappa=got["fleiss_kappa"]["value"],
            cohen_kappa=got["cohen_kappa"]["value"] if vt["annotator"].nunique() == 2 else np.nan,
        )
        notes: list[str] = []
        for r in (got["observed_agreement"], alpha, got["fleiss_kappa"]):
            for part in (r["note"] or "").split("; "):
                if part and part not in notes:
                    notes.append(part)
        row["note"] = "; ".join(notes) or None
        rows.append(row)
    out = pd.DataFrame(rows, columns=BY_TARGET_COLUMNS)
    for col in ("observed_agreement", "krippendorff_alpha", "ci_low", "ci_high", "fleiss_kappa", "cohen_kappa"):
        out[col] = out[col].astype(float)
    for col in ("n_items", "n_annotators"):
        out[col] = out[col].astype(int)
    return out


def pairwise_matrix(table: pd.DataFrame, field: str, metric: str = "cohen_kappa") -> pd.DataFrame:
    """Square annotator x annotator matrix of a pairwise metric from :func:`agreement` (NaN = n/a)."""
    t = table[(table["field"] == field) & (table["metric"] == metric)]
    names = sorted(set(t["annotator_a"].dropna()) | set(t["annotator_b"].dropna()))
    m = pd.DataFrame(np.nan, index=pd.Index(names, name="annotator"), columns=names)
    for a, b, val in t[["annotator_a", "annotator_b", "value"]].itertuples(index=False):
        m.loc[a, b] = m.loc[b, a] = val
    for a in names:
        m.loc[a, a] = 1.0
    return m


def coincidences(df: pd.DataFrame, schema: Schema, field: str) -> pd.DataFrame:
    """Label x label counts over all ordered pairs of different annotators on the same item.

    This is Krippendorff's coincidence matrix without the 1/(m_u - 1) weights: the pooled
    "confusion matrix between annotators". Symmetric by construction.
    """
    f = schema.field(field)
    v = votes(df, schema, field)
    labels = label_order(f, v["label"])
    pairs = v.merge(v, on="item", suffixes=("_a", "_b"))
    pairs = pairs[pairs["annotator_a"] != pairs["annotator_b"]]
    m = pd.crosstab(pairs["label_a"], pairs["label_b"]).reindex(index=labels, columns=labels, fill_value=0)
    m.index.name, m.columns.name = "label", None
    return m


def disagreements(
    df: pd.DataFrame, schema: Schema, field: str | None = None, texts: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Items answered by two or more annotators, most disagreement first.

    Columns: field, item, sentence_id, target, n_annotators, majority_share (share of the most
    frequent label), n_labels, votes (dict annotator -> label), text (from ``texts`` by
    sentence_id, or a ``text`` column of ``df``, else None).
    """
    d = prepare(df, schema)
    if texts is None and "text" in d.columns:
        texts = dict(zip(d["sentence_id"], d["text"], strict=False))
    rows = []
    for f in _categorical(schema, field):
        v = votes(d, schema, f.name, prepared=True)
        counts = pd.crosstab(v["item"], v["label"]) if len(v) else pd.DataFrame()
        n = counts.sum(axis=1)
        counts = counts[n >= 2]
        if not len(counts):
            continue
        first = v.drop_duplicates("item").set_index("item")
        by_item = votes_by_item(v)
        for item, share, n_labels, n_ann in zip(
            counts.index,
            counts.max(axis=1) / n[n >= 2],
            (counts > 0).sum(axis=1),
            n[n >= 2],
            strict=True,
        ):
            sid = first.at[item, "sentence_id"]
            rows.append(
                {
                    "field": f.name,
                    "item": item,
                    "sentence_id": sid,
                    "target": first.at[item, "target"],
                    "n_annotators": int(n_ann),
                    "majority_share": float(share),
                    "n_labels": int(n_labels),
                    "votes": by_item[item],
                    "text": (texts or {}).get(sid),
                }
            )
    cols = ["field", "item", "sentence_id", "target", "n_annotators", "majority_share", "n_labels", "votes", "text"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(
        ["majority_share", "n_labels", "n_annotators"], ascending=[True, False, False], kind="stable"
    ).reset_index(drop=True)


# --- per annotator ----------------------------------------------------------------------


def _leave_one_out(v: pd.DataFrame) -> pd.DataFrame:
    """Per vote: how many *other* annotators of the item gave the same label (``same``) and any
    label (``pairs``), whether the others have a unique majority (``decided``) and it is this
    vote's label (``hit``)."""
    cols = ["annotator", "label", "same", "pairs", "decided", "hit"]
    if not len(v):
        return pd.DataFrame(columns=cols)
    counts = pd.crosstab(v["item"], v["label"])
    at, own = np.arange(len(v)), counts.columns.get_indexer(v["label"])
    others = counts.to_numpy()[counts.index.get_indexer(v["item"])]
    others[at, own] -= 1
    same, top = others[at, own], others.max(axis=1)
    decided = (others.sum(axis=1) > 0) & ((others == top[:, None]).sum(axis=1) == 1)
    return pd.DataFrame(
        {
            "annotator": v["annotator"].to_numpy(),
            "label": v["label"].to_numpy(),
            "same": same,
            "pairs": others.sum(axis=1),
            "decided": decided,
            "hit": decided & (same == top),
        },
        columns=cols,
    )


def annotator_stats(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """One row per (annotator, categorical field): how each annotator compares with the others.

    Columns: annotator, field, n_answers, agreement_with_others (share of (item, other annotator)
    pairs with the same label), n_pairs, agreement_with_aggregate (share of items where the label
    equals the majority of the *other* annotators; leave-one-out so nobody agrees with themselves,
    items where the others tie are left out), n_aggregate_items, label_distribution (dict label ->
    count), and per annotator over all their annotations: n_annotations, median_lead_time
    (seconds), skip_rate (share of cancelled annotations), note.
    """
    d = prepare(df, schema)
    per_ann = d[~d["is_draft"]].drop_duplicates("annotation_id")
    rows = []
    fields = schema.categorical_fields
    for f in fields:
        v = votes(d, schema, f.name, prepared=True)
        per_vote = _leave_one_out(v)
        for ann in sorted(d["annotator"].dropna().unique()):
            pv = per_vote[per_vote["annotator"] == ann]
            mine = pv["label"]
            agree, pairs = int(pv["same"].sum()), int(pv["pairs"].sum())
            agg_hit, agg_n = int(pv["hit"].sum()), int(pv["decided"].sum())
            a = per_ann[per_ann["annotator"] == ann]
            lead = pd.to_numeric(a.loc[~a["was_cancelled"], "lead_time"], errors="coerce").dropna()
            note = None
            if not len(mine):
                note = f"no answers to '{f.name}'"
            elif not pairs:
                note = "no item shared with another annotator"
            rows.append(
                {
                    "annotator": ann,
                    "field": f.name,
                    "n_answers": len(mine),
                    "agreement_with_others": agree / pairs if pairs else np.nan,
                    "n_pairs": pairs,
                    "agreement_with_aggregate": agg_hit / agg_n if agg_n else np.nan,
                    "n_aggregate_items": agg_n,
                    "label_distribution": {k: int(c) for k, c in mine.value_counts().sort_index().items()},
                    "n_annotations": len(a),
                    "median_lead_time": float(lead.median()) if len(lead) else np.nan,
                    "skip_rate": float(a["was_cancelled"].mean()) if len(a) else np.nan,
                    "note": note,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "annotator",
            "field",
            "n_answers",
            "agreement_with_others",
            "n_pairs",
            "agreement_with_aggregate",
            "n_aggregate_items",
            "label_distribution",
            "n_annotations",
            "median_lead_time",
            "skip_rate",
            "note",
        ],
    )


# --- display ----------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of an agreement table as JSON-ready dicts: what cannot be computed is ``None`` (null in
    JSON), never NaN or 0; figures with a reading band get a ``reading`` (see :func:`reading`)."""
    out = []
    for rec in table.astype(object).to_dict("records"):
        clean = {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in rec.items()}
        clean = {k: v.item() if isinstance(v, np.generic) else v for k, v in clean.items()}
        if "metric" in clean and "value" in clean:
            clean["reading"] = reading(clean["metric"], clean["value"])
        out.append(clean)
    return out


def describe_table(df: pd.DataFrame) -> str:
    """One line on what the table holds and what does not count as a vote.

    >>> describe_table(df)  # doctest: +SKIP
    '12 annotations by 3 annotators on 5 sentences; not votes: 1 skipped, 1 draft, 2 rows with an issue'
    """
    d = prepare(df)
    subs = d[~d["is_draft"]].drop_duplicates("annotation_id")
    n_drafts = d.loc[d["is_draft"], "annotation_id"].nunique()
    n_issue = int(d["issue"].notna().sum())
    return (
        f"{len(subs)} annotations by {subs['annotator'].nunique()} annotators on {d['sentence_id'].nunique()} "
        f"sentences; not votes: {int(subs['was_cancelled'].sum())} skipped, {n_drafts} draft"
        f"{'' if n_drafts == 1 else 's'}, {n_issue} row{'' if n_issue == 1 else 's'} with an issue"
    )


def format_agreement(table: pd.DataFrame) -> str:
    """Plain-text rendering of :func:`agreement`: numbers to 3 decimals with their reading (see
    :func:`reading`), ``n/a (why)`` otherwise; a last line names the reading bands used."""
    lines = []
    banded = set()
    for fname, g in table.groupby("field", sort=False):
        lines.append(f"{fname}")
        for r in g.itertuples(index=False):
            who = f" {r.annotator_a} ~ {r.annotator_b}" if isinstance(r.annotator_a, str) else ""
            if np.isnan(r.value):
                lines.append(f"  {r.metric}{who}: n/a ({r.note})")
                continue
            band = reading(r.metric, r.value)
            if band:
                banded.add(r.metric)
            ci = f" [95% CI {_fmt(r.ci_low)}, {_fmt(r.ci_high)}]" if not np.isnan(r.ci_low) else ""
            extra = f"; {r.note}" if isinstance(r.note, str) else ""
            read = f" {band}" if band else ""
            lines.append(f"  {r.metric}{who}: {_fmt(r.value)}{read}{ci} (n_items={r.n_items}{extra})")
    if banded:
        lines.append(f"reading: {reading_key(banded)}")
    return "\n".join(lines)


def format_by_target(by_target: pd.DataFrame, field: str = "stance") -> str:
    """Plain-text table of :func:`agreement_by_target` (one line per target), "" when it is empty."""
    if not len(by_target):
        return ""

    def fig(metric: str, x: float) -> str:
        if np.isnan(x):
            return "n/a"
        band = reading(metric, x)
        return _fmt(x) + (f" {band}" if band else "")

    head = ["target", "items", "annotators", "observed", "alpha [95% CI]", "Fleiss", "Cohen", "note"]
    body = []
    for r in by_target.itertuples(index=False):
        alpha = fig("krippendorff_alpha", r.krippendorff_alpha)
        if not np.isnan(r.ci_low):
            alpha += f" [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
        body.append(
            [
                str(r.target),
                str(r.n_items),
                str(r.n_annotators),
                fig("observed_agreement", r.observed_agreement),
                alpha,
                fig("fleiss_kappa", r.fleiss_kappa),
                fig("cohen_kappa", r.cohen_kappa),
                r.note if isinstance(r.note, str) else "",
            ]
        )
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    right = {1, 2}  # counts align right

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return ("  " + "  ".join(parts)).rstrip()

    return "\n".join([f"{field} by target", line(head), *(line(b) for b in body)])


# --- simulation (docs, tests, notebooks) --------------------------------------------------


def simulate_annotations(
    n_items: int,
    confusions: Mapping[str, np.ndarray],
    labels: list[str],
    *,
    field: str = "claim_type",
    prior: np.ndarray | None = None,
    coverage: float = 1.0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.Series]:
    """Annotators with known confusion matrices labelling ``n_items`` sentences of one field.

    ``confusions[name][true, given]`` is the probability that annotator ``name`` answers label
    ``given`` when the truth is ``true`` (rows sum to 1), the generative model of Dawid & Skene
    (1979). Each annotator answers each item with probability ``coverage``. Returns the flat
    annotations table (every column of :data:`annotate.annotations.COLUMNS`) and the true labels
    (Series indexed by item, name ``label``).
    """
    rng = np.random.default_rng(seed)
    k = len(labels)
    prior = np.full(k, 1 / k) if prior is None else np.asarray(prior, dtype=float)
    truth = rng.choice(k, size=n_items, p=prior)
    rows = []
    t0 = pd.Timestamp("2026-01-01T00:00:00Z")
    for i in range(n_items):
        sid = f"s{i:04d}"
        for j, (name, cm) in enumerate(confusions.items()):
            if rng.random() >= coverage:
                continue
            given = int(rng.choice(k, p=np.asarray(cm, dtype=float)[truth[i]]))
            when = (t0 + pd.Timedelta(seconds=i * 60 + j)).isoformat()
            rows.append(
                table_row(
                    {
                        "snapshot": "sim",
                        "project": 1,
                        "task_id": i,
                        "sentence_id": sid,
                        "doc_id": "sim",
                        "item": sid,
                        "annotation_id": i * 100 + j,
                        "annotator": name,
                        "annotator_id": j + 1,
                        "field": field,
                        "type": "choices",
                        "value": labels[given],
                        "lead_time": float(5 + rng.gamma(2.0, 3.0)),
                        "created_at": when,
                        "updated_at": when,
                    }
                )
            )
    true = pd.Series(
        [labels[t] for t in truth], index=pd.Index([f"s{i:04d}" for i in range(n_items)], name="item"), name="label"
    )
    return pd.DataFrame(rows), true


@dataclass(frozen=True)
class AgreementSummary:
    """What ``annotate agree`` reports: the table's contents, agreement per field and pair, and per
    stance target; ``str()`` is the text the CLI prints and :meth:`to_json` its ``--json`` object."""

    table: str  # :func:`describe_table`'s line
    agreement: pd.DataFrame
    by_target: pd.DataFrame | None  # None when the stance field is out of scope
    target_field: str = "stance"

    def __str__(self) -> str:
        text = f"{self.table}\n{format_agreement(self.agreement)}"
        if self.by_target is not None and len(self.by_target):
            text += "\n\n" + format_by_target(self.by_target, self.target_field)
        return text

    def to_json(self) -> str:
        """One JSON object; what cannot be computed is null (see :func:`records`)."""
        out = {"table": self.table, "agreement": records(self.agreement)}
        out["stance_by_target"] = records(self.by_target) if self.by_target is not None else []
        return json.dumps(out, allow_nan=False)


def summarize(df: pd.DataFrame, schema: Schema, *, field: str | None = None) -> AgreementSummary:
    """Agreement on every field (or ``field``), and per target for the stance field when in scope."""
    table = agreement(df, schema, field=field)
    by_target = agreement_by_target(df, schema) if field in (None, schema.target_field) else None
    return AgreementSummary(describe_table(df), table, by_target, schema.target_field or "stance")
