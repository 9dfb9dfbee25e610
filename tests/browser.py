"""A real headless Chromium for the ``browser`` layer (Playwright for Python, Debian's chromium).

Playwright drives the system browser (``/usr/bin/chromium``, or ``ANNOTATE_CHROMIUM``); its own
browser downloads are never used (``playwright install`` is not needed and cannot run offline).
If the browser cannot start, the test that asked for it *fails*: CI must not pass without it.

Usage in a test::

    @pytest.mark.browser
    def test_x(browser, studio, screenshots):
        page = new_page(browser)
        login(page, studio.url, studio.email, studio.password)
        page.screenshot(path=screenshots / "home.png")

Screenshots go to ``artifacts/screenshots/`` at the repository root (git-ignored; CI keeps the
folder as an artefact).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("ANNOTATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 60_000  # 2 shared cores: be generous, but never sleep blindly


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the test module (fails, never skips, if it cannot start).

    Module-scoped on purpose: while Playwright's sync API is alive its event loop counts as
    running in the main thread, so ``asyncio.run`` in any later test would fail. Launching
    Chromium takes about a second.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:  # pragma: no cover - the test extra installs it
        pytest.fail(f"Playwright for Python is not installed ({err}); install the 'test' extra")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"no chromium at {CHROMIUM}: apt-get install chromium (scripts/test.sh does)")
    pw = sync_playwright().start()
    try:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        except Exception as err:
            pytest.fail(f"chromium at {CHROMIUM} did not start: {type(err).__name__}: {err}")
        yield b
        b.close()
    finally:
        pw.stop()


@pytest.fixture
def screenshots() -> Path:
    """The folder for screenshots (``artifacts/screenshots/``), created if needed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def new_page(browser: Any, **context_options: Any) -> Any:
    """A page in a fresh context (own cookies), with the layer's viewport and timeouts."""
    context = browser.new_context(viewport=VIEWPORT, **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context.new_page()


def _open_form(page: Any, url: str) -> None:
    """Open the Django form at ``url`` and wait until its e-mail field is there.

    A page left by an earlier step can still have a navigation of its own in flight (the React
    app redirecting after a 401), which may land after ours: the form is then not on screen.
    One more ``goto`` is the remedy; if the field is still missing the failure names the URL the
    page ended on and leaves a screenshot, instead of a bare locator timeout.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    field = 'input[name="email"]'
    for attempt in (1, 2):
        page.goto(url, wait_until="load")
        try:
            page.wait_for_selector(field, state="visible", timeout=TIMEOUT_MS // 2)
            return
        except PlaywrightTimeout:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"form-missing-{attempt}.png")
    raise AssertionError(f"no e-mail field after opening {url} twice: the page is at {page.url}")


def _submit_form(page: Any, url: str, email: str, password: str) -> None:
    _open_form(page, url)
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click('button[type="submit"]')


def whoami(page: Any, base_url: str) -> dict[str, Any]:
    """The user the page's session cookie belongs to (``/api/current-user/whoami``)."""
    r = page.request.get(f"{base_url.rstrip('/')}/api/current-user/whoami")
    assert r.ok, f"whoami answered HTTP {r.status}"
    return r.json()


def login(page: Any, base_url: str, email: str, password: str) -> None:
    """Log in at ``/user/login/`` and check that the session is that user's."""
    base_url = base_url.rstrip("/")
    _submit_form(page, f"{base_url}/user/login/", email, password)
    assert "/user/login" not in page.url, f"login as {email} failed: still on {page.url}"
    assert whoami(page, base_url)["email"] == email.lower()


def signup(page: Any, base_url: str, invite_url: str, email: str, password: str) -> None:
    """Accept an organisation invite link (``/user/signup/?token=...``) as a new user.

    This is how annotators join in Label Studio Community Edition: the admin copies the link
    from Organization > Add People (``ls.organizations.invites.get_invite_link()``) and the
    annotator chooses their own password. The page is logged in afterwards.
    """
    base_url = base_url.rstrip("/")
    link = invite_url if invite_url.startswith("http") else base_url + invite_url
    _submit_form(page, link, email, password)
    assert "/user/signup" not in page.url, f"sign-up of {email} failed: still on {page.url}"
    assert whoami(page, base_url)["email"] == email.lower()
