"""The labelling schema: a Label Studio XML config, the single source of truth for labels.

Every later stage (push, pull, agreement, training, prediction) asks a :class:`Schema` for
field names, choices and types instead of keeping constants of its own. The config is parsed
and validated by the SDK's ``LabelInterface``; the few things it does not expose (a control's
``visibleWhen`` condition, a Choice's ``alias`` and ``hotkey``) are read from the same XML.

Targets for stance questions live next to the config, in ``NAME.targets.toml``::

    field = "stance"            # the field whose answer depends on the target
    [[targets]]
    id = "foreign-intervention-venezuela"
    name = "Foreign intervention in Venezuela"
    description = "..."
    keywords = ["venezuela", "intervention"]

``Schema.hash`` is a content hash of the config (and targets), recorded by push, pull and
training so that data and models can be checked against the schema they were made with.
"""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotate.errors import SchemaError
from annotate.io import read_text, sha256_hex
from annotate.resources import data_path

__all__ = ["Choice", "Field", "Target", "Condition", "Schema", "default_schema_path", "CATEGORICAL_TYPES"]

CATEGORICAL_TYPES = ("choices", "rating", "taxonomy")
SPAN_TYPES = ("labels",)
TEXT_TYPES = ("textarea",)
_CONTROL_TYPES = {
    "Choices": "choices",
    "Labels": "labels",
    "TextArea": "textarea",
    "Rating": "rating",
    "Taxonomy": "taxonomy",
}


def default_schema_path() -> Path:
    """The default schema the package ships (``annotate/data/schemas/``; ``schemas/`` in a checkout)."""
    return data_path("schemas", "claims_stance.xml")


@dataclass(frozen=True)
class Choice:
    value: str
    alias: str | None = None
    hotkey: str | None = None
    #: a Taxonomy choice's ancestors, root first, as Label Studio stores them (a result holds the whole path)
    parents: tuple[str, ...] = ()

    @property
    def stored(self) -> str:
        """What Label Studio stores for this choice: the alias if there is one, else the value."""
        return self.alias or self.value


@dataclass(frozen=True)
class Condition:
    """A ``visibleWhen`` rule: the field counts only when ``tag`` has (or lacks) ``choices``."""

    tag: str
    kind: str  # "choice-selected" | "choice-unselected"
    choices: tuple[str, ...]

    def allows(self, answer: list[str] | None) -> bool:
        picked = set(answer or [])
        hit = bool(picked & set(self.choices)) if self.choices else bool(picked)
        return hit if self.kind == "choice-selected" else not hit


@dataclass
class Field:
    """One control of the config: what the annotator answers, and how it is stored."""

    name: str
    type: str  # choices | labels | textarea | rating | taxonomy
    to_name: str
    choices: list[Choice] = field(default_factory=list)
    required: bool = False
    multiple: bool = False
    per_region: bool = False
    condition: Condition | None = None

    @property
    def categorical(self) -> bool:
        return self.type in CATEGORICAL_TYPES

    @property
    def values(self) -> list[str]:
        return [c.value for c in self.choices]

    def to_value(self, stored: str) -> str | None:
        """Map what Label Studio stored (value or alias) back to the choice value, or None."""
        for c in self.choices:
            if stored == c.value or (c.alias is not None and stored == c.alias):
                return c.value
        return None

    def to_stored(self, value: str) -> str:
        """Map a choice value to what Label Studio expects in results (its alias, if any)."""
        for c in self.choices:
            if value == c.value or value == c.alias:
                return c.stored
        raise SchemaError(
            f"'{value}' is not a choice of field '{self.name}'",
            hint=f"use one of: {', '.join(self.values)}",
        )


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()

    def concerns(self, *texts: str) -> bool:
        """Whether a sentence (and its context) mentions this target; no keywords = always."""
        if not self.keywords:
            return True
        blob = " ".join(texts).lower()
        return any(re.search(rf"(?<!\w){re.escape(k.lower())}", blob) for k in self.keywords)


