"""Turning a user's `{name: value}` options into a slash command's interaction data.

What Discord's client does before it sends an interaction: walk to the chosen subcommand, check each
value against the option's type, choices and ranges, and resolve users, channels, roles and uploaded
attachments into `data.resolved`. A value the client would not accept raises `DriverError`.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from playground.app_commands import Command
from playground.errors import DriverError
from playground.messages import Upload, make_attachment
from playground.payloads import attachment_payload, channel_payload, member_payload, role_payload, user_payload
from playground.state import Channel, Guild, World

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11


class OptionBuilder:
    def __init__(self, world: World, guild: Guild, channel: Channel) -> None:
        self.world = world
        self.guild = guild
        self.channel = channel
        self.resolved: dict[str, dict[str, Any]] = {}

    def build(self, command: Command, path: list[str], values: dict[str, Any],
              focused: str | None = None) -> dict[str, Any]:
        """Interaction `data` for `command` run with `values` (subcommand by `path` or nesting)."""
        schema = command.data.get("options") or []
        options = self._walk(command.name, schema, list(path), values, focused)
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": command.type,
                                "options": options}
        if command.guild_id is not None:
            # discord.py looks guild commands up only when data.guild_id is present.
            data["guild_id"] = str(command.guild_id)
        if self.resolved:
            data["resolved"] = self.resolved
        return data

    def _walk(self, where: str, schema: list[dict[str, Any]], path: list[str], values: dict[str, Any],
              focused: str | None) -> list[dict[str, Any]]:
        subs = {o["name"]: o for o in schema if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)}
        if not subs:
            if path:
                raise DriverError(f"/{where} has no subcommand {path[0]!r}")
            return self._leaves(where, schema, values, focused)
        if not path:
            nested = [name for name in values if name in subs]
            if len(nested) != 1 or len(values) != 1:
                raise DriverError(f"/{where} needs a subcommand: one of {sorted(subs)}")
            path, values = [nested[0]], values[nested[0]] or {}
        name, rest = path[0], path[1:]
        if name not in subs:
            raise DriverError(f"/{where} has no subcommand {name!r}: one of {sorted(subs)}")
        inner = self._walk(f"{where} {name}", subs[name].get("options") or [], rest, values, focused)
        return [{"name": name, "type": subs[name]["type"], "options": inner}]

    def _leaves(self, where: str, schema: list[dict[str, Any]], values: dict[str, Any],
                focused: str | None) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in schema}
        unknown = sorted(set(values) - set(by_name))
        if unknown:
            raise DriverError(f"/{where} has no option {unknown[0]!r}: options are {sorted(by_name)}")
        if focused is None:
            missing = [o["name"] for o in schema if o.get("required") and values.get(o["name"]) is None]
            if missing:
                raise DriverError(f"/{where} needs the option {missing[0]!r}")
        built = []
        for name, value in values.items():
            if value is None:
                continue
            option = by_name[name]
            if name == focused:
                built.append({"name": name, "type": option["type"], "value": str(value), "focused": True})
            else:
                built.append({"name": name, "type": option["type"], "value": self._value(option, value)})
        return built

    def _value(self, option: dict[str, Any], value: Any) -> Any:
        kind, name = option["type"], option["name"]
        try:
            converted = self._convert(kind, value)
        except (TypeError, ValueError, KeyError) as error:
            raise DriverError(f"option {name!r}: {error}") from None
        choices = option.get("choices")
        if choices and converted not in [c["value"] for c in choices]:
            names = [c["name"] for c in choices]
            raise DriverError(f"option {name!r} must be one of {names}, not {value!r}")
        _check_range(option, converted)
        return converted

    def _convert(self, kind: int, value: Any) -> Any:
        if kind == STRING:
            return str(value)
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            return value if isinstance(value, bool) else str(value).lower() in ("true", "yes", "1")
        if kind in (USER, MENTIONABLE):
            return self._user(value)
        if kind == CHANNEL:
            text = str(value)
            channel = self.world.channels[int(text)] if text.isdigit() else self.world.channel_named(text)
            resolved = channel_payload(channel) | {"permissions": "0"}
            self.resolved.setdefault("channels", {})[str(channel.id)] = resolved
            return str(channel.id)
        if kind == ROLE:
            role = next(r for r in self.guild.roles.values() if r.name == value or str(r.id) == str(value))
            self.resolved.setdefault("roles", {})[str(role.id)] = role_payload(role)
            return str(role.id)
        if kind == ATTACHMENT:
            return self._attachment(value)
        raise ValueError(f"unsupported option type {kind}")

    def _user(self, value: Any) -> str:
        user = self.world.users[int(value)] if str(value).isdigit() else self.world.user_named(str(value))
        self.resolved.setdefault("users", {})[str(user.id)] = user_payload(user)
        member = member_payload(self.guild, user, with_permissions=True)
        member.pop("user")
        self.resolved.setdefault("members", {})[str(user.id)] = member
        return str(user.id)

    def _attachment(self, value: Any) -> str:
        attachment = make_attachment(self.world, to_upload(value))
        self.world.attachments[attachment.id] = attachment
        payload = attachment_payload(self.world, self.channel.id, attachment) | {"ephemeral": True}
        self.resolved.setdefault("attachments", {})[str(attachment.id)] = payload
        return str(attachment.id)


def to_upload(value: Any) -> Upload:
    """An attachment option's value: Upload, (filename, bytes), a Path, or {"filename", "content_base64"}."""
    if isinstance(value, Upload):
        return value
    if isinstance(value, tuple):
        return Upload(0, value[0], value[1])
    if isinstance(value, Path):
        return Upload(0, value.name, value.read_bytes())
    if isinstance(value, dict):
        data = base64.b64decode(value["content_base64"]) if "content_base64" in value else value["data"]
        return Upload(0, value.get("filename") or "upload.bin", data, value.get("content_type"))
    raise ValueError("an attachment needs (filename, bytes), a Path or {filename, content_base64}")


def _check_range(option: dict[str, Any], value: Any) -> None:
    name = option["name"]
    if isinstance(value, str) and option["type"] == STRING:
        if option.get("min_length") is not None and len(value) < option["min_length"]:
            raise DriverError(f"option {name!r} must be at least {option['min_length']} characters")
        if option.get("max_length") is not None and len(value) > option["max_length"]:
            raise DriverError(f"option {name!r} must be at most {option['max_length']} characters")
    if option["type"] in (INTEGER, NUMBER):
        if option.get("min_value") is not None and value < option["min_value"]:
            raise DriverError(f"option {name!r} must be >= {option['min_value']}")
        if option.get("max_value") is not None and value > option["max_value"]:
            raise DriverError(f"option {name!r} must be <= {option['max_value']}")
