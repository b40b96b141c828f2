"""Age-restricted channels in the emulator: the `nsfw` flag in GUILD_CREATE, CHANNEL_CREATE / CHANNEL_UPDATE
and GET channel, as discord.py reads it (`is_nsfw()`); and spoiler file names kept as uploaded."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from playground.driver import Playground
from tests.playground.minibot import MiniBot, png


@pytest.fixture
async def http(pg: Playground) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=pg.base_url) as session:
        yield session


async def mark(http: aiohttp.ClientSession, name: str, nsfw: bool) -> dict:
    async with http.post("/_playground/channel", json={"name": name, "nsfw": nsfw}) as response:
        assert response.status == 200
        return await response.json()


async def test_a_channel_made_age_restricted_is_seen_so_by_discord_py(http, pg: Playground, bot: MiniBot) -> None:
    general = bot.get_channel(pg.channel("general").id)
    assert isinstance(general, discord.TextChannel) and not general.is_nsfw()  # from GUILD_CREATE

    made = await mark(http, "after-dark", True)
    assert made["ok"] and made["nsfw"] is True
    channel_id = int(made["id"])
    created = await pg.wait_until(lambda: bot.get_channel(channel_id))  # CHANNEL_CREATE
    assert created.is_nsfw()
    assert (await bot.fetch_channel(channel_id)).is_nsfw()  # GET /channels/{id}

    await mark(http, "general", True)
    await pg.wait_until(lambda: bot.get_channel(general.id).is_nsfw() or None)  # CHANNEL_UPDATE
    async with http.get("/_playground/state") as response:
        channels = {c["name"]: c["nsfw"] for c in (await response.json())["guilds"][0]["channels"]}
    assert channels == {"general": True, "art": False, "after-dark": True}
    await mark(http, "general", False)
    await pg.wait_until(lambda: not bot.get_channel(general.id).is_nsfw() or None)


async def test_a_bad_channel_request_is_refused(http, pg: Playground) -> None:
    async with http.post("/_playground/channel", json={"nsfw": True}) as response:
        assert response.status == 400 and not (await response.json())["ok"]
    assert [c.name for c in pg.world.channels.values()] == ["general", "art"]


async def test_a_spoiler_file_keeps_its_name_through_upload_and_the_cdn(pg: Playground, bot: MiniBot) -> None:
    channel = bot.get_channel(pg.channel("general").id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send(file=discord.File(io.BytesIO(png()), filename="grid.png", spoiler=True))
    message = await pg.wait_for_message("general", lambda m: bool(m.attachments))
    [attachment] = message.attachments
    assert attachment.filename == "SPOILER_grid.png"
    async with aiohttp.ClientSession() as http, \
            http.get(f"{pg.base_url}/cdn/attachments/{message.channel_id}/{attachment.id}/SPOILER_grid.png") as got:
        assert got.status == 200 and await got.read() == png()
