"""Progress lines with rates for long steps (ingest, predict, suggest, push, pull).

One place for them so every long command looks the same: a rich spinner line on a terminal
("predicting: 120,000 sentences (21,345/s)"), nothing at all otherwise (CI logs, notebooks,
pipes), so outputs and tests never see it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

__all__ = ["progress", "is_tty"]


def is_tty() -> bool:
    """Whether stderr is a terminal: the only place a progress line is drawn."""
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress(enabled: bool, what: str, unit: str = "sentences") -> Iterator[Callable[..., None]]:
    """Yield ``tick(done, documents=None)``: redraws "what: N unit (rate/s)" on a terminal.

    ``done`` counts ``unit`` (the rate is of those); ``documents``, if given, is shown too.
    A no-op when ``enabled`` is false.
    """
    if not enabled:
        yield lambda done, documents=None: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True,
                  console=console) as bar:  # fmt: skip
        task = bar.add_task(what)
        start = time.perf_counter()

        def tick(done: int, documents: int | None = None) -> None:
            rate = done / max(time.perf_counter() - start, 1e-9)
            docs = f"{documents:,} documents, " if documents is not None else ""
            bar.update(task, description=f"{what}: {docs}{done:,} {unit} ({rate:,.0f}/s)")

        yield tick
