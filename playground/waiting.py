"""`InteractionRun`: one interaction a driver started, and what the bot did with it."""

from __future__ import annotations

from typing import Any

from playground.interactions import (
    CHOICES,
    DEFERRED_MESSAGE,
    DEFERRED_UPDATE,
    MESSAGE,
    MODAL,
    UPDATE,
    Interaction,
)
from playground.state import Message, World, wait_until


class InteractionRun:
    def __init__(self, world: World, interaction: Interaction) -> None:
        self.world = world
        self.interaction = interaction

    @property
    def id(self) -> int:
        return self.interaction.id

    @property
    def token(self) -> str:
        return self.interaction.token

    @property
    def response_type(self) -> int | None:
        """The callback type the bot answered with (4 message, 5 deferred, 7 update, 9 modal...)."""
        return self.interaction.response_type

    @property
    def original(self) -> Message | None:
        return self.world.messages.get(self.interaction.original_id or 0)

    @property
    def followups(self) -> list[Message]:
        return [self.world.messages[i] for i in self.interaction.followup_ids if i in self.world.messages]

    async def acked(self, timeout: float = 5.0) -> int:
        """Wait for the bot's callback; return its type."""
        return await wait_until(self.world, lambda: self.interaction.response_type, timeout,
                                f"interaction {self.id} to be acknowledged")

    async def response(self, timeout: float = 5.0) -> Any:
        """What the user ends up seeing: the message (a deferred one once it is filled in, the updated
        one for a button), the `OpenModal`, or the autocomplete choices."""
        return await wait_until(self.world, self._visible, timeout, f"the response to interaction {self.id}")

    def _visible(self) -> Any:
        interaction, kind = self.interaction, self.interaction.response_type
        if kind in (MESSAGE, UPDATE):
            return self.original
        if kind == DEFERRED_MESSAGE:
            original = self.original
            return original if original is not None and not original.loading else None
        if kind == DEFERRED_UPDATE:
            source = self.world.messages.get(interaction.message_id or 0)
            return source if source is not None and source.edits > interaction.source_edits else None
        if kind == MODAL:
            return interaction.modal
        if kind == CHOICES:
            return interaction.choices
        return None
