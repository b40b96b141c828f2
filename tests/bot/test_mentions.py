"""A prompt is user text echoed into public messages: it must not ping @everyone, a role or another
user. Only the requester is pinged, by the result. The playground resolves pings from each request's
`allowed_mentions` as Discord does (playground/mentions.py)."""

from __future__ import annotations

from playground.driver import Playground
from playground.mentions import Pings, resolve_pings
from tests.bot.helpers import result_for

CROWD = "@everyone @here <@&4242> <@999> <@!998>"


async def test_a_prompt_pings_no_one_and_the_result_pings_only_its_requester(pg: Playground, worker,
                                                                            midway) -> None:
    alice = pg.user("alice").id
    run = await pg.slash("imagine", user="alice", channel="general", options={"prompt": f"{CROWD} a red fox"})
    ack = await run.response()
    assert CROWD in ack.content  # echoed as typed...
    assert ack.pings == Pings()  # ...and pinging no one
    grid = await result_for(pg, ack)
    assert CROWD in grid.content and f"<@{alice}>" in grid.content
    assert grid.pings == Pings(users=[alice])


def test_the_playground_resolves_pings_as_discord_does() -> None:
    content = "@everyone <@&7> <@1> <@!2> <@1>"
    assert resolve_pings(content, None) == Pings(users=[1, 2], roles=[7], everyone=True)
    assert resolve_pings(content, {"parse": []}) == Pings()
    assert resolve_pings(content, {"parse": ["users"]}) == Pings(users=[1, 2])
    assert resolve_pings(content, {"parse": [], "users": ["2"], "roles": ["7"]}) == Pings(users=[2], roles=[7])
    # A reply pings the author of the message it replies to only when allowed to.
    assert resolve_pings("hi", None, replied_user=5) == Pings(users=[5])
    assert resolve_pings("hi", {"parse": [], "replied_user": False}, replied_user=5) == Pings()
