"""Shared fixtures. The real Label Studio server fixture lives in tests/studio_server.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotate.resources import data_path
from tests.browser import browser, screenshots  # noqa: F401
from tests.studio_server import pg_server, studio, studio_pg, studio_sqlite  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLE = data_path("corpora", "sample", "mexico-news-daily-2025-12-17-mananera.txt")
DEFAULT_SCHEMA = data_path("schemas", "claims_stance.xml")


def needs_shared_data(path: Path) -> pytest.MarkDecorator:
    """Skip a test when ``../shared`` data is missing on a developer's machine, but never in CI.

    With ``ANNOTATE_REQUIRE_ALL_LAYERS`` set (CI), the mark is a no-op: a test whose data is gone
    then fails loudly instead of passing as a skip.
    """
    required = bool(os.environ.get("ANNOTATE_REQUIRE_ALL_LAYERS"))
    return pytest.mark.skipif(not required and not path.is_dir(), reason=f"no benchmark data in {path}")


def require_shared_data(path: Path) -> None:
    """In a fixture: skip without ``path`` on a developer's machine; fail in CI (see :func:`needs_shared_data`)."""
    if path.is_dir():
        return
    if os.environ.get("ANNOTATE_REQUIRE_ALL_LAYERS"):
        pytest.fail(f"no benchmark data in {path}: CI needs ../shared beside the clone")
    pytest.skip(f"no benchmark data in {path}")


@pytest.fixture(autouse=True)
def _private_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's ~/.config (serve's generated secret lives there)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv("ANNOTATE_SERVE_AUTH", raising=False)


@pytest.fixture
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture
def schema_path() -> Path:
    return DEFAULT_SCHEMA


@pytest.fixture
def cli():
    """Run the CLI in-process; returns (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from annotate.cli import app

    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


# --- loud reporting of the slow layers ---------------------------------------------------

_LAYERS = ("integration", "browser", "postgres", "faults")
_OUTCOMES = ("collected", "passed", "failed", "skipped")
_layer_counts: dict[str, dict[str, int]] = {m: dict.fromkeys(_OUTCOMES, 0) for m in _LAYERS}


def pytest_collection_finish(session):
    for item in session.items:  # after -m / -k deselection
        for marker in _LAYERS:
            if item.get_closest_marker(marker):
                _layer_counts[marker]["collected"] += 1


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        for marker in _LAYERS:
            if marker in report.keywords:
                _layer_counts[marker][report.outcome] += 1


def _missing_layers() -> list[str]:
    """Layers whose tests were skipped, were not selected, or of which none ran."""
    return [m for m, c in _layer_counts.items() if c["skipped"] or not c["passed"] + c["failed"]]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.section("layers")
    for marker, c in _layer_counts.items():
        counts = f"{c['collected']} selected, {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
        terminalreporter.write_line(f"{marker} layer: {counts}")
        if not c["collected"]:
            terminalreporter.write_line(f"!!! the {marker} layer was not selected: it did not run", red=True, bold=True)
    missing = _missing_layers()
    if missing:
        terminalreporter.write_line(
            f"!!! NOT EXECUTED IN FULL: {', '.join(missing)} layer(s). The real Label Studio / browser / "
            "PostgreSQL / fault-injection tests did not all run."
            + (" CI fails for this." if os.environ.get("ANNOTATE_REQUIRE_ALL_LAYERS") else ""),
            red=True,
            bold=True,
        )


def pytest_sessionfinish(session, exitstatus):
    required = os.environ.get("ANNOTATE_REQUIRE_ALL_LAYERS") and not session.config.option.collectonly
    if required and exitstatus == 0 and _missing_layers():
        session.exitstatus = 1
