"""Image prompts (`/imagine <url> text --iw W`): unCLIP mixes embeddings; a latent engine without an IP-Adapter
(or whose entry picks `image_prompts = "img2img"`) runs img2img (engines/test_image_adapter.py: the adapter)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engines.params import image_prompt_share, image_prompt_strength
from midway.contract import Operation

from .conftest import small_spec
from .test_blend import BLUE, RED, decoded, mse, pixels
from .test_tiny_sd import vae_round_trip


@pytest.mark.parametrize(("iw", "share", "strength"), [(0, 0.0, 1.0), (0.5, 1 / 3, 2 / 3), (1, 0.5, 0.5),
                                                        (3, 0.75, 0.25)])
def test_iw_splits_the_weight_between_image_and_text(iw: float, share: float, strength: float) -> None:
    assert image_prompt_share(iw) == pytest.approx(share)
    assert image_prompt_strength(iw) == pytest.approx(strength)


def test_unclip_image_weight_moves_the_images_from_the_text_to_the_picture(tiny_unclip) -> None:
    spec = small_spec(prompt="a red fox", image_urls=["red"])
    text_only = tiny_unclip.run(spec)
    picture_only = decoded(tiny_unclip, RED, spec)

    def prompted(iw: float) -> list[Image.Image]:
        return tiny_unclip.run(spec.model_copy(update={"image_weight": iw}), source_images=[RED])

    light, heavy = prompted(0.25), prompted(3.0)
    # --iw 0 ignores the image; more weight, closer to the picture and further from the text.
    assert np.abs(pixels(prompted(0.0)) - pixels(text_only)).max() <= 1
    assert mse(heavy, picture_only) < 0.8 * mse(light, picture_only)
    assert mse(light, text_only) < 0.8 * mse(heavy, text_only)
    # A reroll keeps the image prompt (the worker loads the images for it too).
    reroll = tiny_unclip.run(spec.model_copy(update={"operation": Operation.reroll, "image_weight": 3.0}),
                             source_images=[RED])
    assert np.array_equal(pixels(reroll), pixels(heavy))


def test_unclip_image_prompt_with_two_images_uses_their_blend(tiny_unclip) -> None:
    spec = small_spec(prompt="", image_urls=["red", "blue"], image_weight=3.0)
    both = tiny_unclip.run(spec, source_images=[RED, BLUE])
    only_red = tiny_unclip.run(spec.model_copy(update={"image_urls": ["red"]}), source_images=[RED])
    assert mse(both, only_red) > 1


@pytest.fixture(scope="module")
def tiny_img2img(tiny):
    """The tiny SD engine with the img2img fallback for image prompts (`image_prompts = "img2img"`)."""
    from dataclasses import replace

    from engines.registry import load_engine

    return load_engine(replace(tiny.entry, image_prompts="img2img"))


def test_latent_engine_starts_from_the_first_image_with_strength_from_iw(tiny_img2img) -> None:
    tiny = tiny_img2img
    spec = small_spec(prompt="a red fox", image_urls=["red", "blue"], steps=8)
    # Random VAE weights reconstruct nothing: compare with the source as this VAE sees it.
    seen = vae_round_trip(tiny, RED)

    def prompted(iw: float) -> list[Image.Image]:
        return tiny.run(spec.model_copy(update={"image_weight": iw}), source_images=[RED, BLUE])

    ignored, heavy = prompted(0.0), prompted(3.0)
    assert [image.size for image in heavy] == [(64, 64)] * 4
    assert np.mean([mse([seen], [i]) for i in heavy]) < 0.85 * np.mean([mse([seen], [i]) for i in ignored])
    assert mse(heavy, tiny.run(spec)) > 1
    # Images after the first change nothing (latent diffusion has no image embedding to mix them into).
    assert np.array_equal(pixels(heavy), pixels(tiny.run(spec.model_copy(update={"image_weight": 3.0}),
                                                          source_images=[RED])))


def test_latent_image_prompt_is_cropped_to_the_aspect_ratio_not_stretched() -> None:
    from engines.diffusion import DiffusionEngine

    wide = Image.new("RGB", (128, 64), (20, 40, 200))
    wide.paste((220, 30, 30), (0, 0, 32, 64))  # a red strip on the far left, outside the square's crop
    spec = small_spec(image_urls=["wide"], image_weight=3.0)
    updated, init, rest = DiffusionEngine.image_prompt_as_init(spec, (wide, RED))
    assert init.size == (64, 64) and rest == ()
    assert init.getpixel((0, 32)) == (20, 40, 200)
    assert updated.strength == pytest.approx(0.25) and updated.operation is Operation.imagine
