"""Midjourney parameters -> sampler settings (pure)."""

from __future__ import annotations

from engines.params import image_seed, step_count, stop_steps, variation_strength
from midway.catalogue import SHIPPED_CATALOGUE, guidance_scale, load_catalogue
from midway.contract import GenerationSpec, Operation

ENTRY = load_catalogue(SHIPPED_CATALOGUE).get("sd15")  # steps 30, guidance 7.5


def test_image_seeds_are_consecutive_and_wrap():
    assert [image_seed(10, i) for i in range(4)] == [10, 11, 12, 13]
    assert image_seed(2**32 - 1, 1) == 0


def test_quality_scales_steps_and_stop_cuts_them():
    assert step_count(GenerationSpec(), ENTRY) == 30
    assert step_count(GenerationSpec(quality=0.5), ENTRY) == 15
    assert step_count(GenerationSpec(quality=2, steps=10), ENTRY) == 20
    # --q affects the initial grid only, not variations.
    assert step_count(GenerationSpec(quality=2, operation=Operation.variation), ENTRY) == 30
    assert stop_steps(30, 100) == 30
    assert stop_steps(30, 50) == 15
    assert stop_steps(4, 10) == 1


def test_stylize_maps_to_guidance_around_the_catalogue_default():
    assert guidance_scale(GenerationSpec(stylize=100), ENTRY) == 7.5
    low, high = guidance_scale(GenerationSpec(stylize=0), ENTRY), guidance_scale(GenerationSpec(stylize=1000), ENTRY)
    assert low == 3.75 and 15 < high < 16.5
    assert guidance_scale(GenerationSpec(stylize=750, guidance=2.0), ENTRY) == 2.0


def test_variation_strength_defaults_to_strong():
    assert variation_strength(GenerationSpec(), ENTRY) == 0.7
    assert variation_strength(GenerationSpec(strength=0.35), ENTRY) == 0.35


def test_no_items_count_once_in_a_multi_prompt_and_alone():
    from engines.conditioning import negative_parts, positive_parts
    from midway.prompt.parser import parse_prompt

    [weighted] = parse_prompt("a::3 b::-1 --no red, wet")
    assert negative_parts(weighted) == [("b", 1.0), ("red", 0.5), ("wet", 0.5)]
    assert positive_parts(weighted) == [("a", 3.0)]
    [plain] = parse_prompt("a fox --no red")
    assert negative_parts(plain) == [("red", 1.0)]
