"""The Python driver: run a playground and act as its users, from tests or scripts.

    from playground.driver import Playground

    async with Playground.start(port=0, bot_token="t", ack_deadline_s=3.0) as pg:
        pg.point_client()                      # discord.py in this process now talks to pg
        ... start a discord.py bot with token "t" ...
        await pg.wait_until_commands_synced()
        run = await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a fox"})
        message = await run.response()         # the message (or modal, choices) the bot answered with
        await pg.click(message.id, message.custom_ids[0], user="alice")
        await pg.submit_modal("settings", {"steps": "20"}, user="admin")
        # ... or Cancel it: pg.close_modal("settings", user="admin"); pg.dismiss_message(id, user="alice")
        grid = await pg.wait_for_message("general", lambda m: bool(m.attachments), timeout=10)
        pg.messages("general"); pg.requests   # what users see; every REST request the bot made
        pg.set_bucket("POST /channels/{channel_id}/messages", limit=5, per_s=5)

The default world is guild "Midway" with #general and #art, the admin `admin` and the user `alice`.
Actions are refused with `DriverError` where Discord's own client would refuse them (unknown command,
an admin command for a non-admin, a bad option value, a button that is not on the message).
Two knobs go past the official client, as real users can: `click(..., forge=True)` sends any
custom_id on a real message (a modified client; `submit_modal(..., forge_on=message_id)` likewise
submits a modal the bot never opened), and `allow_command("engine", user="alice")` is a
server admin's per-command permission override that lets a non-admin run an admin command.
Several bots may log in one after another against the same playground (a bot restart): the world,
the commands and the messages stay. `Playground.launch()` / `stop()` do the same without `async with`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from midway.settings import get_settings
from playground import connect
from playground.app_commands import Command
from playground.errors import DriverError
from playground.interactions import (
    AUTOCOMPLETE,
    COMMAND,
    COMPONENT,
    MODAL_SUBMIT,
    Interaction,
    OpenModal,
)
from playground.modals import forged_submission, modal_submission
from playground.options import OptionBuilder
from playground.payloads import channel_payload
from playground.server import PlaygroundServer, RecordedRequest
from playground.state import Channel, Message, User, World, WorldEvent, wait_until
from playground.waiting import InteractionRun

__all__ = ["DriverError", "InteractionRun", "Playground"]


class Playground:
    def __init__(self, server: PlaygroundServer, host: str = "127.0.0.1", port: int = 0,
                 static_dir: Path | None = None) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.static_dir = static_dir
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, **options: Any) -> AsyncIterator[Playground]:
        """Run a playground for the duration of the block; options as for `launch`."""
        playground = await cls.launch(**options)
        try:
            yield playground
        finally:
            await playground.stop()

    @classmethod
    async def launch(cls, *, host: str = "127.0.0.1", port: int = 0, bot_token: str | None = None,
                     world: World | None = None, static_dir: Path | None = None, **server_options: Any) -> Playground:
        """Start serving; server_options: ack_deadline_s, token_lifetime_s, heartbeat_ms, attachment_size_limit,
        privileged_intents, nonce_window_s."""
        token = bot_token or get_settings().playground_token
        playground = cls(PlaygroundServer(world, bot_token=token, **server_options), host, port, static_dir)
        await playground._serve()
        return playground

    async def _serve(self) -> None:
        from playground.http_driver import add_driver_routes

        app = self.server.build_app()
        add_driver_routes(app, self)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.world.base_url = self.base_url

    async def stop(self) -> None:
        await self.server.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def point_client(self) -> None:
        """Point discord.py in this process at this playground (see playground.connect)."""
        connect.point_discord_at(self.base_url)

    # -- the world ------------------------------------------------------------------------------------
    @property
    def world(self) -> World:
        return self.server.world

    @property
    def clock(self):
        return self.world.clock

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def user(self, name: str) -> User:
        return self.world.user_named(name)

    def channel(self, name: str) -> Channel:
        return self.world.channel_named(name)

    def add_user(self, name: str, *, admin: bool = False) -> User:
        guild = self.world.default_guild
        user = self.world.add_user(name)
        admins = [r for r in guild.roles.values() if r.name == "Admins"]
        self.world.add_member(guild, user, admins if admin else [])
        return user

    def add_channel(self, name: str, *, nsfw: bool = False) -> Channel:
        """A new text channel in the default guild; `nsfw`: age-restricted."""
        channel = self.world.add_channel(self.world.default_guild, name, nsfw=nsfw)
        self.server.gateway.dispatch("CHANNEL_CREATE", channel_payload(channel))
        return channel

    def set_nsfw(self, name: str, nsfw: bool = True) -> Channel:
        """Mark a channel age-restricted (or not), as a server admin does in its settings: CHANNEL_UPDATE."""
        channel = self.channel(name)
        channel.nsfw = nsfw
        self.server.gateway.dispatch("CHANNEL_UPDATE", channel_payload(channel))
        self.world.emit(WorldEvent("state"))
        return channel

    def commands(self, user: str | None = None) -> list[Command]:
        """Slash commands as `user` sees them in the command picker (admin-only ones hidden)."""
        guild = self.world.default_guild
        viewer = self.user(user) if user else self.world.users[guild.owner_id]
        return self.server.registry.visible(guild, viewer)

    def messages(self, channel: str, user: str | None = None) -> list[Message]:
        viewer = self.user(user).id if user else None
        return self.world.channel_messages(self.channel(channel).id, viewer)

    def message(self, message_id: int | str) -> Message:
        return self.world.messages[int(message_id)]

    def modals(self, user: str) -> list[OpenModal]:
        user_id = self.user(user).id
        return [m for m in self.server.desk.modals if m.user_id == user_id]

    def set_bucket(self, route: str, *, limit: int, per_s: float) -> None:
        """Rate-limit `route` ("POST /channels/{channel_id}/messages") per major parameter."""
        self.server.limiter.set_bucket(route, limit, per_s)

    def fail_next(self, route: str, *statuses: int) -> None:
        """Answer the next requests to `route` with these statuses (say 500, 503), one each, doing nothing."""
        self.server.failures.setdefault(route, []).extend(statuses)

    def allow_command(self, command: str, *, user: str | None = None, allowed: bool = True) -> None:
        """A server admin's per-command override: let `user` (or, with no user, @everyone) run
        `command` whatever its default_member_permissions say (or forbid it, allowed=False).
        The member's own permissions do not change: a bot that checks them still refuses."""
        guild = self.world.default_guild
        found = self.server.registry.find(command.strip().lstrip("/").split()[0], guild)
        if found is None:
            raise DriverError(f"unknown command /{command}")
        target = self.user(user).id if user else guild.id
        self.server.registry.set_override(guild, found, target, allowed)

    def set_global_limit(self, limit: int | None, per_s: float = 1.0) -> None:
        self.server.limiter.set_global(limit, per_s)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    # -- waiting --------------------------------------------------------------------------------------
    async def wait_until(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait for `check()` to return something other than None, re-checking on every change."""
        return await wait_until(self.world, check, timeout, getattr(check, "__name__", "a condition"))

    async def wait_until_connected(self, timeout: float = 10.0) -> None:
        gateway = self.server.gateway
        await wait_until(self.world, lambda: True if gateway.connected else None, timeout, "a bot to connect")

    async def wait_until_commands_synced(self, timeout: float = 10.0, names: list[str] | None = None) -> None:
        """Wait until the bot registered its commands (all of `names`, when given)."""
        guild = self.world.default_guild

        def synced() -> bool | None:
            if not self.server.registry.synced.is_set():
                return None
            have = {c.name for c in self.server.registry.visible(guild, self.world.users[guild.owner_id])}
            return True if not names or set(names) <= have else None

        await wait_until(self.world, synced, timeout, f"commands {names or ''} to be synced")

    async def wait_for_message(self, channel: str, predicate: Callable[[Message], bool] | None = None, *,
                               timeout: float = 10.0, user: str | None = None, new_only: bool = False) -> Message:
        """The newest message in `channel` (seen as `user`) matching `predicate`, waiting for it.

        With new_only, only messages created or edited after this call count.
        """
        viewer = self.user(user).id if user else None
        channel_id = self.channel(channel).id
        before = {m.id: m.edits for m in self.world.channel_messages(channel_id, viewer)} if new_only else {}

        def find() -> Message | None:
            for message in reversed(self.world.channel_messages(channel_id, viewer)):
                fresh = message.id not in before or message.edits > before[message.id]
                if fresh and (predicate is None or predicate(message)):
                    return message
            return None

        return await wait_until(self.world, find, timeout, f"a message in #{channel}")

    # -- acting as a user -----------------------------------------------------------------------------
    def _require_bot(self) -> None:
        if not self.server.gateway.connected:
            raise DriverError("The application did not respond: no bot is connected to the playground.")

    def _command(self, name: str, user: User) -> tuple[Command, list[str]]:
        words = name.strip().lstrip("/").split()
        if not words:
            raise DriverError("no command given")
        guild = self.world.default_guild
        command = self.server.registry.find(words[0], guild)
        # Discord's client does not even list a command the member may not use.
        if command is None or not self.server.registry.may_use(command, guild, user):
            raise DriverError(f"unknown command /{words[0]} for {user.name}")
        return command, words[1:]

    async def slash(self, command: str, *, user: str, channel: str,
                    options: dict[str, Any] | None = None) -> InteractionRun:
        """Run `/command` (subcommands as "engine set" or nested option dicts) as `user` in `channel`."""
        self._require_bot()
        who, where = self.user(user), self.channel(channel)
        found, path = self._command(command, who)
        data = OptionBuilder(self.world, self.world.guild_of(where), where).build(found, path, options or {})
        return self._run(self.server.desk.start(COMMAND, who, where, data))

    async def autocomplete(self, command: str, option: str, value: str = "", *, user: str, channel: str,
                           options: dict[str, Any] | None = None, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The choices the bot suggests for `option` while `user` types `value`."""
        self._require_bot()
        who, where = self.user(user), self.channel(channel)
        found, path = self._command(command, who)
        values = dict(options or {}) | {option: value}
        data = OptionBuilder(self.world, self.world.guild_of(where), where).build(found, path, values, focused=option)
        run = self._run(self.server.desk.start(AUTOCOMPLETE, who, where, data))
        return await run.response(timeout)

    async def click(self, message_id: int | str, custom_id: str, *, user: str,
                    values: list[str] | None = None, forge: bool = False) -> InteractionRun:
        """Click the button (or pick `values` in the select) with `custom_id` on a message.

        forge=True sends the click even though the message has no such component, as a modified
        client can: Discord delivers any custom_id on a real message, so bots must validate it.
        """
        self._require_bot()
        who = self.user(user)
        message = self.world.messages.get(int(message_id))
        if message is None or message.ephemeral_for not in (None, who.id):
            raise DriverError(f"{user} cannot see message {message_id}")
        component = next((c for c in message.buttons if c.get("custom_id") == custom_id), None)
        if component is None and forge:
            component = {"type": 2, "custom_id": custom_id}
        if component is None:
            raise DriverError(f"message {message_id} has no component {custom_id!r}")
        if component.get("disabled") and not forge:
            raise DriverError(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            data["values"] = list(values or [])
        channel = self.world.channels[message.channel_id]
        return self._run(self.server.desk.start(COMPONENT, who, channel, data, message))

    async def submit_modal(self, custom_id: str, values: dict[str, str], *, user: str,
                           forge_on: int | str | None = None) -> InteractionRun:
        """Fill in and submit the modal `custom_id` that the bot opened for `user`.

        forge_on=<message id> submits `values` for a modal the bot never opened, as if a button on that
        message had opened it, as a modified client can: bots must validate a modal's custom_id too.
        """
        self._require_bot()
        who = self.user(user)
        if forge_on is not None:
            message = self.world.messages.get(int(forge_on))
            if message is None or message.ephemeral_for not in (None, who.id):
                raise DriverError(f"{user} cannot see message {forge_on}")
            data = {"custom_id": custom_id, "components": forged_submission(values)}
            channel = self.world.channels[message.channel_id]
            return self._run(self.server.desk.start(MODAL_SUBMIT, who, channel, data, message))
        modal = next((m for m in self.server.desk.modals if m.user_id == who.id and m.custom_id == custom_id), None)
        if modal is None:
            raise DriverError(f"{user} has no open modal {custom_id!r}")
        components = modal_submission(modal, values)
        self.server.desk.take_modal(who, custom_id)
        source = self.world.messages.get(modal.message_id or 0)
        data = {"custom_id": custom_id, "components": components}
        channel = self.world.channels[modal.channel_id]
        return self._run(self.server.desk.start(MODAL_SUBMIT, who, channel, data, source))

    def close_modal(self, custom_id: str, *, user: str) -> None:
        """Close `user`'s open modal without submitting it (Cancel, Esc): Discord's client discards it
        and the bot is never told, so it cannot come back."""
        modal = self.server.desk.take_modal(self.user(user), custom_id)
        if modal is None:
            raise DriverError(f"{user} has no open modal {custom_id!r}")
        self.world.emit(WorldEvent("modal", modal.channel_id, data={"modal": modal, "closed": True}))

    def dismiss_message(self, message_id: int | str, *, user: str) -> None:
        """"Dismiss message" on an ephemeral message: it leaves `user`'s view for good."""
        message = self.world.messages.get(int(message_id))
        if message is None or message.ephemeral_for != self.user(user).id:
            raise DriverError(f"{user} has no ephemeral message {message_id}")
        self.world.dismiss_message(message)

    def _run(self, interaction: Interaction) -> InteractionRun:
        return InteractionRun(self.world, interaction)

