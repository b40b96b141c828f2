"""--cref / --oref on the tiny FLUX engine through FLUX Redux: the references' tokens follow the prompt's T5
tokens (after an image prompt's), from the same random-weight FluxPriorReduxPipeline the image prompts use,
saved and loaded with the same from_pretrained as black-forest-labs/FLUX.1-Redux-dev."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from engines.registry import load_engine
from midway.catalogue import SHIPPED_CATALOGUE, load_catalogue
from midway.errors import UnsupportedOperation

from .conftest import small_spec
from .test_blend import BLUE, RED, UNRELATED, mse, pixels

A, B = "https://e.com/a.png", "https://e.com/b.png"


def fast(**update):
    """64 px, 2 steps, one image: the tiny FLUX at its fastest."""
    return small_spec(**{"prompt": "a red fox", "steps": 2, "n_images": 1, **update})


def same(a: list[Image.Image], b: list[Image.Image]) -> bool:
    return np.array_equal(pixels(a), pixels(b))


@pytest.fixture(scope="module")
def text_only(tiny_flux) -> list[Image.Image]:
    return tiny_flux.run(fast())


def test_a_cref_conditions_the_pixels_through_redux(tiny_flux, text_only) -> None:
    spec = fast(character_refs=[A])
    red = tiny_flux.run(spec, character_images=[RED])
    # The reference moves the pixels; another reference differs; the same reference and seed repeat exactly.
    assert mse(red, text_only) > 0.5
    assert mse(red, tiny_flux.run(spec, character_images=[BLUE])) > 0.5
    assert same(red, tiny_flux.run(spec, character_images=[RED]))
    # --cw 0 is a lighter touch (character_scale 0.3): nearer the text than the default --cw 100.
    light = tiny_flux.run(spec.model_copy(update={"character_weight": 0}), character_images=[RED])
    assert mse(light, red) > 0.2
    assert mse(light, text_only) < mse(red, text_only)


def test_an_oref_alone_conditions_and_fades_with_ow(tiny_flux, text_only) -> None:
    omni = tiny_flux.run(fast(omni_refs=[A]), character_images=[BLUE])
    assert mse(omni, text_only) > 0.5
    faint = tiny_flux.run(fast(omni_refs=[A], omni_weight=10), character_images=[BLUE])
    assert mse(faint, text_only) < mse(omni, text_only)


def test_several_crefs_count_by_their_weights(tiny_flux) -> None:
    both = tiny_flux.run(fast(character_refs=[A, B]), character_images=[RED, UNRELATED])
    assert mse(both, tiny_flux.run(fast(character_refs=[A]), character_images=[RED])) > 0.2
    mostly_stripes = tiny_flux.run(fast(character_refs=[A, B], character_ref_weights=[1.0, 5.0]),
                                   character_images=[RED, UNRELATED])
    assert mse(mostly_stripes, both) > 0.2


def test_an_image_prompt_and_a_cref_both_count(tiny_flux) -> None:
    spec = fast(image_urls=["red"], character_refs=[A])
    both = tiny_flux.run(spec, source_images=[RED], character_images=[BLUE])
    image_prompt = tiny_flux.run(fast(image_urls=["red"]), source_images=[RED])
    character = tiny_flux.run(fast(character_refs=[A]), character_images=[BLUE])
    assert mse(both, image_prompt) > 0.2
    assert mse(both, character) > 0.2
    # Two blocks of tokens, not one average: the same picture as image prompt and as --cref is not the image
    # prompt alone (which a mean of the two would be).
    twice = tiny_flux.run(spec, source_images=[RED], character_images=[RED])
    assert mse(twice, image_prompt) > 0.2


def test_jobs_without_references_keep_their_pixels_once_the_prior_is_loaded(catalogue) -> None:
    engine = load_engine(catalogue.get("tiny-flux"))
    before = engine.run(fast())
    image_prompt = engine.run(fast(image_urls=["red"]), source_images=[RED])
    engine.run(fast(character_refs=[A]), character_images=[BLUE])
    assert engine.redux is not None and engine.redux.loads == 1
    # Byte for byte: no tokens at all are appended without references, and the image prompt's are its own.
    assert same(engine.run(fast()), before)
    assert same(engine.run(fast(image_urls=["red"]), source_images=[RED]), image_prompt)


def test_the_prior_loads_once_and_encodes_each_jobs_references_in_one_pass(catalogue) -> None:
    engine = load_engine(catalogue.get("tiny-flux"))
    assert engine.redux is not None
    engine.run(fast(character_refs=[A]), character_images=[RED])
    calls: list[int] = []
    # The prior calls its vision tower with keyword arguments (`**pixel_values`).
    hook = engine.redux.pipe.image_encoder.register_forward_hook(
        lambda module, args, kwargs, output: calls.append(kwargs["pixel_values"].shape[0]), with_kwargs=True)
    try:
        spec = fast(image_urls=["red"], character_refs=[A], omni_refs=[B], n_images=4)
        engine.run(spec, source_images=[RED], character_images=[BLUE, UNRELATED], max_batch=1)
    finally:
        hook.remove()
    # Two jobs, one load; four chunks of one image, yet one pass of the tower over the three references.
    assert engine.redux.loads == 1
    assert calls == [3]


def test_a_cref_goes_through_redux_where_image_prompts_are_img2img(catalogue) -> None:
    engine = load_engine(replace(catalogue.get("tiny-flux"), image_prompts="img2img"))
    started = engine.run(fast(image_urls=["red"], image_weight=3.0), source_images=[RED])
    assert engine.redux is not None and engine.redux.loads == 0  # the image prompt is an img2img start
    with_character = engine.run(fast(image_urls=["red"], image_weight=3.0, character_refs=[A]),
                                source_images=[RED], character_images=[BLUE])
    assert engine.redux.loads == 1
    assert mse(with_character, started) > 0.2


def test_a_flux_engine_without_a_redux_refuses_by_name(catalogue) -> None:
    engine = load_engine(replace(catalogue.get("tiny-flux"), redux=""))
    with pytest.raises(UnsupportedOperation, match="--cref.*redux on flux.*tiny-flux"):
        engine.run(fast(character_refs=[A]), character_images=[RED])
    with pytest.raises(UnsupportedOperation, match="--oref"):
        engine.run(fast(omni_refs=[A]), character_images=[RED])


def test_the_catalogue_serves_cref_on_flux_engines_with_a_redux_only() -> None:
    shipped = load_catalogue(SHIPPED_CATALOGUE)
    for name in ("tiny-flux", "flux-dev"):
        assert shipped.get(name).serves_character_refs
        assert shipped.get(name).reference_features == ["image prompts (redux)", "--cref", "--oref"]
    # FLUX.1-Redux-dev is under the FLUX.1-dev non-commercial licence: schnell (Apache-2.0) ships without it.
    assert not shipped.get("flux-schnell").serves_character_refs
    assert shipped.get("flux-schnell").reference_features == ["image prompts (img2img)"]
    fallback = replace(shipped.get("tiny-flux"), image_prompts="img2img")
    assert fallback.reference_features == ["image prompts (img2img)", "--cref", "--oref"]
