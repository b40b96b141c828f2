"""/imagine planning: options, suffix, channel engine, `--v` aliases, presets; and button derivation."""

from __future__ import annotations

import pytest

from bot.custom_ids import Action
from bot.derive import DeriveError, derive
from bot.planning import append_suffix, expand_options, plan_imagine
from bot.store import ChannelSettings, UserSettings, VariationMode
from midway.catalogue import SHIPPED_CATALOGUE, Catalogue, load_catalogue, parse_entry
from midway.contract import GenerationSpec, Job, JobStatus, Lane, Operation, Requester
from midway.prompt.errors import PromptError
from midway.settings import Settings
from midway.sizing import size_for_aspect

CATALOGUE = Catalogue({
    "small": parse_entry("small", {"kind": "tiny", "family": "sd", "base_width": 64, "base_height": 64,
                                   "size_multiple": 32, "steps": 4, "aliases": ["5"]}),
    "big": parse_entry("big", {"kind": "tiny", "family": "sd", "base_width": 256, "base_height": 256,
                               "size_multiple": 32, "steps": 8, "aliases": ["7"]}),
})
SETTINGS = Settings(default_engine="small")


def test_suffix_parameters_lose_to_typed_ones() -> None:
    assert append_suffix("a fox --ar 16:9", "--ar 2:3 --chaos 5") == "a fox --ar 16:9 --chaos 5"
    assert append_suffix("a fox --s 50", "--stylize 250") == "a fox --s 50"
    assert append_suffix("a fox", "") == "a fox"


def test_a_suffix_starting_with_text_joins_the_prompt_text_before_its_parameters() -> None:
    joined = append_suffix("a fox --chaos 9", "oil painting --chaos 7 --ar 2:3")
    assert joined == "a fox oil painting --chaos 9 --ar 2:3"
    assert append_suffix("a fox", "oil painting") == "a fox oil painting"
    planned = plan_imagine("a fox --chaos 9", UserSettings(suffix="oil painting --chaos 7"), ChannelSettings(),
                           CATALOGUE, SETTINGS).specs[0]
    assert (planned.prompt, planned.chaos) == ("a fox oil painting", 9)


def test_options_expand_inline() -> None:
    assert expand_options("a fox --mine", {"mine": "--chaos 5 --ar 2:3"}) == "a fox --chaos 5 --ar 2:3"
    assert expand_options("a fox --ar 1:1", {"mine": "x"}) == "a fox --ar 1:1"


def test_channel_engine_then_version_alias_pick_engine_and_size() -> None:
    user = UserSettings()
    plain = plan_imagine("a fox --ar 2:1", user, ChannelSettings(), CATALOGUE, SETTINGS).specs[0]
    assert (plain.engine, plain.width, plain.height) == ("small", *size_for_aspect(2, 1, 64, 64, 32))
    channel = plan_imagine("a fox", user, ChannelSettings(engine="big"), CATALOGUE, SETTINGS).specs[0]
    assert (channel.engine, channel.width) == ("big", 256)
    aliased = plan_imagine("a fox --v 7", user, ChannelSettings(), CATALOGUE, SETTINGS).specs[0]
    assert (aliased.engine, aliased.width) == ("big", 256)


def test_user_presets_apply_where_the_prompt_is_silent() -> None:
    user = UserSettings(lane=Lane.relax, stylize=750, suffix="--chaos 10")
    spec = plan_imagine("a fox", user, ChannelSettings(), CATALOGUE, SETTINGS).specs[0]
    assert (spec.lane, spec.stylize, spec.chaos) == (Lane.relax, 750, 10)
    typed = plan_imagine("a fox --s 20 --fast", user, ChannelSettings(), CATALOGUE, SETTINGS).specs[0]
    assert (typed.lane, typed.stylize) == (Lane.fast, 20)


def test_unknown_version_and_channel_engine_name_the_token() -> None:
    with pytest.raises(PromptError) as error:
        plan_imagine("a fox --v 3", UserSettings(), ChannelSettings(), CATALOGUE, SETTINGS)
    assert error.value.token == "3"
    with pytest.raises(PromptError) as error:
        plan_imagine("a fox", UserSettings(), ChannelSettings(engine="gone"), CATALOGUE, SETTINGS)
    assert error.value.token == "gone"


def finished_grid() -> Job:
    spec = GenerationSpec(prompt="a fox", full_prompt="a fox", engine="small", seed=1)
    return Job(spec=spec, requester=Requester(user_id="1", guild_id="g"), status=JobStatus.done,
               outputs=["a" * 32 + ".png", "b" * 32 + ".png", "c" * 32 + ".png", "d" * 32 + ".png"])