@dataclass
class Schema:
    """A parsed, validated labelling config plus its targets."""

    path: str
    xml: str
    fields: dict[str, Field]
    data_keys: list[str]
    targets: list[Target] = field(default_factory=list)
    target_field: str | None = None
    hash: str = ""
    #: the text of the targets file, kept so a model folder can carry the whole schema
    targets_text: str | None = None

    # --- construction -----------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, targets: str | Path | None = None) -> Schema:
        """Read and validate ``path``; load ``targets`` or the sibling ``NAME.targets.toml``."""
        path = Path(path)
        if not path.exists():
            raise SchemaError("no such schema file", path=path, hint="give the path of a Label Studio XML config")
        xml = read_text(path)
        if not xml.strip():
            raise SchemaError("schema file is empty", path=path, hint="give a Label Studio XML config")
        tpath = Path(targets) if targets else path.with_name(path.stem + ".targets.toml")
        if targets and not tpath.exists():
            raise SchemaError("no such targets file", path=tpath, hint="give a TOML file with [[targets]] entries")
        return cls.from_string(xml, path=str(path), targets_path=tpath if tpath.exists() else None)

    @classmethod
    def from_string(cls, xml: str, *, path: str = "<string>", targets_path: Path | None = None) -> Schema:
        fields, data_keys = _parse(xml, path)
        targets, target_field = _load_targets(targets_path) if targets_path else ([], None)
        if target_field is not None and target_field not in fields:
            raise SchemaError(
                f"targets file names field '{target_field}', which the schema does not have",
                path=targets_path,
                hint=f"set field to one of: {', '.join(fields)}",
            )
        targets_text = targets_path.read_text("utf-8") if targets_path else None
        digest_src = xml + "\n" + (targets_text or "")
        return cls(
            path=path,
            xml=xml,
            fields=fields,
            data_keys=data_keys,
            targets=targets,
            target_field=target_field,
            hash=sha256_hex(digest_src, 12),
            targets_text=targets_text,
        )

    # --- queries ------------------------------------------------------------------------

    def field(self, name: str) -> Field:
        try:
            return self.fields[name]
        except KeyError:
            raise SchemaError(
                f"the schema has no field '{name}'", path=self.path, hint=f"fields are: {', '.join(self.fields)}"
            ) from None

    @property
    def categorical_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if f.categorical and not f.per_region]

    @property
    def span_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if f.type in SPAN_TYPES]

    @property
    def text_name(self) -> str:
        """The object tag that spans and sentence-level choices point at (``toName``)."""
        names = [f.to_name for f in self.fields.values()]
        return max(set(names), key=names.count) if names else "text"

    def target(self, target_id: str) -> Target | None:
        return next((t for t in self.targets if t.id == target_id or t.name == target_id), None)

    def describe(self) -> str:
        """A human-readable summary: one line per field with its type and choices."""
        lines = [
            f"schema {Path(self.path).name} (hash {self.hash}): {len(self.fields)} fields, data keys: "
            + ", ".join(f"${k}" for k in self.data_keys)
        ]
        for f in self.fields.values():
            flags = [
                x for x, on in (("required", f.required), ("multiple", f.multiple), ("per-region", f.per_region)) if on
            ]
            if f.condition:
                flags.append(
                    f"counts when {f.condition.tag} {f.condition.kind.removeprefix('choice-')} "
                    + "/".join(f.condition.choices)
                )
            if f.name == self.target_field:
                flags.append(f"conditioned on target ({len(self.targets)} targets)")
            choices = ""
            if f.choices:
                choices = ": " + ", ".join(
                    c.value + (f" [{c.hotkey}]" if c.hotkey else "") + (f" (stored as {c.alias})" if c.alias else "")
                    for c in f.choices
                )
            lines.append(f"  {f.name} ({f.type} -> {f.to_name}{'; ' + '; '.join(flags) if flags else ''}){choices}")
        for t in self.targets:
            lines.append(f"  target {t.id}: {t.name}")
        return "\n".join(lines)


# --- parsing ----------------------------------------------------------------------------


