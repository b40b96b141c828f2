"""Upscale (2x) and Upscale (4x) under a separated image: each posts one bigger copy of that image.

U1 separates image #1 of the grid at its cell size (64x64 with the test engines); the upscale buttons run
an upscale job on the worker whose single image is 2x / 4x that, replying with its own single-image buttons.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from midway.contract import Operation
from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import button, job_of, labels, result_for, result_of_press, wait_for_stored_job

pytestmark = pytest.mark.slow

UPSCALED_LABELS = ["Vary (Subtle)", "Vary (Strong)", "Upscale (2x)", "Upscale (4x)", "🔄"]


def picture(message: Message) -> Image.Image:
    [attachment] = message.attachments
    image = Image.open(io.BytesIO(attachment.data))
    image.load()
    return image.convert("RGB")


async def test_upscale_2x_and_4x_post_the_same_image_at_twice_and_four_times_its_size(
        pg: Playground, worker, midway, settings) -> None:
    alice = pg.user("alice").id
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a tin robot"})
                 ).response()
    grid = await result_for(pg, ack)
    await (await pg.click(grid.id, button(grid, "U1"), user="alice")).acked()
    single = await result_for(pg, grid)
    source = picture(single)
    assert source.size == (64, 64)

    for factor in (2, 4):
        result = await result_of_press(pg, single, f"Upscale ({factor}x)")
        assert result.content == f"**a tin robot** - Upscaled ({factor}x) by <@{alice}> (fast)"
        assert labels(result) == UPSCALED_LABELS
        image = picture(result)
        assert image.size == (64 * factor, 64 * factor)
        # The same picture, only bigger: scaled back down it matches the source to within resampling blur.
        difference = ImageStat.Stat(ImageChops.difference(image.resize(source.size, Image.Resampling.LANCZOS),
                                                          source)).mean
        assert max(difference) < 8, f"the {factor}x upscale is not image #1 enlarged (mean diff {difference})"

        job = await wait_for_stored_job(settings.redis_url, job_of(result))
        assert job.spec.operation is Operation.upscale and job.spec.upscale_factor == factor
        assert job.parent_index == 1 and len(job.outputs) == 1
