"""What Discord's client builds from typed options: subcommand groups, types, choices, ranges, resolved."""

from __future__ import annotations

import pytest

from playground.app_commands import CommandRegistry
from playground.errors import DriverError
from playground.options import OptionBuilder
from playground.state import default_world

SETTINGS = {
    "name": "settings", "description": "d", "type": 1, "options": [
        {"name": "engine", "description": "d", "type": 2, "options": [
            {"name": "set", "description": "d", "type": 1, "options": [
                {"name": "name", "description": "d", "type": 3, "required": True,
                 "choices": [{"name": "Tiny", "value": "tiny"}, {"name": "SDXL", "value": "sdxl"}]},
                {"name": "steps", "description": "d", "type": 4, "min_value": 1, "max_value": 50},
                {"name": "for", "description": "d", "type": 6},
            ]},
        ]},
    ],
}


@pytest.fixture
def build():
    world = default_world()
    [command] = CommandRegistry(world).overwrite(world.default_guild.id, [SETTINGS])
    channel = world.channel_named("general")

    def build(path: list[str], values: dict, focused: str | None = None) -> dict:
        return OptionBuilder(world, world.default_guild, channel).build(command, path, values, focused)

    build.world = world
    return build


def test_a_group_and_subcommand_nest_with_typed_values(build) -> None:
    data = build(["engine", "set"], {"name": "sdxl", "steps": "20", "for": "alice"})
    [group] = data["options"]
    [sub] = group["options"]
    assert (group["name"], group["type"], sub["name"], sub["type"]) == ("engine", 2, "set", 1)
    values = {o["name"]: o["value"] for o in sub["options"]}
    alice = build.world.user_named("alice")
    assert values == {"name": "sdxl", "steps": 20, "for": str(alice.id)}
    assert data["resolved"]["users"][str(alice.id)]["username"] == "alice"
    assert data["guild_id"] == str(build.world.default_guild.id)


def test_nested_dicts_choose_the_subcommand_too(build) -> None:
    nested = build([], {"engine": {"set": {"name": "tiny"}}})
    assert nested["options"] == build(["engine", "set"], {"name": "tiny"})["options"]


@pytest.mark.parametrize(("values", "message"), [
    ({"name": "flux"}, "must be one of"),
    ({"name": "tiny", "steps": 0}, "must be >= 1"),
    ({"name": "tiny", "steps": "many"}, "option 'steps'"),
    ({"steps": 5}, "needs the option 'name'"),
])
def test_values_the_client_would_refuse(build, values: dict, message: str) -> None:
    with pytest.raises(DriverError, match=message):
        build(["engine", "set"], values)


def test_a_missing_subcommand_is_refused(build) -> None:
    with pytest.raises(DriverError, match="needs a subcommand"):
        build([], {"name": "tiny"})


def test_the_focused_option_is_sent_as_typed(build) -> None:
    data = build(["engine", "set"], {"name": "sd"}, focused="name")
    assert data["options"][0]["options"][0]["options"] == [{"name": "name", "type": 3, "value": "sd", "focused": True}]
