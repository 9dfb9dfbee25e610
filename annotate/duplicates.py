"""Repeated claims labelled once (issue 16, item 4): near-identical sentences grouped into clusters.

Wire copy repeats the same quote across dozens of articles, and a politician repeats a favourite
claim with light rewording. :func:`group_duplicates` clusters such sentences across the corpus:
char_wb 3-5 gram TF-IDF (the features :mod:`annotate.matching` uses for claims, on
:func:`annotate.matching.clean_text`), cosine similarity, and the connected components of the
graph that joins every pair at least ``threshold`` similar (single linkage). The pairs come from
scikit-learn's sparse radius-neighbours search, computed in bounded chunks, so 100k sentences never
need a dense n x n matrix in memory.

The result is deterministic: clusters are ordered by their first member in input order, members in
input order, and the **representative** of a cluster is its first member. ``push
--group-duplicates`` pushes only the representatives (:func:`cluster_task_data` gives their task
data ``cluster_id``, ``members`` and ``members_html``); ``resolve`` copies a representative's gold
rows to every other member of its cluster (:func:`expand_cluster_gold`), with method
``"cluster"`` and ``from_cluster`` naming the representative.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from annotate.errors import InputError, SchemaError

__all__ = [
    "DEFAULT_THRESHOLD",
    "CLUSTER_METHOD",
    "MEMBER_KEYS",
    "Cluster",
    "group_duplicates",
    "representatives",
    "cluster_task_data",
    "members_html",
    "with_members_view",
    "expand_cluster_gold",
    "group_for_push",
    "add_cluster_data",
]

#: Cosine similarity (char_wb 3-5 gram TF-IDF) at which two sentences are the same claim. Chosen
#: on CheckThat! 2020 Task 2 train+dev tweets (``benchmarks/duplicates.py``, docs/matching.md).
DEFAULT_THRESHOLD = 0.4
#: The ``method`` of a gold row copied from a cluster's representative to a member.
CLUSTER_METHOD = "cluster"
#: What a task's ``members`` list keeps of each member sentence.
MEMBER_KEYS = ("sentence_id", "doc_id", "title", "source", "text")
#: Memory (MB) for one chunk of the similarity search (sklearn's ``working_memory``).
WORKING_MEMORY_MB = 256
#: The object tag that shows the members (task data ``$members_html``).
VIEW = "members"


@dataclass
class Cluster:
    """One group of near-identical sentences; ``members[0]`` is the representative."""

    cluster_id: str
    members: list[dict[str, Any]]

    @property
    def representative(self) -> dict[str, Any]:
        return self.members[0]


def _check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
        raise InputError(f"the duplicate threshold {threshold!r} is not a number in (0, 1]", hint="e.g. 0.4")
    return float(threshold)


def similarity_graph(texts: Sequence[str], threshold: float):
    """Sparse n x n graph (CSR) joining every pair of texts with cosine similarity >= threshold."""
    import scipy.sparse as sp
    import sklearn
    from sklearn.neighbors import NearestNeighbors

    from annotate.matching import char_vectorizer, clean_text

    n = len(texts)
    cleaned = [clean_text(t) or t for t in texts]
    if n < 2 or not any(c.strip() for c in cleaned):
        return sp.csr_matrix((n, n), dtype=np.float32)
    try:
        x = char_vectorizer().fit_transform(cleaned)
    except ValueError:  # no n-gram at all (e.g. only one-letter texts)
        return sp.csr_matrix((n, n), dtype=np.float32)
    nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(x)
    # brute radius search goes through pairwise_distances_chunked: memory bounded by
    # working_memory (MB per chunk of distances), the output sparse (only pairs within the radius)
    with sklearn.config_context(working_memory=WORKING_MEMORY_MB):
        graph = nn.radius_neighbors_graph(x, radius=1.0 - threshold + 1e-6, mode="connectivity")
    return graph.tocsr()


def group_duplicates(
    records: Iterable[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD, *, text_key: str = "text"
) -> list[Cluster]:
    """Clusters of near-identical sentences (every record in exactly one cluster, singletons included).

    ``records`` are sentence records (``sentence_id`` and ``text``); two are joined when the cosine
    similarity of their char_wb TF-IDF vectors is at least ``threshold``, and clusters are the
    connected components. Cluster ids are ``dup-<representative's sentence_id>``.
    """
    from scipy.sparse.csgraph import connected_components

    threshold = _check_threshold(threshold)
    recs = list(records)
    for i, rec in enumerate(recs, start=1):
        if not isinstance(rec, dict) or not isinstance(rec.get(text_key), str):
            raise InputError(f"record {i} has no text ('{text_key}')", hint="give sentence records with text")
        if not isinstance(rec.get("sentence_id"), str) or not rec["sentence_id"]:
            raise InputError(f"record {i} has no 'sentence_id'", hint="give the output of `annotate ingest`")
    if not recs:
        return []
    graph = similarity_graph([r[text_key] for r in recs], threshold)
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[dict[str, Any]]] = {}
    for rec, label in zip(recs, labels, strict=True):
        groups.setdefault(int(label), []).append(rec)  # dict order: by first member in input order
    return [Cluster(f"dup-{m[0]['sentence_id']}", m) for m in groups.values()]


def representatives(clusters: Iterable[Cluster]) -> list[dict[str, Any]]:
    """The first member of each cluster, in cluster order: the sentences that become tasks."""
    return [c.representative for c in clusters]


def _member(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: str(rec.get(k) or "") for k in MEMBER_KEYS}


def members_html(members: Sequence[dict[str, Any]]) -> str:
    """The members for the ``<HyperText>`` view: every string escaped, the representative first."""
    if len(members) < 2:
        return "<p><i>No repeat of this sentence elsewhere in the corpus.</i></p>"
    items = []
    for m in members:
        source = " · ".join(html.escape(m[k]) for k in ("title", "source") if m.get(k))
        where = html.escape(m.get("doc_id") or "") + (f" ({source})" if source else "")
        items.append(f"<li><b>{where}</b>: {html.escape(m.get('text') or '')}</li>")
    return (
        f"<p>Your answer is given to all {len(members)} sentences of this group:</p>"
        f'<ul style="margin:4px 0">{"".join(items)}</ul>'
    )


def cluster_task_data(clusters: Iterable[Cluster]) -> dict[str, dict[str, Any]]:
    """``representative sentence_id -> {cluster_id, members, members_html}`` for its tasks' data."""
    out = {}
    for c in clusters:
        members = [_member(m) for m in c.members]
        out[c.representative["sentence_id"]] = {
            "cluster_id": c.cluster_id,
            "members": members,
            "members_html": members_html(members),
        }
    return out


