"""Gold, conflicts, predictions or suggestions as a spreadsheet an editor opens: ``annotate export``.

The JSONL files of the loop are for programs; a desk's editors read a spreadsheet. ``export``
writes one row per record, the columns an editor reads first (title, URL, text, target, label)
on the left, and the rest after them. Votes ``{"a": "Opinion", "b": "Opinion"}`` become
``a: Opinion; b: Opinion`` and lists ``A / B``.

CSV is written as UTF-8 with a byte-order mark, which Excel needs to read accents right, and
every other spreadsheet ignores; ``.tsv`` gives tab-separated values.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.errors import InputError
from annotate.io import atomic_write, ensure_not_input, read_jsonl

__all__ = ["FIRST_COLUMNS", "ExportSummary", "export_spreadsheet"]

#: The columns an editor reads first, in this order, when the records have them.
FIRST_COLUMNS = [
    "title", "url", "doc_id", "sentence_id", "text", "speaker", "target_name", "field", "label", "value", "score",
    "confidence", "agreement", "n_annotators", "method", "reason", "candidates", "detail", "votes",
]  # fmt: skip
_SEPARATORS = {".csv": ",", ".tsv": "\t"}


@dataclass
class ExportSummary:
    output: Path
    rows: int
    columns: list[str]

    def __str__(self) -> str:
        first = ", ".join(self.columns[:6]) + (", ..." if len(self.columns) > 6 else "")
        return f"wrote {self.rows} rows to {self.output} ({len(self.columns)} columns: {first})"


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " / ".join(str(_cell(v)) for v in value)
    return "" if value is None else value


def export_spreadsheet(path: str | Path, output: str | Path) -> ExportSummary:
    """Write the records of the JSONL file ``path`` as a CSV (or TSV) spreadsheet at ``output``."""
    path, output = Path(path), Path(output)
    sep = _SEPARATORS.get(output.suffix.lower())
    if sep is None:
        raise InputError(
            f"cannot write a '{output.suffix or 'suffix-less'}' spreadsheet",
            path=output,
            hint="name the output .csv or .tsv",
        )
    ensure_not_input(output, path)
    records = [rec for _line, rec in read_jsonl(path)]
    seen: dict[str, None] = {}
    for rec in records:
        seen.update(dict.fromkeys(rec))
    columns = [c for c in FIRST_COLUMNS if c in seen] + [c for c in seen if c not in FIRST_COLUMNS]
    with atomic_write(output, encoding="utf-8-sig") as fh:
        writer = csv.writer(fh, delimiter=sep, lineterminator="\r\n")  # RFC 4180 line ends
        writer.writerow(columns)
        for rec in records:
            writer.writerow([_cell(rec.get(c)) for c in columns])
    return ExportSummary(output, len(records), columns)