def derive_for(action: Action, index: int | None, mode: VariationMode = VariationMode.high) -> Job:
    return derive(finished_grid(), action, index, Requester(user_id="2", guild_id="g"), lane=Lane.fast,
                  variation_mode=mode, entry=CATALOGUE.get("small"), seed=99)


def test_derived_jobs() -> None:
    split = derive_for(Action.upscale, 2)
    assert (split.status, split.outputs, split.parent_index) == (JobStatus.done, ["b" * 32 + ".png"], 2)
    strong = derive_for(Action.variation, 3)
    assert (strong.spec.operation, strong.spec.init_image, strong.label) == (
        Operation.variation, "c" * 32 + ".png", "Variations (Strong)")
    assert strong.spec.strength == CATALOGUE.get("small").variation_strength_strong
    assert derive_for(Action.variation, 1, VariationMode.low).label == "Variations (Subtle)"
    upscale = derive_for(Action.upscale_4x, 1)
    assert (upscale.spec.upscale_factor, upscale.spec.n_images, upscale.label) == (4, 1, "Upscaled (4x)")
    reroll = derive_for(Action.reroll, None)
    assert (reroll.spec.operation, reroll.spec.seed, reroll.spec.init_image) == (Operation.reroll, 99, None)
    assert reroll.requester.user_id == "2"


def test_derive_refuses_missing_images() -> None:
    grid = finished_grid()
    grid.outputs = grid.outputs[:1]
    with pytest.raises(DeriveError):
        derive(grid, Action.variation, 3, Requester(user_id="2"), lane=Lane.fast, variation_mode=VariationMode.high,
               entry=CATALOGUE.get("small"), seed=1)


def test_negatives_are_refused_on_an_engine_without_guidance_and_kept_elsewhere() -> None:
    catalogue = Catalogue({
        **{name: CATALOGUE.get(name) for name in ("small", "big")},
        "turbo": parse_entry("turbo", {"kind": "sdxl", "model": "stabilityai/sdxl-turbo", "guidance": 0.0,
                                       "steps": 4, "aliases": ["niji 6"]}),
        "schnell": parse_entry("schnell", {"kind": "flux", "model": "black-forest-labs/FLUX.1-schnell",
                                           "guidance": 0.0, "steps": 4, "aliases": ["6"]}),
    })
    user, channel = UserSettings(), ChannelSettings()
    for prompt in ("a fox --no snow --niji 6", "a fox:: snow::-0.5 --niji 6"):
        with pytest.raises(PromptError) as error:
            plan_imagine(prompt, user, channel, catalogue, SETTINGS)
        assert "`turbo`" in error.value.message and "classifier-free guidance" in error.value.message
    # Without negatives the same engine is fine; FLUX applies them through its own true-CFG pass; and an
    # engine with guidance keeps them.
    assert plan_imagine("a fox --niji 6", user, channel, catalogue, SETTINGS).specs[0].engine == "turbo"
    assert plan_imagine("a fox --no snow --v 6", user, channel, catalogue, SETTINGS).specs[0].negative_prompt == "snow"
    assert plan_imagine("a fox --no snow", user, channel, catalogue, SETTINGS).specs[0].negative_prompt == "snow"


def test_character_refs_are_refused_by_name_on_an_engine_without_a_character_adapter() -> None:
    catalogue = Catalogue({
        **{name: CATALOGUE.get(name) for name in ("small", "big")},
        "faces": parse_entry("faces", {"kind": "tiny", "family": "sd", "base_width": 64, "base_height": 64,
                                       "size_multiple": 32, "steps": 2, "ip_adapter": "tiny-ip-adapter",
                                       "character_adapter": "tiny-ip-adapter-plus", "aliases": ["6"]}),
    })
    user, channel = UserSettings(), ChannelSettings()
    for name in ("--cref", "--oref"):
        with pytest.raises(PromptError) as error:
            plan_imagine(f"a fox {name} https://e.com/a.png", user, channel, catalogue, SETTINGS)
        assert error.value.token == name and "`small`" in error.value.message
        assert "character adapter" in error.value.message
        spec = plan_imagine(f"a fox {name} https://e.com/a.png --v 6", user, channel, catalogue, SETTINGS).specs[0]
        assert spec.engine == "faces"
    assert "--cref" in catalogue.get("faces").reference_features
    assert "--cref" not in catalogue.get("small").reference_features


