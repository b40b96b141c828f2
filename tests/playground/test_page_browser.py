"""The playground page in a real browser: a person types /imagine, sees the bot's image and button
appear, clicks the button and sees the result, all against the real emulator and an unmodified
discord.py bot. Headless Debian Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord import app_commands
from discord.ext import commands
from PIL import Image
from playwright.async_api import async_playwright, expect

from playground.driver import Playground
from tests.playground.minibot import TOKEN

CHROMIUM = Path("/usr/bin/chromium")
STATIC = Path(__file__).resolve().parents[2] / "playground" / "static"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EXPECT_MS = 10_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (scripts/install.sh --dev installs it)"
    ),
]


def png(color: tuple[int, int, int], size: int = 32) -> discord.File:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    buffer.seek(0)
    return discord.File(buffer, "grid.png")


class UpscaleView(discord.ui.View):
    def __init__(self, prompt: str, *, done: bool = False) -> None:
        super().__init__(timeout=None)
        self.prompt = prompt
        self.upscale.disabled = done

    @discord.ui.button(label="U1", emoji="🔍", style=discord.ButtonStyle.primary, custom_id="fox:u1")
    async def upscale(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(
            content=f"**{self.prompt}** - upscaled by {interaction.user.mention}",
            view=UpscaleView(self.prompt, done=True),
        )
        await interaction.followup.send("Image #1", file=png((40, 40, 200), 48))


class RemixForm(discord.ui.Modal, title="Remix prompt"):
    prompt = discord.ui.TextInput(label="New prompt", custom_id="prompt", style=discord.TextStyle.paragraph)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"**{self.prompt.value}** - {interaction.user.mention} (remix)")


class RemixView(discord.ui.View):
    def __init__(self, prompt: str) -> None:
        super().__init__(timeout=None)
        self.prompt = prompt

    @discord.ui.button(label="Remix", style=discord.ButtonStyle.success, custom_id="fox:remix")
    async def remix(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        form = RemixForm()
        form.prompt.default = self.prompt
        await interaction.response.send_modal(form)


class FoxBot(commands.Bot):
    """Answers /imagine like Midway does (a waiting message, a live preview edit, then the grid), plus
    an admin-only /remix that answers privately and opens a modal, and /describe that takes an upload."""

    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1)

    async def setup_hook(self) -> None:
        @self.tree.command(description="Create images from a prompt")
        @app_commands.describe(prompt="The prompt to imagine")
        async def imagine(interaction: discord.Interaction, prompt: str) -> None:
            head = f"**{prompt}** - {interaction.user.mention}"
            await interaction.response.send_message(f"{head} (Waiting to start)")
            await interaction.edit_original_response(content=f"{head} (50%)", attachments=[png((90, 90, 90))])
            await interaction.edit_original_response(
                content=f"{head} (fast)", attachments=[png((200, 40, 40))], view=UpscaleView(prompt)
            )

        @self.tree.command(description="Remix a prompt (admins only)")
        @app_commands.default_permissions(administrator=True)
        async def remix(interaction: discord.Interaction, prompt: str) -> None:
            await interaction.response.send_message(f"Remix `{prompt}`?", view=RemixView(prompt), ephemeral=True)

        @self.tree.command(description="Describe an image")
        async def describe(interaction: discord.Interaction, image: discord.Attachment) -> None:
            # Like Midjourney's /describe: an embed that shows the uploaded image itself.
            embed = discord.Embed(
                title="Describe", description=f"1️⃣ a {image.width}x{image.height} **fox**", color=0x3BA55C
            )
            embed.set_image(url=f"attachment://{image.filename}")
            await interaction.response.send_message(embed=embed, file=await image.to_file())

        await self.tree.sync()


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
async def page(pg: Playground, fox_bot: FoxBot):
    # A loaded 2-core machine runs bot, emulator and browser at once: allow more than the 5 s default.
    expect.set_options(timeout=EXPECT_MS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 800})
        page.set_default_timeout(EXPECT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{pg.base_url}/?user=admin&channel=general")
        await page.wait_for_selector("body[data-ready=true][data-live=on]")
        yield page
        await browser.close()
        assert errors == [], f"the page raised JavaScript errors: {errors}"


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
    await box.press_sequentially("/describe ")
    async with page.expect_file_chooser() as chooser:
        await box.press("Enter")
    await (await chooser.value).set_files(str(picture))
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


@pytest.fixture
async def bare_page():
    """The page's pure scripts (markdown.js, commands.js) loaded alone, without a playground."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.set_content("<!doctype html><title>scripts</title>")
        for name in ("markdown.js", "commands.js"):
            await page.add_script_tag(path=str(STATIC / name))
        yield page
        await browser.close()


