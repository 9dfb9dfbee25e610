"""The annotator guidelines as the HTML Label Studio shows under "Labeling Instructions".

``annotate/data/guidelines.md`` (package data; ``docs/guidelines.md`` in a checkout) is the one
source. :func:`instructions_html` renders it (headings, paragraphs, lists, tables, emphasis, code;
raw HTML in the Markdown is escaped) and, given a :class:`~annotate.schema.Schema`, appends the
keys and stance targets of that schema, so the instructions an annotator reads inside Label
Studio always match the project's config. Set it as
the project's ``expert_instruction`` with ``show_instruction=True``: the label stream then opens
it when the annotator starts, and the top bar's "Instructions" button opens it on demand.

>>> ls.projects.update(id=pid, expert_instruction=instructions_html(schema), show_instruction=True)  # doctest: +SKIP
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from annotate.errors import InputError
from annotate.io import read_text
from annotate.resources import data_path
from annotate.schema import Schema

__all__ = ["default_guidelines_path", "render_markdown", "instructions_html"]

# Label Studio's modal has no table styles of its own, and <style> blocks are not reliable in
# its instruction HTML: style the few elements inline.
_INLINE_STYLES = {
    "table": "border-collapse:collapse;margin:6px 0 12px;font-size:13px",
    "th": "border:1px solid #d9d9d9;padding:3px 6px;background:#fafafa;text-align:left;vertical-align:top",
    "td": "border:1px solid #d9d9d9;padding:3px 6px;vertical-align:top",
    "code": "background:#f5f5f5;padding:0 3px;border-radius:3px",
}


def default_guidelines_path() -> Path:
    """The guidelines the package ships (``annotate/data/guidelines.md``; ``docs/guidelines.md`` in a checkout)."""
    return data_path("guidelines.md")


def render_markdown(text: str) -> str:
    """Markdown (CommonMark + tables) to HTML; raw HTML in the source is escaped, not passed on."""
    from markdown_it import MarkdownIt

    out = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    for tag, style in _INLINE_STYLES.items():
        out = re.sub(rf"<{tag}(?=[ >])", f'<{tag} style="{style}"', out)
    return out


def _schema_section(schema: Schema) -> str:
    """Keys and targets of ``schema``, read from the config (never restated by hand)."""
    rows = []
    for f in schema.fields.values():
        for c in f.choices:
            if c.hotkey:
                rows.append((c.hotkey, f.name, c.value))
    parts = ["<h2>Keys in this project</h2>"]
    if rows:
        th, td = (f'style="{_INLINE_STYLES[t]}"' for t in ("th", "td"))
        head = "".join(f"<th {th}>{h}</th>" for h in ("key", "field", "choice"))
        body = "".join(
            f"<tr><td {td}><kbd>{html.escape(k)}</kbd></td><td {td}>{html.escape(n)}</td>"
            f"<td {td}>{html.escape(v)}</td></tr>"
            for k, n, v in rows
        )
        parts.append(
            f'<table style="{_INLINE_STYLES["table"]}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        )
    parts.append(
        "<p><kbd>Ctrl+Enter</kbd> submits, <kbd>Ctrl+Space</kbd> skips, <kbd>Shift+Enter</kbd> leaves the note box.</p>"
    )
    if schema.targets:
        parts.append("<h2>Stance targets in this project</h2><ul>")
        for t in schema.targets:
            desc = f": {html.escape(t.description)}" if t.description else ""
            parts.append(f"<li><strong>{html.escape(t.name)}</strong>{desc}</li>")
        parts.append("</ul>")
    return "\n".join(parts)


def instructions_html(schema: Schema | None = None, path: str | Path | None = None) -> str:
    """The guidelines as HTML for Label Studio's ``expert_instruction`` (plus the schema's keys/targets)."""
    path = Path(path) if path is not None else default_guidelines_path()
    if not path.is_file():
        raise InputError("no guidelines file", path=path, hint="give a Markdown file of guidelines")
    body = render_markdown(read_text(path))
    if schema is not None:
        body += "\n" + _schema_section(schema)
    return f'<div class="annotate-guidelines">\n{body}</div>\n'
