"""The DALL·E 2-style engine on tiny random-weight Kandinsky 2.2 prior + decoder pipelines."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from midway.contract import Operation
from midway.errors import GenerationCancelled

from .conftest import small_spec


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.float64) for image in images])


def test_imagine_runs_prior_then_decoder_with_progress(tiny_unclip):
    seen = []
    images = tiny_unclip.run(small_spec(width=128, height=64), on_progress=lambda s, t, p: seen.append((s, t, p)))
    assert [image.size for image in images] == [(128, 64)] * 4
    prior_steps = tiny_unclip.entry.prior_steps
    assert [s for s, _, _ in seen] == list(range(1, prior_steps + 3 + 1))
    assert {t for _, t, _ in seen} == {prior_steps + 3}
    # No picture exists during the prior; the decoder's steps come with previews.
    assert all(p is None for _, _, p in seen[:prior_steps])
    assert all(isinstance(p, Image.Image) for _, _, p in seen[prior_steps:])


def test_same_seed_same_pixels_and_weights_matter(tiny_unclip):
    first, second = tiny_unclip.run(small_spec()), tiny_unclip.run(small_spec())
    assert np.array_equal(pixels(first), pixels(second))
    weighted = tiny_unclip.run(small_spec(weights=[("a red fox", 1.0), ("snow", 3.0)]))
    assert np.abs(pixels(first) - pixels(weighted)).mean() > 0.5


def mse(a: list[Image.Image], b: list[Image.Image]) -> float:
    return float(((pixels(a) - pixels(b)) ** 2).mean())


def test_variation_and_cancel(tiny_unclip):
    source = tiny_unclip.run(small_spec(n_images=1))[0]
    varied = tiny_unclip.run(small_spec(operation=Operation.variation, strength=0.5), init_image=source)
    assert [image.size for image in varied] == [(64, 64)] * 4
    with pytest.raises(GenerationCancelled):
        tiny_unclip.run(small_spec(), should_cancel=lambda: True)


def test_stop_runs_fewer_decoder_steps_and_decodes_the_denoised_estimate(tiny_unclip):
    full = tiny_unclip.run(small_spec(steps=6))
    calls = [0]
    handle = tiny_unclip.decoder.unet.register_forward_hook(lambda *args: calls.__setitem__(0, calls[0] + 1))
    seen = []
    try:
        stopped = tiny_unclip.run(small_spec(steps=6, stop=50), on_progress=lambda s, t, p: seen.append((s, t)))
    finally:
        handle.remove()
    total = tiny_unclip.entry.prior_steps + 6
    assert calls[0] == 3  # half of the decoder's steps ran (one batched CFG call each)
    assert seen[-1] == (total, total)  # the job still reports 100% when it ends early
    assert [image.size for image in stopped] == [(64, 64)] * 4
    # Decoded from where the decoder stopped: near the full run's images (about 0.12 of the gap between two
    # seeds' images here), yet not them, and nothing like a blank picture. (Random weights make the x0
    # estimate no better than the noisy latents, so this cannot tell those two apart; test_tiny_sd can.)
    assert 1 < mse(full, stopped) < 0.25 * mse(full[:1], full[1:2])


def test_variation_decodes_the_source_clip_image_embedding_with_new_seeds(tiny_unclip, catalogue):
    entry = catalogue.get("tiny-unclip")
    source, other = tiny_unclip.run(small_spec(n_images=2))

    def vary(image: Image.Image, strength: float) -> list[Image.Image]:
        return tiny_unclip.run(small_spec(operation=Operation.variation, strength=strength, seed=7), init_image=image)

    # Strength 0 decodes the source's own CLIP image embedding: what this random decoder "reproduces"
    # of the source (trained weights would give a look-alike; random ones give a fixed picture of it).
    reproduced = vary(source, 0.0)
    assert mse(reproduced, vary(other, 0.0)) > 100  # the embedding really comes from the image
    subtle, strong = vary(source, entry.variation_strength_subtle), vary(source, entry.variation_strength_strong)
    assert len(subtle) == len(strong) == 4
    assert min(mse([a], [b]) for a, b in zip(subtle, reproduced, strict=True)) > 1  # both really vary
    assert mse(subtle, reproduced) < 0.85 * mse(strong, reproduced)
    assert np.array_equal(pixels(subtle), pixels(vary(source, entry.variation_strength_subtle)))


def test_slerp_keeps_the_ends_and_interpolates_norms():
    import torch

    from engines.conditioning import slerp

    start, end = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 5.0]])
    assert torch.allclose(slerp(start, end, 0.0), start, atol=1e-5)
    assert torch.allclose(slerp(start, end, 1.0), end, atol=1e-5)
    middle = slerp(start, end, 0.5)
    # Halfway along the arc (45 degrees), with the mean of the two lengths.
    assert torch.allclose(middle.norm(), torch.tensor(4.0)) and torch.allclose(middle[0, 0], middle[0, 1])
