"""A real headless browser (Debian's Chromium, driven by Playwright; never `playwright install`) on the
playground page, collecting the page's JavaScript and console errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# A loaded 2-core machine runs bot, emulator and browser at once: allow more than the 5 s default.
EXPECT_MS = 10_000

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason=f"{CHROMIUM} is not installed (scripts/install.sh --dev installs it)")


@contextlib.asynccontextmanager
async def open_page(base_url: str, errors: list[str], *, user: str = "admin", channel: str = "general",
                    timeout_ms: int = EXPECT_MS) -> AsyncIterator[Page]:
    """The page as `user` in `channel`, once it is loaded and its live stream is on."""
    expect.set_options(timeout=timeout_ms)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 800})
            page.set_default_timeout(timeout_ms)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            await page.goto(f"{base_url}/?user={user}&channel={channel}")
            await page.wait_for_selector("body[data-ready=true][data-live=on]")
            yield page
        finally:
            await browser.close()


async def choose_file(page: Page, typed: str, path: Path) -> None:
    """Type `typed` (a command up to its attachment option) and pick `path` in the file chooser that
    Enter opens there, as a person does."""
    box = page.locator("#command-input")
    await box.press_sequentially(typed)
    async with page.expect_file_chooser() as chooser:
        await box.press("Enter")
    await (await chooser.value).set_files(str(path))
