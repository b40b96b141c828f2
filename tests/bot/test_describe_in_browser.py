"""/describe and /shorten as a person uses them on the playground page, in a real browser, against the
real Midway bot and the session's worker (the tiny BLIP captioner, the tiny engine's text encoder): pick
a file, read the four prompts, open one, submit it and see its grid; shorten a prompt and see its words
bold and struck and five prompts to imagine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import expect

from playground.driver import Playground
from tests.browser import choose_file, needs_chromium, open_page

pytestmark = [pytest.mark.slow, pytest.mark.browser, needs_chromium]

# A job runs on the worker between the command and the answer: more than the page's usual 10 s.
ANSWER_MS = 60_000


async def test_describe_then_imagine_a_prompt_in_the_page(pg: Playground, worker, midway, tmp_path: Path) -> None:
    picture = tmp_path / "wide.png"
    Image.new("RGB", (96, 64), (200, 60, 30)).save(picture)
    errors: list[str] = []
    async with open_page(pg.base_url, errors, user="alice") as page:
        box = page.locator("#command-input")
        await choose_file(page, "/describe image:", picture)
        await expect(box).to_have_value("/describe image:wide.png")
        await box.press("Enter")

        answer = page.locator("[data-testid=message]").filter(has_text="4️⃣")
        await expect(answer).to_have_count(1, timeout=ANSWER_MS)
        # One embed: the described image in it, under it the four prompts, each with the image's shape as
        # its --ar; the image is not shown a second time as a plain attachment.
        embed = answer.locator("[data-testid=embed]")
        await expect(embed.locator("img[data-testid=embed-image]")).to_be_visible()
        await expect(answer.locator("img[data-testid=attachment]")).to_have_count(0)
        description = embed.locator(".embed-description")
        for number in ("1️⃣", "2️⃣", "3️⃣", "4️⃣"):
            await expect(description).to_contain_text(number)
        await expect(description).to_contain_text("--ar 3:2")
        for label in ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄", "Imagine all"):
            await expect(answer.locator("button", has_text=label)).to_be_enabled()

        await answer.locator("button", has_text="2️⃣").click()
        modal = page.locator("[data-testid=modal]")
        await expect(modal).to_contain_text("Imagine This!")
        field = modal.locator("[data-testid=modal-field]")
        # The second prompt (each of the four starts from its own medium), editable.
        await expect(field).to_have_value(re.compile(r"^a painting of.+ --ar 3:2\s*$"))
        await field.fill("a lighthouse at dusk --ar 3:2")
        await modal.locator("[data-testid=modal-submit]").click()
        await expect(modal).to_have_count(0)
        grid = page.locator("[data-testid=message]").filter(has_text="a lighthouse at dusk").filter(
            has=page.locator("button", has_text="U1"))
        await expect(grid.locator("img[data-testid=attachment]")).to_be_visible(timeout=ANSWER_MS)
        await expect(grid.locator("[data-testid=content]")).to_contain_text("(fast)")
    assert errors == [], f"the page raised or logged errors: {errors}"


async def test_shorten_shows_the_words_that_carry_the_prompt(pg: Playground, worker, midway) -> None:
    errors: list[str] = []
    async with open_page(pg.base_url, errors, user="alice") as page:
        box = page.locator("#command-input")
        await box.press_sequentially("/shor")
        await box.press("Enter")
        await expect(box).to_have_value("/shorten ")
        await box.press_sequentially("a very detailed oil painting of a lighthouse on a cliff --ar 3:2")
        await box.press("Enter")

        answer = page.locator("[data-testid=message]").filter(has_text="SHORTENED PROMPTS")
        await expect(answer).to_have_count(1, timeout=ANSWER_MS)
        embed = answer.locator("[data-testid=embed]")
        description = embed.locator(".embed-description")
        # The words that carry the prompt in bold, the rest struck through, as Discord renders `~~`.
        await expect(description.locator("s").first).to_be_visible()
        assert await description.locator("strong").count() > 2  # the two headings and the kept words
        await expect(description).to_contain_text("IMPORTANT TOKENS")
        for label in ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"):
            await expect(answer.locator("button", has_text=label)).to_be_enabled()
        await expect(description).to_contain_text("--ar 3:2")
        await expect(embed.locator(".embed-footer")).to_have_text("Click on a button to imagine")
    assert errors == [], f"the page raised or logged errors: {errors}"
