"""The guidelines as Label Studio instructions, and the default schema's keyboard contract."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from annotate.errors import InputError
from annotate.guidelines import default_guidelines_path, instructions_html, render_markdown
from annotate.schema import Schema, default_schema_path

# Label Studio 1.23 single-key shortcuts (../shared/notes/labelstudio-ui.md §2): a config hotkey
# must not take one of them. ctrl/alt/shift combinations cannot clash with a bare key.
LS_RESERVED_KEYS = {"u", "enter", "escape", "backspace", "delete", "space"}


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.from_file(default_schema_path())


def test_guidelines_render_tables_lists_and_emphasis():
    html = instructions_html()
    md = default_guidelines_path().read_text("utf-8")
    assert html.count("<table") == md.count("\n|---") + md.count("\n| ---")
    assert "<td " in html and "border:1px solid" in html  # inline styles: LS's modal has none for tables
    assert "<li>" in html and "<strong>Check-worthy factual claim</strong>" in html
    assert html.startswith('<div class="annotate-guidelines">') and html.rstrip().endswith("</div>")


def test_every_heading_is_an_html_heading():
    html = instructions_html()
    md = default_guidelines_path().read_text("utf-8")
    headings = [t.strip() for t in re.findall(r"^#{1,3} (.+)$", md, flags=re.M)]
    assert headings, "the guidelines have no headings"
    found = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h[1-3]>(.*?)</h[1-3]>", html)]
    found = [h.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&") for h in found]
    assert found == headings


def test_raw_html_in_markdown_is_escaped_not_passed_on():
    out = render_markdown("# Title\n\n<script>alert(1)</script>\n\nsome **bold** and a <b>tag</b>\n")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<strong>bold</strong>" in out and "<b>" not in out


def test_markdown_table_and_list(tmp_path: Path):
    md = tmp_path / "g.md"
    md.write_text("# G\n\n| a | b |\n|---|---|\n| 1 | **x** |\n\n- one\n- two\n\n1. first\n", "utf-8")
    out = instructions_html(path=md)
    assert re.search(r"<table style=\"[^\"]+\">", out)
    assert re.search(r"<td style=\"[^\"]+\"><strong>x</strong></td>", out)
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in out and "<ol>\n<li>first</li>\n</ol>" in out


def test_schema_section_lists_every_hotkey_and_target(schema):
    out = instructions_html(schema)
    section = out.split("<h2>Keys in this project</h2>", 1)[1]
    for f in schema.fields.values():
        for c in f.choices:
            if c.hotkey:
                assert re.search(rf"<kbd>{re.escape(c.hotkey)}</kbd></td><td [^>]+>{f.name}</td>", section), c
    for t in schema.targets:
        assert f"<strong>{t.name}</strong>" in section
    assert "Ctrl+Enter" in section and "Ctrl+Space" in section


def test_missing_guidelines_file_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="no guidelines file"):
        instructions_html(path=tmp_path / "nope.md")


# --- the keyboard contract of the default schema (issue 7 part 3) -----------------------------


def test_default_schema_hotkeys_are_explicit_unique_and_free(schema):
    """Every Choice/Label has its own key (LS would auto-assign shifting keys otherwise)."""
    keys: dict[str, str] = {}
    for f in schema.fields.values():
        if f.type not in ("choices", "labels"):
            continue
        for c in f.choices:
            assert c.hotkey, f"{f.name}:{c.value} has no hotkey; LS would assign one that shifts"
            assert c.hotkey.lower() not in LS_RESERVED_KEYS, f"{c.hotkey} is a Label Studio shortcut"
            assert c.hotkey not in keys, f"{c.hotkey} used by {keys[c.hotkey]} and {f.name}:{c.value}"
            keys[c.hotkey] = f"{f.name}:{c.value}"


def test_default_schema_presentation(schema):
    """Word spans; the sentence between dimmed context; title/date and target on screen."""
    root = ET.fromstring(schema.xml)
    texts = {el.get("name"): el for el in root.iter("Text")}
    assert texts["text"].get("granularity") == "word"
    order = [el.get("name") for el in root.iter("Text")]
    assert order.index("previous") < order.index("text") < order.index("next")
    parents = {c: p for p in root.iter() for c in p}
    assert "ann-context" in parents[texts["previous"]].get("className", "")
    assert "ann-context" in parents[texts["next"]].get("className", "")
    assert "ann-sentence" in parents[texts["text"]].get("className", "")
    assert texts["meta"].get("value") == "$meta" and texts["target_label"].get("value") == "$target"
    # the stance question hides for "Not a claim", and LS drops a stale answer only when the
    # condition sits on the Choices itself (labelstudio-ui.md §3)
    stance = next(el for el in root.iter("Choices") if el.get("name") == "stance")
    assert stance.get("visibleWhen") == "choice-unselected" and stance.get("whenChoiceValue") == "Not a claim"
