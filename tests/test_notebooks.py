"""The notebooks run top to bottom against the real Label Studio server (integration layer).

They are executed in order (02 uses the project 01 pushes) with nbclient, in a kernel that
inherits the test server's URL and token through the environment. The committed files hold
no outputs: the test also checks that.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_committed_notebooks_hold_no_outputs():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text("utf-8"))["cells"]
        assert not [c for c in cells if c.get("outputs") or c.get("execution_count")], path.name


def test_notebooks_execute(studio, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.token)
    monkeypatch.setenv("ANNOTATE_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("ANNOTATE_NOTEBOOK_PROJECT", studio.project_title("notebook"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        resources = {"metadata": {"path": str(path.parent)}}
        NotebookClient(nb, timeout=900, kernel_name="python3", resources=resources).execute()
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{path.name}: {errors[:1]}"
