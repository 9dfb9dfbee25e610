"""Models on disk: skops files, a model card, and refusal of anything untrusted or foreign.

A model folder ``models/NAME/`` holds::

    card.json           name, model_version, created, schema hash, label sets, data hash,
                        library versions, parameters, and the sha256 of every .skops file
    <field>.skops       one fitted Pipeline per schema field (claim_type.skops, stance.skops)
    report.json         cross-validation report (see annotate.models.train and annotate.models.report)
    report.html         the same, self-contained, for a browser

Never pickle: skops refuses to build any type that is not explicitly trusted, and
:data:`TRUSTED_TYPES` lists the few types our pipelines need beyond skops' defaults.
:func:`load` checks, in order, that the card exists and parses, that it was made for the given
schema, that every file still has the hash the card recorded (a changed file was tampered with
or damaged), and that the file holds only trusted types. Each failure is a one-line
:class:`~annotate.errors.ModelError`.

:class:`TrainResult` (what :func:`annotate.models.train.train` returns) is what :func:`save`
writes, and :class:`LoadedModel` what :func:`load` reads back. This module never imports
``train``, and imports scikit-learn only to write or load a model: reading a card stays cheap.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annotate.errors import InputError, ModelError
from annotate.io import atomic_write, dumps, sha256_hex, sweep_stale_temps, temp_prefix
from annotate.schema import Schema

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

__all__ = [
    "TRUSTED_TYPES",
    "FieldModel",
    "TrainResult",
    "LoadedModel",
    "save",
    "load",
    "model_version",
    "model_schema",
]

#: Types beyond skops' default trust that our Pipelines contain. Anything else is refused.
TRUSTED_TYPES: tuple[str, ...] = (
    "annotate.models.document.DocumentPairFeatures",
    "annotate.models.document.HeadlineFeatures",
    "annotate.models.document.PerTargetNgrams",
    "annotate.models.pipelines.FrameColumns",
    "annotate.models.features.ClaimFeatures",
    "annotate.models.features.OptionalWordTfidf",
    "annotate.models.features.PairFeatures",
    "annotate.models.features.TargetWordTfidf",
    "annotate.models.features.WordTfidf",
    "builtins.getattr",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.StratifiedKFold",
    # TunedThresholdClassifierCV (the checkworthy preset's F1 threshold) keeps its scorer
    "sklearn.metrics._classification.f1_score",
    "sklearn.metrics._scorer._CurveScorer",
    "sklearn.metrics._scorer._Scorer",
    "sklearn.utils._metadata_requests.MetadataRequest",
    "sklearn.utils._metadata_requests.MethodMetadataRequest",
    "sklearn.utils._bunch.Bunch",  # VotingClassifier.named_estimators_ (a dict)
    "sklearn.svm._classes.LinearSVC",
)


@dataclass
class FieldModel:
    """A fitted pipeline for one field, with what is needed to rebuild and judge it."""

    field: str
    kind: str  # "claim" | "stance"
    estimator: Pipeline
    labels: list[str]
    params: dict[str, Any]
    report: dict[str, Any]


@dataclass
class TrainResult:
    """What :func:`annotate.models.train.train` returns and :func:`save` writes: models, report, card data."""

    name: str
    schema_hash: str
    schema_path: str
    models: dict[str, FieldModel]
    data: dict[str, Any]
    created: str
    libraries: dict[str, str] = field(default_factory=dict)
    #: the schema's config and targets file, written into the model folder so it travels with it
    schema_xml: str = ""
    schema_targets: str | None = None
    #: the label table the models learned from, kept in the folder (``training_labels.jsonl``)
    labels: pd.DataFrame | None = None

    @property
    def report(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created": self.created,
            "schema": {"path": self.schema_path, "hash": self.schema_hash},
            "data": self.data,
            "libraries": self.libraries,
            "fields": {name: m.report for name, m in self.models.items()},
        }


@dataclass
class LoadedModel:
    """A model folder read back: the card and one fitted Pipeline per field."""

    path: Path
    card: dict[str, Any]
    estimators: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.card["name"])

    @property
    def model_version(self) -> str:
        return str(self.card["model_version"])

    @property
    def schema_hash(self) -> str:
        return str(self.card["schema"]["hash"])

    def kind(self, field: str) -> str:
        return str(self.card["fields"][field]["kind"])


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


#: The schema files a model folder carries (a copy of the config and targets it was trained for).
SCHEMA_FILE = "schema.xml"
TARGETS_FILE = "schema.targets.toml"
#: The labels the model learned from (JSONL that `load_labels` reads), listed with its hash in the card.
TRAINING_LABELS_FILE = "training_labels.jsonl"


def model_schema(path: str | Path) -> Schema | None:
    """The schema a model folder carries (its config and targets), or None for an older folder.

    ``predict``, ``suggest``, ``serve`` and ``report`` use it unless ``--schema`` says otherwise,
    so a desk's own targets are never replaced by the sample's.
    """
    config = Path(path) / SCHEMA_FILE
    if not config.is_file():
        return None
    return Schema.from_file(config)


def model_version(name: str, file_hashes: list[str], schema_hash: str, card: dict[str, Any] | None = None) -> str:
    """``NAME-<8 hex>``: the name plus a hash of the model files, the schema and the card.

    The card's content (labels, kinds, parameters...) changes what ``predict`` writes, so it is
    part of the version: an edited ``card.json`` no longer matches its ``model_version`` and
    :func:`load` refuses it.
    """
    body = "" if card is None else json.dumps(_card_body(card), sort_keys=True, ensure_ascii=False)
    return f"{name}-{sha256_hex(''.join(file_hashes) + schema_hash + body, 8)}"


def _card_body(card: dict[str, Any]) -> dict[str, Any]:
    # the training date is left out: the same labels give the same model and the same version
    return {k: v for k, v in card.items() if k not in ("model_version", "created")}


def save(result: TrainResult, path: str | Path) -> dict[str, Any]:
    """Write a :class:`TrainResult` into the folder ``path``; return the card.

    The whole folder is built beside ``path`` and swapped in at the end (:func:`_swap_in`), so a
    train killed half-way, or failing to write, leaves the old model as it was: never a new
    ``.skops`` file beside the old card.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(errno.EEXIST, "a file stands where the model folder goes", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(path.parent)  # folders a killed train left half-built
    build = Path(tempfile.mkdtemp(prefix=temp_prefix(path.name), suffix=".building", dir=path.parent))
    try:
        card = _write_folder(result, build)
        _swap_in(build, path)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return card


def _swap_in(build: Path, path: Path) -> None:
    """Put the finished folder ``build`` at ``path``, replacing an older model there.

    On Linux the two folders are exchanged in one ``renameat2(RENAME_EXCHANGE)`` call, so
    ``path`` is the old model or the new one at every instant; elsewhere the old folder is first
    renamed aside (a kill between the two renames leaves it there, named ``.NAME.*.old``).
    """
    os.chmod(build, 0o755)  # mkdtemp makes it 0700; a model folder reads like any other
    if not path.exists():
        os.rename(build, path)
        return
    if _exchange(build, path):
        shutil.rmtree(build, ignore_errors=True)  # it now holds the old model
        return
    old = Path(tempfile.mkdtemp(prefix=temp_prefix(path.name), suffix=".old", dir=path.parent))
    os.rmdir(old)
    os.rename(path, old)
    os.rename(build, path)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux's renameat2; False where that is not available."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return done == 0


def _write_folder(result: TrainResult, path: Path) -> dict[str, Any]:
    """Write the model files, the report and the card into the empty folder ``path``."""
    # Imported here, as in load(): skops, the report page (through the presets) and the label table
    # bring scikit-learn and pandas, which read_card and model_schema callers never need.
    import skops.io as sio

    from annotate.labels import label_records
    from annotate.models.report import report_html

    fields: dict[str, Any] = {}
    hashes = []
    for fname, m in result.models.items():
        target = path / f"{fname}.skops"
        with atomic_write(target, "wb") as fh:
            fh.write(sio.dumps(m.estimator))
        digest = _sha256(target)
        hashes.append(digest)
        fields[fname] = {
            "file": target.name,
            "sha256": digest,
            "kind": m.kind,
            "labels": m.labels,
            "params": m.params,
            "n": m.report["n"],
            "macro_f1": m.report["metrics"]["macro_f1"],
            "preset": m.report.get("preset", "default"),
            # per label, the score from which its CV predictions were right 90% of the time (--min-score auto)
            "min_score": m.report.get("prefill", {}).get("min_score"),
        }
    schema_files = {}
    if result.schema_xml:
        # the schema travels with the model: predict, suggest and serve read it from here
        with atomic_write(path / SCHEMA_FILE) as fh:
            fh.write(result.schema_xml)
        schema_files["config"] = SCHEMA_FILE
        if result.schema_targets is not None:
            with atomic_write(path / TARGETS_FILE) as fh:
                fh.write(result.schema_targets)
            schema_files["targets"] = TARGETS_FILE
    kept = {}
    if result.labels is not None:
        # the labels travel with the model: a live model retrains on them plus the new annotations
        with atomic_write(path / TRAINING_LABELS_FILE) as fh:
            for rec in label_records(result.labels):
                fh.write(dumps(rec) + "\n")
        kept = {"training_labels": {"file": TRAINING_LABELS_FILE, "sha256": _sha256(path / TRAINING_LABELS_FILE)}}
    card = {
        "name": result.name,
        "model_version": "",
        "created": result.created,
        "schema": {"path": result.schema_path, "hash": result.schema_hash, **schema_files},
        "training_data": {**result.data, **kept},
        "fields": fields,
        "libraries": result.libraries,
        "format": "skops",
    }
    card["model_version"] = model_version(result.name, hashes, result.schema_hash, card)
    report = result.report
    with atomic_write(path / "report.json") as fh:
        fh.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    with atomic_write(path / "report.html") as fh:
        fh.write(report_html(report, card))
    with atomic_write(path / "card.json") as fh:
        fh.write(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return card


def read_card(path: str | Path) -> dict[str, Any]:
    """The model card of the folder ``path``, checked for the keys every reader needs.

    The one reader of ``card.json``: ``load``, ``serve`` (versions, schema) and ``bootstrap``
    call it. A missing folder or card is the user's input (exit 2); an unreadable card is a
    model failure (exit 1). Integrity (the card against its ``model_version``) is :func:`load`'s.
    """
    path = Path(path)
    card_path = path / "card.json"
    if not card_path.is_file():
        what = "no such model folder" if not path.exists() else "not a model folder (no card.json)"
        raise InputError(f"{path}: {what}", hint="give a folder written by `annotate train -o`")
    try:
        card = json.loads(card_path.read_text("utf-8"))
        if not isinstance(card["fields"], dict) or not isinstance(card["schema"]["hash"], str):
            raise TypeError("fields or schema hash of the wrong type")
    except (ValueError, KeyError, TypeError) as err:
        raise ModelError(f"{card_path}: not a valid model card ({err})", hint="retrain the model") from None
    return card


def load(path: str | Path, schema: Schema | None = None, *, trusted: tuple[str, ...] = TRUSTED_TYPES) -> LoadedModel:
    """Read a model folder written by :func:`save`, refusing what cannot be trusted.

    ``schema``: when given, the model must have been trained for it (same hash).
    """
    import skops.io as sio

    path = Path(path)
    card_path = path / "card.json"
    card = read_card(path)
    fields, card_schema = card["fields"], card["schema"]["hash"]
    if schema is not None and card_schema != schema.hash:
        # the user picked a model and a schema that do not belong together: input, exit 2
        raise InputError(
            f"{path}: model was trained for schema {card['schema'].get('path', '?')} (hash {card_schema}), "
            f"not {schema.path} (hash {schema.hash})",
            hint="use the schema it was trained with, or retrain with this one",
        )
    try:
        expected = model_version(card["name"], [m["sha256"] for m in fields.values()], card_schema, card)
    except (KeyError, TypeError) as err:
        raise ModelError(f"{card_path}: not a valid model card ({err})", hint="retrain the model") from None
    if card.get("model_version") != expected:
        raise ModelError(
            f"{card_path}: the model card was changed after training (it no longer matches its model_version "
            f"{card.get('model_version')})",
            hint="retrain the model or restore card.json",
        )
    estimators = {}
    for fname, meta in fields.items():
        fpath = path / meta["file"]
        if not fpath.exists():
            raise ModelError(f"{fpath}: model file is missing", hint="retrain the model")
        if _sha256(fpath) != meta["sha256"]:
            raise ModelError(
                f"{fpath}: file differs from the one the model card recorded (sha256 mismatch); "
                "it was changed or damaged after training",
                hint="retrain the model or restore the file",
            )
        try:
            untrusted = sio.get_untrusted_types(file=fpath)
        except Exception as err:  # a damaged zip or schema raises a variety of types
            raise ModelError(f"{fpath}: not a readable skops file ({type(err).__name__})", hint="retrain") from None
        refused = sorted(set(untrusted) - set(trusted))
        if refused:
            raise ModelError(
                f"{fpath}: refusing to load untrusted types: {', '.join(refused)}",
                hint="only load models trained by annotate; retrain it",
            )
        estimators[fname] = sio.load(fpath, trusted=list(untrusted))
    return LoadedModel(path=path, card=card, estimators=estimators)
