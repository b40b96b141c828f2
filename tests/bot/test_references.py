"""Image references through the emulator: `/imagine image:` makes the upload an image prompt read from the
blob store; `--sref random` runs on an engine with a style adapter and echoes its code; an engine without
one refuses `--sref` before any job exists; `/engine list` says what each engine does with references."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from midway.blobs import is_ref
from playground.driver import Playground
from tests.bot.helpers import job_of, jobs_of_user, result_for, stored_job

pytestmark = pytest.mark.slow


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


async def refusal(pg: Playground, settings, options: dict) -> str:
    """alice's /imagine with `options`: the ephemeral reply's text, checked to have started no job."""
    alice = pg.user("alice").id
    before = len(jobs_of_user(settings.redis_url, alice))
    reply = await (await pg.slash("imagine", user="alice", channel="general", options=options)).response()
    assert reply.ephemeral_for == alice
    assert len(jobs_of_user(settings.redis_url, alice)) == before
    return reply.content


async def test_an_uploaded_image_is_the_prompts_image_reference(pg: Playground, worker, midway, settings) -> None:
    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a red kite --v 7 --iw 2",
                                         "image": ("kite.png", png((200, 30, 30)))})).response()
    grid = await result_for(pg, ack)
    job = stored_job(settings.redis_url, job_of(grid))
    assert job is not None and job.spec.engine == "tiny2"
    [ref] = job.spec.image_urls
    assert is_ref(ref) and job.spec.image_weight == 2
    # The message shows the prompt with the upload's link first, as if it had been typed there.
    assert re.match(r"\*\*\S+/kite\.png a red kite --v 7 --iw 2\*\*", grid.content)


async def test_an_upload_that_is_no_image_is_refused_and_starts_nothing(pg: Playground, worker, midway,
                                                                        settings) -> None:
    content = await refusal(pg, settings, {"prompt": "a kite", "image": ("notes.txt", b"no picture")})
    assert "Cannot use the image" in content and "notes.txt" in content


async def test_sref_random_runs_on_a_style_adapter_and_shows_its_code(pg: Playground, worker, midway,
                                                                      settings) -> None:
    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a lighthouse --v 7 --sref random"})).response()
    grid = await result_for(pg, ack)
    code = re.search(r"--sref (\d+)", grid.content)
    assert code is not None, grid.content
    job = stored_job(settings.redis_url, job_of(grid))
    assert job is not None and job.spec.style_code == int(code.group(1))


async def test_sref_on_an_engine_without_a_style_adapter_is_refused_by_name(pg: Playground, worker, midway,
                                                                            settings) -> None:
    content = await refusal(pg, settings, {"prompt": "a lighthouse --sref 1234"})
    assert "`--sref` needs an engine with a style adapter" in content and "`tiny`" in content


async def test_engine_list_says_what_each_engine_does_with_references(pg: Playground, worker, midway) -> None:
    reply = await (await pg.slash("engine list", user="admin", channel="general")).response()
    lines = {line.split("`")[1]: line for line in reply.content.splitlines() if line.startswith("`")}
    assert "References: image prompts (adapter), --sref, --cref, --oref." in lines["tiny2"]
    # A FLUX engine with a Redux prior: image prompts and --cref / --oref through its image tokens, no --sref.
    assert "References: image prompts (redux), --cref, --oref." in lines["tinyflux"]
    assert "References: image prompts (img2img)." in lines["tiny"]
    assert "References" not in lines["tiny-caption"]


async def test_cref_on_an_engine_without_a_character_adapter_is_refused_by_name(pg: Playground, worker, midway,
                                                                              settings) -> None:
    # A public address literal: the link passes the address check, so the engine's refusal is what answers.
    content = await refusal(pg, settings, {"prompt": "a knight --cref https://93.184.216.34/face.png"})
    assert "`--cref` needs an engine with a character adapter" in content and "`tiny`" in content


async def test_a_cref_link_to_a_private_address_is_refused_before_any_job(pg: Playground, worker, midway,
                                                                          settings) -> None:
    content = await refusal(pg, settings, {"prompt": "a knight --v 7 --cref http://127.0.0.1:6379/a.png"})
    assert "Cannot use the image link" in content and "private or local address" in content


@pytest.mark.parametrize("link", ["http://127.0.0.1:6379/a.png", "http://169.254.169.254/latest/x.png"])
async def test_a_link_to_a_private_address_is_refused_before_any_job(pg: Playground, worker, midway, settings,
                                                                     link: str) -> None:
    content = await refusal(pg, settings, {"prompt": f"{link} a fox --v 7"})
    assert "Cannot use the image link" in content and "private or local address" in content
