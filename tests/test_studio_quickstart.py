"""The main job brings the sample into Label Studio with pre-annotations and the sample archive's
matches, and re-runs add nothing."""

from __future__ import annotations

import html

import pytest

from annotate.quickstart import quickstart
from annotate.schema import Schema, default_schema_path
from annotate.studio.matches import FIELD, NONE, SHOWN, choice_for_rank


@pytest.mark.integration
def test_quickstart_loads_the_sample_once(studio, tmp_path):
    first = list(quickstart(tmp_path, data_dir=studio.data_dir))
    text = "\n".join(first)
    assert f"Label Studio running at {studio.url} (reused)" in text
    assert "project 'annotate-sample'" in text and "bootstrap claim model" in text
    assert "matched 40 sentences against the sample archive (16 illustrative claims)" in text
    assert studio.token not in text
    ls = studio.client()
    project = next(p for p in ls.projects.list() if p.title == "annotate-sample")
    # the bootstrap model's predictions are the pre-annotation; the speaker hints a second tab
    assert project.model_version.startswith("bootstrap-clef2019-")
    claim_types = set(Schema.from_file(default_schema_path()).field("claim_type").values)
    tasks = list(ls.tasks.list(project=project.id, fields="all"))
    assert tasks
    hints = 0
    for t in tasks:
        preds = [p.model_dump() if hasattr(p, "model_dump") else p for p in t.predictions]
        by_version = {p["model_version"]: p for p in preds}
        model = by_version[project.model_version]
        choices = {r["from_name"]: r["value"].get("choices") for r in model["result"]}
        assert choices["claim_type"][0] in claim_types and 0 < model["score"] <= 1
        if "ingest-hints-1" in by_version:
            (region,) = by_version["ingest-hints-1"]["result"]
            value = region["value"]
            assert t.data["text"][value["start"] : value["end"]] == value["text"] == t.data["speaker"]
            hints += 1
    assert hints > 0
    # every task lists the sample archive's closest claims, and the project asks "already checked"
    assert f'<Choices name="{FIELD}"' in project.label_config
    assert all(f'<Choice value="{v}"/>' in project.label_config for v in (NONE, choice_for_rank(SHOWN)))
    by_text = {t.data["text"]: t.data for t in tasks}
    for t in tasks:
        shown = t.data["matches"]
        assert [m["rank"] for m in shown] == list(range(1, SHOWN + 1))
        assert all(m["url"].startswith("https://factcheck.example/") and m["verdict"] for m in shown)
        assert html.escape(shown[0]["claim"]) in t.data["matches_html"]
    fentanyl = next(d for text, d in by_text.items() if "designation of fentanyl" in text)
    assert fentanyl["matches"][0]["claim_id"] == "sample-008"
    again = "\n".join(quickstart(tmp_path, data_dir=studio.data_dir))
    assert f"0 imported, {len(tasks)} already there" in again
    assert len(list(ls.tasks.list(project=project.id))) == len(tasks)
