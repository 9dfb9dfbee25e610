"""Documents in: plain text, JSONL and HTML files, read one document at a time.

A :class:`Document` is the unit the rest of the loop cites: every sentence points back to
``doc_id`` and to character offsets in ``Document.text``.

Formats
-------
``.txt`` (also ``.text``, ``.md``)
    UTF-8 text. Optional metadata, either as front matter at the top of the file::

        ---
        id: my-article
        title: A title
        date: 2025-12-17
        ---
        First paragraph...

    or in a sidecar ``NAME.txt.meta.json`` (or ``NAME.meta.json``) holding a JSON object with the same keys.
    The document text is the file's content after the front matter.
``.jsonl``
    One document per line: ``text`` (required), ``id``, ``title``, ``url``, ``date``,
    ``language``, ``source`` (optional). Other keys are kept in ``Document.meta``.
``.html`` / ``.htm``
    The main text is extracted with trafilatura (built for news pages), with its
    title, date and url metadata.

Stable ``doc_id``
    Given (``id`` in front matter, sidecar or JSONL) or derived: from the file name for
    text and HTML files, from ``url`` or else the text's hash for JSONL lines without an id.
    A derived id never depends on a file's *content* unless there is nothing else, so
    editing one paragraph of an article keeps its ``doc_id``.

Line endings are normalised to ``\\n`` and a byte-order mark is dropped, so offsets are the
same on every platform.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from annotate.errors import InputError
from annotate.io import read_jsonl, read_text, sha256_hex

__all__ = ["Document", "read_documents", "iter_files", "TEXT_SUFFIXES", "JSONL_SUFFIXES", "HTML_SUFFIXES"]

TEXT_SUFFIXES = (".txt", ".text", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
HTML_SUFFIXES = (".html", ".htm")
SIDECAR_SUFFIX = ".meta.json"
METADATA_KEYS = ("title", "url", "date", "language", "source")


@dataclass
class Document:
    """One article or transcript: its id, full text and metadata."""

    doc_id: str
    text: str
    title: str | None = None
    url: str | None = None
    date: str | None = None
    language: str | None = None
    source: str | None = None
    path: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slugify(name: str) -> str:
    slug = re.sub(r"[^\w.-]+", "-", name.strip(), flags=re.UNICODE).strip("-.").lower()
    return slug or "doc"


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand files and folders into document files, in a stable (sorted) order.

    A missing path raises :class:`InputError`. A file given explicitly must have a known
    suffix; inside folders, files of other types (READMEs, licences, sidecars) are passed over.
    """
    known = TEXT_SUFFIXES + JSONL_SUFFIXES + HTML_SUFFIXES
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError("no such file or folder", path=path, hint="check the path")
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                if child.name.endswith(SIDECAR_SUFFIX) or child.name.lower().startswith(("readme", "licen")):
                    continue
                if child.suffix.lower() in known:
                    yield child
            continue
        if path.suffix.lower() not in known:
            raise InputError(
                f"unknown file type '{path.suffix or '(none)'}'",
                path=path,
                hint="give .txt, .jsonl or .html files (or a folder of them)",
            )
        yield path


def unmatched_sidecars(paths: Iterable[str | Path]) -> list[Path]:
    """Sidecars (``*.meta.json``) in the folders of ``paths`` that belong to no document there.

    Such metadata would be dropped without a word (a sidecar named after a renamed article, or a
    typo), so :func:`annotate.segment.ingest` names them.
    """
    out = []
    for raw in paths:
        folder = Path(raw)
        if not folder.is_dir():
            continue
        docs = set(iter_files([folder]))
        for sidecar in sorted(folder.rglob(f"*{SIDECAR_SUFFIX}")):
            if any(part.startswith(".") for part in sidecar.relative_to(folder).parts):
                continue
            base = sidecar.name[: -len(SIDECAR_SUFFIX)]
            owners = [d for d in docs if d.parent == sidecar.parent and base in (d.name, d.stem)]
            if not owners:
                out.append(sidecar)
    return out


