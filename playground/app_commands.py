"""The application commands a bot registered, and who may see them.

Global commands live under scope None, guild commands under their guild id. A bulk overwrite keeps
the id of a command whose (type, name) survives, as Discord does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from midway import discord_limits as limits
from playground.state import Guild, User, World, WorldEvent

CHAT_INPUT = 1


@dataclass
class Command:
    id: int
    application_id: int
    guild_id: int | None
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def type(self) -> int:
        return int(self.data.get("type") or CHAT_INPUT)

    @property
    def required_permissions(self) -> int | None:
        value = self.data.get("default_member_permissions")
        return None if value is None else int(value)

    def payload(self) -> dict[str, Any]:
        payload = dict(self.data)
        payload.update(id=str(self.id), application_id=str(self.application_id), type=self.type,
                       version=str(self.id), options=self.data.get("options") or [])
        if self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
        if self.required_permissions is not None:
            payload["default_member_permissions"] = str(self.required_permissions)
        payload.setdefault("description", "")
        return payload


class CommandRegistry:
    def __init__(self, world: World) -> None:
        self.world = world
        self.scopes: dict[int | None, dict[tuple[int, str], Command]] = {}
        # Per-guild command permission overrides (Discord's "Integrations" settings page): command id ->
        # user or role id -> allowed. A server admin can let any role run a command whatever its
        # default_member_permissions say, which is why bots must check permissions themselves.
        self.overrides: dict[tuple[int, int], dict[int, bool]] = {}
        self.synced = asyncio.Event()

    def overwrite(self, guild_id: int | None, commands: list[dict[str, Any]]) -> list[Command]:
        old = self.scopes.get(guild_id, {})
        new: dict[tuple[int, str], Command] = {}
        for data in commands:
            key = (int(data.get("type") or CHAT_INPUT), data["name"])
            command_id = old[key].id if key in old else self.world.snowflake()
            new[key] = Command(command_id, self.world.application_id, guild_id, data)
        self.scopes[guild_id] = new
        self.synced.set()
        self.world.emit(WorldEvent("state"))
        return list(new.values())

    def upsert(self, guild_id: int | None, data: dict[str, Any]) -> Command:
        scope = self.scopes.setdefault(guild_id, {})
        key = (int(data.get("type") or CHAT_INPUT), data["name"])
        command_id = scope[key].id if key in scope else self.world.snowflake()
        scope[key] = Command(command_id, self.world.application_id, guild_id, data)
        self.synced.set()
        self.world.emit(WorldEvent("state"))
        return scope[key]

    def in_scope(self, guild_id: int | None) -> list[Command]:
        return list(self.scopes.get(guild_id, {}).values())

    def by_id(self, guild_id: int | None, command_id: int) -> Command | None:
        return next((c for c in self.in_scope(guild_id) if c.id == command_id), None)

    def delete(self, guild_id: int | None, command_id: int) -> bool:
        scope = self.scopes.get(guild_id, {})
        for key, command in list(scope.items()):
            if command.id == command_id:
                del scope[key]
                return True
        return False

    def find(self, name: str, guild: Guild) -> Command | None:
        """A chat-input command by name: the guild's own first, then global ones."""
        for scope in (guild.id, None):
            command = self.scopes.get(scope, {}).get((CHAT_INPUT, name))
            if command is not None:
                return command
        return None

    def visible(self, guild: Guild, user: User) -> list[Command]:
        commands = {c.name: c for c in self.in_scope(None) if c.type == CHAT_INPUT}
        commands |= {c.name: c for c in self.in_scope(guild.id) if c.type == CHAT_INPUT}
        return [c for c in commands.values() if self.may_use(c, guild, user)]

    def set_override(self, guild: Guild, command: Command, target_id: int, allowed: bool) -> None:
        """Allow (or deny) one user or role `command` in `guild`, overriding its defaults."""
        self.overrides.setdefault((guild.id, command.id), {})[target_id] = allowed
        self.world.emit(WorldEvent("state"))

    def may_use(self, command: Command, guild: Guild, user: User) -> bool:
        """Overrides first (a user's own, then any of their roles, then @everyone), then the defaults."""
        override = self.overrides.get((guild.id, command.id), {})
        if user.id in override:
            return override[user.id]
        roles = [role_id for role_id in guild.members.get(user.id, []) if role_id in override]
        if roles:
            # Discord: when a member's roles disagree, an allow wins.
            return any(override[role_id] for role_id in roles)
        if guild.id in override:  # the @everyone role's id is the guild's id
            return override[guild.id]
        return may_use(command, guild, user)


def may_use(command: Command, guild: Guild, user: User) -> bool:
    """`default_member_permissions`: "0" means admins only; otherwise the member needs every bit."""
    required = command.required_permissions
    if required is None:
        return True
    permissions = guild.permissions_of(user.id)
    if permissions & limits.PERMISSION_ADMINISTRATOR:
        return True
    return required != 0 and permissions & required == required
