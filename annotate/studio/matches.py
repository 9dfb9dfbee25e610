"""Claim matches in the labelling view: "has this been checked already?" (issue 16, in the loop).

``annotate push --matches matches.jsonl`` (the output of ``annotate match``) gives every task

- ``matches``: the sentence's first :data:`SHOWN` archive matches (rank, claim_id, claim,
  probability, verdict, url), as data;
- ``matches_html``: the same as escaped HTML that a ``<HyperText>`` tag shows, numbered 1..N, each
  with its verdict and link (every archive string is escaped, and only http(s) links are links);

and the schema one more field, :data:`FIELD` (``checked``), a single-choice question answered in
one click: ``None of these`` (not checked yet) or ``Match N`` (it repeats the claim shown as N).
:func:`with_checked_field` is the one place that adds it; the field is an ordinary ``Choices``
field, so ``pull``, ``agree`` and ``resolve`` treat it as any other. When the top match's
calibrated probability is at least the threshold (:data:`DEFAULT_THRESHOLD`), the field is
pre-annotated ``Match 1`` as a prediction whose score is that probability.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from annotate.errors import InputError, SchemaError
from annotate.io import read_jsonl, sha256_hex
from annotate.schema import Schema

__all__ = [
    "FIELD",
    "NONE",
    "SHOWN",
    "DEFAULT_THRESHOLD",
    "MODEL_VERSION",
    "choice_for_rank",
    "checked_field_xml",
    "with_checked_field",
    "read_matches",
    "matches_html",
    "add_match_data",
    "match_predictions",
    "model_version_for",
    "schema_for_table",
]

#: The schema field an annotator answers: which shown match the sentence repeats, or none.
FIELD = "checked"
#: The object tag that shows the matches (task data ``$matches_html``).
VIEW = "matches"
NONE = "None of these"
#: How many matches a task shows (and how many ``Match N`` choices the field has).
SHOWN = 3
#: Pre-annotate ``Match 1`` when the top match's probability is at least this.
DEFAULT_THRESHOLD = 0.9
#: The model version of the pre-annotations when no other predictions are pushed with them.
MODEL_VERSION = "annotate-match-1"

_CHOICE_RE = re.compile(r"Match (\d+)$")


def choice_for_rank(rank: int) -> str:
    """The choice value that names the match shown as ``rank`` (1-based)."""
    return f"Match {rank}"


def checked_field_xml(to_name: str = "text", shown: int = SHOWN) -> str:
    """The XML of the matches view and the ``checked`` field (a fragment of a ``<View>``)."""
    choices = "\n".join(f'      <Choice value="{choice_for_rank(i)}"/>' for i in range(1, shown + 1))
    return (
        "\n  <!-- added by annotate.studio.matches (push with matches): the archive's likely\n"
        "       matches, and whether the sentence repeats one of them -->\n"
        '  <View className="ann-matches">\n'
        f'    <Header value="Already checked? The archive\'s closest claims" size="5"/>\n'
        f'    <HyperText name="{VIEW}" value="$matches_html" inline="true" clickableLinks="true"/>\n'
        f'    <Choices name="{FIELD}" toName="{to_name}" choice="single-radio" showInline="true">\n'
        f'      <Choice value="{NONE}"/>\n'
        f"{choices}\n"
        "    </Choices>\n"
        "  </View>\n"
    )


def with_checked_field(schema: Schema, shown: int = SHOWN) -> Schema:
    """``schema`` plus the matches view and the ``checked`` field (the same schema if it has them).

    The XML is added before the root's closing tag, the rest kept byte for byte; the result is
    validated as any config is (the SDK's ``LabelInterface``), keeps the path (so the project
    title), targets and target field, and gets its own hash.
    """
    if shown < 1:
        raise SchemaError(f"shown must be at least 1, got {shown}")
    if FIELD in schema.fields:
        f = schema.fields[FIELD]
        if f.type != "choices" or NONE not in f.values:
            raise SchemaError(
                f"the schema already has a field '{FIELD}' that is not the matches field",
                path=schema.path,
                hint=f"rename that field: push --matches adds '{FIELD}'",
            )
        return schema
    if re.search(rf'name="{VIEW}"', schema.xml):
        raise SchemaError(
            f"the schema already has a tag named '{VIEW}'", path=schema.path, hint="rename it to push --matches"
        )
    end = schema.xml.rstrip().rfind("</View>")
    if end < 0:
        raise SchemaError("the config's root is not a <View>", path=schema.path, hint="wrap it in <View>...</View>")
    xml = schema.xml[:end].rstrip() + "\n" + checked_field_xml(schema.text_name, shown) + schema.xml[end:]
    out = Schema.from_string(xml, path=schema.path)
    out.targets = list(schema.targets)
    out.target_field = schema.target_field
    out.targets_text = schema.targets_text
    out.hash = sha256_hex(xml + "\n" + (schema.targets_text or ""), 12)  # as Schema.from_string computes it
    return out


def schema_for_table(schema: Schema, df: Any) -> Schema:
    """``schema`` with the ``checked`` field when the annotations table has answers to it and the
    schema lacks it (a project pushed with ``--matches``, read with the base schema)."""
    if FIELD in schema.fields or df is None or "field" not in getattr(df, "columns", ()):
        return schema
    rows = df[df["field"] == FIELD]
    if not len(rows):
        return schema
    ranks = [int(m.group(1)) for v in rows["value"] if isinstance(v, str) and (m := _CHOICE_RE.match(v))]
    return with_checked_field(schema, max([SHOWN, *ranks]))


# --- the matches file -------------------------------------------------------------------------


def _probability(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or not 0 <= value <= 1:
        raise ValueError(f"probability {value!r} is not a number in 0..1")
    return float(value)


def read_matches(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """``sentence_id -> matches`` (best first) from ``annotate match``'s output, every line checked."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such matches file", path=path, hint="make one with `annotate match`")
    out: dict[str, list[dict[str, Any]]] = {}
    for lineno, rec in read_jsonl(path, allow_empty=True):

        def bad(msg: str, lineno: int = lineno) -> InputError:
            return InputError(
                f"not a match record: {msg}",
                path=path,
                line=lineno,
                hint="give the output of `annotate match` (sentence_id, text, matches: [{claim_id, claim, ...}])",
            )

        if not isinstance(rec, dict) or not isinstance(rec.get("sentence_id"), str):
            raise bad("'sentence_id' is missing")
        if not isinstance(rec.get("matches"), list):
            raise bad("'matches' is not a list")
        if rec["sentence_id"] in out:
            raise bad(f"sentence_id '{rec['sentence_id']}' appears twice")
        matches = []
        for i, m in enumerate(rec["matches"], start=1):
            if not isinstance(m, dict) or not isinstance(m.get("claim"), str):
                raise bad(f"match {i} has no 'claim'")
            try:
                prob = _probability(m.get("probability"))
            except ValueError as err:
                raise bad(f"match {i}: {err}") from None
            matches.append(
                {
                    "rank": i,
                    "claim_id": str(m.get("claim_id") or ""),
                    "claim": m["claim"],
                    "probability": prob,
                    "verdict": str(m.get("verdict") or ""),
                    "url": str(m.get("url") or ""),
                }
            )
        out[rec["sentence_id"]] = matches
    return out


