"""``push --matches`` in a real browser: an annotator sees the likely matches and answers "already checked".

The task of a sentence whose best match is above the threshold opens with the archive's claim,
verdict and link on screen (escaped: the archive's markup is text, never HTML), and "Match 1"
pre-selected from the prediction; the annotator submits, and the answer is stored as the
``checked`` field.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from annotate.schema import Schema, default_schema_path
from annotate.studio.matches import FIELD
from annotate.studio.push import push
from tests.browser import login, new_page
from tests.test_studio_matches import MATCHES, SENTENCES, write_jsonl

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _is_annotation_post(response: Any) -> bool:
    return re.search(r"/api/tasks/\d+/annotations", response.url) is not None and response.request.method == "POST"


def test_an_annotator_sees_the_matches_and_answers_already_checked(studio, browser, screenshots, tmp_path):
    rows = [{"sentence_id": f"s{i}", "doc_id": "d1", "index": i, "start": 0, "end": len(t), "text": t,
             "context": {"previous": "", "next": ""}} for i, t in enumerate(SENTENCES)]  # fmt: skip
    sentences = write_jsonl(tmp_path / "sentences.jsonl", rows)
    matches = write_jsonl(tmp_path / "matches.jsonl", MATCHES)
    summary = push(studio.studio(), sentences, Schema.from_file(default_schema_path()),
                   project=studio.project_title("matches-browser"), matches=matches, match_threshold=0.9)  # fmt: skip
    ls = studio.client()
    task = next(t for t in ls.tasks.list(project=summary.project_id, fields="all") if t.data["sentence_id"] == "s0")

    annotator = studio.create_user("matches-browser", login=True)
    page = new_page(browser)
    login(page, studio.url, annotator.email, studio.passwords[annotator.email])
    page.goto(f"{studio.url}/projects/{summary.project_id}/data?task={task.id}", wait_until="domcontentloaded")
    best = MATCHES[0]["matches"][0]
    match1 = page.locator('input[type="radio"][name="Match 1"]')
    match1.wait_for(state="attached", timeout=60_000)  # the labelling view is open
    link = page.locator(f'a[href="{best["url"]}"]')
    link.first.wait_for(state="visible")
    shown = page.locator("ul", has=link).first  # the matches, as the HyperText tag shows them
    text = shown.inner_text()
    assert best["claim"] in text and f"verdict: {best['verdict']}" in text and "Match 2" in text
    # the archive's markup shows as text: no <script> or <b> element comes from it, no javascript: link
    assert "<script>alert(1)</script>" in text and "<b>Biden</b>" in text
    assert shown.locator("script").count() == 0 and page.locator('a[href^="javascript:"]').count() == 0
    assert match1.is_checked(), "the prediction above the threshold pre-selects Match 1"
    page.screenshot(path=screenshots / "matches-01-labelling-view.png")
    page.locator('input[type="radio"][name="Check-worthy factual claim"]').check()
    with page.expect_response(_is_annotation_post) as posted:
        page.get_by_role("button", name="Submit").click()
    assert posted.value.status == 201, posted.value.text()
    stored = {r["from_name"]: r["value"] for r in posted.value.json()["result"]}
    assert stored[FIELD] == {"choices": ["Match 1"]}
    page.context.close()
    ls.projects.delete(id=summary.project_id)
