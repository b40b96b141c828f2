"""Discord's interaction rules: the 3 s deadline, one acknowledgement, valid callback types, 15 min tokens."""

from __future__ import annotations

import discord

from playground.driver import Playground
from playground.interactions import AUTOCOMPLETE, COMMAND, MODAL_SUBMIT
from tests.playground.conftest import RawApi
from tests.playground.minibot import MiniBot


def _interaction(pg: Playground, kind: int = COMMAND):
    """An interaction no bot hears (started on the desk directly), for raw callbacks."""
    data = {"id": "1", "name": "echo", "type": 1, "options": []}
    return pg.server.desk.start(kind, pg.user("alice"), pg.channel("general"), data)


def _callback(i) -> str:
    return f"/interactions/{i.id}/{i.token}/callback?with_response=1"


async def test_an_answer_after_the_deadline_is_unknown_interaction(pg: Playground, make_bot) -> None:
    pg.server.desk.ack_deadline_s = 0.1
    bot: MiniBot = await make_bot(late_s=0.3)
    await pg.wait_until_commands_synced()
    await pg.slash("late", user="alice", channel="general")
    await pg.wait_until(lambda: bot.errors or None, timeout=5)
    [error] = bot.errors
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert pg.messages("general") == []


async def test_a_second_acknowledgement_is_40060(pg: Playground, bot: MiniBot) -> None:
    run = await pg.slash("twice", user="alice", channel="general")
    assert await run.acked() == 5
    await pg.wait_until(lambda: bot.errors or None, timeout=5)
    [error] = bot.errors
    assert isinstance(error, discord.HTTPException) and error.code == 40060


async def test_callback_answers_with_the_interaction_and_resource(pg: Playground, api: RawApi) -> None:
    interaction = _interaction(pg)
    status, body, headers = await api.call("POST", _callback(interaction), json={"type": 4, "data": {"content": "hi"}},
                                           auth=False)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["interaction"]["id"] == str(interaction.id)
    assert body["resource"]["type"] == 4 and body["resource"]["message"]["content"] == "hi"


async def test_callback_types_must_suit_the_interaction(pg: Playground, api: RawApi) -> None:
    command = _interaction(pg)
    for wrong in (6, 7, 8, 1):
        status, body, _ = await api.call("POST", _callback(command), json={"type": wrong})
        assert (status, body["code"]) == (400, 50035)
        assert body["errors"]["type"]["_errors"][0]["code"] == "INTERACTION_CALLBACK_TYPE_INVALID"
    autocomplete = _interaction(pg, AUTOCOMPLETE)
    status, _, _ = await api.call("POST", _callback(autocomplete), json={"type": 4, "data": {"content": "x"}})
    assert status == 400
    submit = _interaction(pg, MODAL_SUBMIT)
    modal = {"title": "t", "custom_id": "m", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "a", "label": "A", "style": 1}]}]}
    status, body, _ = await api.call("POST", _callback(submit), json={"type": 9, "data": modal})
    assert (status, body["code"]) == (400, 50035)


async def test_deferred_response_accepts_only_the_ephemeral_flag(pg: Playground, api: RawApi) -> None:
    status, body, _ = await api.call("POST", _callback(_interaction(pg)), json={"type": 5, "data": {"flags": 4}})
    assert (status, body["code"]) == (400, 50035)
    status, body, _ = await api.call("POST", _callback(_interaction(pg)), json={"type": 5, "data": {"flags": 64}})
    assert status == 200 and body["interaction"]["response_message_ephemeral"] is True


async def test_a_wrong_token_is_unknown_interaction(pg: Playground, api: RawApi) -> None:
    interaction = _interaction(pg)
    status, body, _ = await api.call("POST", f"/interactions/{interaction.id}/nope/callback",
                                     json={"type": 4, "data": {"content": "x"}})
    assert (status, body["code"]) == (404, 10062)


async def test_webhook_needs_an_acknowledged_interaction_and_expires_after_15_minutes(
    pg: Playground, api: RawApi
) -> None:
    interaction = _interaction(pg)
    webhook = f"/webhooks/{pg.world.application_id}/{interaction.token}"
    status, body, _ = await api.call("POST", webhook, json={"content": "too early"})
    assert (status, body["code"]) == (404, 10015)
    await api.call("POST", _callback(interaction), json={"type": 4, "data": {"content": "hi"}})
    status, body, _ = await api.call("PATCH", f"{webhook}/messages/@original", json={"content": "edited"})
    assert status == 200 and body["content"] == "edited"
    pg.clock.advance(15 * 60 + 1)
    status, body, _ = await api.call("PATCH", f"{webhook}/messages/@original", json={"content": "late"})
    assert (status, body["code"]) == (401, 50027)
    assert pg.messages("general")[-1].content == "edited"


async def test_attachment_size_limit_is_on_every_interaction(pg: Playground) -> None:
    payload = pg.server.desk.payload(_interaction(pg))
    assert payload["attachment_size_limit"] == 10 * 1024 * 1024
    assert {"id", "type", "token", "version", "application_id", "member"} <= payload.keys()
