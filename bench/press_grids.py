"""Grid messages to press, for the acknowledgement benchmark's button part (bench/ack_load.py).

A press is answered from the job's record and the grid message alone; the worker takes no part. So
the grids are posted by the Midway bot's own result path (Delivery.post_result) from job records
left as a worker leaves them (done, a stored grid, its cell refs), with plain-colour images: no
worker then competes with the bot for the CPU while the presses are timed.
"""

from __future__ import annotations

import discord
from PIL import Image

from bot.custom_ids import Action, decode
from midway.blobs import cell_ref
from midway.contract import GenerationSpec, Job, JobStatus, MessageRef, Requester
from midway.images.imaging import compose_grid, image_to_png_bytes

# The buttons a press burst uses on each grid: U1-U4, V1-V4 and the re-roll (one job or image each).
PRESSED = {Action.upscale, Action.variation, Action.reroll}
CELL_SIDE = 64
COLOURS = ("#b5452f", "#3f7d4e", "#2f5fb5", "#c9a227")


def general_channel(bot: discord.Client) -> discord.TextChannel:
    for guild in bot.guilds:
        for channel in guild.text_channels:
            if channel.name == "general":
                return channel
    raise RuntimeError("the emulator's guild has no #general the bot can see")


async def post_grids(bot, count: int, tag: str) -> list[tuple[int, str]]:
    """`count` grid messages in #general; (message id, custom_id) of every button a burst presses."""
    channel = general_channel(bot)
    grid = image_to_png_bytes(compose_grid([Image.new("RGB", (CELL_SIDE, CELL_SIDE), colour) for colour in COLOURS]))
    grid_ref = await bot.backend.put_blob(grid)
    presses = []
    for index in range(count):
        spec = GenerationSpec(prompt=f"a paper kite {tag} {index}", engine=bot.settings.default_engine,
                              width=CELL_SIDE, height=CELL_SIDE, steps=2)
        job = Job(spec=spec, requester=Requester(user_id=f"press-owner-{index}", guild_id=str(channel.guild.id),
                                                 channel_id=str(channel.id)),
                  status=JobStatus.done, grid=grid_ref, outputs=[cell_ref(grid_ref, cell) for cell in range(4)],
                  message=MessageRef(channel_id=str(channel.id)))
        await bot.backend.save(job)
        message = await bot.delivery.post_result(job)
        presses += [(message.id, button.custom_id) for row in message.components for button in row.children
                    if button.custom_id and decode(button.custom_id).action in PRESSED]
    return presses
