"""Driver knobs that go past Discord's official client: forged custom_ids and command permission overrides.

Both are things real users can do (a modified client; a server admin's Integrations settings), so
bots must survive them; these tests show the emulator delivers them the way Discord would.
"""

from __future__ import annotations

import aiohttp
import discord
import pytest

from playground.driver import DriverError, Playground
from tests.playground.minibot import MiniBot


def record_interactions(bot: MiniBot) -> list[discord.Interaction]:
    seen: list[discord.Interaction] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        seen.append(interaction)

    bot.add_listener(on_interaction)
    return seen


async def test_forged_click_reaches_the_bot_with_the_custom_id(pg: Playground, bot: MiniBot) -> None:
    seen = record_interactions(bot)
    message = await (await pg.slash("counter", user="alice", channel="general")).response()
    assert message.custom_ids == ["mini:count:0"]
    with pytest.raises(DriverError, match="no component"):
        await pg.click(message.id, "mini:count:41", user="alice")
    run = await pg.click(message.id, "mini:count:41", user="alice", forge=True)
    payload = pg.server.desk.payload(run.interaction)
    assert payload["data"] == {"custom_id": "mini:count:41", "component_type": 2}
    assert payload["message"]["id"] == str(message.id)
    forged = await pg.wait_until(lambda: next((i for i in seen if i.id == run.id), None), timeout=5)
    assert forged.data["custom_id"] == "mini:count:41" and forged.message.id == message.id
    # discord.py runs a DynamicItem only for a custom_id the message shows: the naive counter never
    # fires, so a bot that does not answer unlisted ids leaves "This interaction failed".
    with pytest.raises(TimeoutError):
        await run.acked(timeout=0.5)
    assert pg.message(message.id).content == message.content


async def test_forged_click_still_needs_a_message_the_user_sees(pg: Playground, bot: MiniBot) -> None:
    with pytest.raises(DriverError, match="cannot see"):
        await pg.click(123, "mini:count:1", user="alice", forge=True)


async def test_forge_over_http(pg: Playground, bot: MiniBot) -> None:
    seen = record_interactions(bot)
    message = await (await pg.slash("counter", user="alice", channel="general")).response()
    body = {"user": "alice", "message_id": str(message.id), "custom_id": "mini:count:9"}
    async with aiohttp.ClientSession(base_url=pg.base_url) as http:
        async with http.post("/_playground/click", json=body) as response:
            status, refused = response.status, await response.json()
        # Discord's client refuses an unknown component: an answer (200), not a malformed request.
        assert status == 200 and refused["ok"] is False and "no component 'mini:count:9'" in refused["error"]
        async with http.post("/_playground/click", json=body | {"forge": True}) as response:
            result = await response.json()
    assert result["ok"]
    forged = await pg.wait_until(lambda: next((i for i in seen if str(i.id) == result["interaction_id"]), None))
    assert forged.data["custom_id"] == "mini:count:9"


async def test_command_override_lets_a_non_admin_run_an_admin_command(pg: Playground, bot: MiniBot) -> None:
    pg.add_user("bob")
    pg.allow_command("admin", user="alice")
    assert "admin" in {c.name for c in pg.commands("alice")}
    assert "admin" not in {c.name for c in pg.commands("bob")}
    run = await pg.slash("admin", user="alice", channel="general")
    assert (await run.response()).content == "admin ok"
    # The member's own permissions are unchanged: what a bot checks server-side still says "not admin".
    permissions = int(pg.server.desk.payload(run.interaction)["member"]["permissions"])
    assert permissions & 0x8 == 0
    pg.allow_command("admin", user="alice", allowed=False)
    with pytest.raises(DriverError, match="unknown command /admin"):
        await pg.slash("admin", user="alice", channel="general")


async def test_override_for_everyone_and_a_deny_for_an_admin(pg: Playground, bot: MiniBot) -> None:
    pg.allow_command("admin")
    assert "admin" in {c.name for c in pg.commands("alice")}
    pg.allow_command("echo", user="admin", allowed=False)
    assert "echo" not in {c.name for c in pg.commands("admin")}
    with pytest.raises(DriverError, match="unknown command /nope"):
        pg.allow_command("nope", user="alice")
