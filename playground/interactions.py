"""Interactions: created by the drivers, dispatched to the bot, answered through callbacks and webhooks.

The rules enforced here are Discord's (docs: receiving-and-responding):
- the first response (callback) must arrive within the ack deadline (3 s) or it fails with 10062;
- a second callback is 40060 "already acknowledged";
- the callback type must suit the interaction type (no UPDATE_MESSAGE for a slash command, no modal
  in answer to a modal, only AUTOCOMPLETE_RESULT for autocomplete);
- the token works for followups and edits for 15 minutes, then 50027.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from midway import discord_limits as limits
from playground.errors import ApiError, FormErrors, unknown
from playground.messages import Upload, create_message, edit_message
from playground.payloads import channel_payload, member_payload, message_payload, user_payload
from playground.state import Channel, Guild, Message, User, World, WorldEvent
from playground.validation import check_autocomplete, check_modal

PING, COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
PONG, MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, CHOICES, MODAL = 1, 4, 5, 6, 7, 8, 9
VALID_CALLBACKS = {
    PING: {PONG},
    COMMAND: {MESSAGE, DEFERRED_MESSAGE, MODAL},
    COMPONENT: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, MODAL},
    AUTOCOMPLETE: {CHOICES},
    MODAL_SUBMIT: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE},
}
APPLICATION_COMMAND_MESSAGE = 20


@dataclass
class Interaction:
    id: int
    token: str
    type: int
    user: User
    channel: Channel
    guild: Guild
    data: dict[str, Any]
    created_at: float
    message_id: int | None = None  # the message whose component was used (components, modals)
    response_type: int | None = None
    # Clock time the callback arrived, before the emulator read and acted on it: what Discord's 3 s
    # deadline measures (Discord's own work on the reply is not the bot's latency).
    responded_at: float | None = None
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None
    source_edits: int = 0  # the source message's edit count when the interaction began
    modal: OpenModal | None = None  # the modal this interaction opened (callback type 9)

    @property
    def name(self) -> str | None:
        return self.data.get("name")


@dataclass
class OpenModal:
    """A modal the bot opened (callback type 9) and the user has not submitted yet."""

    interaction_id: int
    user_id: int
    channel_id: int
    custom_id: str
    title: str
    components: list[dict[str, Any]]
    message_id: int | None


class InteractionDesk:
    def __init__(self, world: World, dispatch: Callable[[str, dict[str, Any]], None], *,
                 ack_deadline_s: float = limits.INTERACTION_ACK_S,
                 token_lifetime_s: float = limits.INTERACTION_TOKEN_S,
                 size_limit: int = limits.ATTACHMENT_SIZE) -> None:
        self.world = world
        self.dispatch = dispatch
        self.ack_deadline_s = ack_deadline_s
        self.token_lifetime_s = token_lifetime_s
        self.size_limit = size_limit
        self.interactions: dict[int, Interaction] = {}
        self.modals: list[OpenModal] = []

    # -- starting ------------------------------------------------------------------------------------
    def start(self, kind: int, user: User, channel: Channel, data: dict[str, Any],
              message: Message | None = None) -> Interaction:
        interaction = Interaction(
            id=self.world.snowflake(), token=f"aW50ZXJhY3Rpb24{secrets.token_urlsafe(48)}", type=kind,
            user=user, channel=channel, guild=self.world.guild_of(channel), data=data,
            created_at=self.world.clock.now(), message_id=message.id if message else None,
            source_edits=message.edits if message else 0,
        )
        self.interactions[interaction.id] = interaction
        self.dispatch("INTERACTION_CREATE", self.payload(interaction))
        return interaction

    def payload(self, interaction: Interaction) -> dict[str, Any]:
        guild, channel = interaction.guild, interaction.channel
        payload: dict[str, Any] = {
            "id": str(interaction.id), "application_id": str(self.world.application_id),
            "type": interaction.type, "token": interaction.token, "version": 1,
            "guild_id": str(guild.id), "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id), "channel": channel_payload(channel),
            "member": member_payload(guild, interaction.user, with_permissions=True),
            "app_permissions": str(guild.permissions_of(self.world.bot.id)),
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)}, "context": 0,
            # discord.py indexes this key unconditionally (Interaction._from_data).
            "attachment_size_limit": self.size_limit,
            "data": interaction.data,
        }
        source = self.world.messages.get(interaction.message_id or 0)
        if source is not None:
            payload["message"] = message_payload(self.world, source)
        return payload

    # -- the callback ---------------------------------------------------------------------------------
    def respond(self, interaction_id: int, token: str, body: dict[str, Any], uploads: list[Upload],
                received_at: float | None = None) -> dict:
        received_at = self.world.clock.now() if received_at is None else received_at
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            raise unknown("interaction", 10062)
        if interaction.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if received_at - interaction.created_at > self.ack_deadline_s:
            raise unknown("interaction", 10062)
        kind = body.get("type")
        if kind not in VALID_CALLBACKS.get(interaction.type, set()) or (
            kind in (DEFERRED_UPDATE, UPDATE) and interaction.message_id is None
        ):
            errors = FormErrors()
            errors.add(("type",), "INTERACTION_CALLBACK_TYPE_INVALID",
                       f"Callback type {kind} is not valid for interaction type {interaction.type}.")
            errors.raise_if_any()
        message = self._perform(interaction, kind, body.get("data") or {}, uploads)
        interaction.response_type = kind
        interaction.responded_at = received_at
        self.world.emit(WorldEvent("interaction", interaction.channel.id))
        return self._callback_body(interaction, kind, message)

    def _perform(self, interaction: Interaction, kind: int, data: dict[str, Any],
                 uploads: list[Upload]) -> Message | None:
        if kind == MESSAGE:
            message = self._new_message(interaction, data, uploads)
            interaction.original_id = message.id
            return message
        if kind == DEFERRED_MESSAGE:
            return self._defer(interaction, data)
        if kind in (DEFERRED_UPDATE, UPDATE):
            interaction.original_id = interaction.message_id
            source = self._source(interaction)
            if kind == UPDATE:
                edit_message(self.world, source, data, uploads, size_limit=self.size_limit, root=("data",))
            return source if kind == UPDATE else None
        if kind == CHOICES:
            check_autocomplete(data)
            interaction.choices = list(data.get("choices") or [])
        elif kind == MODAL:
            self._open_modal(interaction, data)
        return None

    def _new_message(self, interaction: Interaction, data: dict[str, Any], uploads: list[Upload]) -> Message:
        flags = int(data.get("flags") or 0)
        return create_message(
            self.world, interaction.channel, self.world.bot, data, uploads, size_limit=self.size_limit,
            allowed_flags=limits.INTERACTION_RESPONSE_FLAGS, error_root=("data",),
            ephemeral_for=interaction.user.id if flags & limits.FLAG_EPHEMERAL else None,
            interaction=self._metadata(interaction), webhook_id=self.world.application_id,
            type=APPLICATION_COMMAND_MESSAGE if interaction.type == COMMAND else 0,
        )

    def _defer(self, interaction: Interaction, data: dict[str, Any]) -> Message:
        flags = int(data.get("flags") or 0)
        if flags & ~limits.FLAG_EPHEMERAL:
            errors = FormErrors(("data",))
            errors.add(("flags",), "MESSAGE_INVALID_FLAGS", "Only EPHEMERAL may be set on a deferred response.")
            errors.raise_if_any()
        ephemeral = bool(flags & limits.FLAG_EPHEMERAL)
        message = Message(
            id=self.world.snowflake(), channel_id=interaction.channel.id, guild_id=interaction.guild.id,
            author=self.world.bot, flags=limits.FLAG_LOADING | flags, created_at=self.world.clock.utcnow(),
            ephemeral_for=interaction.user.id if ephemeral else None, interaction=self._metadata(interaction),
            webhook_id=self.world.application_id,
            type=APPLICATION_COMMAND_MESSAGE if interaction.type == COMMAND else 0,
        )
        interaction.original_id = message.id
        return self.world.add_message(message)

    def _open_modal(self, interaction: Interaction, data: dict[str, Any]) -> None:
        check_modal(data)
        modal = OpenModal(interaction.id, interaction.user.id, interaction.channel.id, data["custom_id"],
                          data["title"], data["components"], interaction.message_id)
        interaction.modal = modal
        # A user has one modal open at a time, as in Discord's client.
        self.modals = [m for m in self.modals if m.user_id != modal.user_id] + [modal]
        self.world.emit(WorldEvent("modal", interaction.channel.id, data={"modal": modal}))

    def _metadata(self, interaction: Interaction) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "id": str(interaction.id), "type": interaction.type, "user": user_payload(interaction.user),
            "authorizing_integration_owners": {"0": str(interaction.guild.id)},
        }
        if interaction.type == COMMAND:
            metadata["name"] = interaction.name
        return metadata

    def _source(self, interaction: Interaction) -> Message:
        message = self.world.messages.get(interaction.message_id or 0)
        if message is None:
            raise unknown("message", 10008)
        return message

    def _callback_body(self, interaction: Interaction, kind: int, message: Message | None) -> dict[str, Any]:
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        if message is not None:
            summary["response_message_id"] = str(message.id)
            summary["response_message_loading"] = message.loading
            summary["response_message_ephemeral"] = message.ephemeral_for is not None
        resource: dict[str, Any] = {"type": kind}
        if kind in (MESSAGE, UPDATE) and message is not None:
            resource["message"] = message_payload(self.world, message)
        return {"interaction": summary, "resource": resource}

    # -- webhooks: followups and the original response -----------------------------------------------
    def by_token(self, application_id: int, token: str) -> Interaction:
        interaction = next((i for i in self.interactions.values() if i.token == token), None)
        # The webhook exists only once the interaction was acknowledged.
        if application_id != self.world.application_id or interaction is None or interaction.response_type is None:
            raise unknown("Webhook", 10015)
        if self.world.clock.now() - interaction.created_at > self.token_lifetime_s:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return interaction

    def message_of(self, interaction: Interaction, message_ref: str) -> Message:
        message_id = interaction.original_id if message_ref == "@original" else int(message_ref)
        # A token reaches the messages it sent: its followups, and its response when that made a message.
        # After an update (6, 7) `@original` is the clicked message, which the token did not send, so
        # only `@original` reaches it, not its id.
        allowed = {*interaction.followup_ids}
        if message_ref == "@original" or interaction.response_type in (MESSAGE, DEFERRED_MESSAGE):
            allowed.add(interaction.original_id)
        message = self.world.messages.get(message_id or 0)
        if message is None or message_id not in allowed:
            raise unknown("Message", 10008)
        return message

    def followup(self, interaction: Interaction, body: dict[str, Any], uploads: list[Upload]) -> Message:
        original = self.world.messages.get(interaction.original_id or 0)
        if original is not None and original.loading and interaction.response_type == DEFERRED_MESSAGE:
            # After a deferral, the first followup replaces the "thinking..." message.
            return edit_message(self.world, original, body, uploads, size_limit=self.size_limit)
        flags = int(body.get("flags") or 0)
        message = create_message(
            self.world, interaction.channel, self.world.bot, body, uploads, size_limit=self.size_limit,
            allowed_flags=limits.INTERACTION_RESPONSE_FLAGS,
            ephemeral_for=interaction.user.id if flags & limits.FLAG_EPHEMERAL else None,
            interaction=self._metadata(interaction), webhook_id=self.world.application_id,
        )
        interaction.followup_ids.append(message.id)
        return message

    def take_modal(self, user: User, custom_id: str) -> OpenModal | None:
        modal = next((m for m in self.modals if m.user_id == user.id and m.custom_id == custom_id), None)
        if modal is not None:
            self.modals.remove(modal)
        return modal
