"""Load a script of the repository (``benchmarks/``, ``scripts/``) as a module, to test its functions.

Scripts are not part of the package, so they are loaded from their files. A script's dataclasses
look their module up in ``sys.modules`` (pickling, ``dataclasses.fields``), hence the registration
for as long as the module is in use.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def script_module(relative_path: str, name: str) -> Iterator[ModuleType]:
    """The script at ``ROOT / relative_path`` as the module ``name``, registered while in use."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative_path)
    assert spec is not None and spec.loader is not None, relative_path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]
