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
from midway.settings import Settings
from playground.driver import Playground
from playground.interactions import MESSAGE
from playground.state import Message
from tests.bot.helpers import button, job_of, jobs_of_user, labels, result_for, stored_job
from tests.image_links import ImageLinks, hostile_files

pytestmark = pytest.mark.slow

HOSTILE = hostile_files()
NUMBERED = re.compile(r"^(1️⃣|2️⃣|3️⃣|4️⃣|5️⃣) (.+)$", re.M)


@pytest.fixture
def settings(settings: Settings, image_links: ImageLinks) -> Settings:
    # The bot checks a link against the same allow list as the worker (MIDWAY_FETCH_ALLOW_HOSTS).
    return settings.model_copy(update={"fetch_allow_hosts": image_links.allow})


def png(size: tuple[int, int], colour: tuple[int, int, int] = (200, 60, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def answer_for(pg: Playground, ack: Message, timeout: float = 60) -> Message:
    """The new message that replies to a text job's acknowledgement with numbered buttons."""
    return await pg.wait_for_message("general", lambda m: m.reference_id == ack.id and "1️⃣" in labels(m),
                                     timeout=timeout)


def embed_of(message: Message) -> dict:
    """A text job's answer is one embed, as Midjourney's is; the content only mentions the requester."""
    assert len(message.embeds) == 1, message.embeds
    return message.embeds[0]


def prompts_in(message: Message) -> list[str]:
    return [match[1] for match in NUMBERED.findall(embed_of(message)["description"])]


async def describe(pg: Playground, user: str = "alice", size: tuple[int, int] = (96, 64)) -> tuple[Message, Message]:
    ack = await (await pg.slash("describe", user=user, channel="general",
                                options={"image": ("photo.png", png(size))})).response()
    return ack, await answer_for(pg, ack)


async def test_describe_answers_with_four_prompts_and_buttons(pg: Playground, stack, worker, midway) -> None:
    alice = pg.user("alice").id
    run = await pg.slash("describe", user="alice", channel="general", options={"image": ("photo.png", png((96, 64)))})
    ack = await run.response()
    # Answered at once, well inside Discord's 3 s, by a message (the waiting one; not a deferral) with the
    # image's link as the job's prompt; that message then follows the job.
    interaction = run.interaction
    assert run.response_type == MESSAGE and interaction.responded_at - interaction.created_at < 3
    assert re.match(rf"\*\*http://\S+/photo\.png\*\* - <@{alice}> \(", ack.content), ack.content
    answer = await answer_for(pg, ack)
    assert answer.content == f"<@{alice}>"
    prompts = prompts_in(answer)
    # Four prompts, one paragraph each, each ending with the image's shape as Midjourney suggests it
    # (96x64 is 3:2).
    assert len(prompts) == 4 and all(prompt.endswith("--ar 3:2") for prompt in prompts)
    assert embed_of(answer)["description"].count("\n\n") == 3
    assert labels(answer) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄", "Imagine all"]
    # The image described, shown in the embed above its prompts (small already: kept as it is).
    assert [(image.width, image.height) for image in answer.attachments] == [(96, 64)]
    assert embed_of(answer)["image"]["url"] == f"attachment://{answer.attachments[0].filename}"
    job = stored_job(stack["redis_url"], job_of(answer))
    assert job.spec.operation is Operation.describe and job.spec.engine == "tiny-caption"
    assert [text.strip() for text in job.texts] == prompts


async def test_a_large_upload_is_shown_as_a_thumbnail_of_its_shape(pg: Playground, worker, midway) -> None:
    _, answer = await describe(pg, size=(1500, 1000))
    assert [(image.width, image.height) for image in answer.attachments] == [(512, 341)]
    assert all(prompt.endswith("--ar 3:2") for prompt in prompts_in(answer))


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
    assert second.spec.seed != first.spec.seed and len(second.texts) == 4
    assert set(second.texts).isdisjoint(first.texts)
    assert set(prompts_in(again)).isdisjoint(prompts_in(answer)) and len(prompts_in(again)) == 4

    before = len(jobs_of_user(settings.redis_url, bob))
    ack = await (await pg.click(answer.id, button(answer, "Imagine all"), user="bob")).response()
    assert ack.content.startswith(f"**{first.texts[0].strip()}** - <@{bob}>")
    made = await imagine_jobs(settings.redis_url, bob, 4)
    assert len(jobs_of_user(settings.redis_url, bob)) == before + 4
    assert sorted(job.spec.full_prompt for job in made) == sorted(text.strip() for text in first.texts)


async def test_imagine_all_is_refused_whole_when_it_would_pass_the_caps(pg: Playground, worker, bots,
                                                                        settings) -> None:
    # Room for three jobs in all: the describe job fits, its four prompts do not (as a --repeat 4 would not).
    settings.max_running_per_user, settings.max_queued_per_user = 1, 2
    await bots.start()
    frank = pg.add_user("frank").id
    _, answer = await describe(pg, user="frank")
    refused = await (await pg.click(answer.id, button(answer, "Imagine all"), user="frank")).response()
    assert refused.ephemeral_for == frank and refused.content.startswith("**Queue full**"), refused.content
    assert [job.spec.operation for job in jobs_of_user(settings.redis_url, frank)] == [Operation.describe]


async def test_imagine_all_above_the_confirmation_line_asks_first(pg: Playground, worker, bots, settings) -> None:
    settings.confirm_above = 3  # four jobs: asked to confirm, as --repeat 4 would be
    await bots.start()
    gina = pg.add_user("gina").id
    _, answer = await describe(pg, user="gina")
    ask = await (await pg.click(answer.id, button(answer, "Imagine all"), user="gina")).response()
    assert ask.ephemeral_for == gina and "**4**" in ask.content and labels(ask) == ["Yes", "No"]
    assert await imagine_jobs(settings.redis_url, gina, 1, timeout=0.5) == []
    confirmed = await (await pg.click(ask.id, button(ask, "Yes"), user="gina")).response()
    assert confirmed.content == "Submitting 4 jobs."
    made = await imagine_jobs(settings.redis_url, gina, 4)
    assert sorted(job.spec.full_prompt for job in made) == sorted(prompts_in(answer))


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


@pytest.mark.parametrize("link", ["http://127.0.0.1:9/secret.png", "http://169.254.169.254/latest/x.png",
                                  "http://10.0.0.7/a.png"], ids=["loopback", "link-local", "private"])
async def test_a_link_to_a_private_address_is_refused_before_any_job(pg: Playground, worker, midway, settings,
                                                                    link: str) -> None:
    """As an image prompt's link is (tests/bot/test_references.py): by the worker's own rule, before a job."""
    erin = pg.add_user("erin").id
    reply = await (await pg.slash("describe", user="erin", channel="general", options={"link": link})).response()
    assert reply.ephemeral_for == erin and reply.content.startswith("**Cannot describe**")
    assert "is a private or local address; only public image links are fetched." in reply.content
    assert jobs_of_user(settings.redis_url, erin) == []


async def test_a_link_is_fetched_by_the_worker_and_described(pg: Playground, worker, midway, image_links) -> None:
    link = image_links.url("/wide.png")
    ack = await (await pg.slash("describe", user="alice", channel="general", options={"link": link})).response()
    assert ack.content.startswith(f"**{link}** - ")
    answer = await answer_for(pg, ack)
    prompts = prompts_in(answer)
    assert len(prompts) == 4 and all(prompt.endswith("--ar 3:2") for prompt in prompts)
    assert "/wide.png" in image_links.hits
    # No upload to make a thumbnail of: the embed shows the link itself (Discord's proxy fetches it).
    assert answer.attachments == [] and embed_of(answer)["image"]["url"] == link


@pytest.mark.parametrize("path", list(HOSTILE), ids=["html", "truncated", "bomb"])
async def test_a_link_that_serves_no_usable_image_fails_the_job_by_name(pg: Playground, worker, midway,
                                                                      image_links, path: str) -> None:
    """What only the download shows (the address is allowed): the worker fails the job, its message says why."""
    ack = await (await pg.slash("describe", user="alice", channel="general",
                                options={"link": image_links.url(path)})).response()
    failed = await pg.wait_for_message("general", lambda m: m.id == ack.id and "(Failed: " in m.content, timeout=60)
    assert failed.content.endswith(f"(Failed: {HOSTILE[path][1]})") and "1️⃣" not in labels(failed)


async def test_shorten_marks_the_words_and_offers_five_prompts(pg: Playground, stack, worker, midway) -> None:
    alice = pg.user("alice").id
    prompt = "a very detailed oil painting of a lighthouse on a cliff at dusk --ar 3:2"
    ack = await (await pg.slash("shorten", user="alice", channel="general", options={"prompt": prompt})).response()
    assert ack.content.startswith(f"**{prompt}** - <@{alice}> (")
    answer = await answer_for(pg, ack)
    embed = embed_of(answer)
    assert answer.content == f"<@{alice}>" and embed["footer"]["text"] == "Click on a button to imagine"
    lines = embed["description"].splitlines()
    assert lines[0] == "**IMPORTANT TOKENS**" and "**SHORTENED PROMPTS**" in lines
    assert "~~" in lines[1]  # the words that carry least are struck
    shortened = prompts_in(answer)
    assert len(shortened) == 5 and all(text.endswith("--ar 3:2") for text in shortened)
    # From the most to the least aggressive: each keeps at least as many words as the one before.
    assert [len(text.split()) for text in shortened] == sorted(len(text.split()) for text in shortened)
    assert labels(answer) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]
    job = stored_job(stack["redis_url"], job_of(answer))
    assert job.spec.operation is Operation.shorten and len(job.word_scores) == len(prompt.split()) - 2
    # Ranked by the encoder's scores: every bold word moved the embedding at least as far as any struck one.
    marked = lines[1].split()
    scored = list(zip(marked, job.word_scores, strict=True))
    bold = [score for word, score in scored if word.startswith("**")]
    struck = [score for word, score in scored if word.startswith("~~")]
    assert len(bold) + len(struck) == len(scored) and bold and struck and min(bold) >= max(struck)

    modal = await (await pg.click(answer.id, button(answer, "1️⃣"), user="alice")).response()
    assert shortened[0] in str(modal.components)
    made = await (await pg.submit_modal(modal.custom_id, {"prompt": shortened[0]}, user="alice")).response()
    assert made.content.startswith(f"**{shortened[0]}** - <@{alice}> (")
    await result_for(pg, made)


async def test_shorten_scores_on_the_channels_engine(pg: Playground, stack, worker, midway) -> None:
    """The text encoder of the engine the prompt would imagine with: the channel's, or the one `--v` names."""
    await (await pg.slash("engine set", user="admin", channel="general", options={"engine": "tiny2"})).response()
    ack = await (await pg.slash("shorten", user="alice", channel="general",
                                options={"prompt": "a red fox in the snow"})).response()
    job = stored_job(stack["redis_url"], job_of(await answer_for(pg, ack)))
    assert job.spec.engine == "tiny2" and len(job.word_scores) == 6


async def test_shorten_refuses_what_it_cannot_take(pg: Playground, worker, midway, settings) -> None:
    dave = pg.add_user("dave").id
    for prompt, says in (("a cat::2 a dog", "multi-prompts"), ("a cat --no dogs", "--no"),
                         ("a cat --chaos 900", "chaos")):
        reply = await (await pg.slash("shorten", user="dave", channel="general",
                                      options={"prompt": prompt})).response()
        assert reply.ephemeral_for == dave and says in reply.content, reply.content
    assert jobs_of_user(settings.redis_url, dave) == []


async def test_the_buttons_work_after_a_bot_restart(pg: Playground, stack, worker, bots, settings) -> None:
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
    await (await pg.click(answer.id, button(answer, "Imagine all"), user="alice")).response()
    made = await imagine_jobs(settings.redis_url, alice, 5)  # the modal's job, and the four
    assert {job.spec.full_prompt for job in made} >= set(prompts_in(answer))


async def test_engine_set_refuses_a_captioning_engine(pg: Playground, midway) -> None:
    reply = await (await pg.slash("engine set", user="admin", channel="general",
                                  options={"engine": "tiny-caption"})).response()
    assert "Not an image engine" in reply.content
