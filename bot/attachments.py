"""Images users upload with a command (/blend's, /describe's): checked from what Discord says about them,
then downloaded at once and kept as blobs, so the worker reads them from Redis like any other image."""

from __future__ import annotations

import asyncio

import discord

from bot.services import Services
from midway.prompt.tokens import IMAGE_EXTENSIONS

# Each image must arrive inside Discord's 3 s answer window, and travels to the worker through Redis.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 2.0
_BLOB_TYPES = ("image/png", "image/jpeg", "image/webp")


class AttachmentError(ValueError):
    """An upload that cannot be used; the message is for the user."""


def check_attachment(name: str, attachment: discord.Attachment) -> None:
    """Refuse, by the option's `name`, an upload that is not an image or is too big (before any download)."""
    filename = attachment.filename.lower()
    is_image = (attachment.content_type or "").startswith("image/") or filename.endswith(IMAGE_EXTENSIONS)
    if not is_image:
        raise AttachmentError(f"{name} ({attachment.filename}) is not an image.")
    if attachment.size > MAX_IMAGE_BYTES:
        raise AttachmentError(f"{name} ({attachment.filename}) is {attachment.size / 2**20:.1f} MB; "
                              f"the limit is {MAX_IMAGE_BYTES // 2**20} MB.")


async def store_attachments(bot: Services, attachments: list[discord.Attachment]) -> list[str]:
    """Download every image at once (they must all arrive within Discord's 3 s) and keep them as blobs."""
    try:
        async with asyncio.timeout(DOWNLOAD_TIMEOUT_S):
            datas = await asyncio.gather(*(attachment.read() for attachment in attachments))
    except (TimeoutError, discord.HTTPException) as error:
        raise AttachmentError(f"Could not download the images ({type(error).__name__}); try again.") from None
    refs = []
    for attachment, data in zip(attachments, datas, strict=True):
        if len(data) > MAX_IMAGE_BYTES:
            raise AttachmentError(f"{attachment.filename} is larger than {MAX_IMAGE_BYTES // 2**20} MB.")
        content_type = (attachment.content_type or "").split(";")[0]
        if content_type not in _BLOB_TYPES:
            content_type = "application/octet-stream"  # a GIF, say: the worker decodes it all the same
        refs.append(await bot.backend.put_blob(data, content_type))
    return refs
