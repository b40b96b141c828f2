"""The /settings panel: Midjourney's toggle buttons (selected = green), pure layout + one click handler.

Panel custom_ids are `mws:<setting>:<value>`; they say nothing about the user, because the panel is
ephemeral and a click always changes the clicker's own settings.
"""

from __future__ import annotations

import discord

from bot.listing import quoted
from bot.messages import ButtonSpec, Style
from bot.services import services
from bot.store import UserSettings, VariationMode
from bot.views import build_view
from midway.contract import Lane

PANEL_PREFIX = "mws"
PANEL_TEMPLATE = rf"{PANEL_PREFIX}:(?P<setting>[a-z]+):(?P<value>[a-z0-9]+)"
STYLIZE_PRESETS = (("Stylize Low", 50), ("Stylize Med", 100), ("Stylize High", 250), ("Stylize Very High", 750))
DEFAULT_STYLIZE = 100

PANEL_TEXT = ("**Your Midway settings**\nThese apply to your new jobs; parameters typed in a prompt "
              "override them.")


# The panel shows this much of a long suffix, so that with 20 option names it stays one Discord message.
SHOWN_SUFFIX = 300


def panel_text(user: UserSettings) -> str:
    """The panel's text, with the saved text every prompt takes (a `--sref` code kept in the suffix, say):
    the toggles alone would hide what Reset Settings clears (the suffix) and what it keeps (the options)."""
    lines = [PANEL_TEXT]
    if user.suffix:
        lines.append(f"**Suffix** (added to every prompt; Reset clears it): {quoted(user.suffix, SHOWN_SUFFIX)}")
    if user.options:
        names = ", ".join(f"`--{name}`" for name in sorted(user.options))
        lines.append(f"**Options** (`/prefer option list` shows them): {names}")
    return "\n".join(lines)


def _button(label: str, setting: str, value: str, row: int, selected: bool) -> ButtonSpec:
    return ButtonSpec(label, f"{PANEL_PREFIX}:{setting}:{value}", row, Style.green if selected else Style.grey)


def panel_buttons(user: UserSettings) -> list[ButtonSpec]:
    stylize = user.stylize if user.stylize is not None else DEFAULT_STYLIZE
    return [
        _button("Fast mode", "lane", "fast", 0, user.lane is Lane.fast),
        _button("Relax mode", "lane", "relax", 0, user.lane is Lane.relax),
        *(_button(label, "stylize", str(value), 1, stylize == value) for label, value in STYLIZE_PRESETS),
        _button("Remix mode", "remix", "toggle", 2, user.remix),
        _button("High Variation Mode", "variation", "high", 2, user.variation is VariationMode.high),
        _button("Low Variation Mode", "variation", "low", 2, user.variation is VariationMode.low),
        _button("Draft mode", "draft", "toggle", 2, user.draft),
        _button("Reset Settings", "reset", "all", 3, False),
    ]


def apply_setting(user: UserSettings, setting: str, value: str) -> None:
    """Mutate `user` for one panel click; ValueError for a value the panel never offers."""
    if setting == "lane":
        user.lane = Lane(value)
    elif setting == "stylize":
        if int(value) not in {v for _, v in STYLIZE_PRESETS}:
            raise ValueError(value)
        user.stylize = int(value)
    elif setting == "remix":
        user.remix = not user.remix
    elif setting == "draft":
        user.draft = not user.draft
    elif setting == "variation":
        user.variation = VariationMode(value)
    elif setting == "reset":
        # Midjourney's Reset keeps the speed mode and clears the `/prefer suffix` (reference §1, §1a);
        # it says nothing of `/prefer option` names, so they stay.
        fresh = UserSettings(lane=user.lane, options=user.options)
        for name in UserSettings.model_fields:
            setattr(user, name, getattr(fresh, name))
    else:
        raise ValueError(setting)


async def apply_panel_click(interaction: discord.Interaction, custom_id: str) -> None:
    bot = services(interaction)
    _, setting, value = custom_id.split(":", 2)
    try:
        user = await bot.store.update_user(str(interaction.user.id), lambda u: apply_setting(u, setting, value))
    except ValueError:
        await interaction.response.send_message("**Unknown setting**\nThat button is outdated; run `/settings`.",
                                                ephemeral=True)
        return
    await interaction.response.edit_message(content=panel_text(user), view=build_view(panel_buttons(user)))
