"""Each Discord limit: a payload just past it is refused with Discord's code and error tree."""

from __future__ import annotations

import json

import aiohttp
import pytest

from midway import discord_limits as limits
from playground.driver import Playground
from tests.playground.conftest import RawApi


def button(custom_id: str = "b", label: str = "B", **extra: object) -> dict:
    return {"type": 2, "style": 1, "custom_id": custom_id, "label": label, **extra}


def row(*components: dict) -> dict:
    return {"type": 1, "components": list(components)}


def leaf(body: dict, *path: str) -> str:
    node = body["errors"]
    for key in path:
        node = node[key]
    return node["_errors"][0]["code"]


MESSAGE_CASES = [
    ("nonce", {"content": "x", "nonce": "n" * (limits.MESSAGE_NONCE + 1)}, ("nonce",), "BASE_TYPE_MAX_LENGTH"),
    ("content", {"content": "x" * (limits.MESSAGE_CONTENT + 1)}, ("content",), "BASE_TYPE_MAX_LENGTH"),
    ("embeds count", {"embeds": [{"title": "t"}] * 11}, ("embeds",), "BASE_TYPE_MAX_LENGTH"),
    ("embed title", {"embeds": [{"title": "x" * 257}]}, ("embeds", "0", "title"), "BASE_TYPE_MAX_LENGTH"),
    ("embed description", {"embeds": [{"description": "x" * 4097}]}, ("embeds", "0", "description"),
     "BASE_TYPE_MAX_LENGTH"),
    ("embed fields", {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, ("embeds", "0", "fields"),
     "BASE_TYPE_MAX_LENGTH"),
    ("field name", {"embeds": [{"fields": [{"name": "x" * 257, "value": "v"}]}]},
     ("embeds", "0", "fields", "0", "name"), "BASE_TYPE_MAX_LENGTH"),
    ("field value", {"embeds": [{"fields": [{"name": "n", "value": "x" * 1025}]}]},
     ("embeds", "0", "fields", "0", "value"), "BASE_TYPE_MAX_LENGTH"),
    ("footer", {"embeds": [{"footer": {"text": "x" * 2049}}]}, ("embeds", "0", "footer", "text"),
     "BASE_TYPE_MAX_LENGTH"),
    ("author", {"embeds": [{"author": {"name": "x" * 257}}]}, ("embeds", "0", "author", "name"),
     "BASE_TYPE_MAX_LENGTH"),
    ("embed image scheme", {"embeds": [{"image": {"url": "file:///etc/passwd"}}]}, ("embeds", "0", "image", "url"),
     "URL_TYPE_INVALID_SCHEME"),
    ("embed thumbnail scheme", {"embeds": [{"thumbnail": {"url": "grid.png"}}]},
     ("embeds", "0", "thumbnail", "url"), "URL_TYPE_INVALID_SCHEME"),
    ("embeds total", {"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]}, ("embeds",),
     "MAX_EMBED_SIZE_EXCEEDED"),
    ("rows", {"components": [row(button(f"b{i}")) for i in range(6)]}, ("components",), "BASE_TYPE_MAX_LENGTH"),
    ("buttons per row", {"components": [row(*[button(f"b{i}") for i in range(6)])]},
     ("components", "0", "components"), "BASE_TYPE_MAX_LENGTH"),
    ("custom_id long", {"components": [row(button("x" * 101))]},
     ("components", "0", "components", "0", "custom_id"), "BASE_TYPE_BAD_LENGTH"),
    ("custom_id empty", {"components": [row(button(""))]},
     ("components", "0", "components", "0", "custom_id"), "BASE_TYPE_BAD_LENGTH"),
    ("custom_id duplicate", {"components": [row(button("same")), row(button("same"))]},
     ("components", "1", "components", "0", "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ("label", {"components": [row(button(label="x" * 81))]},
     ("components", "0", "components", "0", "label"), "BASE_TYPE_MAX_LENGTH"),
    ("button style", {"components": [row({"type": 2, "style": 9, "label": "x", "custom_id": "c"})]},
     ("components", "0", "components", "0", "style"), "BASE_TYPE_CHOICES"),
    ("link without url", {"components": [row({"type": 2, "style": 5, "label": "go"})]},
     ("components", "0", "components", "0", "url"), "BASE_TYPE_REQUIRED"),
    ("link with custom_id", {"components": [row({"type": 2, "style": 5, "label": "go", "url": "https://x",
                                                 "custom_id": "c"})]},
     ("components", "0", "components", "0", "custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED"),
    ("select with a button", {"components": [row({"type": 3, "custom_id": "s", "options": []}, button())]},
     ("components", "0", "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED"),
    ("select options", {"components": [row({"type": 3, "custom_id": "s",
                                            "options": [{"label": "l", "value": str(i)} for i in range(26)]})]},
     ("components", "0", "components", "0", "options"), "BASE_TYPE_MAX_LENGTH"),
    ("select placeholder", {"components": [row({"type": 3, "custom_id": "s", "placeholder": "x" * 151,
                                                "options": [{"label": "l", "value": "v"}]})]},
     ("components", "0", "components", "0", "placeholder"), "BASE_TYPE_MAX_LENGTH"),
    ("components v2 with content", {"flags": 1 << 15, "content": "x", "components": [{"type": 10, "content": "t"}]},
     ("content",), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"),
    ("components v2 count", {"flags": 1 << 15, "components": [{"type": 10, "content": "t"}] * 41},
     ("components",), "BASE_TYPE_MAX_LENGTH"),
]


@pytest.mark.parametrize(("case", "payload", "path", "code"), MESSAGE_CASES, ids=[c[0] for c in MESSAGE_CASES])
async def test_message_limits(pg: Playground, api: RawApi, case: str, payload: dict, path: tuple, code: str) -> None:
    status, body, _ = await api.call("POST", f"/channels/{pg.channel('general').id}/messages", json=payload)
    assert (status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
    assert leaf(body, *path) == code
    assert pg.messages("general") == []


async def test_a_payload_at_the_limits_is_accepted(pg: Playground, api: RawApi) -> None:
    payload = {"content": "x" * limits.MESSAGE_CONTENT,
               "components": [row(*[button(f"b{r}{i}", "x" * 80) for i in range(5)]) for r in range(5)]}
    status, body, _ = await api.call("POST", f"/channels/{pg.channel('general').id}/messages", json=payload)
    assert status == 200 and len(pg.messages("general")[0].custom_ids) == 25


async def test_embeds_at_the_limits_with_a_web_image_are_accepted(pg: Playground, api: RawApi) -> None:
    embeds = [{"description": "x" * limits.EMBED_DESCRIPTION, "image": {"url": "https://example.com/a.png"}},
              {"description": "x" * (limits.EMBED_TOTAL - limits.EMBED_DESCRIPTION),
               "thumbnail": {"url": "attachment://a.png"}}]
    status, body, _ = await api.call("POST", f"/channels/{pg.channel('general').id}/messages",
                                     json={"embeds": embeds})
    assert status == 200, body
    assert pg.messages("general")[0].embeds[0]["image"]["url"] == "https://example.com/a.png"


async def test_empty_message_is_50006(pg: Playground, api: RawApi) -> None:
    status, body, _ = await api.call("POST", f"/channels/{pg.channel('general').id}/messages", json={"content": ""})
    assert (status, body["code"]) == (400, 50006)


async def test_editing_a_message_to_nothing_is_50006(pg: Playground, api: RawApi) -> None:
    path = f"/channels/{pg.channel('general').id}/messages"
    _, created, _ = await api.call("POST", path, json={"content": "x"})
    status, body, _ = await api.call("PATCH", f"{path}/{created['id']}", json={"content": ""})
    assert (status, body["code"]) == (400, 50006)


async def test_unknown_reference_and_unknown_channel(pg: Playground, api: RawApi) -> None:
    path = f"/channels/{pg.channel('general').id}/messages"
    status, body, _ = await api.call("POST", path, json={"content": "x", "message_reference": {"message_id": "1"}})
    assert leaf(body, "message_reference") == "MESSAGE_REFERENCE_UNKNOWN_MESSAGE"
    status, body, _ = await api.call("POST", "/channels/123/messages", json={"content": "x"})
    assert (status, body["code"]) == (404, 10003)


async def test_bad_token_is_401(pg: Playground, api: RawApi) -> None:
    status, body, _ = await api.call("GET", "/users/@me", auth=False)
    assert (status, body["code"]) == (401, 0)


async def test_a_file_over_the_size_limit_is_40005(pg: Playground, api: RawApi) -> None:
    pg.server.attachment_size_limit = 1000
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps({"content": "big", "attachments": [{"id": 0, "filename": "a.bin"}]}))
    form.add_field("files[0]", b"x" * 1001, filename="a.bin")
    status, body, _ = await api.call("POST", f"/channels/{pg.channel('general').id}/messages", data=form)
    assert (status, body["code"]) == (413, 40005)


def modal(**overrides: object) -> dict:
    data = {"title": "Settings", "custom_id": "m",
            "components": [row({"type": 4, "custom_id": "a", "label": "A", "style": 1})]}
    return data | overrides


MODAL_CASES = [
    ("title", modal(title="x" * 46), ("data", "title"), "BASE_TYPE_BAD_LENGTH"),
    ("custom_id", modal(custom_id="x" * 101), ("data", "custom_id"), "BASE_TYPE_BAD_LENGTH"),
    ("no components", modal(components=[]), ("data", "components"), "BASE_TYPE_BAD_LENGTH"),
    ("six components", modal(components=[row({"type": 4, "custom_id": f"a{i}", "label": "A", "style": 1})
                                         for i in range(6)]), ("data", "components"), "BASE_TYPE_BAD_LENGTH"),
    ("value", modal(components=[row({"type": 4, "custom_id": "a", "label": "A", "style": 1, "value": "x" * 4001})]),
     ("data", "components", "0", "components", "0", "value"), "BASE_TYPE_MAX_LENGTH"),
]


@pytest.mark.parametrize(("case", "data", "path", "code"), MODAL_CASES, ids=[c[0] for c in MODAL_CASES])
async def test_modal_limits(pg: Playground, api: RawApi, case: str, data: dict, path: tuple, code: str) -> None:
    interaction = pg.server.desk.start(2, pg.user("alice"), pg.channel("general"), {"name": "x"})
    url = f"/interactions/{interaction.id}/{interaction.token}/callback?with_response=1"
    status, body, _ = await api.call("POST", url, json={"type": 9, "data": data})
    assert (status, body["code"]) == (400, 50035)
    assert leaf(body, *path) == code
    assert pg.modals("alice") == []


async def test_autocomplete_choices_are_at_most_25(pg: Playground, api: RawApi) -> None:
    interaction = pg.server.desk.start(4, pg.user("alice"), pg.channel("general"), {"name": "x"})
    url = f"/interactions/{interaction.id}/{interaction.token}/callback?with_response=1"
    choices = [{"name": str(i), "value": str(i)} for i in range(26)]
    status, body, _ = await api.call("POST", url, json={"type": 8, "data": {"choices": choices}})
    assert leaf(body, "data", "choices") == "BASE_TYPE_MAX_LENGTH"


def command(**overrides: object) -> dict:
    return {"name": "imagine", "description": "Make a picture", "type": 1,
            "options": [{"name": "prompt", "description": "What", "type": 3, "required": True}]} | overrides


def option(**overrides: object) -> dict:
    return {"name": "o", "description": "d", "type": 3} | overrides


COMMAND_CASES = [
    ("name case", [command(name="Imagine")], ("0", "name"), "APPLICATION_COMMAND_INVALID_NAME"),
    ("name chars", [command(name="a b")], ("0", "name"), "APPLICATION_COMMAND_INVALID_NAME"),
    ("name length", [command(name="x" * 33)], ("0", "name"), "APPLICATION_COMMAND_INVALID_NAME"),
    ("description", [command(description="")], ("0", "description"), "BASE_TYPE_BAD_LENGTH"),
    ("description long", [command(description="x" * 101)], ("0", "description"), "BASE_TYPE_BAD_LENGTH"),
    ("options count", [command(options=[option(name=f"o{i}") for i in range(26)])], ("0", "options"),
     "BASE_TYPE_MAX_LENGTH"),
    ("required order", [command(options=[option(name="a"), option(name="b", required=True)])],
     ("0", "options", "1", "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"),
    ("option names unique", [command(options=[option(), option()])], ("0", "options", "1", "name"),
     "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS"),
    ("choices count", [command(options=[option(choices=[{"name": str(i), "value": str(i)} for i in range(26)])])],
     ("0", "options", "0", "choices"), "BASE_TYPE_MAX_LENGTH"),
    ("choice name", [command(options=[option(choices=[{"name": "x" * 101, "value": "v"}])])],
     ("0", "options", "0", "choices", "0", "name"), "BASE_TYPE_BAD_LENGTH"),
    ("choice value", [command(options=[option(choices=[{"name": "n", "value": "x" * 101}])])],
     ("0", "options", "0", "choices", "0", "value"), "BASE_TYPE_MAX_LENGTH"),
    ("autocomplete with choices", [command(options=[option(autocomplete=True, choices=[{"name": "n", "value": "v"}])])],
     ("0", "options", "0", "autocomplete"), "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES"),
    ("max_length", [command(options=[option(max_length=6001)])], ("0", "options", "0", "max_length"),
     "NUMBER_TYPE_MAX"),
    ("integer range", [command(options=[option(type=4, max_value=2**53)])], ("0", "options", "0", "max_value"),
     "NUMBER_TYPE_MAX"),
    ("size", [command(options=[option(name=f"o{i}", description="x" * 100,
                                      choices=[{"name": "x" * 100, "value": "y" * 100}] * 25) for i in range(2)])],
     ("0",), "APPLICATION_COMMAND_TOO_LARGE"),
    ("count", [command(name=f"c{i}", options=[]) for i in range(101)], (), "APPLICATION_COMMANDS_COUNT_EXCEEDED"),
    ("duplicate", [command(), command()], ("1", "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME"),
]


@pytest.mark.parametrize(("case", "commands", "path", "code"), COMMAND_CASES, ids=[c[0] for c in COMMAND_CASES])
async def test_command_limits(pg: Playground, api: RawApi, case: str, commands: list, path: tuple, code: str) -> None:
    status, body, _ = await api.call("PUT", f"/applications/{pg.world.application_id}/commands", json=commands)
    assert (status, body["code"]) == (400, 50035)
    assert leaf(body, *path) == code
    assert pg.commands() == []


async def test_resync_keeps_command_ids(pg: Playground, api: RawApi) -> None:
    path = f"/applications/{pg.world.application_id}/guilds/{pg.world.default_guild.id}/commands"
    _, first, _ = await api.call("PUT", path, json=[command()])
    _, second, _ = await api.call("PUT", path, json=[command(description="Changed")])
    assert first[0]["id"] == second[0]["id"] and second[0]["guild_id"] == str(pg.world.default_guild.id)


async def test_a_reply_references_its_message(pg: Playground, api: RawApi) -> None:
    path = f"/channels/{pg.channel('general').id}/messages"
    _, first, _ = await api.call("POST", path, json={"content": "question"})
    status, reply, _ = await api.call("POST", path, json={"content": "answer",
                                                          "message_reference": {"message_id": first["id"]}})
    assert status == 200 and reply["message_reference"]["message_id"] == first["id"]
    assert reply["referenced_message"]["content"] == "question"
    assert pg.messages("general")[-1].reference_id == int(first["id"])


async def test_posting_needs_view_send_attach_and_history_permissions_as_in_discord(pg: Playground,
                                                                                    api: RawApi) -> None:
    channel = pg.channel("general")
    guild = pg.world.guild_of(channel)
    path = f"/channels/{channel.id}/messages"
    first = (await api.call("POST", path, json={"content": "first"}))[1]
    reply = {"content": "a reply", "message_reference": {"message_id": first["id"]}}
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps({"content": "a file"}))
    form.add_field("files[0]", b"not much", filename="a.txt")

    everyone = guild.roles[guild.id]
    guild.members[pg.world.bot.id] = []
    everyone.permissions &= ~(1 << 16)  # Read Message History
    assert (await api.call("POST", path, json=reply))[0] == 403
    assert (await api.call("POST", path, json={"content": "plain"}))[0] == 200
    everyone.permissions &= ~(1 << 15)  # Attach Files
    status, body, _ = await api.call("POST", path, data=form)
    assert (status, body["code"]) == (403, 50013)
    everyone.permissions &= ~(1 << 10)  # View Channel: nothing is reachable, edits included
    assert (await api.call("POST", path, json={"content": "plain"}))[0] == 403
    assert (await api.call("PATCH", f"{path}/{first['id']}", json={"content": "edited"}))[0] == 403
