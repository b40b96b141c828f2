"""Table-driven: prompt text -> the GenerationSpec fields a user would notice."""

from __future__ import annotations

import pytest

from midway.contract import Lane, Operation
from tests.midway.prompt_helpers import FIXED_SEED, parse_one

CASES: list[tuple[str, dict]] = [
    ("a red fox", {"prompt": "a red fox", "full_prompt": "a red fox", "width": 1024, "height": 1024}),
    ("  a   red\n fox  ", {"prompt": "a red fox", "full_prompt": "a red fox"}),
    ("a red fox", {"seed": FIXED_SEED, "n_images": 4, "operation": Operation.imagine, "lane": Lane.fast}),
    ("a red fox", {"aspect_ratio": "1:1", "engine": None, "version": None, "weights": [], "image_urls": []}),
    # --ar keeps the 1024x1024 area with sides in multiples of 64 (16:9 -> 1344x768, 7:4 like Midjourney).
    ("fox --ar 16:9", {"aspect_ratio": "16:9", "width": 1344, "height": 768}),
    ("fox --aspect 9:16", {"aspect_ratio": "9:16", "width": 768, "height": 1344}),
    ("fox --ar 2:3", {"aspect_ratio": "2:3", "width": 832, "height": 1280}),
    ("fox --ar 016:09", {"aspect_ratio": "16:9"}),
    ("fox --ar 8:1", {"width": 3072, "height": 384}),
    ("fox --chaos 40", {"chaos": 40}),
    ("fox --c 7", {"chaos": 7}),
    ("fox --no trees, red  cars ,", {"negative_prompt": "trees, red cars", "weights": []}),
    ("fox --quality .5", {"quality": 0.5}),
    ("fox --q 2", {"quality": 2.0}),
    ("fox --q 0.3", {"quality": 0.25}),
    ("fox --q 0.8", {"quality": 1.0}),
    ("fox --q 0.75", {"quality": 0.5}),  # a tie rounds to the cheaper step
    ("fox --q 4", {"quality": 2.0}),
    ("fox --q 0", {"quality": 0.25}),
    ("fox --seed 42", {"seed": 42, "full_prompt": "fox --seed 42"}),
    ("fox --stop 50", {"stop": 50}),
    ("fox --stylize 250", {"stylize": 250, "full_prompt": "fox --stylize 250"}),
    ("fox --s 750", {"stylize": 750, "full_prompt": "fox --stylize 750"}),
    ("fox --s 250.0", {"stylize": 250}),
    ("fox --tile", {"tile": True}),
    ("fox --weird 1000", {"weird": 1000}),
    ("fox --w 5", {"weird": 5}),
    ("fox --style raw", {"style": "raw", "full_prompt": "fox --style raw"}),
    ("fox --style RAW", {"style": "raw"}),
    ("fox --raw", {"style": "raw"}),
    ("fox --style 4b", {"style": "4b"}),
    ("fox --v 6", {"version": "6", "engine": None}),
    ("fox --version 6.1", {"version": "6.1"}),
    ("fox --v 5.0", {"version": "5"}),
    ("fox --v 7.0", {"version": "7", "full_prompt": "fox --v 7.0"}),
    ("fox --niji", {"version": "niji 6", "full_prompt": "fox --niji"}),
    ("fox --niji 5", {"version": "niji 5"}),
    ("fox --niji --ar 3:2", {"version": "niji 6", "aspect_ratio": "3:2"}),
    ("fox --fast", {"lane": Lane.fast}),
    ("fox --relax", {"lane": Lane.relax}),
    ("fox --turbo", {"lane": Lane.turbo}),
    ("fox --AR 16:9 --S 50", {"aspect_ratio": "16:9", "stylize": 50}),
    # Apple keyboards turn `--` into an em dash; the en dash is accepted too.
    ("fox —ar 16:9 —tile", {"aspect_ratio": "16:9", "tile": True, "full_prompt": "fox --ar 16:9 --tile"}),
    ("fox –no cats", {"negative_prompt": "cats"}),
    ("fox —-chaos 5", {"chaos": 5}),
    ("red—blue fox", {"prompt": "red—blue fox"}),
    # Image prompts: leading direct links; --iw weighs them.
    (
        "https://cdn.example.com/a.png https://x.org/b.JPEG?ex=1 two cats --iw 2",
        {
            "image_urls": ["https://cdn.example.com/a.png", "https://x.org/b.JPEG?ex=1"],
            "prompt": "two cats",
            "image_weight": 2.0,
            "full_prompt": "https://cdn.example.com/a.png https://x.org/b.JPEG?ex=1 two cats --iw 2",
        },
    ),
    ("<https://e.com/a.webp> cat", {"image_urls": ["https://e.com/a.webp"], "prompt": "cat"}),
    ("https://e.com/a.gif --iw .5", {"image_urls": ["https://e.com/a.gif"], "prompt": "", "image_weight": 0.5}),
    ("a cat like https://e.com/page", {"prompt": "a cat like https://e.com/page", "image_urls": []}),
    # The echo lists every parameter under its canonical name, in the order typed.
    (
        "fox --no snow --c 10 --q .5 --aspect 4:3 --relax",
        {"full_prompt": "fox --no snow --chaos 10 --quality .5 --ar 4:3 --relax"},
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text for text, _ in CASES])
def test_prompt_sets_fields(text: str, expected: dict) -> None:
    spec = parse_one(text)
    actual = {name: getattr(spec, name) for name in expected}
    assert actual == expected


def test_spec_survives_json_round_trip() -> None:
    spec = parse_one("https://e.com/a.png fox::2 snow --no trees --ar 3:2 --s 50 --relax --seed 9")
    assert type(spec).model_validate_json(spec.model_dump_json()) == spec


def test_random_seed_is_chosen_and_recorded() -> None:
    from midway.prompt import ParseOptions, parse_prompt

    seeds = {parse_prompt("fox", ParseOptions())[0].seed for _ in range(5)}
    assert len(seeds) > 1
    assert all(0 <= seed <= 4294967295 for seed in seeds)


def test_lane_defaults_to_the_callers_lane() -> None:
    assert parse_one("fox", default_lane=Lane.relax).lane is Lane.relax
    assert parse_one("fox --fast", default_lane=Lane.relax).lane is Lane.fast


def test_base_size_and_multiple_come_from_options() -> None:
    spec = parse_one("fox --ar 16:9", base_width=512, base_height=512, size_multiple=8)
    assert (spec.width % 8, spec.height % 8) == (0, 0)
    assert abs(spec.width * spec.height - 512 * 512) / (512 * 512) < 0.1
    assert abs(spec.width / spec.height - 16 / 9) < 0.05


def test_versions_resolve_through_the_alias_table() -> None:
    aliases = {"6": "sdxl", "6.1": "sdxl-turbo", "niji 6": "anime", "7": "flux"}
    assert parse_one("fox --v 6", aliases=aliases).engine == "sdxl"
    assert parse_one("fox --v 7.0", aliases=aliases).engine == "flux"
    assert parse_one("fox --niji", aliases=aliases).engine == "anime"
    assert parse_one("fox", aliases=aliases, default_engine="sdxl").engine == "sdxl"


def test_an_aliased_engine_is_sized_for_that_engine() -> None:
    options = {"aliases": {"4": "sd15"}, "engine_sizes": {"sd15": (512, 512, 64)}}
    assert (parse_one("fox --v 4", **options).width, parse_one("fox --v 4", **options).height) == (512, 512)
    assert parse_one("fox", **options).width == 1024