COMMANDS = [
    {"name": "imagine", "description": "Create", "options": [{"name": "prompt", "type": 3, "required": True}]},
    {
        "name": "engine",
        "description": "Engines",
        "options": [
            {
                "name": "set",
                "type": 1,
                "description": "Choose",
                "options": [
                    {"name": "engine", "type": 3, "required": True, "autocomplete": True},
                    {"name": "lane", "type": 3, "choices": [{"name": "fast", "value": "fast"}]},
                ],
            },
            {"name": "show", "type": 1, "description": "Show"},
        ],
    },
    {
        "name": "settings",
        "description": "Settings",
        "options": [{"name": "steps", "type": 4}, {"name": "tile", "type": 5}],
    },
]


# One browser for all the cases: each launch costs a second on a small machine.
COMMAND_LINES = {
    "/imagine a red fox --ar 16:9": {"command": "imagine", "options": {"prompt": "a red fox --ar 16:9"}},
    "/imagine prompt:a fox: sly": {"command": "imagine", "options": {"prompt": "a fox: sly"}},
    "/engine set engine:tiny": {"command": "engine set", "options": {"engine": "tiny"}},
    "/engine set lane:fast engine:sd 15": {"command": "engine set", "options": {"engine": "sd 15", "lane": "fast"}},
    "/engine show": {"command": "engine show", "options": {}},
    "/settings steps:20 tile:yes": {"command": "settings", "options": {"steps": 20, "tile": True}},
    "/settings steps:lots": 'steps must be a whole number, not "lots"',
    "/imagine": "/imagine needs prompt",
    "/engine set lane:fast": "/engine set needs engine",
    "/settings hello": '/settings takes named options (steps: tile:), not "hello"',
    "/teleport home": "Unknown command /teleport",
}

MARKDOWN = {
    "**bold** *it* __under__ ~~gone~~": "<strong>bold</strong> <em>it</em> <u>under</u> <s>gone</s>",
    "`a **b**` <@42>": '<code>a **b**</code> <span class="mention">@alice</span>',
    "<script>alert(1)</script>": "&lt;script&gt;alert(1)&lt;/script&gt;",
    'see https://x.io/a_b?q=1&r=2 "now"': 'see <a href="https://x.io/a_b?q=1&amp;r=2" target="_blank" '
    'rel="noopener">https://x.io/a_b?q=1&amp;r=2</a> &quot;now&quot;',
    "[docs](https://d.io) <https://e.io>": '<a href="https://d.io" target="_blank" rel="noopener">docs</a> '
    '<a href="https://e.io" target="_blank" rel="noopener">https://e.io</a>',
}


async def test_command_lines_become_slash_requests(bare_page) -> None:
    results = await bare_page.evaluate(
        """([lines, commands]) => Object.fromEntries(lines.map((line) => {
            try { return [line, buildSlashRequest(line, flattenCommands(commands))]; }
            catch (err) { return [line, err.message]; }
        }))""",
        [list(COMMAND_LINES), COMMANDS],
    )
    assert results == COMMAND_LINES


async def test_discord_markdown_renders_safely(bare_page) -> None:
    rendered = await bare_page.evaluate(
        "(texts) => Object.fromEntries(texts.map((t) => [t, renderMarkdown(t, (id) => id === '42' ? 'alice' : '?')]))",
        list(MARKDOWN),
    )
    assert rendered == MARKDOWN
    times = await bare_page.evaluate("renderMarkdown('<t:0:d> and <t:4102444800:R>', () => '?')")
    assert "1/1/1970" in times or "12/31/1969" in times  # the reader's own time zone
    assert "in 7" in times  # the year 2100, some seven decades away
