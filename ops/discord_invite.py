"""The OAuth2 invite URL for a bot token (pure; no network)."""

from __future__ import annotations

import base64
import binascii

# View Channel, Send Messages, Embed Links, Attach Files, Read Message History: all the bot needs to post
# grids and edit its own messages. No administrator, no privileged intents.
BOT_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16)
SCOPES = "bot%20applications.commands"


def application_id_from_token(token: str) -> str | None:
    """A bot token's first segment is the base64 of the bot's user id, which equals its application id."""
    first = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if decoded.isdigit() else None


def invite_url(application_id: str) -> str:
    return (f"https://discord.com/oauth2/authorize?client_id={application_id}"
            f"&scope={SCOPES}&permissions={BOT_PERMISSIONS}")
