"""One builder for the self-contained HTML pages annotate writes (training and agreement reports).

:func:`page` wraps a body in the shared head and style sheet; a report adds only the rules of
its own (``css=``). Pages load nothing from elsewhere: no scripts, no links, images inline.
Fragments that Label Studio shows inside its own page (guidelines, duplicate groups) are not
pages and do not use it.
"""

from __future__ import annotations

import html

__all__ = ["BASE_CSS", "page"]

#: The style every report page shares: readable text width, ruled tables, quiet notes.
BASE_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.note { color: #595959; font-size: 12px; }
.warn { color: #a40; }
"""


def page(title: str, body: str, *, css: str = "") -> str:
    """A whole HTML document: ``title`` (escaped here) and ``body`` (HTML, trusted as given).

    ``css`` is appended to :data:`BASE_CSS`, so a report's own rules win over the shared ones.

    >>> page("Model <demo>", "<h1>Model</h1>").splitlines()[0]
    '<!DOCTYPE html>'
    """
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{BASE_CSS}{css}</style></head><body>\n"
        f"{body}\n</body></html>\n"
    )
