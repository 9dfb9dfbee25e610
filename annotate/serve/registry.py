"""The model versions of a served folder: which exist, which serves, and the swap to a new one.

A folder of versions holds one model folder per version (each written by
:func:`annotate.models.store.save`) and ``current.json``, the pointer to the one that serves.
Without a pointer the newest version (by its card's ``created``) serves; with no version at all
the backend starts cold (:data:`NO_MODEL`). Cards are read only by
:func:`annotate.models.store.read_card`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.errors import AnnotateError, InputError, ModelError
from annotate.io import atomic_write, utc_now
from annotate.schema import Schema, default_schema_path

__all__ = ["NO_MODEL", "CURRENT_NAME", "ModelSlot", "ModelRegistry", "schema_of_card"]

log = logging.getLogger("annotate.serve")

#: ``model_version`` reported while no model has been trained yet (cold start).
NO_MODEL = "none"
CURRENT_NAME = "current.json"


@dataclass(frozen=True)
class ModelSlot:
    """What serves right now. Immutable: a swap replaces the whole slot, never edits it."""

    model: Any  # annotate.models.store.LoadedModel | None
    version: str
    folder: Path | None
    since: str


def schema_of_card(folder: Path) -> Schema:
    """The schema the model in ``folder`` was trained for: its own copy, the card's path, or the
    default schema, whichever has the card's hash."""
    from annotate.models.store import SCHEMA_FILE, read_card

    card = read_card(folder)
    want = card.get("schema", {}).get("hash")
    carried = folder / SCHEMA_FILE  # the copy the model folder carries comes first
    for cand in (carried, card.get("schema", {}).get("path"), default_schema_path()):
        if cand and Path(cand).is_file():
            s = Schema.from_file(cand)
            if s.hash == want:
                return s
    raise InputError(
        f"{folder}: cannot find the schema the model was trained for "
        f"({card.get('schema', {}).get('path', '?')}, hash {want})",
        hint="pass the schema with --schema",
    )


class ModelRegistry:
    """The versions in ``models_dir`` (created if missing) and the slot that serves.

    :meth:`open` loads the current version once at startup; :meth:`swap_in` makes a new version
    folder the one that serves, :meth:`write_pointer` records it in ``current.json``.
    """

    def __init__(self, models_dir: str | Path) -> None:
        self.models_dir = Path(models_dir)
        if (self.models_dir / "card.json").exists():
            raise InputError(
                f"{self.models_dir} is a model folder, not a folder of model versions",
                hint=f"serve its parent: --models {self.models_dir.parent}",
            )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self._slot = ModelSlot(None, NO_MODEL, None, utc_now())

    @property
    def slot(self) -> ModelSlot:
        """The serving model; read it once per request and use that object throughout."""
        return self._slot

    def open(self, schema: Schema | None) -> Schema:
        """Load the current version (or start cold); the schema to serve with.

        ``schema`` None: the one the current version's card names, else the default schema.
        """
        from annotate.models.store import load

        folder = self.current_folder()
        if folder is None:
            schema = schema or Schema.from_file(default_schema_path())
            log.info("no model in %s yet: cold start (model_version %r)", self.models_dir, NO_MODEL)
            self._slot = ModelSlot(None, NO_MODEL, None, utc_now())
            return schema
        if schema is None:
            schema = schema_of_card(folder)
        model = load(folder, schema)
        log.info("serving %s from %s", model.model_version, folder)
        self._slot = ModelSlot(model, model.model_version, folder, utc_now())
        return schema

    def folders(self) -> list[Path]:
        """Version folders (those with a card), oldest first by the card's ``created``."""
        from annotate.models.store import read_card

        out = []
        for p in self.models_dir.iterdir():
            if p.is_dir() and not p.name.startswith(".") and (p / "card.json").is_file():
                try:
                    created = read_card(p).get("created", "")
                except AnnotateError:  # a broken version is not listed, and never served
                    continue
                out.append((str(created), p.name, p))
        return [p for _c, _n, p in sorted(out)]

    def current_folder(self) -> Path | None:
        """The version ``current.json`` names, else the newest; None when there is none."""
        pointer = self.models_dir / CURRENT_NAME
        if pointer.is_file():
            try:
                folder = self.models_dir / json.loads(pointer.read_text("utf-8"))["folder"]
            except (ValueError, KeyError, TypeError):
                raise ModelError(f"{pointer}: not a valid pointer file", hint="delete it to serve the newest") from None
            if not (folder / "card.json").is_file():
                raise ModelError(f"{pointer} names {folder}, which is no model folder", hint="delete the pointer")
            return folder
        folders = self.folders()
        return folders[-1] if folders else None

    def versions(self) -> dict[str, Any]:
        """``{"versions": [model_version...], "current", "models": [{folder, created, ...}]}``, oldest first."""
        from annotate.models.store import read_card

        models = []
        for p in self.folders():
            card = read_card(p)
            models.append(
                {
                    "model_version": card.get("model_version"),
                    "folder": p.name,
                    "created": card.get("created"),
                    "fields": sorted(card.get("fields", {})),
                    "labels": card.get("training_data", {}).get("rows"),
                }
            )
        return {"versions": [m["model_version"] for m in models], "current": self._slot.version, "models": models}

    def next_folder(self, name: str) -> Path:
        """Where the next version of model ``name`` goes: ``NAME-v001``, then ``-v002``..."""
        base = re.sub(r"-v\d+$", "", name)
        n = 1
        for p in self.models_dir.iterdir():
            m = re.fullmatch(re.escape(base) + r"-v(\d+)", p.name)
            if m:
                n = max(n, int(m.group(1)) + 1)
        return self.models_dir / f"{base}-v{n:03d}"

    def swap_in(self, folder: Path, schema: Schema) -> ModelSlot:
        """Load the version in ``folder`` (with every check of :func:`~annotate.models.store.load`)
        and make it serve; requests in flight finish with the slot they read. A restart serves it
        once :meth:`write_pointer` has run."""
        from annotate.models.store import load

        model = load(folder, schema)
        new = ModelSlot(model, model.model_version, folder, utc_now())
        # one reference assignment (only the retrain worker swaps): a request sees the old slot or the new
        self._slot = new
        return new

    def write_pointer(self, slot: ModelSlot) -> None:
        """Name ``slot``'s version in ``current.json`` (atomically): the one the next start serves."""
        if slot.folder is None:
            return
        pointer = {"folder": slot.folder.name, "model_version": slot.version, "since": slot.since}
        with atomic_write(self.models_dir / CURRENT_NAME) as fh:
            fh.write(json.dumps(pointer) + "\n")
