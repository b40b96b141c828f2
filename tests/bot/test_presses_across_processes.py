"""A press or a modal submit that reaches two bot processes (two Services on one token, as during a
rolling deploy, each with its own Redis connections) makes one job: the claim in Redis (bot/store.py)
decides, and the loser's answer names the winner's job instead of making another."""

from __future__ import annotations

import asyncio

import discord
import pytest

from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import button, jobs_of_user, result_for

pytestmark = pytest.mark.slow


async def two_bots_and_a_grid(pg: Playground, bots, prompt: str,
                              remix: bool = False) -> tuple[Message, list[discord.Client]]:
    """A grid made while one bot ran (alice's Remix turned on first, if asked); then a second bot: both
    now receive every interaction."""
    first = await bots.start()
    if remix:
        await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": prompt})).response()
    grid = await result_for(pg, ack)
    return grid, [first, await bots.start()]


def reaching(clients: list[discord.Client], custom_id: str) -> asyncio.Future:
    """Done when an interaction with `custom_id` has reached every one of `clients` (discord.py's wait_for)."""
    def check(interaction: discord.Interaction) -> bool:
        return bool(interaction.data) and (interaction.data or {}).get("custom_id") == custom_id

    return asyncio.gather(*(client.wait_for("interaction", check=check, timeout=10) for client in clients))


async def jobs_made(pg: Playground, settings, grid: Message, before: set[str]) -> list[str]:
    """alice's jobs made since `before`, once the press's job has its result (a second job, had the losing
    bot made one, would have been stored by then: both were admitted before either answered)."""
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == grid.id and not m.attachments)
    await result_for(pg, announced)
    return [job.id for job in jobs_of_user(settings.redis_url, pg.user("alice").id) if job.id not in before]


async def test_a_press_handled_by_two_bots_makes_one_job(pg: Playground, worker, bots, settings) -> None:
    grid, clients = await two_bots_and_a_grid(pg, bots, "a paper boat")
    before = {job.id for job in jobs_of_user(settings.redis_url, pg.user("alice").id)}
    v1 = button(grid, "V1")
    reached = reaching(clients, v1)

    await (await pg.click(grid.id, v1, user="alice")).acked()
    await reached  # both processes handled the press
    assert len(await jobs_made(pg, settings, grid, before)) == 1
    assert len([m for m in pg.messages("general") if m.reference_id == grid.id]) == 1


async def test_a_modal_submit_handled_by_two_bots_makes_one_job(pg: Playground, worker, bots, settings) -> None:
    grid, clients = await two_bots_and_a_grid(pg, bots, "a paper plane", remix=True)
    before = {job.id for job in jobs_of_user(settings.redis_url, pg.user("alice").id)}
    modal = await (await pg.click(grid.id, button(grid, "V2"), user="alice")).response()
    reached = reaching(clients, modal.custom_id)

    await (await pg.submit_modal(modal.custom_id, {"prompt": "a paper plane at dusk"}, user="alice")).acked()
    await reached
    made = await jobs_made(pg, settings, grid, before)
    assert len(made) == 1
    assert len([m for m in pg.messages("general") if m.reference_id == grid.id]) == 1
