"""Vary (Region) on the tiny latent-diffusion engines: the rectangle repainted by diffusers inpainting
(built with `from_pipe`), everything outside it kept as it was."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engines import region
from midway import spec_edits
from midway.contract import GenerationSpec, Operation
from midway.errors import EngineError, UnsupportedOperation

from .conftest import small_spec

CENTRE = (0.25, 0.25, 0.5, 0.5)


def errors(images: list[Image.Image], source: Image.Image, spec: GenerationSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-image pixel MSE against the source: outside the region and its seam, and inside the region."""
    alpha = region.keep_alpha(spec.region, source.size)
    base = np.asarray(source.convert("RGB"), dtype=np.float64)
    squared = [(np.asarray(image, dtype=np.float64) - base) ** 2 for image in images]
    return np.array([e[alpha == 1].mean() for e in squared]), np.array([e[alpha == 0].mean() for e in squared])


def test_region_spec_and_geometry() -> None:
    spec = spec_edits.region_spec(small_spec(n_images=1, strength=0.5, zoom=2.0), (0.5, 0.0, 0.5, 1.0))
    assert (spec.operation, spec.region, spec.n_images, spec.strength, spec.zoom) == (
        Operation.inpaint, (0.5, 0.0, 0.5, 1.0), 4, None, None)
    assert region.box(spec.region, (64, 64)) == (32, 0, 64, 64)
    alpha = region.keep_alpha(spec.region, (64, 64))
    # Repainted right half; the 4 px seam to its left ramps back to the source; the left part is kept.
    assert alpha[:, 32:].max() == 0 and alpha[:, :28].min() == 1 and 0 < alpha[10, 30] < 1
    with pytest.raises(ValueError, match="inside the image"):
        spec_edits.region_spec(small_spec(), (0.6, 0.0, 0.5, 1.0))


def test_vary_region_repaints_only_the_rectangle(tiny) -> None:
    source = tiny.run(small_spec(n_images=1))[0]
    spec = spec_edits.region_spec(small_spec(seed=9), CENTRE)
    seen = []
    images = tiny.run(spec, init_image=source, on_progress=lambda s, t, p: seen.append(s))
    assert [image.size for image in images] == [(64, 64)] * 4
    assert seen == [1, 2, 3]
    kept, repainted = errors(images, source, spec)
    assert kept.max() == 0  # outside the region and its seam: the source's own pixels
    assert repainted.min() > 100  # inside: new content, not the source
    inside = [np.asarray(image, dtype=np.float64)[16:48, 16:48] for image in images]
    assert np.abs(inside[0] - inside[1]).mean() > 5  # each image painted its own version
    again = tiny.run(spec, init_image=source)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(images, again, strict=True))


@pytest.mark.parametrize("engine", ["tiny-sdxl", "tiny-flux"])
def test_other_latent_families_vary_a_region(engine, state_dir, catalogue) -> None:
    from engines.registry import get_engine

    model = get_engine(engine, catalogue)
    source = model.run(small_spec(n_images=1, steps=2))[0]
    spec = spec_edits.region_spec(small_spec(seed=9, steps=2), (0.0, 0.5, 1.0, 0.5))
    images = model.run(spec, init_image=source)
    kept, repainted = errors(images, source, spec)
    assert kept.max() == 0 and repainted.min() > 10 * (kept.max() + 1)


def test_region_needs_a_source_and_a_latent_engine(tiny, tiny_unclip) -> None:
    with pytest.raises(EngineError, match="inpaint needs a source image"):
        tiny.run(spec_edits.region_spec(small_spec(), CENTRE))
    source = tiny.run(small_spec(n_images=1))[0]
    with pytest.raises(UnsupportedOperation, match="cannot inpaint"):
        tiny_unclip.run(spec_edits.region_spec(small_spec(), CENTRE), init_image=source)
    assert Operation.inpaint in tiny.capabilities and Operation.inpaint not in tiny_unclip.capabilities
