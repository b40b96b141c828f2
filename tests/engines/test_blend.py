"""/blend on the DALL·E 2-style engine: the spherical mean of the sources' CLIP image embeddings, decoded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engines.conditioning import slerp, spherical_mean
from midway.contract import GenerationSpec, Operation
from midway.errors import EngineError, UnsupportedOperation

from .conftest import small_spec


def solid(colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (64, 64), colour)


def stripes(first: tuple[int, int, int], second: tuple[int, int, int]) -> Image.Image:
    array = np.zeros((64, 64, 3), dtype=np.uint8)
    array[:] = first
    for offset in range(4):
        array[offset::8] = second
    return Image.fromarray(array)


# Two sources and an image unlike either (yellow-green stripes against solid red and solid blue).
RED, BLUE, UNRELATED = solid((220, 30, 30)), solid((20, 40, 200)), stripes((0, 160, 0), (250, 250, 0))


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.float64) for image in images])


def mse(a: list[Image.Image], b: list[Image.Image]) -> float:
    return float(((pixels(a) - pixels(b)) ** 2).mean())


def blend_spec(**update) -> GenerationSpec:
    fields = dict(operation=Operation.blend, prompt="", image_urls=["red", "blue"], seed=11)
    return small_spec(**(fields | update))


def angle(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.rad2deg(torch.acos(torch.nn.functional.cosine_similarity(a, b).clamp(-1, 1))))


def decoded(engine, image: Image.Image, spec: GenerationSpec) -> list[Image.Image]:
    """What the decoder makes of one image's own embedding with the same seeds (a strength-0 variation)."""
    return engine.run(spec.model_copy(update={"operation": Operation.variation, "strength": 0.0}), init_image=image)


def test_spherical_mean_of_two_is_their_slerp_and_ignores_order() -> None:
    rows = torch.tensor([[3.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 1.0, 2.0]])
    assert torch.allclose(spherical_mean(rows[:2], [1, 3]), slerp(rows[:1], rows[1:2], 0.75), atol=1e-5)
    assert torch.allclose(spherical_mean(rows[:2], [1, 1]).norm(), torch.tensor(4.0))
    three = spherical_mean(rows, [1, 2, 3])
    assert torch.allclose(three, spherical_mean(rows[[2, 0, 1]], [3, 1, 2]), atol=1e-5)
    # A heavier weight pulls the mean towards its row.
    assert angle(spherical_mean(rows, [5, 1, 1]), rows[:1]) < angle(three, rows[:1])


def test_blend_embedding_lies_between_its_sources(tiny_unclip) -> None:
    with torch.inference_mode():
        red, blue, unrelated = tiny_unclip.image_embeddings([RED, BLUE, UNRELATED]).float().split(1)
        mixed = tiny_unclip.blend_embedding(blend_spec(), [RED, BLUE]).float()
    # Halfway along the great circle from red to blue, closer to each than the unrelated image is.
    assert angle(mixed, red) == pytest.approx(angle(mixed, blue), abs=0.1)
    assert angle(mixed, red) == pytest.approx(angle(red, blue) / 2, abs=0.1)
    assert angle(mixed, red) < angle(unrelated, red) and angle(mixed, blue) < angle(unrelated, blue)


def test_blend_decodes_to_images_between_its_sources(tiny_unclip) -> None:
    spec = blend_spec()
    seen = []
    blend = tiny_unclip.run(spec, source_images=[RED, BLUE], on_progress=lambda s, t, p: seen.append((s, t)))
    assert [image.size for image in blend] == [(64, 64)] * 4
    # No text to run through the prior: every reported step is a decoder step.
    assert seen == [(step, 3) for step in range(1, 4)]
    red, blue, unrelated = (decoded(tiny_unclip, image, spec) for image in (RED, BLUE, UNRELATED))
    assert mse(blend, red) < 0.9 * mse(unrelated, red)
    assert mse(blend, blue) < 0.9 * mse(unrelated, blue)
    # The four images share the embedding and differ by their seeds.
    assert min(mse([a], [b]) for a, b in zip(blend, blend[1:], strict=False)) > 1


def test_blend_weights_pull_and_order_does_not_matter(tiny_unclip) -> None:
    spec = blend_spec(image_weights=[3.0, 1.0])
    mostly_red = tiny_unclip.run(spec, source_images=[RED, BLUE])
    mostly_blue = tiny_unclip.run(spec.model_copy(update={"image_weights": [1.0, 3.0]}), source_images=[RED, BLUE])
    red = decoded(tiny_unclip, RED, spec)
    assert mse(mostly_red, red) < 0.8 * mse(mostly_blue, red)
    swapped = tiny_unclip.run(spec.model_copy(update={"image_weights": [1.0, 3.0]}), source_images=[BLUE, RED])
    assert np.array_equal(pixels(mostly_red), pixels(swapped))


def test_blend_is_deterministic_per_image_seed(tiny_unclip) -> None:
    images = [RED, BLUE, UNRELATED]
    spec = blend_spec(image_urls=["a", "b", "c"])
    full = tiny_unclip.run(spec, source_images=images)
    one_at_a_time = tiny_unclip.run(spec, source_images=images, max_batch=1)
    assert np.abs(pixels(full) - pixels(one_at_a_time)).max() <= 1
    third = tiny_unclip.run(spec.model_copy(update={"seed": spec.seed + 2, "n_images": 1}), source_images=images)
    assert np.abs(pixels(full[2:3]) - pixels(third)).max() <= 1


def test_blend_with_a_negative_text_runs_the_prior(tiny_unclip) -> None:
    seen = []
    plain = tiny_unclip.run(blend_spec(), source_images=[RED, BLUE])
    negated = tiny_unclip.run(blend_spec(negative_prompt="text"), source_images=[RED, BLUE],
                              on_progress=lambda s, t, p: seen.append(t))
    prior = tiny_unclip.entry.prior_steps
    assert set(seen) == {prior + 3} and len(seen) == prior + 3
    assert mse(plain, negated) > 1


@pytest.mark.parametrize("count", [1, 6])
def test_blend_needs_two_to_five_images(tiny_unclip, count: int) -> None:
    with pytest.raises(EngineError, match="blend needs 2 to 5 images"):
        tiny_unclip.run(blend_spec(), source_images=[RED] * count)


def test_blend_refuses_weights_that_do_not_fit(tiny_unclip) -> None:
    with pytest.raises(EngineError, match="image weights"):
        tiny_unclip.run(blend_spec(image_weights=[1.0]), source_images=[RED, BLUE])


def test_only_the_unclip_family_blends(tiny, catalogue) -> None:
    assert Operation.blend in catalogue.get("tiny-unclip").capabilities
    assert Operation.blend in catalogue.get("kandinsky22").capabilities
    assert not [e.name for e in catalogue if Operation.blend in e.capabilities and e.family != "unclip"]
    with pytest.raises(UnsupportedOperation, match="cannot blend"):
        tiny.run(blend_spec(), source_images=[RED, BLUE])


def test_a_catalogue_entry_cannot_offer_blend_without_image_embeddings() -> None:
    from midway.catalogue import parse_entry
    from midway.errors import CatalogueError

    with pytest.raises(CatalogueError, match="engine 'mine': blend needs image embeddings"):
        parse_entry("mine", {"kind": "sd", "model": "m", "capabilities": ["imagine", "blend"]})
    assert Operation.blend in parse_entry("k", {"kind": "unclip", "model": "m", "prior": "p"}).capabilities
    assert Operation.blend not in parse_entry("s", {"kind": "sd", "model": "m"}).capabilities
