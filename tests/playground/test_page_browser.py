"""The playground page in a real browser: a person types /imagine, sees the bot's image and button
appear, clicks the button and sees the result, all against the real emulator and an unmodified
discord.py bot. Headless Debian Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import expect

from playground.driver import Playground
from tests.browser import choose_file, needs_chromium, open_page
from tests.playground.foxbot import FoxBot
from tests.playground.minibot import TOKEN

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
async def fox_bot(pg: Playground) -> AsyncIterator[FoxBot]:
    bot = FoxBot()
    task = asyncio.create_task(bot.start(TOKEN))
    await pg.wait_until_commands_synced(names=["imagine"])
    yield bot
    await bot.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 5)


@pytest.fixture
def page_errors() -> list[str]:
    """JavaScript errors and console errors (a failed request logs one) the page produced."""
    return []


@pytest.fixture
async def page(pg: Playground, fox_bot: FoxBot, page_errors: list[str]):
    async with open_page(pg.base_url, page_errors) as page:
        yield page
    assert page_errors == [], f"the page raised or logged errors: {page_errors}"


async def test_imagine_then_click_shows_the_bots_answers_live(page) -> None:
    box = page.locator("#command-input")
    await box.press_sequentially("/ima")
    # The command picker lists /imagine with its description; Enter takes it and hints its option.
    picker = page.locator("[data-testid=popup-item]")
    await expect(picker).to_have_count(1)
    await expect(picker).to_contain_text("Create images from a prompt")
    await box.press("Enter")
    await expect(box).to_have_value("/imagine ")
    await expect(page.locator("[data-testid=popup-heading]")).to_contain_text("prompt")
    await box.press_sequentially("a red fox --ar 16:9")
    await box.press("Enter")
    await expect(box).to_have_value("")

    # The bot's three steps (waiting, preview, grid) arrive as edits of one message over the live stream.
    message = page.locator("[data-testid=message]").filter(has_text="a red fox")
    await expect(message.locator("[data-testid=content]")).to_contain_text("(fast)")
    await expect(message).to_have_count(1)
    await expect(message.locator("strong")).to_have_text("a red fox --ar 16:9")
    await expect(message.locator(".mention")).to_have_text("@admin")
    await expect(message.locator(".bot-tag")).to_have_text("BOT")
    await expect(message.locator(".edited")).to_be_visible()
    image = message.locator("img[data-testid=attachment]")
    await expect(image).to_be_visible()
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 32
    button = message.locator("[data-custom-id='fox:u1']")
    await expect(button).to_have_text("🔍U1")
    await expect(button).to_have_class("btn style-1")
    await expect(button).to_be_enabled()

    await button.click()
    await expect(message.locator("[data-testid=content]")).to_contain_text("upscaled by @admin")
    await expect(button).to_be_disabled()
    followup = page.locator("[data-testid=message]").filter(has_text="Image #1")
    await expect(followup.locator("img[data-testid=attachment]")).to_be_visible()
    await expect(page.locator("#error-bar")).to_be_hidden()

    # Another channel is empty; coming back loads the conversation from the playground again.
    await page.locator("[data-channel=art]").click()
    await expect(page.locator("#channel-name")).to_have_text("art")
    await expect(page.locator("[data-testid=message]")).to_have_count(0)
    await page.locator("[data-channel=general]").click()
    await expect(message.locator("[data-custom-id='fox:u1']")).to_be_disabled()
    await expect(followup).to_have_count(1)


async def test_a_refused_command_is_shown_inline(page) -> None:
    box = page.locator("#command-input")
    await box.fill("/imagine")
    await box.press("Enter")
    await expect(page.locator("#error-bar")).to_contain_text("/imagine needs prompt")
    await box.fill("/teleport home")
    await box.press("Enter")
    await expect(page.locator("#error-bar")).to_contain_text("Unknown command /teleport")
    await expect(box).to_have_value("/teleport home")


async def test_private_reply_modal_and_user_switch(page) -> None:
    box = page.locator("#command-input")
    await box.fill("/remix prompt:a red fox")
    await box.press("Enter")
    private = page.locator("[data-testid=message]").filter(has_text="Remix a red fox?")
    await expect(private.locator("[data-testid=ephemeral-note]")).to_contain_text("Only you can see this")

    await private.locator("[data-custom-id='fox:remix']").click()
    modal = page.locator("[data-testid=modal]")
    await expect(modal).to_contain_text("Remix prompt")
    field = modal.locator("[data-testid=modal-field]")
    await expect(field).to_have_value("a red fox")
    await field.fill("a blue fox")
    await modal.locator("[data-testid=modal-submit]").click()
    await expect(modal).to_have_count(0)
    public = page.locator("[data-testid=message]").filter(has_text="a blue fox")
    await expect(public.locator("strong")).to_have_text("a blue fox")

    # alice sees the public answer but not admin's private one, and has no /remix in her picker.
    await page.select_option("#user-select", "alice")
    await expect(private).to_have_count(0)
    await expect(public).to_have_count(1)
    await box.fill("")
    await box.press_sequentially("/")
    await expect(page.locator("[data-testid=popup-item]")).to_have_count(2)
    await expect(page.locator("#command-popup")).not_to_contain_text("/remix")


async def test_an_attachment_option_uploads_the_chosen_file(page, tmp_path: Path) -> None:
    picture = tmp_path / "fox.png"
    Image.new("RGB", (20, 12), (200, 100, 0)).save(picture)
    box = page.locator("#command-input")
    await choose_file(page, "/describe ", picture)
    await expect(box).to_have_value("/describe fox.png")
    await box.press("Enter")
    embed = page.locator("[data-testid=embed]")
    await expect(embed).to_contain_text("Describe")
    await expect(embed.locator("strong")).to_have_text("fox")
    await expect(embed).to_contain_text("a 20x12 fox")
    await expect(embed).to_have_css("border-left-color", "rgb(59, 165, 92)")
    shown = embed.locator("[data-testid=embed-image]")
    await expect(shown).to_be_visible()
    assert await shown.evaluate("img => img.complete && img.naturalWidth") == 20
    # The embedded file is not shown a second time as a plain attachment.
    await expect(page.locator("img[data-testid=attachment]")).to_have_count(0)


async def test_a_cancelled_modal_and_a_dismissed_message_stay_gone(page, pg: Playground) -> None:
    box = page.locator("#command-input")
    await box.fill("/remix prompt:a red fox")
    await box.press("Enter")
    private = page.locator("[data-testid=message]").filter(has_text="Remix a red fox?")
    remix = private.locator("[data-custom-id='fox:remix']")
    modal = page.locator("[data-testid=modal]")
    ready = "body[data-ready=true][data-live=on]"

    # Cancel, Esc and a click beside the dialog each discard the modal, as in Discord: the playground
    # drops it too, so neither a reload nor a user switch brings it back.
    for close in ("cancel", "escape", "backdrop"):
        await remix.click()
        await expect(modal).to_be_visible()
        if close == "cancel":
            await modal.get_by_role("button", name="Cancel").click()
        elif close == "escape":
            await page.keyboard.press("Escape")
        else:
            await page.mouse.click(5, 5)
        await expect(modal).to_have_count(0)
        await pg.wait_until(lambda: True if pg.modals("admin") == [] else None, timeout=5)
    await page.reload()
    await page.wait_for_selector(ready)
    await expect(private).to_have_count(1)
    await expect(modal).to_have_count(0)

    # An open modal shows in the channel it was opened in only.
    await remix.click()
    await expect(modal).to_be_visible()
    await page.goto(f"{pg.base_url}/?user=admin&channel=art")
    await page.wait_for_selector(ready)
    await expect(modal).to_have_count(0)
    await page.goto(f"{pg.base_url}/?user=admin&channel=general")
    await expect(modal).to_be_visible()
    await modal.get_by_role("button", name="Cancel").click()

    # "Dismiss message" removes the private message for its user, for good.
    await private.get_by_role("button", name="Dismiss message").click()
    await expect(private).to_have_count(0)
    await pg.wait_until(lambda: True if pg.messages("general", user="admin") == [] else None, timeout=5)
    await page.select_option("#user-select", "alice")
    await page.select_option("#user-select", "admin")
    await expect(page.locator("#user-select")).to_have_value("admin")
    await page.reload()
    await page.wait_for_selector(ready)
    await expect(private).to_have_count(0)
    await expect(modal).to_have_count(0)


async def test_enter_picks_a_required_option_and_a_refusal_is_no_failed_request(page, page_errors) -> None:
    box = page.locator("#command-input")
    # Discord selects the first option while a required one is missing: Enter picks it, not sends.
    await box.press_sequentially("/grid ")
    await expect(page.locator("#command-popup .selected .popup-name")).to_have_text("prompt:")
    await box.press("Enter")
    await expect(box).to_have_value("/grid prompt:")
    # With every required option given, the rest are optional and Enter sends the line.
    await box.press_sequentially("a fox count:9")
    # The playground refuses a value out of the option's range as Discord's client does: an answer
    # the page shows, not a failed request (which would log an error in the console).
    async with page.expect_response("**/_playground/slash") as answer:
        await box.press("Enter")
    assert (await answer.value).status == 200
    await expect(page.locator("#error-bar")).to_contain_text("must be <= 4")
    await expect(box).to_have_value("/grid prompt:a fox count:9")
    assert page_errors == []


async def test_a_reply_quotes_its_parent_as_edited_and_a_phone_gets_the_whole_width(page) -> None:
    box = page.locator("#command-input")
    await box.fill("/grid prompt:snake_case_fox count:2")
    await box.press("Enter")
    await expect(box).to_have_value("")
    grid = page.locator("[data-testid=message]").filter(has=page.locator("img[data-testid=attachment]"))
    # The grid replies to the progress message; its quote follows the parent's edits (12% -> Done),
    # and drops the markdown marks only (snake_case stays).
    quote = grid.locator("[data-testid=reference]")
    await expect(quote).to_contain_text("@Midway")
    await expect(quote).to_contain_text("snake_case_fox - @admin (Done)")
    # "-# " is Discord's subtext: a small muted line, not literal text.
    progress = page.locator("[data-testid=message]").filter(has_text="(Done)").first
    await expect(progress.locator(".subtext")).to_have_text("2 images")
    await expect(progress.locator("[data-testid=content]")).not_to_contain_text("-#")

    # A phone: the channel list leaves the row, the chat and the grid take the width.
    await page.set_viewport_size({"width": 375, "height": 740})
    await expect(page.locator("#sidebar")).to_be_hidden()
    chat = await page.locator("#chat").bounding_box()
    assert chat is not None and chat["width"] >= 370
    image = await grid.locator("img[data-testid=attachment]").bounding_box()
    assert image is not None and 200 <= image["width"] and image["x"] + image["width"] <= 375
    # The ☰ button opens the channels and the user picker over the chat; picking a channel closes them.
    await page.locator("[data-testid=sidebar-toggle]").click()
    await expect(page.locator("#user-select")).to_be_visible()
    await page.locator("[data-channel=art]").click()
    await expect(page.locator("#sidebar")).to_be_hidden()
    await expect(page.locator("#channel-name")).to_have_text("art")
