"""An unmodified discord.py bot logs into the playground and answers users, end to end."""

from __future__ import annotations

import pytest

from midway import discord_limits as limits
from playground.driver import DriverError, Playground
from tests.playground.minibot import MiniBot, png


async def test_login_and_sync_register_the_bots_commands(pg: Playground, bot: MiniBot) -> None:
    names = {c.name for c in pg.commands()}
    assert {"echo", "slow", "counter", "form", "engine", "admin"} <= names
    routes = [r.route for r in pg.requests]
    login = ["GET /users/@me", "GET /oauth2/applications/@me", "PUT /applications/{application_id}/commands"]
    assert routes[:3] == login
    assert bot.user is not None and bot.user.id == pg.world.bot.id
    assert bot.get_guild(pg.world.default_guild.id).get_channel(pg.channel("general").id) is not None


async def test_immediate_answer_is_a_message_from_the_bot(pg: Playground, bot: MiniBot) -> None:
    run = await pg.slash("echo", user="alice", channel="general", options={"text": "a red fox"})
    message = await run.response()
    assert message.content == "a red fox"
    assert message.author.id == pg.world.bot.id
    assert message.interaction["name"] == "echo" and message.interaction["user"]["username"] == "alice"
    assert pg.messages("general")[-1] is message


async def test_deferred_answer_edits_the_thinking_message_then_follows_up(pg: Playground, bot: MiniBot) -> None:
    run = await pg.slash("slow", user="alice", channel="general", options={"text": "fox"})
    assert await run.acked() == 5
    message = await run.response()
    assert message.content == "slow fox" and not message.loading and message.edits == 1
    followup = await pg.wait_for_message("general", lambda m: m.content.startswith("and a followup"))
    assert followup.interaction["id"] == str(run.id)
    assert run.followups == [followup]


async def test_edit_original_counts_the_edit(pg: Playground, bot: MiniBot) -> None:
    run = await pg.slash("edit", user="alice", channel="general")
    message = await pg.wait_for_message("general", lambda m: m.content == "second")
    assert message is run.original and message.edits == 1 and message.edited_at is not None


async def test_message_with_an_attachment_is_served_by_the_cdn(pg: Playground, bot: MiniBot) -> None:
    import aiohttp

    run = await pg.slash("picture", user="alice", channel="general")
    message = await run.response()
    [attachment] = message.attachments
    assert (attachment.filename, attachment.width, attachment.height) == ("red.png", 8, 6)
    assert attachment.content_type == "image/png"
    [request] = [r for r in pg.requests if r.route.endswith("/callback") and r.files]
    assert request.files == ["red.png"]
    url = f"{pg.base_url}/cdn/attachments/{message.channel_id}/{attachment.id}/red.png"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200 and await response.read() == png()


async def test_persistent_button_works_after_a_bot_restart(pg: Playground, bots, bot: MiniBot) -> None:
    run = await pg.slash("counter", user="alice", channel="general")
    message = await run.response()
    assert message.custom_ids == ["mini:count:0"]
    assert message.buttons[0]["emoji"]["name"] == "🔄"
    await bots.stop(bot)
    await bots.start()
    click = await pg.click(message.id, "mini:count:0", user="alice")
    updated = await click.response()
    assert updated is message
    assert (updated.content, updated.custom_ids, updated.edits) == ("count 1", ["mini:count:1"], 1)
    assert click.response_type == 7


async def test_modal_opens_and_its_submission_reaches_the_bot(pg: Playground, bot: MiniBot) -> None:
    run = await pg.slash("form", user="alice", channel="general")
    modal = await run.response()
    assert (modal.custom_id, modal.title) == (pg.modals("alice")[0].custom_id, "Your name")
    with pytest.raises(DriverError, match="at most 20"):
        await pg.submit_modal(modal.custom_id, {"name": "x" * 21}, user="alice")
    submitted = await pg.submit_modal(modal.custom_id, {"name": "Ada"}, user="alice")
    assert (await submitted.response()).content == "hello Ada"
    assert pg.modals("alice") == []


async def test_subcommand_autocomplete_and_ephemeral_answer(pg: Playground, bot: MiniBot) -> None:
    choices = await pg.autocomplete("engine set", "name", "sd", user="alice", channel="general")
    assert [c["value"] for c in choices] == ["sd15", "sdxl"]
    run = await pg.slash("engine set", user="alice", channel="general", options={"name": "sdxl"})
    message = await run.response()
    assert message.content == "engine sdxl" and message.flags & limits.FLAG_EPHEMERAL
    assert message in pg.messages("general", user="alice")
    assert message not in pg.messages("general", user="admin") and message not in pg.messages("general")
    nested = await pg.slash("engine", user="alice", channel="general", options={"set": {"name": "tiny"}})
    assert (await nested.response()).content == "engine tiny"


async def test_attachment_option_reaches_the_bot_resolved(pg: Playground, bot: MiniBot) -> None:
    run = await pg.slash("upload", user="alice", channel="general", options={"file": ("in.png", png(4, 2))})
    assert (await run.response()).content == f"in.png {len(png(4, 2))} 4x2"


async def test_admin_command_is_hidden_from_non_admins(pg: Playground, bot: MiniBot) -> None:
    assert "admin" not in {c.name for c in pg.commands("alice")}
    assert "admin" in {c.name for c in pg.commands("admin")}
    with pytest.raises(DriverError, match="unknown command /admin"):
        await pg.slash("admin", user="alice", channel="general")
    run = await pg.slash("admin", user="admin", channel="general")
    assert (await run.response()).content == "admin ok"


async def test_driver_refuses_what_discords_client_would(pg: Playground, bot: MiniBot) -> None:
    with pytest.raises(DriverError, match="needs the option 'text'"):
        await pg.slash("echo", user="alice", channel="general")
    with pytest.raises(DriverError, match="no option 'colour'"):
        await pg.slash("echo", user="alice", channel="general", options={"text": "x", "colour": "red"})
    with pytest.raises(DriverError, match="unknown command /nope"):
        await pg.slash("nope", user="alice", channel="general")
    run = await pg.slash("echo", user="alice", channel="general", options={"text": "plain"})
    message = await run.response()
    with pytest.raises(DriverError, match="no component"):
        await pg.click(message.id, "missing", user="alice")


async def test_driver_says_when_no_bot_is_connected(pg: Playground) -> None:
    with pytest.raises(DriverError, match="no bot is connected"):
        await pg.slash("echo", user="alice", channel="general", options={"text": "x"})