def _link(url: str) -> str:
    if not re.match(r"https?://", url, re.I):
        return html.escape(url)  # not a web link: shown as text, never as href
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">link</a>'


def matches_html(matches: Iterable[dict[str, Any]], shown: int = SHOWN) -> str:
    """The matches as HTML for the ``<HyperText>`` view: every archive string escaped."""
    items = []
    for m in list(matches)[:shown]:
        parts = [f"<b>{choice_for_rank(m['rank'])}</b>"]
        if m.get("probability") is not None:
            parts.append(f"({m['probability']:.0%})")
        parts.append(html.escape(m["claim"]))
        if m.get("verdict"):
            parts.append(f"· verdict: <b>{html.escape(m['verdict'])}</b>")
        if m.get("url"):
            parts.append("· " + _link(m["url"]))
        items.append(f"<li>{' '.join(parts)}</li>")
    if not items:
        return "<p><i>No similar claim in the archive: answer “None of these”.</i></p>"
    return '<ul style="list-style:none;padding-left:0;margin:4px 0">' + "".join(items) + "</ul>"


def add_match_data(tasks: Iterable[dict[str, Any]], matches: dict[str, list[dict[str, Any]]], shown: int = SHOWN):
    """Give every task (in place) ``matches`` and ``matches_html`` (empty for a sentence without)."""
    for task in tasks:
        ms = matches.get(task["sentence_id"], [])[:shown]
        task["matches"] = ms
        task["matches_html"] = matches_html(ms, shown)


