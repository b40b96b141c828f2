"""--cref / --oref on the tiny SD and SDXL engines: the references condition the UNet through the tiny
IP-Adapter Plus (a Resampler over the vision tower's hidden states) loaded beside the image-prompt and --sref
adapters by diffusers' own load_ip_adapter; jobs without them keep their pixels."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engines.registry import load_engine
from midway.errors import UnsupportedOperation

from .adapter_engines import *  # noqa: F403  (the fixtures tiny, tiny_sdxl, engine: engines of this module's own)
from .adapter_engines import same
from .conftest import small_spec
from .test_blend import BLUE, RED, mse

A, B = "https://e.com/a.png", "https://e.com/b.png"


def fast(**update):
    return small_spec(steps=2, n_images=1, **update)


def test_a_character_reference_conditions_the_pixels(engine) -> None:
    spec = fast(character_refs=[A])
    text_only = engine.run(fast())
    red = engine.run(spec, character_images=[RED])
    # The reference moves the pixels; another reference differs; the same reference and seed repeat exactly.
    assert mse(red, text_only) > 10
    assert mse(red, engine.run(spec, character_images=[BLUE])) > 1
    assert same(red, engine.run(spec, character_images=[RED]))
    # --cw lowers the adapter's scale: cw 0 sits nearer the text than the default cw 100.
    light = engine.run(spec.model_copy(update={"character_weight": 0}), character_images=[RED])
    assert mse(light, red) > 1
    assert mse(light, text_only) < mse(red, text_only)


def test_several_crefs_average_by_their_weights_and_an_oref_conditions_too(tiny) -> None:
    both = tiny.run(fast(character_refs=[A, B]), character_images=[RED, BLUE])
    assert mse(both, tiny.run(fast(character_refs=[A]), character_images=[RED])) > 1
    mostly_blue = tiny.run(fast(character_refs=[A, B], character_ref_weights=[1.0, 5.0]),
                           character_images=[RED, BLUE])
    assert mse(mostly_blue, both) > 1
    text_only = tiny.run(fast())
    omni = tiny.run(fast(omni_refs=[A]), character_images=[RED])
    assert mse(omni, text_only) > 10
    faint = tiny.run(fast(omni_refs=[A], omni_weight=10), character_images=[RED])
    assert mse(faint, text_only) < mse(omni, text_only)


def test_jobs_without_character_refs_keep_the_pixels_of_an_engine_without_the_plus_adapter(
        tiny, catalogue) -> None:
    # The same tiny weights with no character_adapter in its entry: only the image-prompt/--sref adapters load.
    plain = load_engine(replace(catalogue.get("tiny"), character_adapter=""), catalogue.loras)
    tiny.run(fast(character_refs=[A]), character_images=[BLUE])  # the Plus adapter is loaded now
    image_prompt, styled = fast(image_urls=["red"]), fast(style_refs=[A])
    assert same(tiny.run(fast()), plain.run(fast()))
    assert same(tiny.run(image_prompt, source_images=[RED]), plain.run(image_prompt, source_images=[RED]))
    assert same(tiny.run(styled, style_images=[BLUE]), plain.run(styled, style_images=[BLUE]))


def test_an_engine_without_a_character_adapter_refuses_by_name(catalogue) -> None:
    # tiny-flux serves --cref through its redux now (tests/engines/test_flux_character_refs.py): an SD without one.
    plain = load_engine(replace(catalogue.get("tiny"), character_adapter=""), catalogue.loras)
    with pytest.raises(UnsupportedOperation, match="--cref.*character_adapter.*'tiny'"):
        plain.run(fast(character_refs=[A]), character_images=[RED])
    with pytest.raises(UnsupportedOperation, match="--oref"):
        plain.run(fast(omni_refs=[A]), character_images=[RED])


def test_a_sref_and_a_cref_are_encoded_once_per_job_not_per_image(tiny) -> None:
    spec = small_spec(style_refs=[A], character_refs=[B], n_images=4)
    tiny.run(spec, style_images=[RED], character_images=[BLUE], max_batch=1)  # loads the adapters if no test did
    calls: list[int] = []
    hook = tiny.pipe.image_encoder.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    try:
        tiny.run(spec, style_images=[RED], character_images=[BLUE], max_batch=1)
    finally:
        hook.remove()
    # Four chunks of one image and three steps each, yet one pass for --sref and one for --cref (its negative
    # side, an all-zero input's hidden states, is encoded once per engine).
    assert calls == [1, 1]


def test_the_plus_adapters_embeddings_are_diffusers_own(tiny) -> None:
    import torch

    from engines.image_adapter import CHARACTER

    tiny.run(fast(character_refs=[A]), character_images=[RED])  # loads the adapters if no test did
    with torch.inference_mode():
        positive, negative = tiny.adapter._encode([RED, BLUE], CHARACTER)
        expected_positive, expected_negative = tiny.pipe.encode_image([RED, BLUE], tiny.pipe.device, 1, True)
    # The same hidden states as diffusers' encode_image, the negative side included (cached, not re-encoded).
    assert torch.allclose(positive, expected_positive, atol=1e-5)
    assert torch.allclose(negative, expected_negative, atol=1e-5)
