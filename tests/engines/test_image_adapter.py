"""IP-Adapter image references on the tiny SD and SDXL engines: image prompts (`--iw`) and `--sref` (`--sw`,
`::` weights, style codes), through a random-weight adapter loaded by diffusers' own load_ip_adapter."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engines.registry import load_engine
from engines.style_codes import style_image
from midway.contract import Operation
from midway.errors import UnsupportedOperation

from .adapter_engines import *  # noqa: F403  (the fixtures tiny, tiny_sdxl, engine: engines of this module's own)
from .adapter_engines import same
from .conftest import small_spec
from .test_blend import BLUE, RED, mse


def test_an_image_prompt_conditions_through_the_adapter(engine) -> None:
    spec = small_spec(prompt="a red fox", image_urls=["red"])
    text_only = engine.run(spec.model_copy(update={"image_urls": []}))
    red = engine.run(spec, source_images=[RED])
    # The reference changes the pixels; two references differ; the same reference and seed repeat exactly.
    assert mse(red, text_only) > 10
    assert mse(red, engine.run(spec, source_images=[BLUE])) > 10
    assert same(red, engine.run(spec, source_images=[RED]))
    # --iw 0 is the text alone, to the pixel, and so is a text prompt run after the adapter was loaded.
    assert same(engine.run(spec.model_copy(update={"image_weight": 0.0}), source_images=[RED]), text_only)
    assert same(engine.run(spec.model_copy(update={"image_urls": []})), text_only)
    # More --iw moves further from the text.
    heavy = engine.run(spec.model_copy(update={"image_weight": 3.0}), source_images=[RED])
    light = engine.run(spec.model_copy(update={"image_weight": 0.25}), source_images=[RED])
    assert mse(heavy, text_only) > mse(light, text_only)


def test_image_prompts_with_an_adapter_are_no_img2img_start(tiny) -> None:
    spec = small_spec(image_urls=["red", "blue"], image_weight=2.0)
    both = tiny.run(spec, source_images=[RED, BLUE])
    # The second image counts (an img2img start would use the first only), and so do the `::` weights.
    assert mse(both, tiny.run(spec.model_copy(update={"image_urls": ["red"]}), source_images=[RED])) > 1
    mostly_blue = tiny.run(spec.model_copy(update={"image_weights": [1.0, 5.0]}), source_images=[RED, BLUE])
    assert mse(mostly_blue, both) > 1


def test_the_references_are_encoded_once_per_job(tiny) -> None:
    calls: list[int] = []
    tiny.run(small_spec(image_urls=["red"]), source_images=[RED])  # loads the adapter if no test did
    encoder = tiny.pipe.image_encoder
    hook = encoder.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    try:
        spec = small_spec(image_urls=["red", "blue"], style_refs=["s"], n_images=4)
        tiny.run(spec, source_images=[RED, BLUE], style_images=[RED], max_batch=1)
    finally:
        hook.remove()
    # Four chunks of one image, yet one pass for the two image prompts and one for the style reference.
    assert calls == [2, 1]


def test_sref_changes_the_style_and_sw_0_does_not(engine) -> None:
    spec = small_spec(prompt="a red fox", style_refs=["red"])
    plain = engine.run(spec.model_copy(update={"style_refs": []}))
    red = engine.run(spec, style_images=[RED])
    assert mse(red, plain) > 10
    assert mse(red, engine.run(spec, style_images=[BLUE])) > 10
    assert same(red, engine.run(spec, style_images=[RED]))
    assert same(engine.run(spec.model_copy(update={"style_weight": 0}), style_images=[RED]), plain)
    strong = engine.run(spec.model_copy(update={"style_weight": 1000}), style_images=[RED])
    assert mse(strong, plain) > mse(red, plain)


def test_sref_weights_lean_towards_the_heavier_reference(tiny) -> None:
    spec = small_spec(style_refs=["red", "blue"])
    red, blue = tiny.run(spec.model_copy(update={"style_refs": ["red"]}), style_images=[RED]), \
        tiny.run(spec.model_copy(update={"style_refs": ["blue"]}), style_images=[BLUE])
    mostly_blue = tiny.run(spec.model_copy(update={"style_ref_weights": [1.0, 3.0]}), style_images=[RED, BLUE])
    assert mse(mostly_blue, blue) < mse(mostly_blue, red)


def test_sref_reaches_only_the_style_blocks(tiny) -> None:
    tiny.run(small_spec(style_refs=["red"]), style_images=[RED])
    scales = {name: processor.scale for name, processor in tiny.pipe.unet.attn_processors.items()
              if hasattr(processor, "scale") and isinstance(processor.scale, list)}
    styled = {name for name, (_, style, *_character) in scales.items() if style > 0}
    # The catalogue's style_blocks for the tiny UNet: the second transformer of up_blocks.0 (InstantStyle).
    assert styled and all(name.startswith("up_blocks.0.attentions.1.") for name in styled)
    # No image prompt and no --cref / --oref: the content side and the character_adapter's are off.
    assert all(content == 0 for content, *_ in scales.values())
    assert all(not character or character == [0.0] for _, _, *character in scales.values())


def test_style_codes_are_seeded_styles(tiny) -> None:
    assert np.array_equal(np.asarray(style_image(7)), np.asarray(style_image(7)))
    spec = small_spec(style_code=7)
    seven = tiny.run(spec)
    assert same(seven, tiny.run(spec))
    assert mse(seven, tiny.run(spec.model_copy(update={"style_code": 8}))) > 10
    assert mse(seven, tiny.run(spec.model_copy(update={"style_code": None}))) > 10


def test_a_variation_keeps_its_style_reference(tiny) -> None:
    source = tiny.run(small_spec(n_images=1))[0]
    spec = small_spec(operation=Operation.variation, n_images=1, style_refs=["red"], strength=0.7)
    styled = tiny.run(spec, init_image=source, style_images=[RED])
    assert mse(styled, tiny.run(spec.model_copy(update={"style_refs": []}), init_image=source)) > 1


def test_engines_without_an_adapter_refuse_sref_by_name(tiny_unclip, tiny) -> None:
    with pytest.raises(UnsupportedOperation, match="--sref needs an engine whose catalogue entry lists it"):
        tiny_unclip.run(small_spec(style_code=3))


def test_an_img2img_fallback_entry_starts_from_the_first_image(tiny) -> None:

    fallback = load_engine(replace(tiny.entry, image_prompts="img2img"))
    spec = small_spec(image_urls=["red", "blue"], image_weight=3.0)
    # img2img from the first image only: the second changes nothing.
    assert same(fallback.run(spec, source_images=[RED, BLUE]), fallback.run(spec, source_images=[RED]))
