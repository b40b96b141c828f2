"""Issue 18's "Done when", through the emulator with the real bot and worker: an `/imagine` with an uploaded
image, `--sref` (with a `::` weight), `--cref`, `--cw` and `--draft`, then V1, 🔄 and Enhance on its grid,
and a Remix: every derived job keeps the references and the worker really runs it with them.

The reference links are the playground's own attachment links (an earlier grid's), which the worker and
the bot may fetch because the playground listens on the one port the test stack allows (as `midway up`
allows its playground's); 127.0.0.1's other ports stay refused.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import redis

from midway import keys
from midway.blobs import is_ref
from midway.contract import Job, JobStatus, Operation
from midway.settings import Settings
from playground.driver import Playground
from playground.payloads import attachment_url
from playground.state import Message
from tests.bot.conftest import playground_on, reference_host
from tests.bot.helpers import button, job_of, jobs_of_user, labels, result_for, result_of_press, stored_job
from tests.bot.test_references import png

pytestmark = pytest.mark.slow


@pytest.fixture
async def pg(stack: dict[str, str]) -> AsyncIterator[Playground]:
    async with playground_on(int(stack["reference_port"])) as playground:
        yield playground


@pytest.fixture
def settings(settings: Settings, stack: dict[str, str]) -> Settings:
    # The bot checks links against the same allow list as the worker (MIDWAY_FETCH_ALLOW_HOSTS).
    return settings.model_copy(update={"fetch_allow_hosts": reference_host(stack)})


async def reference_link(pg: Playground) -> str:
    """The link of an image the playground serves: an earlier grid of alice's, on `tiny`."""
    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a castle"})).response()
    grid = await result_for(pg, ack)
    return attachment_url(pg.world, pg.channel("general").id, pg.world.attachments[grid.attachments[0].id])


def references_prompt(link: str, draft: bool = True) -> str:
    return f"a knight --v 7 --sref {link}::2 --cref {link} --cw 40{' --draft' if draft else ''}"


async def reference_grid(pg: Playground, prompt: str) -> Message:
    """alice's `/imagine prompt:<prompt> image:<a 64 px upload>`: its grid."""
    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": prompt, "image": ("face.png", png((30, 120, 200)))})).response()
    return await result_for(pg, ack)


def fetched_links(redis_url: str, job_id: str) -> set[str]:
    """The links the worker read for the job: fetched, or its parent's kept copy (worker/sources.py)."""
    client = redis.Redis.from_url(redis_url)
    try:
        return {link.decode() for link in client.hkeys(keys.fetched_key(job_id))}
    finally:
        client.close()


def ran_with_references(settings: Settings, message: Message, link: str) -> Job:
    """The finished job behind `message`, checked to have kept the references (and the worker to have read
    them for it)."""
    job = stored_job(settings.redis_url, job_of(message))
    assert job is not None and job.status is JobStatus.done and job.grid is not None
    spec = job.spec
    [image] = spec.image_urls
    assert is_ref(image), spec.image_urls  # the upload, read from the blob store
    assert (spec.engine, spec.style_refs, spec.style_ref_weights) == ("tiny2", [link], [2.0])
    assert spec.character_refs == [link]
    assert fetched_links(settings.redis_url, job.id) == {link}
    return job


