"""The main job brings the sample into Label Studio with pre-annotations, and re-runs add nothing."""

from __future__ import annotations

import pytest

from annotate.quickstart import quickstart


@pytest.mark.integration
def test_quickstart_loads_the_sample_once(studio, tmp_path):
    first = list(quickstart(tmp_path, data_dir=studio.data_dir))
    text = "\n".join(first)
    assert f"Label Studio running at {studio.url} (reused)" in text
    assert "project 'annotate-sample'" in text and "already there" in text
    assert studio.token not in text
    ls = studio.client()
    project = next(p for p in ls.projects.list() if p.title == "annotate-sample")
    assert project.model_version == "ingest-hints-1"
    tasks = list(ls.tasks.list(project=project.id, fields="all"))
    with_preds = [t for t in tasks if t.predictions]
    assert tasks and with_preds
    for t in with_preds:
        (pred,) = t.predictions
        pred = pred.model_dump() if hasattr(pred, "model_dump") else pred
        (region,) = pred["result"]
        value = region["value"]
        assert t.data["text"][value["start"] : value["end"]] == value["text"] == t.data["speaker"]
    again = "\n".join(quickstart(tmp_path, data_dir=studio.data_dir))
    assert f"0 imported, {len(tasks)} already there" in again
    assert len(list(ls.tasks.list(project=project.id))) == len(tasks)
