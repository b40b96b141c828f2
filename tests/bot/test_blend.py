"""/blend end to end: attachments -> blobs -> a blend job on an unCLIP worker -> grid with U/V/🔄.

The module runs its own `midway worker --engines tiny-unclip` against a catalogue that adds a tiny
unCLIP engine to the shared test catalogue; the channel's engine (tiny, Stable Diffusion) cannot
blend, so /blend falls back to the catalogue engine that can and has a live worker.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import redis
from PIL import Image

from bot.commands.blend import BlendError, blend_text, pick_engine, plan_blend
from bot.store import ChannelSettings, UserSettings
from midway.blobs import RedisBlobStore
from midway.catalogue import load_catalogue
from midway.contract import Operation
from midway.settings import PROJECT_ROOT, Settings
from ops.supervisor import worker_subprocess
from playground.driver import Playground
from tests.bot.conftest import CATALOGUE, stack_env
from tests.bot.helpers import (
    GRID_LABELS,
    button,
    job_of,
    jobs_of_user,
    labels,
    result_for,
    stored_job,
    wait_for_stored_job,
)
from tests.bot.test_prefer_and_moderation_limits import save_user_directly

pytestmark = pytest.mark.slow

UNCLIP = """
[engines.tiny-unclip]
kind = "tiny"
family = "unclip"
base_width = 128
base_height = 128
size_multiple = 64
steps = 4
prior_steps = 2
guidance = 4.0
"""


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


RED, BLUE = png((220, 30, 30)), png((20, 40, 200))


@pytest.fixture(scope="module")
def blend_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("blend") / "catalogue.toml"
    path.write_text(CATALOGUE + UNCLIP)
    return path


@pytest.fixture(scope="module")
def unclip_worker(stack: dict[str, str], blend_catalogue: Path) -> subprocess.Popen:
    env = stack_env(stack) | {"MIDWAY_CATALOGUE": str(blend_catalogue)}
    with worker_subprocess(stack["redis_url"], ["tiny-unclip"], env, cwd=PROJECT_ROOT) as process:
        yield process


@pytest.fixture
def settings(settings: Settings, blend_catalogue: Path) -> Settings:
    return settings.model_copy(update={"catalogue": blend_catalogue})


def cdn_urls(pg: Playground, count: int) -> list[str]:
    """The URLs of the last `count` uploaded attachments, as the bot saw them."""
    uploads = sorted(pg.world.attachments.values(), key=lambda a: a.id)[-count:]
    return [f"{pg.base_url}/cdn/attachments/{pg.channel('general').id}/{a.id}/{a.filename}" for a in uploads]


async def test_blend_two_images_to_a_grid_then_reroll(pg: Playground, stack, unclip_worker, midway) -> None:
    alice = pg.user("alice").id
    run = await pg.slash("blend", user="alice", channel="general",
                         options={"image1": ("red.png", RED), "image2": ("blue.png", BLUE), "dimensions": "3:2"})
    ack = await run.response()
    urls = cdn_urls(pg, 2)
    echo = f"{urls[0]} {urls[1]} --ar 3:2"
    assert ack.content == f"**{echo}** - <@{alice}> (Waiting to start)"

    grid = await result_for(pg, ack)
    assert grid.content == f"**{echo}** - <@{alice}> (fast)"
    assert labels(grid) == GRID_LABELS
    # 3:2 at the engine's 128 px base area, sides a multiple of 64: 192x128 images in a 2x2 grid.
    assert (grid.attachments[0].width, grid.attachments[0].height) == (384, 256)

    job = stored_job(stack["redis_url"], job_of(grid))
    assert job.spec.operation is Operation.blend and job.spec.engine == "tiny-unclip"
    blobs = RedisBlobStore(redis.Redis.from_url(stack["redis_url"]), 600)
    assert [blobs.get(ref) for ref in job.spec.image_urls] == [RED, BLUE]

    # 🔄 blends the same images again with a new seed.
    await (await pg.click(grid.id, button(grid, "🔄"), user="alice")).acked()
    rerolled = await pg.wait_for_message("general", lambda m: m.reference_id is not None and bool(m.attachments)
                                         and m.id != grid.id and m.content.endswith("(fast)")
                                         and job_of(m) != job.id, timeout=60)
    again = stored_job(stack["redis_url"], job_of(rerolled))
    assert again.spec.operation is Operation.blend and again.spec.image_urls == job.spec.image_urls
    assert again.spec.seed != job.spec.seed and rerolled.attachments[0].data != grid.attachments[0].data


async def test_dimensions_beat_the_suffix_aspect_ratio(pg: Playground, stack, unclip_worker, midway) -> None:
    pg.add_user("bob")
    await (await pg.slash("prefer suffix", user="bob", channel="general",
                          options={"value": "--ar 16:9 --chaos 20"})).response()
    images = {"image1": ("a.png", RED), "image2": ("b.webp", BLUE), "image3": ("c.png", RED)}
    with_suffix = await (await pg.slash("blend", user="bob", channel="general", options=images)).response()
    urls = " ".join(cdn_urls(pg, 3))
    assert with_suffix.content.startswith(f"**{urls} --ar 16:9 --chaos 20** - ")
    portrait = await (await pg.slash("blend", user="bob", channel="general",
                                     options=images | {"dimensions": "2:3"})).response()
    urls = " ".join(cdn_urls(pg, 3))
    assert portrait.content.startswith(f"**{urls} --ar 2:3 --chaos 20** - ")
    job = await wait_for_stored_job(stack["redis_url"], job_of(portrait))
    assert (job.spec.width, job.spec.height, job.spec.chaos, len(job.spec.image_urls)) == (128, 192, 20, 3)
    await result_for(pg, portrait)


async def test_a_file_that_is_no_image_is_refused_without_a_job(pg: Playground, stack, unclip_worker,
                                                                midway) -> None:
    carol = pg.add_user("carol").id
    run = await pg.slash("blend", user="carol", channel="general",
                         options={"image1": ("red.png", RED), "image2": ("notes.txt", b"not a picture")})
    reply = await run.response()
    assert reply.content.startswith("**Cannot blend**") and "notes.txt" in reply.content
    assert jobs_of_user(stack["redis_url"], carol) == []


def test_pick_engine_prefers_the_channel_engine_then_a_live_one(blend_catalogue: Path, tmp_path: Path) -> None:
    catalogue = load_catalogue(blend_catalogue)
    assert pick_engine(["tiny-unclip"], catalogue, live=set()) == "tiny-unclip"
    assert pick_engine([None, "tiny"], catalogue, live={"tiny", "tiny-unclip"}) == "tiny-unclip"
    with pytest.raises(BlendError, match=r"No worker is running an engine that can blend \(tiny-unclip\)"):
        pick_engine(["tiny"], catalogue, live={"tiny"})
    (tmp_path / "plain.toml").write_text(CATALOGUE)
    with pytest.raises(BlendError, match="No engine in this server's catalogue can blend"):
        pick_engine(["tiny"], load_catalogue(tmp_path / "plain.toml"), live={"tiny"})


def test_the_settings_draft_toggle_drafts_a_blend_where_its_engine_drafts(tmp_path: Path) -> None:
    (tmp_path / "drafts.toml").write_text(CATALOGUE + UNCLIP + "draft_steps = 2\n")
    catalogue = load_catalogue(tmp_path / "drafts.toml")
    settings = Settings(default_engine="tiny-unclip")
    urls = ["https://a.example/1.png", "https://a.example/2.png"]
    for draft in (True, False):
        [spec] = plan_blend(urls, ["r1", "r2"], None, UserSettings(draft=draft), ChannelSettings(), catalogue,
                            settings, live={"tiny-unclip"})
        assert (spec.operation, spec.image_urls, spec.draft) == (Operation.blend, ["r1", "r2"], draft)


def test_blend_text_puts_the_chosen_ratio_before_the_suffix() -> None:
    assert blend_text(["u1", "u2"], None, "") == "u1 u2 --ar 1:1"
    assert blend_text(["u1", "u2"], "2:3", "--ar 16:9 --s 50") == "u1 u2 --ar 2:3 --s 50"
    assert blend_text(["u1", "u2"], None, "--aspect 16:9") == "u1 u2 --aspect 16:9"


async def test_a_saved_suffix_that_breaks_blend_is_named(pg: Playground, stack, unclip_worker, midway) -> None:
    # A suffix stored before Midway checked them: /blend's own text is the bot's, so the suffix is to blame.
    dave = pg.add_user("dave").id
    save_user_directly(stack["redis_url"], dave, UserSettings(suffix="--foo 3"))
    run = await pg.slash("blend", user="dave", channel="general",
                         options={"image1": ("a.png", RED), "image2": ("b.png", BLUE)})
    reply = await run.response()
    assert reply.ephemeral_for == dave
    assert "`--foo`" in reply.content and "`/prefer suffix`" in reply.content
    assert jobs_of_user(stack["redis_url"], dave) == []


async def test_blend_is_held_to_the_caps_as_imagine_is_even_when_requests_race(pg: Playground, stack, bots,
                                                                               unclip_worker, settings) -> None:
    # Two unfinished jobs allowed in all. Four /blend at once all read an empty queue; before the single
    # admission path each of them passed (the /blend copy of the check held nothing while it uploaded).
    settings.max_running_per_user, settings.max_queued_per_user = 1, 1
    await bots.start()
    pg.add_user("carol")
    carol = pg.user("carol").id
    images = {"image1": ("red.png", RED), "image2": ("blue.png", BLUE)}
    runs = [await pg.slash("blend", user="carol", channel="general", options=images) for _ in range(4)]
    answers = [await run.response() for run in runs]
    started = [answer for answer in answers if answer.content.endswith("(Waiting to start)")]
    refused = [answer for answer in answers if answer.content.startswith("**Queue full**")]
    assert (len(started), len(refused)) == (2, 2), [answer.content for answer in answers]
    assert all(answer.ephemeral_for == carol for answer in refused)
    await pg.wait_until(lambda: len(jobs_of_user(settings.redis_url, carol)) == 2 or None)

    # At the cap, /imagine and /blend refuse alike, and neither makes a job.
    imagine = await (await pg.slash("imagine", user="carol", channel="general",
                                    options={"prompt": "a red fox"})).response()
    again = await (await pg.slash("blend", user="carol", channel="general", options=images)).response()
    if not imagine.content.startswith("**Queue full**"):
        pytest.skip("a blend job finished before the second round; the race above is what counts")
    assert again.content == imagine.content
    assert len(jobs_of_user(settings.redis_url, carol)) == 2