def _parse(xml: str, path: str) -> tuple[dict[str, Field], list[str]]:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        line, _col = err.position
        raise SchemaError(
            f"not well-formed XML ({str(err).split(':')[0]})", path=path, line=line, hint="fix the XML syntax"
        ) from None
    _validate_with_sdk(xml, path)

    parents = {child: parent for parent in root.iter() for child in parent}
    object_names = {el.get("name") for el in root.iter() if el.get("value", "").startswith("$") and el.get("name")}
    fields: dict[str, Field] = {}
    for el in root.iter():
        ftype = _CONTROL_TYPES.get(el.tag)
        if ftype is None:
            continue
        name, to_name = el.get("name"), el.get("toName")
        if not name or not to_name:
            raise SchemaError(f"<{el.tag}> needs both name and toName", path=path, hint="add the missing attribute")
        if name in fields:
            raise SchemaError(f"two controls are named '{name}'", path=path, hint="give every control its own name")
        if to_name.split(",")[0] not in object_names:
            raise SchemaError(
                f'<{el.tag} name="{name}"> points at toName="{to_name}", which is no object tag',
                path=path,
                hint=f"use one of: {', '.join(sorted(n for n in object_names if n))}",
            )
        choices = [
            Choice(value=c.get("value", ""), alias=c.get("alias"), hotkey=c.get("hotkey"),
                   parents=_ancestors(c, el, parents))
            for c in el.iter()
            if c is not el and c.tag in ("Choice", "Label")
        ]  # fmt: skip
        if ftype == "rating":
            choices = [Choice(value=str(i)) for i in range(1, int(el.get("maxRating", "5")) + 1)]
        fields[name] = Field(
            name=name,
            type=ftype,
            to_name=to_name,
            choices=choices,
            required=el.get("required", "false").lower() == "true",
            multiple=el.get("choice", "single") == "multiple",
            per_region=el.get("perRegion", "false").lower() == "true",
            condition=_condition(el, parents),
        )
    if not fields:
        raise SchemaError(
            "the config has no control tags (Choices, Labels, TextArea...)", path=path, hint="add at least one control"
        )
    for f in fields.values():
        if f.condition and f.condition.tag not in fields:
            raise SchemaError(
                f"field '{f.name}' depends on '{f.condition.tag}', which does not exist",
                path=path,
                hint="fix whenTagName",
            )
    hotkeys: dict[str, str] = {}
    for f in fields.values():
        for c in f.choices:
            if c.hotkey:
                if c.hotkey in hotkeys:
                    raise SchemaError(
                        f"hotkey '{c.hotkey}' is used by both {hotkeys[c.hotkey]} and {f.name}:{c.value}",
                        path=path,
                        hint="give every Choice and Label its own hotkey",
                    )
                hotkeys[c.hotkey] = f"{f.name}:{c.value}"
    data_keys = sorted(set(re.findall(r"\$([A-Za-z_][\w]*)", xml)))
    return fields, data_keys


def _ancestors(choice: ET.Element, control: ET.Element, parents: dict[ET.Element, ET.Element]) -> tuple[str, ...]:
    """The stored names of the Choices a (Taxonomy) choice is nested in, root first."""
    out: list[str] = []
    node = parents.get(choice)
    while node is not None and node is not control:
        if node.tag == "Choice":
            out.append(node.get("alias") or node.get("value", ""))
        node = parents.get(node)
    return tuple(reversed(out))


def _condition(el: ET.Element, parents: dict[ET.Element, ET.Element]) -> Condition | None:
    """The nearest choice-based visibleWhen on the control itself or an enclosing View."""
    node: ET.Element | None = el
    while node is not None:
        kind = node.get("visibleWhen")
        if kind in ("choice-selected", "choice-unselected") and node.get("whenTagName"):
            values = tuple(v.strip() for v in (node.get("whenChoiceValue") or "").split(",") if v.strip())
            return Condition(tag=node.get("whenTagName", ""), kind=kind, choices=values)
        node = parents.get(node)
    return None


def _validate_with_sdk(xml: str, path: str) -> None:
    """Let the SDK's LabelInterface parse the config, as Label Studio itself would."""
    from label_studio_sdk.label_interface import LabelInterface

    try:
        LabelInterface(xml).validate()
    except Exception as err:  # the SDK raises a variety of types for a bad config
        msg = " ".join(str(err).split()) or type(err).__name__
        raise SchemaError(
            f"Label Studio rejects the config: {msg[:300]}",
            path=path,
            hint="fix the config (see Label Studio's tag docs)",
        ) from None


def _load_targets(path: Path) -> tuple[list[Target], str | None]:
    try:
        data: dict[str, Any] = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"line (\d+)", str(err))
        raise SchemaError(
            f"not valid TOML ({err})", path=path, line=int(m.group(1)) if m else None, hint="fix the TOML syntax"
        ) from None
    targets = []
    for i, t in enumerate(data.get("targets", []), start=1):
        if not isinstance(t, dict) or not t.get("id") or not t.get("name"):
            raise SchemaError(f"target #{i} needs an 'id' and a 'name'", path=path, hint="add the missing keys")
        targets.append(
            Target(
                id=str(t["id"]),
                name=str(t["name"]),
                description=str(t.get("description", "")),
                keywords=tuple(str(k) for k in t.get("keywords", [])),
            )
        )
    ids = [t.id for t in targets]
    if len(set(ids)) != len(ids):
        raise SchemaError("two targets share an id", path=path, hint="give every target its own id")
    if targets and not data.get("field"):
        # without it no field is conditioned on a target: every task would be pushed without one
        raise SchemaError(
            "targets file has targets but no 'field' line",
            path=path,
            line=1,
            hint='add field = "stance" (the schema field whose answer depends on the target) at the top',
        )
    return targets, data.get("field")
