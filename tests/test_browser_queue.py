"""``push --order`` in a real browser: "Label All Tasks" opens the first suggested task, then the second.

The sample is pushed with predictions (so Label Studio has its own order to prefer: the least
confident first), the queue is ordered with two sentences from the middle of the article, and an
annotator (not the admin) logs in, opens the project's Data Manager and presses "Label All Tasks".
The task the stream asks for (``POST /api/dm/actions?id=next_task``) and the sentence on screen
must be the first suggested one; after a keyboard answer and ctrl+enter, the second.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from annotate.resources import data_path
from annotate.schema import Schema, default_schema_path
from annotate.segment import ingest
from annotate.studio.push import push, read_sentences
from annotate.studio.queue import order_queue
from tests.browser import login, new_page, whoami

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = ".ann-sentence .lsf-richtext__line"


def _is_next_task(response: Any) -> bool:
    return "id=next_task" in response.url and response.request.method == "POST"


def _is_annotation_post(response: Any) -> bool:
    return re.search(r"/api/tasks/\d+/annotations", response.url) is not None and response.request.method == "POST"


def _close_instructions(page: Any) -> None:
    """The guidelines pop up when the stream starts: close them if they are there."""
    modal = page.locator(".lsf-modal-ls__content")
    try:
        modal.first.wait_for(state="visible", timeout=5_000)
    except Exception:  # noqa: BLE001 - no modal: nothing to close
        return
    modal.first.get_by_role("button", name="Close modal").click()
    modal.first.wait_for(state="hidden")


def test_label_all_tasks_opens_the_suggested_tasks_in_order(studio, browser, screenshots, tmp_path):
    schema = Schema.from_file(default_schema_path())
    sentences = tmp_path / "sentences.jsonl"
    ingest([data_path("corpora", "sample")], sentences)
    records = read_sentences(sentences)
    preds = tmp_path / "predictions.jsonl"
    preds.write_text("".join(
        json.dumps({"sentence_id": r["sentence_id"], "field": "claim_type", "value": "Opinion",
                    "score": round(0.5 + i / 100, 2), "model_version": "queue-browser-1"}) + "\n"
        for i, r in enumerate(records)), "utf-8")  # fmt: skip
    st = studio.studio()
    summary = push(st, sentences, schema, project=studio.project_title("queue-browser"), predictions=preds)
    pid = summary.project_id
    tasks = {t.data["task_key"]: t for t in studio.client().tasks.list(project=pid, fields="all")}
    per_sentence: dict[str, list[Any]] = {}
    for t in tasks.values():
        per_sentence.setdefault(t.data["sentence_id"], []).append(t)
    singles = [r for r in records if len(per_sentence[r["sentence_id"]]) == 1]
    first, second = singles[12], singles[6]  # neither is what Label Studio would serve on its own
    order = tmp_path / "next.jsonl"
    order.write_text(
        json.dumps({"rank": 1, "sentence_id": first["sentence_id"], "field": "claim_type", "score": 0.9})
        + "\n"
        + json.dumps({"rank": 2, "sentence_id": second["sentence_id"], "field": "claim_type", "score": 0.8})
        + "\n",
        "utf-8",
    )
    queued = order_queue(st, pid, order)
    assert queued.queued == 2, str(queued)

    annotator = studio.create_user("queue-browser", login=True)
    page = new_page(browser)
    login(page, studio.url, annotator.email, studio.passwords[annotator.email])
    assert whoami(page, studio.url)["email"] != studio.email

    page.goto(f"{studio.url}/projects/{pid}/data", wait_until="domcontentloaded")
    button = page.get_by_role("button", name="Label All Tasks")
    button.wait_for(state="visible")
    with page.expect_response(_is_next_task) as served:
        button.click()
    task1 = served.value.json()
    assert task1["data"]["sentence_id"] == first["sentence_id"], (task1["data"]["sentence_id"], task1.get("queue"))
    _close_instructions(page)
    page.locator(SENTENCE).filter(has_text=first["text"][:40]).wait_for(state="visible")
    page.screenshot(path=screenshots / "queue-01-first-suggested.png")

    # answer by keyboard ("Not a claim") and submit: the stream brings the second suggested sentence
    keys = {c.value: c.hotkey for c in schema.field("claim_type").choices}
    page.keyboard.press(keys["Not a claim"])
    radio = page.locator('input[type="radio"][name="Not a claim"]')
    page.wait_for_function("el => el.checked", arg=radio.element_handle())
    with page.expect_response(_is_next_task) as served2, page.expect_response(_is_annotation_post) as posted:
        page.keyboard.press("Control+Enter")
    assert posted.value.status == 201 and posted.value.json()["task"] == task1["id"], posted.value.text()
    task2 = served2.value.json()
    assert task2["data"]["sentence_id"] == second["sentence_id"], (task2["data"]["sentence_id"], task2.get("queue"))
    page.locator(SENTENCE).filter(has_text=second["text"][:40]).wait_for(state="visible")
    page.screenshot(path=screenshots / "queue-02-second-suggested.png")
    page.context.close()
