"""Creating and editing messages from a bot's payload (JSON or multipart with `files[n]`).

Shared by the channel routes and the interaction/webhook routes, so a message made either way follows
the same rules: validation, attachment size, attachment lists on edit (v10: `attachments` lists every
attachment to keep, new ones by their upload index).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from midway import discord_limits as limits
from playground.errors import ApiError, FormErrors
from playground.mentions import resolve_pings
from playground.state import Attachment, Channel, Message, User, World
from playground.validation import check_message

EDITABLE_FLAGS = limits.FLAG_SUPPRESS_EMBEDS


@dataclass
class Upload:
    """One uploaded file: `files[index]` of a multipart request."""

    index: int
    filename: str
    data: bytes
    content_type: str | None = None


def make_attachment(world: World, upload: Upload, meta: dict[str, Any] | None = None) -> Attachment:
    meta = meta or {}
    width = height = None
    try:
        # Image.open only reads the header: cheap even for large files.
        with Image.open(io.BytesIO(upload.data)) as image:
            width, height = image.size
    except Exception:  # not an image: Discord leaves width/height out
        pass
    content_type = upload.content_type
    if content_type in (None, "application/octet-stream") and width is not None:
        content_type = f"image/{(upload.filename.rsplit('.', 1)[-1] or 'png').lower()}"
    return Attachment(world.snowflake(), meta.get("filename") or upload.filename, upload.data,
                      content_type, width, height, meta.get("description"))


def check_sizes(uploads: list[Upload], size_limit: int) -> None:
    for upload in uploads:
        if len(upload.data) > size_limit:
            raise ApiError(413, 40005, "Request entity too large")


def _reference(world: World, channel: Channel, payload: dict[str, Any]) -> int | None:
    reference = payload.get("message_reference")
    if not reference or reference.get("message_id") is None:
        return None
    target = world.messages.get(int(reference["message_id"]))
    if target is None or target.channel_id != channel.id:
        if reference.get("fail_if_not_exists") is False:
            return None
        errors = FormErrors()
        errors.add(("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
        errors.raise_if_any()
    return int(reference["message_id"])


def create_message(world: World, channel: Channel, author: User, payload: dict[str, Any],
                   uploads: list[Upload], *, size_limit: int = limits.ATTACHMENT_SIZE,
                   allowed_flags: int | None = None, **fields: Any) -> Message:
    """Validate and store a new message; `fields` sets extras (ephemeral_for, interaction, type...)."""
    check_message(payload, creating=True, file_count=len(uploads), allowed_flags=allowed_flags,
                  root=fields.pop("error_root", ()))
    check_sizes(uploads, size_limit)
    metas = {str(m.get("id")): m for m in payload.get("attachments") or []}
    message = Message(
        id=world.snowflake(),
        channel_id=channel.id,
        guild_id=channel.guild_id,
        author=author,
        content=payload.get("content") or "",
        embeds=list(payload.get("embeds") or []),
        components=list(payload.get("components") or []),
        attachments=[make_attachment(world, u, metas.get(str(u.index))) for u in uploads],
        flags=int(payload.get("flags") or 0),
        reference_id=_reference(world, channel, payload),
        created_at=world.clock.utcnow(),
        nonce=str(payload["nonce"]) if payload.get("nonce") is not None else None,
        **fields,
    )
    replied = world.messages.get(message.reference_id) if message.reference_id is not None else None
    message.pings = resolve_pings(message.content, payload.get("allowed_mentions"),
                                  replied.author.id if replied is not None else None)
    return world.add_message(message)


def edit_message(world: World, message: Message, payload: dict[str, Any], uploads: list[Upload], *,
                 size_limit: int = limits.ATTACHMENT_SIZE, root: tuple[str, ...] = ()) -> Message:
    """Apply an edit: only the keys present change; `attachments` lists what to keep (v10)."""
    check_message(payload, creating=False, file_count=len(uploads), root=root)
    check_sizes(uploads, size_limit)
    new_attachments = _edited_attachments(world, message, payload, uploads)
    empty = not any((payload.get("content", message.content), payload.get("embeds", message.embeds),
                     payload.get("components", message.components), new_attachments))
    if empty:
        raise ApiError(400, 50006, "Cannot send an empty message")
    for key in ("content", "embeds", "components"):
        if key in payload:
            setattr(message, key, payload[key] if payload[key] is not None else ([] if key != "content" else ""))
    if "content" in payload:
        # Discord parses the edited content again (an edit notifies no one, but the fields follow it).
        message.pings = resolve_pings(message.content, payload.get("allowed_mentions"))
    if payload.get("flags") is not None:
        keep = message.flags & ~EDITABLE_FLAGS & ~limits.FLAG_LOADING
        message.flags = keep | (int(payload["flags"]) & EDITABLE_FLAGS)
    else:
        # Editing a deferred ("thinking") response turns it into the real message.
        message.flags &= ~limits.FLAG_LOADING
    message.attachments = new_attachments
    world.touch_message(message)
    return message


def _edited_attachments(world: World, message: Message, payload: dict[str, Any],
                        uploads: list[Upload]) -> list[Attachment]:
    if "attachments" not in payload or payload["attachments"] is None:
        return message.attachments + [make_attachment(world, u) for u in uploads]
    listed = {str(meta.get("id")): meta for meta in payload["attachments"]}
    kept = [a for a in message.attachments if str(a.id) in listed]
    added = [make_attachment(world, u, listed.get(str(u.index))) for u in uploads]
    return kept + added
