"""A permutation or --repeat batch is checked against the queue caps again when Yes is pressed: several
batches asked for while the queue was empty must not all run once confirmed. A refused Yes keeps the
batch, so it can be confirmed once jobs finish."""

from __future__ import annotations

from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import button, jobs_of_user

PROMPT = "kite {0} {{red, blue, green, pink, teal}}"


def yes_of(ask: Message) -> str:
    return button(ask, "Yes")


async def test_yes_is_checked_against_the_caps_and_a_refused_batch_can_be_confirmed_later(pg: Playground, bots,
                                                                                          settings) -> None:
    # Cap 6 in all. No worker serves tiny3, so the submitted jobs stay queued until cancelled.
    settings.max_running_per_user, settings.max_queued_per_user = 1, 5
    settings.default_engine = "tiny3"
    await bots.start()
    alice = pg.user("alice").id
    asks = []
    for i in range(3):  # each passes at /imagine: the queue is still empty
        ask = await (await pg.slash("imagine", user="alice", channel="general",
                                    options={"prompt": PROMPT.format(i)})).response()
        assert "**5**" in ask.content and ask.ephemeral_for == alice
        asks.append(ask)

    answers = [await (await pg.click(ask.id, yes_of(ask), user="alice")).response() for ask in asks]
    assert answers[0].content == "Submitting 5 jobs."
    for refused in answers[1:]:  # before the fix: all three submitted, 15 jobs
        assert refused.ephemeral_for == alice and refused.content.startswith("**Queue full**")
        assert "Press **Yes** again" in refused.content
    queued = await pg.wait_until(lambda: (jobs := jobs_of_user(settings.redis_url, alice)) and len(jobs) == 5
                                 and jobs or None)
    assert {job.spec.prompt.split()[1] for job in queued} == {"0"}
    assert [b.get("label") for b in pg.message(asks[1].id).buttons] == ["Yes", "No"]  # still on offer

    for job in queued:  # the first batch is cancelled: room for another
        stop = await (await pg.slash("cancel", user="alice", channel="general", options={"job_id": job.id})).response()
        assert "Cancelled" in stop.content
    later = await (await pg.click(asks[1].id, yes_of(asks[1]), user="alice")).response()
    assert later.content == "Submitting 5 jobs."
    await pg.wait_until(lambda: True if len(jobs_of_user(settings.redis_url, alice)) == 10 else None)



async def test_yes_after_the_prompt_was_banned_drops_the_batch(pg: Playground, midway, settings) -> None:
    """A rule that waiting will not change (a banned word, added since /imagine) ends the question."""
    ask = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a {red, blue, green, pink, teal} wolf"})).response()
    await (await pg.slash("moderation banned-word add", user="admin", channel="general",
                          options={"word": "wolf"})).response()
    answer = await (await pg.click(ask.id, yes_of(ask), user="alice")).response()
    assert answer.id == ask.id and answer.content.startswith("**Banned prompt detected**")
    assert "Nothing was submitted" in answer.content and answer.buttons == []
    assert jobs_of_user(settings.redis_url, pg.user("alice").id) == []
