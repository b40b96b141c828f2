"""/imagine: parse, apply policy, answer `(Waiting to start)` within 3 s, enqueue (thin shell over
bot/imagining.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.admission import read_request
from bot.guards import cannot_post_here
from bot.imagining import imagine_prompts
from bot.jobflow import ephemeral
from bot.services import services

if TYPE_CHECKING:
    from bot.services import Services


@app_commands.command(name="imagine", description="Create images with Midway")
@app_commands.describe(prompt="The prompt to imagine")
async def imagine(interaction: discord.Interaction, prompt: str) -> None:
    bot = services(interaction)
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    await imagine_prompts(bot, interaction, await read_request(bot, interaction), [prompt])


def setup(bot: Services) -> None:
    bot.tree.add_command(imagine)
