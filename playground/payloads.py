"""Discord JSON shapes for the world's objects, as discord.py parses them (discord/types/*.py).

Snowflakes and permission bitsets are strings on the wire, as Discord sends them.
"""

from __future__ import annotations

from typing import Any

from playground.state import Attachment, Channel, Guild, Message, Role, User, World

JOINED_AT = "2024-01-01T00:00:00+00:00"


def user_payload(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.name,
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": user.bot,
    }


def member_payload(guild: Guild, user: User, *, with_permissions: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "user": user_payload(user),
        "roles": [str(role_id) for role_id in guild.members.get(user.id, [])],
        "joined_at": JOINED_AT,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "nick": None,
        "pending": False,
    }
    if with_permissions:
        payload["permissions"] = str(guild.permissions_of(user.id))
    return payload


def role_payload(role: Role) -> dict[str, Any]:
    return {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
        "icon": None,
        "unicode_emoji": None,
    }


def channel_payload(channel: Channel) -> dict[str, Any]:
    return {
        "id": str(channel.id),
        "type": channel.type,
        "name": channel.name,
        "guild_id": str(channel.guild_id),
        "position": channel.position,
        "permission_overwrites": [],
        "nsfw": channel.nsfw,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def guild_create_payload(world: World, guild: Guild) -> dict[str, Any]:
    members = [member_payload(guild, world.users[uid]) for uid in guild.members]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "roles": [role_payload(role) for role in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "features": [],
        # member_count == len(members) so discord.py never needs to request member chunks.
        "member_count": len(members),
        "members": members,
        "channels": [channel_payload(ch) for ch in guild.channels.values()],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "large": False,
        "unavailable": False,
        "joined_at": JOINED_AT,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "afk_timeout": 300,
        "system_channel_id": None,
    }


def attachment_url(world: World, channel_id: int, attachment: Attachment) -> str:
    return f"{world.base_url}/cdn/attachments/{channel_id}/{attachment.id}/{attachment.filename}"


def attachment_payload(world: World, channel_id: int, attachment: Attachment) -> dict[str, Any]:
    url = attachment_url(world, channel_id, attachment)
    payload: dict[str, Any] = {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": attachment.size,
        "url": url,
        "proxy_url": url,
    }
    for key in ("content_type", "width", "height", "description"):
        if getattr(attachment, key) is not None:
            payload[key] = getattr(attachment, key)
    return payload


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def message_payload(world: World, message: Message) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "guild_id": str(message.guild_id),
        "type": message.type,
        "author": user_payload(message.author),
        "content": message.content,
        "embeds": message.embeds,
        "components": message.components,
        "attachments": [attachment_payload(world, message.channel_id, a) for a in message.attachments],
        "timestamp": _iso(message.created_at),
        "edited_timestamp": _iso(message.edited_at),
        "flags": message.flags,
        "mentions": [user_payload(world.users.get(user) or User(user, f"user-{user}"))
                     for user in message.pings.users],
        "mention_roles": [str(role) for role in message.pings.roles],
        "mention_everyone": message.pings.everyone,
        "pinned": False,
        "tts": False,
    }
    if message.nonce is not None:
        payload["nonce"] = message.nonce
    if message.webhook_id is not None:
        payload["webhook_id"] = str(message.webhook_id)
        payload["application_id"] = str(world.application_id)
    if message.interaction is not None:
        payload["interaction_metadata"] = message.interaction
    if message.reference_id is not None:
        payload["message_reference"] = {
            "type": 0,
            "message_id": str(message.reference_id),
            "channel_id": str(message.channel_id),
            "guild_id": str(message.guild_id),
        }
        referenced = world.messages.get(message.reference_id)
        nested = None if referenced is None else message_payload(world, referenced)
        if nested is not None:
            # Discord resolves one level only.
            nested.pop("message_reference", None)
            nested.pop("referenced_message", None)
        payload["referenced_message"] = nested
    return payload
