"""The page's pure scripts (markdown.js, commands.js) in headless Chromium, without a playground:
command lines become /slash requests, and Discord's markdown renders safely."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium

STATIC = Path(__file__).resolve().parents[2] / "playground" / "static"

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
async def bare_page():
    """The pure scripts loaded alone, in one browser for all the cases: each launch costs a second."""
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
    # Discord ends a bare link before closing markup and trailing punctuation, keeping balanced brackets.
    "**a fox like https://example.com/fox** - x": '<strong>a fox like <a href="https://example.com/fox" '
    'target="_blank" rel="noopener">https://example.com/fox</a></strong> - x',
    "(see https://w.org/Fox_(film)), or https://x.io.": '(see <a href="https://w.org/Fox_(film)" '
    'target="_blank" rel="noopener">https://w.org/Fox_(film)</a>), or <a href="https://x.io" '
    'target="_blank" rel="noopener">https://x.io</a>.',
    # "-# " starts a line of subtext (the bot's prompt echo under an error), inline markdown still applies.
    "**Invalid prompt**\n-# /imagine a **fox**\nnot -# here": "<strong>Invalid prompt</strong>\n"
    '<span class="subtext">/imagine a <strong>fox</strong></span>\nnot -# here',
}

# A reply's one-line preview of its parent: markdown marks go, the text stays as typed.
STRIPPED = {
    "**snake_case_fox** - <@42> (Done)": "snake_case_fox - @alice (Done)",
    "__under__ *it* _it_ ~~gone~~ `a*b*`": "under it it gone a*b*",
    "**a fox https://x.io/a_b_** (12%)\n-# 4 images": "a fox https://x.io/a_b_ (12%)\n4 images",
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


async def test_a_reply_preview_strips_only_markdown_pairs(bare_page) -> None:
    stripped = await bare_page.evaluate(
        "(texts) => Object.fromEntries(texts.map((t) => [t, stripMarkdown(t, (id) => id === '42' ? 'alice' : '?')]))",
        list(STRIPPED),
    )
    assert stripped == STRIPPED
