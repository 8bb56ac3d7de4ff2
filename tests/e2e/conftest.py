"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser)."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "lep-screenshots")
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh headless Chromium per test; its event loop ends with the test.

    Playwright's sync API keeps an event loop on this thread while the browser lives; the
    test's own ORM calls are still synchronous, so Django's async guard is lifted meanwhile.
    """
    from tests.conftest import REQUIRE_SERVICES

    if not CHROMIUM.exists():
        message = "needs Chromium at /usr/bin/chromium (apt-get install chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(f"required service missing (REQUIRE_SERVICES=1): {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


PASSWORD = "a-Strong-pass-123"
"""The factories' users all share this password."""


def submit_sign_in(page: Any, username: str) -> None:
    """Fill in and send the sign-in form the page shows."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def sign_in(page: Any, base_url: str, username: str) -> None:
    """Sign in through /accounts/login/ and land on the dashboard, as a person does."""
    page.goto(f"{base_url}/accounts/login/")
    submit_sign_in(page, username)
    page.wait_for_url(f"{base_url}/dashboard/")
