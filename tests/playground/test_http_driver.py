"""The driver over HTTP (/_playground/...): what the page and outside scripts see and do."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from playground.driver import Playground
from tests.playground.minibot import MiniBot, png


@pytest.fixture
async def http(pg: Playground) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=pg.base_url) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str, **params: str) -> object:
    async with http.get(path, params=params) as response:
        return await response.json()


async def post(http: aiohttp.ClientSession, path: str, body: dict) -> tuple[int, dict]:
    async with http.post(path, json=body) as response:
        return response.status, await response.json()


async def test_state_lists_the_world_and_the_commands_each_user_sees(http, pg: Playground, bot: MiniBot) -> None:
    state = await get(http, "/_playground/state")
    [guild] = state["guilds"]
    assert guild["name"] == "Midway" and [c["name"] for c in guild["channels"]] == ["general", "art"]
    assert {u["name"]: u["admin"] for u in state["users"]} == {"admin": True, "alice": False}
    assert state["bot"]["name"] == "Midway" and state["bot"]["connected"] is True
    admin = next(c for c in state["commands"] if c["name"] == "admin")
    assert admin["default_member_permissions"] == "8"
    as_alice = await get(http, "/_playground/state", user="alice")
    assert "admin" not in {c["name"] for c in as_alice["commands"]}


async def test_slash_then_read_the_message_view(http, pg: Playground, bot: MiniBot) -> None:
    status, result = await post(http, "/_playground/slash", {"user": "alice", "channel": "general",
                                                             "command": "picture", "wait": True})
    assert status == 200 and result["ok"] and result["response_type"] == 4
    [view] = await get(http, "/_playground/messages", channel="general")
    assert view["author"] == {"id": str(pg.world.bot.id), "name": "Midway", "bot": True}
    assert view["content"] == "here" and view["ephemeral_for"] is None and view["edits"] == 0
    [attachment] = view["attachments"]
    assert (attachment["filename"], attachment["width"], attachment["height"]) == ("red.png", 8, 6)
    async with http.get(attachment["url"]) as response:
        assert await response.read() == png()
    assert view["interaction_metadata"]["name"] == "picture"


async def test_click_and_components_view(http, pg: Playground, bot: MiniBot) -> None:
    await post(http, "/_playground/slash", {"user": "alice", "channel": "general", "command": "counter", "wait": True})
    [view] = await get(http, "/_playground/messages", channel="general")
    [[button]] = view["components"]
    assert (button["label"], button["custom_id"], button["style"], button["emoji"]["name"]) == (
        "Count 0", "mini:count:0", 2, "🔄")
    status, result = await post(http, "/_playground/click", {"user": "alice", "message_id": view["id"],
                                                             "custom_id": "mini:count:0", "wait": True})
    assert result["ok"] and result["response_type"] == 7
    [view] = await get(http, "/_playground/messages", channel="general")
    assert view["content"] == "count 1" and view["edits"] == 1 and view["edited_timestamp"]


async def test_modal_round_trip_over_http(http, pg: Playground, bot: MiniBot) -> None:
    await post(http, "/_playground/slash", {"user": "alice", "channel": "general", "command": "form", "wait": True})
    [modal] = await get(http, "/_playground/modals", user="alice")
    assert modal["title"] == "Your name" and modal["fields"][0]["custom_id"] == "name"
    assert modal["fields"][0]["max_length"] == 20 and modal["fields"][0]["label"] == "Name"
    assert await get(http, "/_playground/modals", user="admin") == []
    status, result = await post(http, "/_playground/modal", {"user": "alice", "custom_id": modal["custom_id"],
                                                             "values": {"name": "Ada"}, "wait": True})
    assert result["ok"]
    assert (await pg.wait_for_message("general", lambda m: m.content == "hello Ada")).author.bot


async def test_refusals_come_back_as_ok_false(http, pg: Playground, bot: MiniBot) -> None:
    # What Discord's client refuses is an answer the page shows (200); a malformed request is a 400.
    status, result = await post(http, "/_playground/slash", {"user": "alice", "channel": "general",
                                                             "command": "admin"})
    assert status == 200 and result["ok"] is False and "unknown command /admin" in result["error"]
    status, result = await post(http, "/_playground/slash", {"user": "nobody", "channel": "general",
                                                             "command": "echo"})
    assert status == 400 and result["ok"] is False and "nobody" in result["error"]
    status, result = await post(http, "/_playground/click", {"user": "alice", "custom_id": "x"})
    assert status == 400 and result["ok"] is False and "message_id" in result["error"]


async def test_a_closed_modal_and_a_dismissed_message_leave_the_users_view(http, pg: Playground,
                                                                           bot: MiniBot) -> None:
    await post(http, "/_playground/slash", {"user": "alice", "channel": "general", "command": "form", "wait": True})
    [modal] = await get(http, "/_playground/modals", user="alice")
    status, result = await post(http, "/_playground/modal/close", {"user": "alice", "custom_id": modal["custom_id"]})
    assert status == 200 and result == {"ok": True}
    assert await get(http, "/_playground/modals", user="alice") == []
    status, result = await post(http, "/_playground/modal/close", {"user": "alice", "custom_id": modal["custom_id"]})
    assert status == 200 and result["ok"] is False and "no open modal" in result["error"]

    await pg.slash("engine set", user="alice", channel="general", options={"name": "tiny"})
    private = await pg.wait_for_message("general", lambda m: m.content == "engine tiny", user="alice")
    status, result = await post(http, "/_playground/dismiss", {"user": "admin", "message_id": str(private.id)})
    assert result["ok"] is False and "admin has no ephemeral message" in result["error"]
    status, result = await post(http, "/_playground/dismiss", {"user": "alice", "message_id": str(private.id)})
    assert status == 200 and result == {"ok": True}
    assert await get(http, "/_playground/messages", channel="general", user="alice") == []


async def test_subcommands_autocomplete_and_attachments(http, pg: Playground, bot: MiniBot) -> None:
    answer = await get(http, "/_playground/autocomplete", user="alice", channel="general", command="engine set",
                       option="name", value="ti")
    assert answer["choices"] == [{"name": "tiny", "value": "tiny"}]
    _, result = await post(http, "/_playground/slash", {"user": "alice", "channel": "general",
                                                        "command": "engine set", "options": {"name": "tiny"}})
    assert result["ok"]
    upload = {"filename": "in.png", "content_base64": base64.b64encode(png(3, 3)).decode()}
    _, result = await post(http, "/_playground/slash", {"user": "alice", "channel": "general", "command": "upload",
                                                        "options": {"file": upload}})
    assert result["ok"]
    await pg.wait_for_message("general", lambda m: m.content.startswith("in.png"))
    mine = await get(http, "/_playground/messages", channel="general", user="alice")
    assert [v["ephemeral_for"] for v in mine] == ["alice", None]
    assert len(await get(http, "/_playground/messages", channel="general", user="admin")) == 1


async def test_live_events_stream_creates_and_edits(http, pg: Playground, bot: MiniBot) -> None:
    events: list[dict] = []

    async def listen() -> None:
        async with http.get("/_playground/live") as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            async for line in response.content:
                if line.startswith(b"data: "):
                    events.append(json.loads(line[6:]))

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.1)
    await pg.slash("edit", user="alice", channel="general")
    await pg.wait_until(lambda: True if len([e for e in events if e["type"] == "message"]) >= 2 else None, timeout=5)
    listener.cancel()
    messages = [e for e in events if e["type"] == "message"]
    assert [e["message"]["content"] for e in messages[:2]] == ["first", "second"]
    assert messages[1]["channel"] == "general" and messages[1]["message"]["edits"] == 1


async def test_gateway_bot_and_page(http, pg: Playground) -> None:
    async with http.get("/api/v10/gateway/bot", headers={"Authorization": "Bot playground-test-token"}) as response:
        assert response.headers["Content-Type"] == "application/json"
        body = await response.json()
    assert body["url"] == pg.base_url.replace("http", "ws") + "/gateway" and body["shards"] == 1
    async with http.get("/") as response:
        assert response.status == 200 and "html" in response.headers["Content-Type"]
