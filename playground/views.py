"""JSON views of the world for the HTTP driver and the page (ids as strings: JavaScript numbers lose
precision above 2**53, and snowflakes are larger)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.interactions import OpenModal
from playground.payloads import attachment_url
from playground.state import Message, World, WorldEvent
from playground.validation import LABEL

if TYPE_CHECKING:
    from playground.driver import Playground

COMPONENT_KEYS = ("type", "label", "emoji", "custom_id", "style", "url", "disabled", "placeholder", "options")


def _name(world: World, user_id: int | None) -> str | None:
    return None if user_id is None else world.users[user_id].name


def message_view(world: World, message: Message) -> dict[str, Any]:
    interaction = message.interaction
    return {
        "id": str(message.id),
        "channel": world.channels[message.channel_id].name,
        "author": {"id": str(message.author.id), "name": message.author.name, "bot": message.author.bot},
        "content": message.content,
        "attachments": [
            {"id": str(a.id), "filename": a.filename, "url": attachment_url(world, message.channel_id, a),
             "content_type": a.content_type, "width": a.width, "height": a.height, "size": a.size}
            for a in message.attachments
        ],
        # Rows of components, each row a list (the action row wrapper dropped).
        "components": [
            [{key: c.get(key) for key in COMPONENT_KEYS if key in c} for c in row.get("components", [])]
            for row in message.components
        ],
        "embeds": message.embeds,
        "reference": None if message.reference_id is None else str(message.reference_id),
        "edits": message.edits,
        "flags": message.flags,
        "loading": message.loading,
        "ephemeral_for": _name(world, message.ephemeral_for),
        "interaction_metadata": None if interaction is None else {
            "name": interaction.get("name"),
            "user": {"id": interaction["user"]["id"], "name": interaction["user"]["username"]},
        },
        "timestamp": message.created_at.isoformat(),
        "edited_timestamp": None if message.edited_at is None else message.edited_at.isoformat(),
    }


def modal_view(world: World, modal: OpenModal) -> dict[str, Any]:
    fields = []
    for top in modal.components:
        children = [top["component"] | {"label": top.get("label")}] if top.get("type") == LABEL else top.get(
            "components") or []
        for child in children:
            fields.append({key: child.get(key) for key in (
                "custom_id", "label", "style", "placeholder", "min_length", "max_length", "value")}
                | {"required": child.get("required", True), "type": child.get("type")})
    return {"custom_id": modal.custom_id, "title": modal.title, "user": _name(world, modal.user_id),
            "channel": world.channels[modal.channel_id].name,
            "message_id": None if modal.message_id is None else str(modal.message_id), "fields": fields}


def state_view(pg: Playground, user: str | None = None) -> dict[str, Any]:
    world = pg.world
    guild = world.default_guild
    commands = pg.commands(user) if user else pg.server.registry.visible(guild, world.users[guild.owner_id])
    return {
        "guilds": [
            {"id": str(g.id), "name": g.name,
             "channels": [{"id": str(c.id), "name": c.name, "nsfw": c.nsfw} for c in g.channels.values()]}
            for g in world.guilds.values()
        ],
        "users": [
            {"id": str(u.id), "name": u.name, "admin": guild.is_admin(u.id)}
            for u in world.users.values() if not u.bot
        ],
        "bot": {"id": str(world.bot.id), "name": world.bot.name, "connected": pg.server.gateway.connected},
        "commands": [
            {"name": c.name, "description": c.data.get("description", ""), "options": c.data.get("options") or [],
             "default_member_permissions": None if c.required_permissions is None else str(c.required_permissions)}
            for c in commands
        ],
    }


def event_view(world: World, event: WorldEvent, viewer: str | None) -> dict[str, Any] | None:
    """The SSE payload for a world event, or None when this stream should not carry it."""
    channel = world.channels.get(event.channel_id or 0)
    if event.kind in ("message", "message_delete") and event.message is not None:
        owner = _name(world, event.message.ephemeral_for)
        if viewer is not None and owner is not None and owner != viewer:
            return None
        # A dismissed message stays out of its user's view, whatever the bot edits in it later.
        if event.kind == "message" and event.message.dismissed:
            return None
        return {"type": event.kind, "channel": channel.name if channel else None,
                "message": message_view(world, event.message)}
    if event.kind == "modal":
        modal: OpenModal = event.data["modal"]
        if viewer is not None and _name(world, modal.user_id) != viewer:
            return None
        return {"type": "modal", "channel": channel.name if channel else None, "modal": modal_view(world, modal),
                "custom_id": modal.custom_id, "user": _name(world, modal.user_id),
                "closed": bool(event.data.get("closed"))}
    if event.kind == "state":
        return {"type": "state"}
    return None
