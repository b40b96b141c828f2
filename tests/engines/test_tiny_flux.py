"""The FLUX engine on a tiny random-weight FluxPipeline (CLIP + in-memory T5 tokenizer and encoder,
rectified-flow transformer, 16-channel VAE), built once and loaded through `from_pretrained`."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engines.params import image_seed
from engines.tiny.flux import t5_tokenizer
from midway.contract import Operation
from midway.errors import GenerationCancelled

from .conftest import small_spec


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.float64) for image in images])


def mse(a: list[Image.Image], b: list[Image.Image]) -> float:
    return float(((pixels(a) - pixels(b)) ** 2).mean())


def test_the_t5_tokenizer_survives_save_and_load(tmp_path):
    from transformers import AutoTokenizer

    tokenizer = t5_tokenizer()
    tokenizer.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    ids = tokenizer("a red fox, 3 times!").input_ids
    assert again("a red fox, 3 times!").input_ids == ids
    assert ids[-1] == tokenizer.eos_token_id and tokenizer.unk_token_id not in ids
    assert again.decode(ids, skip_special_tokens=True) == "a red fox, 3 times!"


def test_imagine_gives_four_distinct_images_with_previews(tiny_flux):
    seen = []
    images = tiny_flux.run(small_spec(width=96, height=64), on_progress=lambda s, t, p: seen.append((s, t, p)))
    assert [image.size for image in images] == [(96, 64)] * 4
    assert pixels(images).std() > 1
    assert np.abs(pixels(images[:1]) - pixels(images[1:2])).mean() > 1
    assert [(s, t) for s, t, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    # Packed 2x2-patch latents are unpacked for the preview: a 2x2 grid of 12x8 latent images.
    assert all(isinstance(p, Image.Image) and p.size == (24, 16) for _, _, p in seen)


def test_same_seed_same_pixels_and_image_i_alone(tiny_flux):
    first, second = tiny_flux.run(small_spec()), tiny_flux.run(small_spec())
    assert np.array_equal(pixels(first), pixels(second))
    alone = tiny_flux.run(small_spec(seed=image_seed(1234, 2), n_images=1))
    assert np.abs(pixels(alone) - pixels(first[2:3])).max() <= 2
    negative = tiny_flux.run(small_spec(n_images=1, negative_prompt="blurry"))  # true CFG path
    assert np.abs(pixels(negative) - pixels(first[:1])).mean() > 1


def test_stop_runs_fewer_steps_and_decodes_the_denoised_estimate(tiny_flux):
    full = tiny_flux.run(small_spec(steps=4))
    calls = [0]
    handle = tiny_flux.pipe.transformer.register_forward_hook(lambda *args: calls.__setitem__(0, calls[0] + 1))
    seen = []
    try:
        stopped = tiny_flux.run(small_spec(steps=4, stop=50), on_progress=lambda s, t, p: seen.append(s))
    finally:
        handle.remove()
    # --stop 50: the second step ends the job (reported as 100%) and decodes the denoised estimate.
    assert calls[0] == 2 and seen == [1, 4]
    assert [image.size for image in stopped] == [(64, 64)] * 4
    # x0 = x_t - sigma * v lands near the full run's images (about 0.01 of the gap between two seeds'
    # images here), yet not on them; the half-denoised latents or a blank picture land far away.
    assert 1 < mse(full, stopped) < 0.1 * mse(full[:1], full[1:2])


def test_cancel_stops_between_steps(tiny_flux):
    seen = []
    with pytest.raises(GenerationCancelled):
        tiny_flux.run(small_spec(steps=4), on_progress=lambda s, t, p: seen.append(s),
                      should_cancel=lambda: len(seen) >= 1)
    assert seen == [1]


def test_a_variation_is_made_from_its_source_image(tiny_flux):
    source, other = tiny_flux.run(small_spec(n_images=2))

    def vary(image: Image.Image) -> list[Image.Image]:
        return tiny_flux.run(small_spec(operation=Operation.variation, strength=0.5, steps=4, seed=7), init_image=image)

    varied = vary(source)
    assert [image.size for image in varied] == [(64, 64)] * 4
    assert np.array_equal(pixels(varied), pixels(vary(source)))
    # Same seeds and prompt, another source: the img2img start point carries the source into the result
    # (about 680 here; a pipeline that ignored the source would give 0).
    assert mse(varied, vary(other)) > 100
    assert mse(varied, tiny_flux.run(small_spec(seed=7))) > 100  # not a fresh text-to-image run either


@pytest.mark.parametrize(("strength", "runs"), [(0.35, 2), (0.7, 3)])  # Vary (Subtle) / (Strong) at 4 steps
def test_a_variation_reports_every_step_it_runs_and_ends_at_100_percent(tiny_flux, strength: float,
                                                                         runs: int) -> None:
    source = tiny_flux.run(small_spec(n_images=1))[0]
    calls, seen = [0], []
    handle = tiny_flux.pipe.transformer.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        tiny_flux.run(small_spec(operation=Operation.variation, strength=strength, steps=4, n_images=1),
                      init_image=source, on_progress=lambda step, total, _: seen.append((step, total)))
    finally:
        handle.remove()
    assert calls[0] == runs
    # The last step is followed by the result, so progress shows every step before it, out of the right total.
    assert seen == [(step, runs) for step in range(1, runs + 1)]


def test_a_strong_variation_at_few_steps_still_starts_from_its_source(tiny_flux) -> None:
    # At 4 steps, strength 0.8 would skip none of FLUX's schedule and start from pure noise.
    source, other = tiny_flux.run(small_spec(n_images=2))

    def vary(image: Image.Image) -> list[Image.Image]:
        return tiny_flux.run(small_spec(operation=Operation.variation, strength=0.8, steps=4, seed=7),
                             init_image=image)

    assert mse(vary(source), vary(other)) > 10
