"""--cref / --oref on a FLUX engine through the emulator: the bot lets them through to `tinyflux` (a tiny FLUX
whose catalogue entry has a tiny Redux prior), whose worker fetches the link and conditions on it."""

from __future__ import annotations

import pytest

from midway.contract import JobStatus
from midway.settings import Settings
from playground.driver import Playground
from tests.bot.helpers import job_of, result_for, stored_job
from tests.bot.test_references import png
from tests.image_links import ImageLinks

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings: Settings, image_links: ImageLinks) -> Settings:
    # The bot checks links against the same allow list as the worker (MIDWAY_FETCH_ALLOW_HOSTS).
    return settings.model_copy(update={"fetch_allow_hosts": image_links.allow})


async def test_a_cref_and_an_oref_on_a_flux_engine_with_redux_run_and_are_kept(pg: Playground, flux_worker, midway,
                                                                             settings, image_links) -> None:
    image_links.routes["/flux-face.png"] = png((30, 120, 200))
    image_links.routes["/flux-lamp.png"] = png((220, 200, 40))
    face, lamp = image_links.url("/flux-face.png"), image_links.url("/flux-lamp.png")
    prompt = f"a knight --v 6 --cref {face} --cw 40 --oref {lamp}"
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": prompt})).response()
    assert ack.ephemeral_for is None, ack.content  # not refused
    grid = await result_for(pg, ack)
    job = stored_job(settings.redis_url, job_of(grid))
    assert job is not None and job.status is JobStatus.done and job.grid is not None
    assert (job.spec.engine, job.spec.character_refs, job.spec.omni_refs) == ("tinyflux", [face], [lamp])
    assert job.spec.character_weight == 40
    assert {"/flux-face.png", "/flux-lamp.png"} <= set(image_links.hits)
    assert f"--cref {face} --cw 40 --oref {lamp}" in grid.content
