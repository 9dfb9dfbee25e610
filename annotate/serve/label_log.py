"""The label log: every label event ``/webhook`` received, one JSON object a line, append-only.

``annotations.log.jsonl`` in the models folder. Events are those of
:func:`annotate.serve.protocol.webhook_events` (an annotation created or updated, with its
flattened rows; annotations deleted), ``START_TRAINING`` requests and a ``RETRAINED`` marker per
new version. Nothing is rewritten: the current view is rebuilt by reading the log from the top.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from annotate.io import dumps, read_jsonl
from annotate.serve.protocol import LABEL_ACTIONS

__all__ = ["LOG_NAME", "LabelLog"]

LOG_NAME = "annotations.log.jsonl"


class LabelLog:
    """The append-only log at ``path`` (created by the first event)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # one writer at a time: lines never interleave

    def append(self, events: list[dict[str, Any]]) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            for ev in events:
                fh.write(dumps(ev) + "\n")

    def events(self) -> Iterator[dict[str, Any]]:
        """Every event, oldest first (none while the log does not exist)."""
        if self.path.is_file():
            for _lineno, ev in read_jsonl(self.path, allow_empty=True):
                yield ev

    def count_unlearned(self) -> int:
        """Annotation events after the last ``RETRAINED`` (so a restart keeps counting)."""
        n = 0
        for ev in self.events():
            if ev.get("action") == "RETRAINED":
                n = 0
            elif ev.get("action") in LABEL_ACTIONS:
                n += 1
        return n

    def projects(self) -> set[int]:
        """The ids of the projects the log has heard from."""
        return {ev["project"] for ev in self.events() if isinstance(ev.get("project"), int)}

    def current(self, exclude: Collection[int] = ()) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The flat annotation rows of the latest version of each annotation, deletions applied,
        and the task data of each item, by ``"<sentence_id>@<target_id>"`` and ``"<sentence_id>@"``.

        Events of the projects in ``exclude`` are left out.
        """
        current: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        data: dict[str, dict[str, Any]] = {}
        for ev in self.events():
            if ev.get("project") in exclude:
                continue
            if ev.get("action") == "ANNOTATIONS_DELETED":
                for aid in ev.get("annotation_ids", []):
                    current.pop((ev.get("project"), aid), None)
            elif ev.get("action") in LABEL_ACTIONS:
                current[(ev.get("project"), ev.get("annotation_id"))] = ev.get("rows", [])
                d = ev.get("data", {})
                data[f"{d.get('sentence_id')}@{d.get('target_id') or ''}"] = d
                data.setdefault(f"{d.get('sentence_id')}@", d)
        return [r for rs in current.values() for r in rs], data