def members_view_xml() -> str:
    """The XML that shows a task's cluster members (a fragment of a ``<View>``; no control tag)."""
    return (
        "\n  <!-- added by annotate.duplicates (push with grouped duplicates): the repeats of this sentence -->\n"
        '  <View className="ann-members">\n'
        '    <Header value="Repeated in the corpus" size="5"/>\n'
        f'    <HyperText name="{VIEW}" value="$members_html" inline="true"/>\n'
        "  </View>\n"
    )


def with_members_view(schema: Any) -> Any:
    """``schema`` plus a read-only view of the members (no field: pull, agree, resolve unchanged).

    As :func:`annotate.studio.matches.with_checked_field`: the XML goes before the root's closing
    tag, the rest kept byte for byte, the result validated and given its own hash.
    """
    from annotate.io import sha256_hex
    from annotate.schema import Schema

    if "$members_html" in schema.xml:
        return schema
    if re.search(rf'name="{VIEW}"', schema.xml):
        raise SchemaError(
            f"the schema already has a tag named '{VIEW}'",
            path=schema.path,
            hint="rename it to push --group-duplicates",
        )
    end = schema.xml.rstrip().rfind("</View>")
    if end < 0:
        raise SchemaError("the config's root is not a <View>", path=schema.path, hint="wrap it in <View>...</View>")
    xml = schema.xml[:end].rstrip() + "\n" + members_view_xml() + schema.xml[end:]
    out = Schema.from_string(xml, path=schema.path)
    out.targets = list(schema.targets)
    out.target_field = schema.target_field
    out.targets_text = schema.targets_text
    out.hash = sha256_hex(xml + "\n" + (schema.targets_text or ""), 12)
    return out


def expand_cluster_gold(gold: Any, tasks: Mapping[tuple[str, str], dict[str, Any]]) -> Any:
    """Gold rows plus a copy of each representative's rows for every other member of its cluster.

    ``tasks`` is :func:`annotate.studio.pull.snapshot_tasks` (task data by (sentence_id,
    target_id), with ``members``). A copy gets the member's ``sentence_id``, ``item``
    (``sid`` or ``sid@target``), ``doc_id``, ``text`` and ``title``, method :data:`CLUSTER_METHOD`
    and ``from_cluster`` = the representative's sentence_id (None on every other row). A member
    that has gold of its own (it was also annotated) keeps it. Without clusters, ``gold`` is
    returned unchanged.
    """
    import pandas as pd

    members_of: dict[str, list[dict[str, Any]]] = {}
    for (sid, _target), data in tasks.items():
        ms = data.get("members")
        if isinstance(ms, list) and len(ms) > 1:
            members_of.setdefault(sid, [m for m in ms if isinstance(m, dict) and m.get("sentence_id")])
    if not members_of or not len(gold):
        return gold
    have = {(str(s), str(f), "" if pd.isna(t) else str(t)) for s, f, t in zip(gold["sentence_id"], gold["field"],
                                                                              gold["target"], strict=True)}  # fmt: skip
    copies = []
    for row in gold.to_dict(orient="records"):
        rep = str(row["sentence_id"])
        target = "" if row["target"] is None or pd.isna(row["target"]) else str(row["target"])
        for m in members_of.get(rep, []):
            sid = str(m["sentence_id"])
            if sid == rep or (sid, str(row["field"]), target) in have:
                continue
            copy = {**row, "sentence_id": sid, "item": f"{sid}@{target}" if target else sid}
            copy.update({"method": CLUSTER_METHOD, "from_cluster": rep})
            for k in ("doc_id", "text", "title"):
                if k in gold.columns:
                    copy[k] = m.get(k) or None
            if "speaker" in gold.columns:
                copy["speaker"] = None
            if "url" in gold.columns:
                copy["url"] = None
            copies.append(copy)
    out = gold.copy()
    out["from_cluster"] = None
    if copies:
        out = pd.concat([out, pd.DataFrame(copies, columns=out.columns)], ignore_index=True)
    return out


def group_for_push(
    records: list[dict[str, Any]], schema: Any, threshold: float | None = None
) -> tuple[list[dict[str, Any]], Any, dict[str, dict[str, Any]]]:
    """What ``push --group-duplicates`` pushes: (the representatives, the schema with the members
    view, ``sentence_id -> task data to add``); see :func:`add_cluster_data`."""
    clusters = group_duplicates(records, DEFAULT_THRESHOLD if threshold is None else threshold)
    return representatives(clusters), with_members_view(schema), cluster_task_data(clusters)


def add_cluster_data(tasks: Iterable[dict[str, Any]], data: Mapping[str, dict[str, Any]]) -> None:
    """Give every task (in place) its cluster's ``cluster_id``, ``members`` and ``members_html``."""
    for task in tasks:
        task.update(data.get(task["sentence_id"], {}))
