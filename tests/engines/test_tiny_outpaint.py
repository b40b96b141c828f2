"""Zoom Out and Pan on the tiny latent-diffusion engines: diffusers inpainting built with `from_pipe`
from the loaded components, the source kept, the new area painted from (seed, i)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engines import outpaint
from midway import spec_edits
from midway.contract import GenerationSpec, Operation
from midway.errors import EngineError, UnsupportedOperation

from .conftest import small_spec


def areas(images: list[Image.Image], source: Image.Image, spec: GenerationSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-image pixel MSE against the source placed on the canvas: in the kept core, in the new area."""
    plan = outpaint.layout(spec, source.size)
    alpha = outpaint.keep_alpha(plan)
    placed = np.asarray(outpaint.canvas_and_mask(source, plan)[0], dtype=np.float64)
    errors = [(np.asarray(image, dtype=np.float64) - placed) ** 2 for image in images]
    return np.array([e[alpha == 1].mean() for e in errors]), np.array([e[alpha == 0].mean() for e in errors])


def new_area(image: Image.Image, source: Image.Image, spec: GenerationSpec) -> np.ndarray:
    alpha = outpaint.keep_alpha(outpaint.layout(spec, source.size))
    return np.asarray(image, dtype=np.float64)[alpha == 0]


@pytest.mark.parametrize("factor", [2.0, 1.5])
def test_zoom_out_keeps_the_source_in_the_middle_and_paints_around_it(tiny, factor):
    source = tiny.run(small_spec(n_images=1))[0]
    spec = spec_edits.zoom_spec(small_spec(seed=9), factor)
    seen = []
    images = tiny.run(spec, init_image=source, on_progress=lambda s, t, p: seen.append(s))
    assert [image.size for image in images] == [(64, 64)] * 4
    assert seen == [1, 2, 3]
    kept, new = areas(images, source, spec)
    assert kept.max() < 0.1 * new.min()
    # Painted, not left grey, and each image painted its own surroundings.
    assert min(np.abs(new_area(image, source, spec) - 127).mean() for image in images) > 5
    assert np.abs(new_area(images[0], source, spec) - new_area(images[1], source, spec)).mean() > 5


@pytest.mark.parametrize("engine", ["tiny", "tiny-sdxl", "tiny-flux"])
def test_pan_grows_the_canvas_and_keeps_the_source_on_the_far_side(engine, state_dir, catalogue):
    from engines.registry import get_engine

    model = get_engine(engine, catalogue)
    source = model.run(small_spec(n_images=1, steps=2))[0]
    spec = spec_edits.pan_spec(small_spec(seed=9, steps=2), "left", multiple=catalogue.get(engine).size_multiple)
    images = model.run(spec, init_image=source)
    assert [image.size for image in images] == [(96, 64)] * 4
    kept, new = areas(images, source, spec)
    assert kept.max() < 0.1 * new.min()


def test_the_diffusion_itself_keeps_the_source_latents_and_is_reproducible(tiny):
    """Not only the paste-back: in diffusers' legacy mask-blending mode the latents that reach the VAE
    decoder equal the source's own latents wherever the mask keeps it."""
    import torch

    source = tiny.run(small_spec(n_images=1))[0]
    spec = spec_edits.pan_spec(small_spec(seed=9), "up")
    decoded: list[torch.Tensor] = []
    hook = tiny.pipe.vae.post_quant_conv.register_forward_pre_hook(lambda module, args: decoded.append(args[0]))
    try:
        once = tiny.run(spec, init_image=source)
    finally:
        hook.remove()
    plan = outpaint.layout(spec, source.size)
    canvas, _ = outpaint.canvas_and_mask(source, plan)
    with torch.no_grad():
        expected = tiny.pipe.vae.encode(tiny.pipe.image_processor.preprocess(canvas)).latent_dist.mean[0]
    # Latent cells (8x8 pixels) wholly inside the kept core: the source's latents; elsewhere: new ones.
    keep = torch.from_numpy(outpaint.keep_alpha(plan) == 1).float()[None, None]
    kept_cells = torch.nn.functional.avg_pool2d(keep, 8)[0, 0] == 1
    difference = (decoded[-1] - expected).abs()
    assert kept_cells.sum() == 7 * 8  # rows 5-11 of 12: the bottom source, less the 8 px seam band
    assert difference[:, :, kept_cells].max() < 0.05 * expected.abs().mean()
    assert difference[:, :, ~kept_cells].mean() > expected.abs().mean()
    again = tiny.run(spec, init_image=source)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(once, again, strict=True))


def test_outpainting_needs_a_source_and_a_latent_engine(tiny, tiny_unclip):
    with pytest.raises(EngineError, match="zoom needs a source image"):
        tiny.run(spec_edits.zoom_spec(small_spec(), 2.0))
    source = tiny.run(small_spec(n_images=1))[0]
    with pytest.raises(UnsupportedOperation, match="cannot pan"):
        tiny_unclip.run(spec_edits.pan_spec(small_spec(), "right"), init_image=source)
    assert Operation.zoom in tiny.capabilities and Operation.zoom not in tiny_unclip.capabilities
