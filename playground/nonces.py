"""Create Message's `nonce` + `enforce_nonce`: a retried send returns the message it already made.

Discord (docs: message.mdx "Create Message"): "If true and nonce is present, it will be checked for
uniqueness in the past few minutes. If another message was created by the same author with the same
nonce, that message will be returned and no new message will be created." We remember nonces per
(channel, author) for `window_s` of the world's clock, so tests can move past the window instantly.
Without `enforce_nonce` a nonce is only echoed back, as Discord does.
"""

from __future__ import annotations

from typing import Any

from playground.state import Clock, Message, World

# "A few minutes" in Discord's words; configurable per playground (PlaygroundServer(nonce_window_s=...)).
DEFAULT_WINDOW_S = 5 * 60.0

Key = tuple[int, int, str]


def nonce_of(payload: dict[str, Any]) -> str | None:
    """The payload's nonce as Discord compares it (an integer and its decimal string are one nonce)."""
    nonce = payload.get("nonce")
    return None if nonce is None else str(nonce)


class NonceRegistry:
    def __init__(self, clock: Clock, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.clock = clock
        self.window_s = window_s
        self._seen: dict[Key, tuple[int, float]] = {}

    def existing(self, world: World, channel_id: int, author_id: int, payload: dict[str, Any]) -> Message | None:
        """The message this payload already created, when it enforces its nonce and is a retry."""
        nonce = nonce_of(payload)
        if nonce is None or not payload.get("enforce_nonce"):
            return None
        self._forget_old()
        seen = self._seen.get((channel_id, author_id, nonce))
        return world.messages.get(seen[0]) if seen is not None else None

    def remember(self, message: Message, payload: dict[str, Any]) -> None:
        nonce = nonce_of(payload)
        if nonce is not None and payload.get("enforce_nonce"):
            self._seen[(message.channel_id, message.author.id, nonce)] = (message.id, self.clock.now())

    def _forget_old(self) -> None:
        horizon = self.clock.now() - self.window_s
        for key in [key for key, (_, at) in self._seen.items() if at < horizon]:
            del self._seen[key]