def test_character_refs_on_flux_need_a_redux_prior_not_a_character_adapter() -> None:
    flux = {"kind": "tiny", "family": "flux", "base_width": 64, "base_height": 64, "size_multiple": 16, "steps": 2}
    catalogue = Catalogue({
        "small": CATALOGUE.get("small"),
        "redux": parse_entry("redux", {**flux, "redux": "tiny-redux", "aliases": ["6"]}),
        # Image prompts as img2img starts: --cref still goes through the Redux prior.
        "fallback": parse_entry("fallback", {**flux, "redux": "tiny-redux", "image_prompts": "img2img",
                                             "aliases": ["7"]}),
        "bare": parse_entry("bare", {**flux, "aliases": ["6.1"]}),
    })
    user, channel = UserSettings(), ChannelSettings()
    for version, engine in (("6", "redux"), ("7", "fallback")):
        spec = plan_imagine(f"a fox --cref https://e.com/a.png --oref https://e.com/b.png --v {version}", user,
                            channel, catalogue, SETTINGS).specs[0]
        assert (spec.engine, spec.character_refs, spec.omni_refs) == (engine, ["https://e.com/a.png"],
                                                                      ["https://e.com/b.png"])
    for name in ("--cref", "--oref"):
        with pytest.raises(PromptError) as error:
            plan_imagine(f"a fox {name} https://e.com/a.png --v 6.1", user, channel, catalogue, SETTINGS)
        assert error.value.token == name and "`bare`" in error.value.message
        assert "a Redux prior" in error.value.message


def test_references_a_draft_engine_cannot_serve_are_refused_naming_both_engines() -> None:
    # A catalogue whose full engine has the adapters and its draft engine none.
    adapters = {"ip_adapter": "tiny-ip-adapter", "character_adapter": "tiny-ip-adapter-plus"}
    catalogue = Catalogue({
        "full": parse_entry("full", {"kind": "tiny", "family": "sd", "steps": 8, "aliases": ["5"],
                                     "draft_engine": "quick", **adapters}),
        "quick": parse_entry("quick", {"kind": "tiny", "family": "sd", "steps": 2}),
    })
    user, channel, settings = UserSettings(), ChannelSettings(), Settings(default_engine="full")
    for param in ("--sref", "--cref"):
        prompt = f"a fox --v 5 {param} https://e.com/a.png"
        with pytest.raises(PromptError) as error:
            plan_imagine(f"{prompt} --draft", user, channel, catalogue, settings)
        assert error.value.token == param
        assert "the drafts of `full` run on `quick`, which has none. Leave out `--draft`" in error.value.message
        assert plan_imagine(prompt, user, channel, catalogue, settings).specs[0].engine == "full"


@pytest.mark.parametrize(("text", "user", "blame"), [
    ("a fox", UserSettings(suffix="--draft"), "This comes from your `/prefer suffix`"),
    ("a fox --quick", UserSettings(options={"quick": "--chaos 5 --draft"}), "This comes from your option `--quick`"),
    ("a fox --quick --draft", UserSettings(options={"quick": "--chaos 5"}, suffix="--draft"), None),
    ("a fox --draft", UserSettings(suffix="--draft"), None),
])
def test_an_engine_refusal_names_the_saved_text_a_parameter_came_from(text: str, user: UserSettings,
                                                                      blame: str | None) -> None:
    # `small` has no draft mode: a saved `--draft` is refused there, and the refusal says where it was saved.
    with pytest.raises(PromptError) as refused:
        plan_imagine(text, user, ChannelSettings(), CATALOGUE, SETTINGS)
    assert "has no draft mode" in refused.value.message and refused.value.token == "--draft"
    assert ("This comes from" not in refused.value.message) if blame is None else (blame in refused.value.message)


def test_an_option_holding_a_style_code_a_character_link_and_draft_applies_on_the_shipped_tiny() -> None:
    shipped = load_catalogue(SHIPPED_CATALOGUE)
    face = "https://e.com/face.png"
    user = UserSettings(options={"mystyle": f"--sref 123456 --sw 300 --cref {face} --cw 40 --draft"})
    spec = plan_imagine("a cat --mystyle", user, ChannelSettings(engine="tiny"), shipped,
                        Settings(default_engine="tiny")).specs[0]
    assert (spec.style_code, spec.style_weight, spec.character_refs, spec.character_weight) == (123456, 300, [face], 40)
    assert (spec.draft, spec.engine, spec.prompt) == (True, "tiny", "a cat")
    # sdxl drafts on sdxl-turbo, which has sdxl's adapters: the references go with the draft.
    spec = plan_imagine("a cat --mystyle", user, ChannelSettings(engine="sdxl"), shipped,
                        Settings(default_engine="sdxl")).specs[0]
    assert (spec.engine, spec.draft, spec.style_code, spec.character_refs) == ("sdxl-turbo", True, 123456, [face])
