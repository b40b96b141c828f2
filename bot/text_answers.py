"""/describe's and /shorten's answers, posted as Midjourney posts them: an embed, not message content
(shared/reference/midjourney.md §1 and §2a: "Describe and shorten return embeds rather than content").

Pure functions of the job, like bot/messages.py; the buttons under them are messages.text_buttons, and the
post is bot/results.py's. The content is only the requester's mention (the ping Midjourney's reply gives):
the prompts live in the embed's description, so nothing reads them back from the message (1️⃣–4️⃣ read
the job's record, bot/prompt_craft.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import discord

from bot.messages import NUMBERS, mention
from midway.blobs import is_ref
from midway.contract import Job, Operation
from midway.prompt.shorten import marked_prompt, shorten_input

# Each listed prompt's share of the embed: four or five of them stay readable, and with the marked
# prompt's MAX_MARKED well inside Discord's 4096-character description (midway/discord_limits.py).
MAX_LISTED_PROMPT = 320
MAX_MARKED = 1200
SHORTEN_FOOTER = "Click on a button to imagine"
# Discord's embed image takes only http(s) links and attachment:// names (else 400, `Scheme "x" is not
# supported`); /describe's `link` is already bounded to this (bot/commands/describe.py MAX_LINK).
MAX_SHOWN_LINK = 1000


@dataclass(frozen=True)
class TextAnswer:
    """A text job's answer: the message content, and its one embed's description, footer and image."""

    content: str
    description: str
    footer: str | None = None
    image_url: str | None = None

    def embed(self) -> discord.Embed:
        embed = discord.Embed(description=self.description)
        if self.footer:
            embed.set_footer(text=self.footer)
        if self.image_url:
            embed.set_image(url=self.image_url)
        return embed


def _listed(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LISTED_PROMPT else text[: MAX_LISTED_PROMPT - 1] + "…"


def describe_answer(job: Job, image_url: str | None) -> TextAnswer:
    """The image's four prompts, numbered like their buttons, one paragraph each, under the image."""
    prompts = "\n\n".join(f"{NUMBERS[i]} {_listed(text)}" for i, text in enumerate(job.texts[:4]))
    return TextAnswer(mention(job), prompts, image_url=image_url)


def shorten_answer(job: Job) -> TextAnswer:
    """Midjourney's two sections: the prompt with its important words **bold** and the rest ~~struck~~,
    then the five shorter prompts, most to least aggressive; the footer says what the buttons do."""
    source = shorten_input(job.spec.full_prompt or job.spec.prompt)
    marked = marked_prompt(source, job.word_scores) if len(job.word_scores) == len(source.words) else ""
    if len(marked) > MAX_MARKED:
        marked = marked[: MAX_MARKED - 1] + "…"
    prompts = "\n".join(f"{NUMBERS[i]} {_listed(text)}" for i, text in enumerate(job.texts[:5]))
    description = f"**IMPORTANT TOKENS**\n{marked}\n\n**SHORTENED PROMPTS**\n{prompts}"
    return TextAnswer(mention(job), description, footer=SHORTEN_FOOTER)


def text_answer(job: Job, image_url: str | None = None) -> TextAnswer:
    """`image_url`: what /describe's embed shows (`attachment://<thumbnail>`, or shown_link(job))."""
    if job.spec.operation is Operation.describe:
        return describe_answer(job, image_url)
    return shorten_answer(job)


def shown_link(job: Job) -> str | None:
    """The link a /describe read, as its embed's image, when there is no upload to show a thumbnail of.
    Discord fetches an embed's image itself, through its media proxy: neither the bot nor the page's
    readers contact the site. Only a plain public http(s) link is shown (the bot checked its address
    before the job, and the worker read an image from it); one carrying a user name or password is not
    published in an embed."""
    url = job.spec.image_urls[0] if job.spec.image_urls else None
    if url is None or is_ref(url) or len(url) > MAX_SHOWN_LINK:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    return url
