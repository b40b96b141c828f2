"""ButtonSpec lists (bot/messages.py) -> discord.ui.View, the only place buttons become Discord objects."""

from __future__ import annotations

from functools import lru_cache
from itertools import groupby
from typing import Any

import discord

from bot.messages import ButtonSpec

BUTTON = 2
ACTION_ROW = 1


class ButtonRows(discord.ui.View):
    """A send-only view: the component payload, prebuilt, and nothing else.

    Every Midway message is sent with buttons that bot/routing.py routes by custom_id, so discord.py
    never needs to dispatch or store the view. A real discord.ui.View costs ~15 objects,
    an asyncio future and an `os.urandom` per message (which drops the GIL: under a burst of
    /imagine it measured ~0.6 ms per reply while submit threads ran); this costs a list.
    """

    def __init__(self, components: list[dict[str, Any]]) -> None:
        # Deliberately not View.__init__: none of its dispatch state is used by a finished view.
        self._components = components
        self._children = []

    @property
    def timeout(self) -> float | None:
        return None

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        # discord.py sets a timeout only on unfinished views; this one is always finished.
        pass

    def to_components(self) -> list[dict[str, Any]]:
        return self._components

    def is_finished(self) -> bool:
        # Finished: discord.py keeps no copy of it per message (it stores only unfinished views).
        return True

    def is_dispatchable(self) -> bool:
        return False

    def has_components_v2(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<ButtonRows rows={len(self._components)}>"


@lru_cache(maxsize=64)
def _emoji(text: str) -> dict[str, Any]:
    return dict(discord.PartialEmoji.from_str(text).to_dict())


def button_payload(spec: ButtonSpec) -> dict[str, Any]:
    """The Discord component for one button, as discord.ui.Button.to_component_dict() writes it."""
    payload: dict[str, Any] = {"type": BUTTON, "style": getattr(discord.ButtonStyle, spec.style.value).value,
                               "disabled": False, "custom_id": spec.custom_id}
    if spec.label is not None:
        payload["label"] = spec.label
    if spec.emoji is not None:
        payload["emoji"] = _emoji(spec.emoji)
    return payload


def build_view(specs: list[ButtonSpec]) -> discord.ui.View:
    """A view for sending only: bot/routing.py routes the clicks by custom_id, which works on any
    message, even after a restart. No specs: no components (an edit with it removes the buttons)."""
    ordered = sorted(specs, key=lambda spec: spec.row)
    rows = [{"type": ACTION_ROW, "components": [button_payload(spec) for spec in group]}
            for _, group in groupby(ordered, key=lambda spec: spec.row)]
    return ButtonRows(rows)
