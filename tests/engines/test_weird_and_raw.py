"""`--weird` and `--style raw` change pixels (engines/params.py): weird shifts the whole job's
conditioning one way, raw scales the stylize that sets guidance."""

from __future__ import annotations

import numpy as np
import torch

from engines import conditioning as cond
from midway.catalogue import SHIPPED_CATALOGUE, guidance_scale, load_catalogue
from midway.contract import GenerationSpec

from .conftest import small_spec
from .test_tiny_sd import mse, pixels, run_recording_guidance

ENTRY = load_catalogue(SHIPPED_CATALOGUE).get("sd15")  # guidance 7.5


def test_weird_shifts_every_image_of_a_job_by_the_same_amount_further_as_it_grows():
    base = {"prompt_embeds": torch.randn(1, 77, 32, generator=torch.Generator().manual_seed(0))}

    def shifts(weird: int, seed: int = 7) -> list[torch.Tensor]:
        images = cond.per_image(base, GenerationSpec(weird=weird, seed=seed), [0, 1, 2, 3])
        return [image["prompt_embeds"] - base["prompt_embeds"] for image in images]

    assert all(torch.equal(shift, torch.zeros_like(shift)) for shift in shifts(0))
    some, more = shifts(250), shifts(3000)
    assert all(torch.equal(shift, some[0]) for shift in some)  # one direction for the whole grid
    assert 0 < some[0].norm() < more[0].norm()
    assert not torch.allclose(shifts(3000, seed=8)[0], more[0])  # the job's seed picks the direction


def test_weird_changes_the_grid_and_chaos_still_spreads_it(tiny):
    plain = tiny.run(small_spec())
    weird = tiny.run(small_spec(weird=3000))
    assert np.array_equal(pixels(plain), pixels(tiny.run(small_spec(weird=0))))
    assert all(mse(a, b) > 1 for a, b in zip(plain, weird, strict=True))
    assert np.array_equal(pixels(weird), pixels(tiny.run(small_spec(weird=3000))))  # seeded
    chaotic = tiny.run(small_spec(weird=3000, chaos=100))
    assert mse(chaotic[1], weird[1]) > 1


def test_weird_reaches_the_unclip_image_embeddings(tiny_unclip):
    plain, weird = tiny_unclip.run(small_spec()), tiny_unclip.run(small_spec(weird=3000))
    assert np.abs(pixels(plain) - pixels(weird)).mean() > 0.5


def test_style_raw_guides_like_a_quarter_of_the_stylize():
    assert guidance_scale(GenerationSpec(style="raw"), ENTRY) == guidance_scale(GenerationSpec(stylize=25), ENTRY)
    assert guidance_scale(GenerationSpec(style="raw"), ENTRY) == 5.625  # 3/4 of the catalogue's 7.5
    assert guidance_scale(GenerationSpec(style="raw", stylize=0), ENTRY) == 3.75
    assert guidance_scale(GenerationSpec(style="4a"), ENTRY) == 7.5  # no counterpart: unchanged
    assert guidance_scale(GenerationSpec(style="raw", guidance=2.0), ENTRY) == 2.0


def test_style_raw_reaches_the_pipeline(tiny):
    default, base = run_recording_guidance(tiny, small_spec(n_images=1, steps=2))
    raw, literal = run_recording_guidance(tiny, small_spec(n_images=1, steps=2, style="raw"))
    assert default == {(5.0, 2)} and raw == {(3.75, 2)}
    assert mse(base[0], literal[0]) > 1
