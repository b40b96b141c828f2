"""Checks shared by commands and buttons: who may do what, and the user-facing refusals."""

from __future__ import annotations

import discord

from bot.policy import ChannelLimits
from bot.store import ChannelSettings
from midway.prompt.errors import PromptError


def is_channel_admin(interaction: discord.Interaction) -> bool:
    """Manage Channels, checked here too: `default_member_permissions` is only a default that a
    server can override per role, and a forged or replayed interaction never went through it."""
    permissions = interaction.permissions
    return bool(permissions.manage_channels or permissions.administrator)


NOT_ADMIN = "**Missing permission**\nYou need the Manage Channels permission to do that."

# What delivering a job takes in its channel: its messages are posted and edited through the channel
# (not the interaction, whose token lasts 15 minutes), each result replies to its parent (Read Message
# History) and carries its image (Attach Files).
POST_PERMISSIONS = {"view_channel": "View Channel", "send_messages": "Send Messages",
                    "attach_files": "Attach Files", "read_message_history": "Read Message History"}


def cannot_post_here(interaction: discord.Interaction) -> str | None:
    """The refusal when Midway lacks a permission its results need in this channel, checked before a
    job is made: otherwise the GPU would run it and Discord refuse its result. None when all is there
    (or Discord sent no app_permissions, as in a DM)."""
    permissions = interaction.app_permissions
    if permissions.value == 0:
        return None
    missing = [label for name, label in POST_PERMISSIONS.items() if not getattr(permissions, name)]
    if not missing:
        return None
    return (f"**Can't post here**\nMidway is missing {', '.join(f'**{label}**' for label in missing)} in this "
            "channel, so it could not show your images. Nothing was made; ask an admin to allow it.")


def prompt_error(error: PromptError, prompt: str) -> str:
    title = "Invalid parameter" if error.param else "Invalid prompt"
    return f"**{title}**\n{error.message}\n-# /imagine {prompt[:200]}"


def limits_of(channel: ChannelSettings) -> ChannelLimits:
    return ChannelLimits(max_jobs_per_user=channel.max_jobs_per_user, max_steps=channel.max_steps,
                         max_side=channel.max_side)