def read_documents(paths: Iterable[str | Path] | str | Path) -> Iterator[Document]:
    """Yield the documents in ``paths`` (files or folders), one at a time.

    >>> docs = list(read_documents("corpora/sample"))        # doctest: +SKIP
    >>> docs[0].doc_id                                        # doctest: +SKIP
    'mexico-news-daily-2025-12-17-mananera'

    Raises :class:`InputError` for a missing path, an empty file, invalid UTF-8, a malformed
    JSONL line, a record without ``text``, an unknown file type, or two documents with one id.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    seen: dict[str, str] = {}
    for path in iter_files(paths):
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            docs: Iterable[tuple[Document, str]] = _read_jsonl_docs(path)
        elif suffix in HTML_SUFFIXES:
            docs = [(_read_html(path), str(path))]
        else:
            docs = [(_read_txt(path), str(path))]
        for doc, where in docs:
            if doc.doc_id in seen:
                raise InputError(
                    f"duplicate document id '{doc.doc_id}' (first seen in {seen[doc.doc_id]})",
                    path=where,
                    hint="give each document a distinct 'id'",
                )
            seen[doc.doc_id] = where
            yield doc
    if not seen:
        # an empty folder (or one of hidden files only) is a mistake, not an empty corpus
        shown = ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise InputError(
            f"no documents in {shown}",
            hint="give .txt, .md, .html or .jsonl files, or the folder that holds them",
        )


def _front_matter(text: str, path: Path) -> tuple[dict[str, str], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        raise InputError(
            "front matter opened with '---' is never closed",
            path=path,
            line=1,
            hint="end the metadata block with a line holding only '---'",
        )
    meta: dict[str, str] = {}
    for lineno, line in enumerate(text[4:end].split("\n"), start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise InputError(
                "front matter line is not 'key: value'",
                path=path,
                line=lineno,
                hint="write one 'key: value' per line between the '---' lines",
            )
        meta[key.strip().lower()] = value.strip().strip('"').strip("'")
    return meta, text[end + len("\n---\n") :]


def _sidecar(path: Path) -> dict[str, Any]:
    # both spellings a desk uses: article.txt.meta.json and article.meta.json (the README's)
    named = [path.with_name(path.name + SIDECAR_SUFFIX), path.with_name(path.stem + SIDECAR_SUFFIX)]
    found = [p for p in dict.fromkeys(named) if p.exists()]
    if len(found) > 1:
        raise InputError(
            f"two sidecars for one document ({found[0].name} and {found[1].name})",
            path=path,
            hint="keep one of them",
        )
    if not found:
        return {}
    sidecar = found[0]
    try:
        meta = json.loads(read_text(sidecar))
    except json.JSONDecodeError as err:
        raise InputError(
            f"not valid JSON ({err.msg})", path=sidecar, line=err.lineno, hint="the sidecar must be one JSON object"
        ) from None
    if not isinstance(meta, dict):
        raise InputError("expected a JSON object", path=sidecar, hint="the sidecar must be one JSON object")
    return meta


def _make_document(path: Path, text: str, meta: dict[str, Any], default_id: str, where: str) -> Document:
    if not text.strip():
        raise InputError("document has no text", path=where, hint="remove the file or give it some text")
    doc_id = meta.get("id") or meta.get("doc_id") or default_id
    known = {k: (str(meta[k]) if meta.get(k) is not None else None) for k in METADATA_KEYS}
    extra = {k: v for k, v in meta.items() if k not in (*METADATA_KEYS, "id", "doc_id", "text")}
    return Document(doc_id=str(doc_id), text=text, path=str(path), meta=extra, **known)


def _read_txt(path: Path) -> Document:
    if path.stat().st_size == 0:
        raise InputError("file is empty", path=path, hint="remove it or give it some text")
    text = _normalise(read_text(path))
    meta, body = _front_matter(text, path)
    meta = {**_sidecar(path), **meta}
    return _make_document(path, body, meta, slugify(path.stem), str(path))


def _read_jsonl_docs(path: Path) -> Iterator[tuple[Document, str]]:
    for lineno, record in read_jsonl(path):
        where = f"{path}:{lineno}"
        text = record.get("text")
        if not isinstance(text, str):
            raise InputError(
                "record has no 'text'" if text is None else "'text' is not a string",
                path=path,
                line=lineno,
                hint='each line needs a "text" string (and optionally id, title, url, date, language, source)',
            )
        default_id = "doc-" + sha256_hex(record["url"] if record.get("url") else text, 12)
        yield _make_document(path, _normalise(text), record, default_id, where), where


def _read_html(path: Path) -> Document:
    # trafilatura is built for extracting an article's main text from news pages; a
    # hand-written tag stripper would keep menus, captions and cookie banners.
    import trafilatura

    if path.stat().st_size == 0:
        raise InputError("file is empty", path=path, hint="remove it or give it some HTML")
    html = read_text(path)
    extracted = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, favor_precision=True)
    if extracted is None:
        raise InputError("no main text found in the HTML", path=path, hint="check that the page holds an article")
    data = extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted)
    text = _normalise(data.get("text") or "")
    meta = {k: data.get(k) for k in ("title", "url", "date") if data.get(k)}
    meta["source"] = data.get("sitename") or data.get("hostname")
    if data.get("language"):
        meta["language"] = data["language"]
    meta = {**meta, **_sidecar(path)}
    return _make_document(path, text, meta, slugify(path.stem), str(path))