def model_version_for(prediction_rows: Iterable[dict[str, Any]]) -> str:
    """The model version for the match pre-annotations: the most frequent one of the other
    predictions pushed with them (Label Studio pre-fills a task from one model version, so the
    ``checked`` answer joins the claim model's prediction), else :data:`MODEL_VERSION`."""
    versions = [str(r["model_version"]) for r in prediction_rows if isinstance(r, dict) and r.get("model_version")]
    return max(set(versions), key=versions.count) if versions else MODEL_VERSION


def match_predictions(
    matches: dict[str, list[dict[str, Any]]],
    sentence_ids: Iterable[str],
    threshold: float = DEFAULT_THRESHOLD,
    model_version: str = MODEL_VERSION,
) -> list[dict[str, Any]]:
    """Prediction records (``push --predictions`` format) of ``Match 1`` where the top match's
    probability is at least ``threshold``; its score is that probability. Matches without a
    probability (no re-ranker) pre-annotate nothing."""
    if isinstance(threshold, bool) or not 0 <= threshold <= 1:
        raise InputError(f"the match threshold {threshold!r} is not a number in 0..1", hint="e.g. 0.9")
    out = []
    for sid in sentence_ids:
        ms = matches.get(sid) or []
        if ms and ms[0]["probability"] is not None and ms[0]["probability"] >= threshold:
            out.append({"sentence_id": sid, "field": FIELD, "value": choice_for_rank(1),
                        "score": ms[0]["probability"], "model_version": model_version})  # fmt: skip
    return out


def checked_pairs(gold: str | Path, matches: str | Path) -> tuple[list[str], list[set[str]]]:
    """Training pairs for the re-ranker from the desk's own answers to the ``checked`` field.

    ``gold``: a gold file of ``annotate resolve`` (it carries each sentence's text); ``matches``:
    the ``annotate match`` output that was pushed with ``--matches``. A gold "Match k" pairs the
    sentence with the claim shown at rank k; "None of these" is kept as a sentence with no match
    (its candidates then count as negatives). Returns texts and their sets of claim ids, the
    shape :func:`annotate.matching.fit_reranker` takes.
    """
    from annotate.io import read_jsonl

    shown = read_matches(matches)
    by_text: dict[str, set[str]] = {}
    for lineno, rec in read_jsonl(gold):
        if rec.get("field") != FIELD:
            continue
        text, sid, label = rec.get("text"), str(rec.get("sentence_id")), str(rec.get("label"))
        if not isinstance(text, str) or not text:
            raise InputError(
                "a gold row has no text", path=gold, line=lineno, hint="re-run `annotate resolve` (it writes the text)"
            )
        ids = by_text.setdefault(text, set())
        m = _CHOICE_RE.match(label)
        if m is None:
            continue  # "None of these": a sentence whose candidates are all wrong
        rank = int(m.group(1))
        cands = shown.get(sid, [])
        if rank > len(cands) or not cands[rank - 1]["claim_id"]:
            raise InputError(
                f"sentence '{sid}' was answered '{label}' but the matches file shows it no such claim",
                path=gold,
                line=lineno,
                hint="give the matches file that was pushed with --matches",
            )
        ids.add(cands[rank - 1]["claim_id"])
    return list(by_text), list(by_text.values())