async def test_v_reroll_and_enhance_keep_the_image_prompt_sref_cref_and_cw(pg: Playground, worker, midway,
                                                                           settings) -> None:
    alice = pg.user("alice").id
    link = await reference_link(pg)
    prompt = references_prompt(link)
    draft = await reference_grid(pg, prompt)
    upload = re.escape(f"{pg.base_url}/cdn/attachments/{pg.channel('general').id}/") + r"\d+/face\.png"
    # The refs are shown as typed, the upload's link first (Midjourney's echo of an image prompt).
    assert re.fullmatch(rf"\*\*{upload} {re.escape(prompt)}\*\* - <@{alice}> \(Draft\) \(fast\)", draft.content)
    assert "Enhance" in labels(draft)
    first = ran_with_references(settings, draft, link)
    assert first.spec.draft and first.spec.character_weight == 40 and first.spec.operation is Operation.imagine

    varied = await result_of_press(pg, draft, "V1")
    assert re.fullmatch(rf"\*\*{upload} {re.escape(prompt)}\*\* - Variations \(Strong\) by <@{alice}> "
                        r"\(Draft\) \(fast\)", varied.content)
    variation = ran_with_references(settings, varied, link)
    assert (variation.spec.operation, variation.spec.draft, variation.spec.character_weight) == (
        Operation.variation, True, 40)

    rerolled = await result_of_press(pg, draft, "🔄")
    assert re.fullmatch(rf"\*\*{upload} {re.escape(prompt)}\*\* - <@{alice}> \(Draft\) \(fast\)", rerolled.content)
    reroll = ran_with_references(settings, rerolled, link)
    assert (reroll.spec.operation, reroll.spec.draft, reroll.spec.character_weight) == (Operation.reroll, True, 40)
    assert reroll.spec.seed != first.spec.seed

    enhanced = await result_of_press(pg, draft, "Enhance")
    full_prompt = re.escape(prompt.removesuffix(" --draft"))  # the same prompt; not a draft, so no `--draft`
    assert re.fullmatch(rf"\*\*{upload} {full_prompt}\*\* - Enhanced by <@{alice}> \(fast\)", enhanced.content)
    assert "Enhance" not in labels(enhanced)
    full = ran_with_references(settings, enhanced, link)
    # Full quality, the same seed: the draft again, references and all.
    assert (full.spec.draft, full.spec.seed, full.spec.character_weight) == (False, first.spec.seed, 40)
    assert full.parent_job_id == first.id


async def test_remix_shows_the_references_and_takes_an_edited_cw(pg: Playground, worker, midway, settings) -> None:
    alice = pg.user("alice").id
    link = await reference_link(pg)
    await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    grid = await reference_grid(pg, references_prompt(link))
    parent = stored_job(settings.redis_url, job_of(grid))
    assert parent is not None

    modal = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    [prefilled] = re.findall(r"'value': '([^']*)'", str(modal.components))
    assert prefilled == parent.spec.full_prompt and f"--sref {link}::2 --cref {link} --cw 40" in prefilled
    edited = prefilled.replace("--cw 40", "--cw 80")
    await (await pg.submit_modal(modal.custom_id, {"prompt": edited}, user="alice")).acked()
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == grid.id and not m.attachments)
    remix = await result_for(pg, announced)
    assert remix.content == f"**{edited}** - Remix (Strong) by <@{alice}> (Draft) (fast)"
    job = ran_with_references(settings, remix, link)
    assert (job.spec.character_weight, job.spec.draft, job.spec.image_urls) == (80, True, parent.spec.image_urls)


async def test_a_remix_editing_a_cref_to_a_private_address_is_refused_before_any_job(pg: Playground, worker, midway,
                                                                                     settings) -> None:
    alice = pg.user("alice").id
    link = await reference_link(pg)
    await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    grid = await reference_grid(pg, references_prompt(link, draft=False))
    before = len(jobs_of_user(settings.redis_url, alice))

    modal = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    # The Redis beside the playground: the same host, a port the allow list does not name.
    private = f"http://127.0.0.1:{settings.redis_url.rsplit(':', 1)[1].split('/')[0]}/a.png"
    [prefilled] = re.findall(r"'value': '([^']*)'", str(modal.components))
    edited = prefilled.replace(f"--cref {link}", f"--cref {private}")
    reply = await (await pg.submit_modal(modal.custom_id, {"prompt": edited}, user="alice")).response()
    assert reply.ephemeral_for == alice
    assert "Cannot use the image link" in reply.content and "private or local address" in reply.content
    assert len(jobs_of_user(settings.redis_url, alice)) == before
