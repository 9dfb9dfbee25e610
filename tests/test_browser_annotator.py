"""The annotator's path in a real browser (issue 7): real Label Studio, real Chromium, no mocks.

One test walks what an annotator does and then reads it back with the library's ``pull``:

1. the sample corpus is ingested and pushed with the default schema and a predictions file
   (``claim_type`` for the first sentences), the project shows the guidelines as instructions;
2. the annotator joins through the organisation's invite link, then logs in (not the admin);
3. the label stream opens with the instructions (the guidelines' headings are checked, also via
   the top bar's Instructions button) and the pre-annotated first task (predicted choice checked);
4. keyboard only, with the hotkeys read from the schema: "Not a claim" hides the stance question,
   a claim type shows it again, a stance is picked; ``s`` + a drag at integer coordinates marks
   the speaker's words; ctrl+enter submits, ctrl+space skips the next task;
5. on the third task a stance is answered and then hidden by "Not a claim" before submitting;
6. ``pull`` must then see exactly those results: the values, the Speaker span's offsets
   (``text[start:end] == span_text``), the skip as a cancelled row, no stale stance on the third
   task, the annotator's email.

Screenshots of the labelling screen go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from annotate.annotations import load_annotations
from annotate.guidelines import instructions_html
from annotate.resources import data_path
from annotate.schema import Schema, default_schema_path
from annotate.segment import ingest
from annotate.studio.pull import pull
from annotate.studio.push import push, read_sentences
from tests.browser import login as browser_login
from tests.browser import new_page, signup, whoami

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[1]
PREDICTED = "Other factual claim"  # the pre-annotation of the first sentence
CHOSEN_TYPE = "Check-worthy factual claim"  # what the annotator changes it to
HIDING_TYPE = "Not a claim"  # the claim type that hides the stance question
CHOSEN_STANCE = "Against"

# the sentence element (the schema wraps $text in <View className="ann-sentence">)
SENTENCE = ".ann-sentence .lsf-richtext__line"

_WORD_BOX_JS = """
([selector, word, occurrence]) => {
  const root = document.querySelector(selector);
  if (!root) return null;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let seen = 0, node;
  while ((node = walker.nextNode())) {
    let from = 0, at;
    while ((at = node.data.indexOf(word, from)) >= 0) {
      if (seen++ === occurrence) {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + word.length);
        const r = range.getClientRects()[0];
        return {x: r.left, y: r.top, w: r.width, h: r.height};
      }
      from = at + word.length;
    }
  }
  return null;
}
"""


def _heading_texts(markdown: str) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"^(#{1,2}) (.+)$", markdown, flags=re.M)]


def _radio(page: Any, value: str) -> Any:
    return page.locator(f'input[type="radio"][name="{value}"]')


def _hotkeys(schema: Schema, field: str) -> dict[str, str]:
    keys = {c.value: c.hotkey for c in schema.field(field).choices}
    assert all(keys.values()), f"every choice of '{field}' needs a hotkey in the schema: {keys}"
    return keys  # type: ignore[return-value]


def _word_center(page: Any, word: str, occurrence: int = 0) -> tuple[int, int]:
    """Integer viewport coordinates of the middle of ``word`` in the sentence (sub-pixel drags fail)."""
    box = page.evaluate(_WORD_BOX_JS, [SENTENCE, word, occurrence])
    assert box is not None, f"'{word}' is not in the sentence on screen"
    return round(box["x"] + box["w"] / 2), round(box["y"] + box["h"] / 2)


def _drag_select(page: Any, text: str, phrase: str) -> None:
    """Press on the first word of ``phrase`` in the sentence, release on its last word."""
    at = text.index(phrase)
    words = phrase.split()
    last_at = at + phrase.rindex(words[-1])
    x1, y1 = _word_center(page, words[0], text[:at].count(words[0]))
    x2, y2 = _word_center(page, words[-1], text[:last_at].count(words[-1]))
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x2, y2, steps=8)
    page.mouse.up()


def _is_next_task(response: Any) -> bool:
    return "id=next_task" in response.url and response.request.method == "POST"


def _is_annotation_post(response: Any) -> bool:
    return re.search(r"/api/tasks/\d+/annotations", response.url) is not None and response.request.method == "POST"


def _instructions(page: Any, first_heading: str) -> Any:
    """Label Studio's instructions modal (it has no dialog role), found by the guidelines' title."""
    return page.locator(".lsf-modal-ls__content").filter(has_text=first_heading)


def _check_and_close_instructions(page: Any, headings: list[str], screenshot: Path | None = None) -> None:
    modal = _instructions(page, headings[0])
    modal.wait_for(state="visible")
    for h in headings:
        assert modal.get_by_role("heading", name=h, exact=True).first.is_visible(), f"heading '{h}' not shown"
    if screenshot is not None:
        page.screenshot(path=screenshot)
    modal.get_by_role("button", name="Close modal").click()
    modal.wait_for(state="hidden")


def test_annotator_labels_submits_skips_and_pull_sees_it(studio, browser, screenshots, tmp_path):
    schema = Schema.from_file(default_schema_path())
    type_keys, stance_keys = _hotkeys(schema, "claim_type"), _hotkeys(schema, "stance")
    span_keys = _hotkeys(schema, "spans")

    # --- the project: sample corpus + predictions + guidelines ---------------------------------
    sentences = tmp_path / "sentences.jsonl"
    ingest([data_path("corpora", "sample")], sentences)
    records = read_sentences(sentences)
    first = records[0]
    speaker = first.get("speaker") or ""
    assert len(speaker.split()) >= 2 and speaker in first["text"], f"sample's first sentence changed: {first}"
    model_version = f"browser-test-{secrets.token_hex(3)}"
    preds = tmp_path / "predictions.jsonl"
    pred_records = [
        {"sentence_id": r["sentence_id"], "field": "claim_type", "value": PREDICTED, "model_version": model_version}
        for r in records[:3]
    ]
    preds.write_text("".join(json.dumps({**rec, "score": 0.55}) + "\n" for rec in pred_records), "utf-8")
    st, ls = studio.studio(), studio.client()
    title = studio.project_title("browser")
    summary = push(st, sentences, schema, project=title, predictions=preds)
    assert summary.predictions >= 3 and summary.model_version == model_version, str(summary)
    # what the lead may wire into push: instructions and a fixed order for the stream
    ls.projects.update(
        id=summary.project_id,
        model_version=model_version,
        expert_instruction=instructions_html(schema),
        show_instruction=True,
        show_skip_button=True,
        sampling="Sequential sampling",
    )
    project_id = summary.project_id

    # --- the annotator joins by invite link, then logs in as themself ----------------------------
    email = f"annotator-{secrets.token_hex(4)}@example.com"
    password = f"Ann0tate-{secrets.token_hex(6)}"
    invite = ls.organizations.invites.get_invite_link()
    page = new_page(browser)
    signup(page, studio.url, invite.invite_url, email, password)
    # log in again from a fresh context: clearing the cookies of the signed-up page would leave
    # its app running, and its redirect to the login page could race with ours
    page.context.close()
    page = new_page(browser)
    browser_login(page, studio.url, email, password)
    assert whoami(page, studio.url)["email"] != studio.email  # the annotator, not the admin

    # --- the label stream: instructions first, then the pre-annotated first task ----------------
    with page.expect_response(_is_next_task) as first_task:
        page.goto(f"{studio.url}/projects/{project_id}/data?labeling=1")
    task1 = first_task.value.json()
    assert task1["data"]["sentence_id"] == first["sentence_id"], "the stream did not start at the first sentence"
    headings = _heading_texts(data_path("guidelines.md").read_text("utf-8"))
    _check_and_close_instructions(page, headings, screenshots / "00-instructions.png")
    page.get_by_role("button", name="Instructions").click()  # reachable on demand, too
    _check_and_close_instructions(page, headings)

    page.locator(SENTENCE).filter(has_text=first["text"][:40]).wait_for(state="visible")
    predicted = _radio(page, PREDICTED)
    predicted.wait_for(state="attached")
    assert predicted.is_checked(), "the pre-annotation (predicted claim type) is not shown"
    for value in type_keys:
        if value != PREDICTED:
            assert not _radio(page, value).is_checked()
    # what the annotator sees around the sentence: title and date, dimmed context, the target in words
    meta = page.locator(".ann-meta").inner_text()
    assert first["title"] in meta and first["date"] in meta, meta
    following = records[1]["text"]
    assert page.locator(".ann-context").filter(has_text=following[:30]).first.is_visible()
    target = schema.target(task1["data"]["target_id"])
    assert target is not None and target.name in page.locator(".ann-target").inner_text()
    page.screenshot(path=screenshots / "01-preannotated-task.png")

    # --- keyboard only: Not a claim hides the stance question, a claim type shows it -------------
    stance_radio = _radio(page, CHOSEN_STANCE)
    assert stance_radio.is_visible()
    page.keyboard.press(type_keys[HIDING_TYPE])
    page.wait_for_function("el => el.checked", arg=_radio(page, HIDING_TYPE).element_handle())
    stance_radio.wait_for(state="hidden")
    for value in stance_keys:
        assert not _radio(page, value).is_visible(), f"stance '{value}' still visible for '{HIDING_TYPE}'"
    page.screenshot(path=screenshots / "02-not-a-claim-hides-stance.png")

    page.keyboard.press(type_keys[CHOSEN_TYPE])
    stance_radio.wait_for(state="visible")
    assert _radio(page, CHOSEN_TYPE).is_checked() and not _radio(page, HIDING_TYPE).is_checked()
    page.keyboard.press(stance_keys[CHOSEN_STANCE])
    page.wait_for_function("el => el.checked", arg=stance_radio.element_handle())

    # --- the speaker span: press the Speaker key, drag over the speaker's words -----------------
    page.keyboard.press(span_keys["Speaker"])
    _drag_select(page, first["text"], speaker)
    region = page.locator(f"{SENTENCE} .htx-highlight")
    region.first.wait_for(state="visible")
    page.screenshot(path=screenshots / "03-labelled-before-submit.png")

    # --- ctrl+enter submits; the next task comes; ctrl+space skips it ---------------------------
    with page.expect_response(_is_next_task) as second_task, page.expect_response(_is_annotation_post) as posted:
        page.keyboard.press("Control+Enter")
    assert posted.value.status == 201, posted.value.text()
    submitted = posted.value.json()
    assert submitted["task"] == task1["id"] and not submitted["was_cancelled"]
    task2 = second_task.value.json()
    assert task2["id"] != task1["id"]
    page.locator(SENTENCE).filter(has_text=task2["data"]["text"][:40]).wait_for(state="visible")
    with page.expect_response(_is_next_task) as third_task, page.expect_response(_is_annotation_post) as skipped:
        page.keyboard.press("Control+Space")
    assert skipped.value.status == 201, skipped.value.text()
    assert skipped.value.json()["task"] == task2["id"] and skipped.value.json()["was_cancelled"]
    page.screenshot(path=screenshots / "04-after-skip.png")

    # --- a stance answered, then hidden by "Not a claim", must not be saved -----------------------
    task3 = third_task.value.json()
    page.locator(SENTENCE).filter(has_text=task3["data"]["text"][:40]).wait_for(state="visible")
    page.keyboard.press(type_keys[CHOSEN_TYPE])
    stance_radio.wait_for(state="visible")
    page.keyboard.press(stance_keys[CHOSEN_STANCE])
    page.wait_for_function("el => el.checked", arg=stance_radio.element_handle())
    page.keyboard.press(type_keys[HIDING_TYPE])
    stance_radio.wait_for(state="hidden")
    with page.expect_response(_is_annotation_post) as posted3:
        page.keyboard.press("Control+Enter")
    assert posted3.value.status == 201 and posted3.value.json()["task"] == task3["id"], posted3.value.text()
    page.context.close()

    # --- pull sees exactly that -----------------------------------------------------------------
    result = pull(st, title, out_dir=tmp_path / "pulled", schema=schema)
    df = load_annotations(result.table_path)
    done = df[~df.is_draft]
    assert set(done.annotator) == {email}, f"annotations by others: {set(done.annotator)}"
    assert set(done.task_id) == {task1["id"], task2["id"], task3["id"]}

    labelled = done[done.task_id == task1["id"]]
    assert not labelled.was_cancelled.any()
    assert labelled.issue.isna().all(), labelled[labelled.issue.notna()].to_dict("records")
    assert sorted(labelled.field) == ["claim_type", "spans", "stance"], labelled.field.tolist()
    by_field = {r["field"]: r for r in labelled.to_dict("records")}
    assert by_field["claim_type"]["value"] == CHOSEN_TYPE
    assert by_field["stance"]["value"] == CHOSEN_STANCE
    span = by_field["spans"]
    assert span["value"] == "Speaker"
    start, end = int(span["start"]), int(span["end"])
    assert first["text"][start:end] == span["span_text"] == speaker, (start, end, span["span_text"])
    # built on the pre-annotation: LS links the annotation to the prediction it started from
    assert set(labelled.model_version) == {model_version}
    exported = {t["id"]: t for t in json.loads(result.export_path.read_text("utf-8"))}
    origins = {r["from_name"]: r.get("origin") for r in exported[task1["id"]]["annotations"][0]["result"]}
    assert origins["claim_type"] == "prediction-changed", origins

    skipped_rows = done[done.task_id == task2["id"]]
    assert len(skipped_rows) == 1, skipped_rows.to_dict("records")
    row = skipped_rows.iloc[0]
    assert bool(row.was_cancelled) and pd.isna(row.field)
    assert result.summary["skipped"] == 1 and result.summary["annotations"] == 3

    stale = done[done.task_id == task3["id"]]
    assert stale[["field", "value"]].values.tolist() == [["claim_type", HIDING_TYPE]], stale.to_dict("records")
