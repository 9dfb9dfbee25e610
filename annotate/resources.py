"""The files the package ships in ``annotate/data/`` and reads at run time, found wherever it is installed.

::

    annotate/data/
      schemas/           claims_stance.xml (+ .targets.toml), the default; bench_*.xml, the benchmarks'
      guidelines.md      the annotators' guidelines (shown inside Label Studio)
      corpora/sample/    the sample article `annotate quickstart` ingests
      corpora/bootstrap/ the CLEF-2019 label table the bootstrap claim model trains on

Every module asks :func:`data_path` for them (never ``__file__``), so a wheel finds its own
schema; the checkout's ``schemas/``, ``corpora/`` and ``docs/guidelines.md`` are symlinks here.

>>> data_path("schemas", "claims_stance.xml").name
'claims_stance.xml'
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from annotate.errors import AnnotateError

__all__ = ["data_path"]


def data_path(*parts: str) -> Path:
    """The packaged file or folder ``annotate/data/PARTS...`` as a path on disk.

    Callers hand these paths on (a schema finds its sibling ``.targets.toml``, ingest walks a
    folder), so the package must sit on disk as pip installs a wheel, not inside a zip archive.
    """
    resource = files("annotate").joinpath("data", *parts)
    if not isinstance(resource, Path):
        raise AnnotateError(
            f"annotate's package data is not on disk ({resource})", hint="install the package with pip, unzipped"
        )
    return resource
