"""/describe and /shorten end to end: the slash command, a text job on the session's worker (the tiny
BLIP captioner, the tiny engine's CLIP text encoder), the answer with its numbered prompts, and its
buttons: 1️⃣–4️⃣ open an editable prompt whose submit imagines it, 🔄 describes again, 🎉 Imagine all
makes four jobs, and all of them still work after a bot restart."""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from PIL import Image

from bot.custom_ids import Action, ButtonRef
from midway.contract import Job, Operation
from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import button, job_of, jobs_of_user, labels, result_for, stored_job

pytestmark = pytest.mark.slow

NUMBERED = re.compile(r"^(1️⃣|2️⃣|3️⃣|4️⃣|5️⃣) (.+)$", re.M)


def png(size: tuple[int, int], colour: tuple[int, int, int] = (200, 60, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def answer_for(pg: Playground, ack: Message, timeout: float = 60) -> Message:
    """The new message that replies to a text job's acknowledgement with numbered buttons."""
    return await pg.wait_for_message("general", lambda m: m.reference_id == ack.id and "1️⃣" in labels(m),
                                     timeout=timeout)


def prompts_in(message: Message) -> list[str]:
    return [match[1] for match in NUMBERED.findall(message.content)]


async def describe(pg: Playground, user: str = "alice", size: tuple[int, int] = (96, 64)) -> tuple[Message, Message]:
    ack = await (await pg.slash("describe", user=user, channel="general",
                                options={"image": ("photo.png", png(size))})).response()
    return ack, await answer_for(pg, ack)


async def test_describe_answers_with_four_prompts_and_buttons(pg: Playground, stack, worker, midway) -> None:
    alice = pg.user("alice").id
    ack, answer = await describe(pg)
    # Answered at once with the image's link as the job's prompt (the message then follows the job).
    assert re.match(rf"\*\*http://\S+/photo\.png\*\* - <@{alice}> ", ack.content), ack.content
    prompts = prompts_in(answer)
    # Four prompts, each ending with the image's shape as Midjourney suggests it (96x64 is 3:2).
    assert len(prompts) == 4 and all(prompt.endswith("--ar 3:2") for prompt in prompts)
    assert labels(answer) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄", "Imagine all"]
    assert answer.attachments  # the image described, above its prompts
    job = stored_job(stack["redis_url"], job_of(answer))
    assert job.spec.operation is Operation.describe and job.spec.engine == "tiny-caption"
    assert [text.strip() for text in job.texts] == prompts


async def test_a_numbered_prompt_opens_editable_and_its_submit_imagines_it(pg: Playground, worker, midway) -> None:
    alice = pg.user("alice").id
    _, answer = await describe(pg)
    third = prompts_in(answer)[2]
    modal = await (await pg.click(answer.id, button(answer, "3️⃣"), user="alice")).response()
    assert modal.title == "Imagine This!" and modal.custom_id == ButtonRef(Action.pick, job_of(answer), 3).modal_id
    assert third in str(modal.components)
    ack = await (await pg.submit_modal(modal.custom_id, {"prompt": "a red fox --ar 3:2"}, user="alice")).response()
    assert ack.content.startswith(f"**a red fox --ar 3:2** - <@{alice}> (")
    grid = await result_for(pg, ack)
    assert grid.content == f"**a red fox --ar 3:2** - <@{alice}> (fast)"
    assert (grid.attachments[0].width, grid.attachments[0].height) == (2 * 96, 2 * 64)  # tiny's 3:2 size


async def test_reroll_describes_again_and_imagine_all_makes_four_jobs(pg: Playground, stack, worker, midway,
                                                                    settings) -> None:
    bob = pg.add_user("bob").id
    _, answer = await describe(pg, user="bob")
    first = stored_job(stack["redis_url"], job_of(answer))
    await (await pg.click(answer.id, button(answer, "🔄"), user="bob")).acked()
    again = await pg.wait_for_message("general", lambda m: "1️⃣" in labels(m) and job_of(m) != first.id
                                      and m.id != answer.id, timeout=60)
    second = stored_job(stack["redis_url"], job_of(again))
    # The same image, read with a new seed: four new prompts.
    assert second.spec.operation is Operation.describe and second.spec.image_urls == first.spec.image_urls
    assert second.spec.seed != first.spec.seed and second.texts != first.texts

    before = len(jobs_of_user(settings.redis_url, bob))
    ack = await (await pg.click(answer.id, button(answer, "Imagine all"), user="bob")).response()
    assert ack.content.startswith(f"**{first.texts[0].strip()}** - <@{bob}>")
    made = await imagine_jobs(settings.redis_url, bob, 4)
    assert len(jobs_of_user(settings.redis_url, bob)) == before + 4
    assert sorted(job.spec.full_prompt for job in made) == sorted(text.strip() for text in first.texts)


async def imagine_jobs(redis_url: str, user_id: int, count: int, timeout: float = 20) -> list[Job]:
    """The user's /imagine jobs once there are `count` (the first answers the press, the rest follow)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        made = [job for job in jobs_of_user(redis_url, user_id) if job.spec.operation is Operation.imagine]
        if len(made) >= count or asyncio.get_running_loop().time() > deadline:
            return made
        await asyncio.sleep(0.1)


async def test_describe_refuses_bad_input_by_name_and_makes_no_job(pg: Playground, worker, midway, settings) -> None:
    carol = pg.add_user("carol").id
    both = await (await pg.slash("describe", user="carol", channel="general",
                                 options={"image": ("a.png", png((32, 32))), "link": "https://example.com/a.png"})
                  ).response()
    assert both.ephemeral_for == carol and "one image" in both.content
    text = await (await pg.slash("describe", user="carol", channel="general",
                                 options={"image": ("notes.txt", b"not a picture")})).response()
    assert text.ephemeral_for == carol and "notes.txt" in text.content and "not an image" in text.content
    bad_link = await (await pg.slash("describe", user="carol", channel="general",
                                     options={"link": "file:///etc/passwd"})).response()
    assert bad_link.ephemeral_for == carol and "http(s) link" in bad_link.content
    assert jobs_of_user(settings.redis_url, carol) == []


async def test_a_private_link_fails_the_job_visibly(pg: Playground, worker, midway) -> None:
    """The worker refuses to fetch from a private address (checked before connecting): the job's message says so."""
    ack = await (await pg.slash("describe", user="alice", channel="general",
                                options={"link": "http://127.0.0.1:9/secret.png"})).response()
    failed = await pg.wait_for_message("general", lambda m: m.id == ack.id and "(Waiting to start)" not in m.content
                                       and "%" not in m.content, timeout=60)
    assert "1️⃣" not in labels(failed) and "127.0.0.1" in failed.content


async def test_shorten_marks_the_words_and_offers_five_prompts(pg: Playground, stack, worker, midway) -> None:
    alice = pg.user("alice").id
    prompt = "a very detailed oil painting of a lighthouse on a cliff at dusk --ar 3:2"
    ack = await (await pg.slash("shorten", user="alice", channel="general", options={"prompt": prompt})).response()
    assert ack.content.startswith(f"**{prompt}** - <@{alice}> (")
    answer = await answer_for(pg, ack)
    assert "**IMPORTANT TOKENS**" in answer.content and "**SHORTENED PROMPTS**" in answer.content
    assert "~~" in answer.content  # the words that carry least are struck
    shortened = prompts_in(answer)
    assert len(shortened) == 5 and all(text.endswith("--ar 3:2") for text in shortened)
    # From the most to the least aggressive: each keeps at least as many words as the one before.
    assert [len(text.split()) for text in shortened] == sorted(len(text.split()) for text in shortened)
    assert labels(answer) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]
    job = stored_job(stack["redis_url"], job_of(answer))
    assert job.spec.operation is Operation.shorten and len(job.word_scores) == len(prompt.split()) - 2

    modal = await (await pg.click(answer.id, button(answer, "1️⃣"), user="alice")).response()
    assert shortened[0] in str(modal.components)
    made = await (await pg.submit_modal(modal.custom_id, {"prompt": shortened[0]}, user="alice")).response()
    assert made.content.startswith(f"**{shortened[0]}** - <@{alice}> (")
    await result_for(pg, made)


async def test_shorten_refuses_what_it_cannot_take(pg: Playground, worker, midway, settings) -> None:
    dave = pg.add_user("dave").id
    for prompt, says in (("a cat::2 a dog", "multi-prompts"), ("a cat --no dogs", "--no"),
                         ("a cat --chaos 900", "chaos")):
        reply = await (await pg.slash("shorten", user="dave", channel="general",
                                      options={"prompt": prompt})).response()
        assert reply.ephemeral_for == dave and says in reply.content, reply.content
    assert jobs_of_user(settings.redis_url, dave) == []


async def test_the_buttons_work_after_a_bot_restart(pg: Playground, stack, worker, bots) -> None:
    alice = pg.user("alice").id
    bot = await bots.start()
    _, answer = await describe(pg)
    opened = await (await pg.click(answer.id, button(answer, "2️⃣"), user="alice")).response()
    await bots.stop(bot)
    await bots.start()
    # A modal opened before the restart is answered after it, and the buttons still open new ones.
    ack = await (await pg.submit_modal(opened.custom_id, {"prompt": "a blue kite"}, user="alice")).response()
    assert ack.content.startswith(f"**a blue kite** - <@{alice}> (")
    modal = await (await pg.click(answer.id, button(answer, "4️⃣"), user="alice")).response()
    assert prompts_in(answer)[3] in str(modal.components)
    await (await pg.click(answer.id, button(answer, "🔄"), user="alice")).acked()
    first = job_of(answer)
    await pg.wait_for_message("general", lambda m: "1️⃣" in labels(m) and m.id != answer.id and job_of(m) != first,
                              timeout=60)


async def test_engine_set_refuses_a_captioning_engine(pg: Playground, midway) -> None:
    reply = await (await pg.slash("engine set", user="admin", channel="general",
                                  options={"engine": "tiny-caption"})).response()
    assert "Not an image engine" in reply.content
