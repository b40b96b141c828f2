"""The catalogue: shipped presets, aliases, and errors that name the bad entry. No torch needed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from midway.catalogue import SHIPPED_CATALOGUE, alias_table, engine_sizes, load_catalogue
from midway.contract import Operation
from midway.errors import CatalogueError, EngineNotFound


def write(tmp_path, text: str):
    path = tmp_path / "catalogue.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_catalogue_has_every_kind_and_the_tiny_engines():
    catalogue = load_catalogue(SHIPPED_CATALOGUE)
    kinds = {catalogue.get(name).kind for name in catalogue.names()}
    assert kinds == {"sd", "sdxl", "flux", "unclip", "caption", "tiny"}
    assert {"tiny", "tiny-sdxl", "tiny-unclip", "sd15", "sdxl", "sdxl-turbo", "flux-schnell"} <= set(
        catalogue.names()
    )
    tiny = catalogue.get("tiny")
    assert (tiny.family, tiny.base_width, tiny.base_height) == ("sd", 256, 256)
    assert Operation.variation in tiny.capabilities
    assert (tiny.variation_strength_subtle, tiny.variation_strength_strong) == (0.35, 0.7)
    assert catalogue.get("tiny-unclip").family == "unclip"
    assert (catalogue.get("tiny-flux").family, catalogue.get("tiny-flux").size_multiple) == ("flux", 16)
    caption = catalogue.get("tiny-caption")
    assert caption.family == "caption" and caption.capabilities == {Operation.describe} and not caption.can_shorten
    assert tiny.can_shorten and Operation.describe not in tiny.capabilities


def test_describe_goes_with_a_captioning_model_only(tmp_path):
    with pytest.raises(CatalogueError, match="describe runs on a captioning model"):
        load_catalogue(write(tmp_path, """\
            [engines.x]
            kind = "sd"
            model = "x"
            capabilities = ["imagine", "describe"]
            """))
    with pytest.raises(CatalogueError, match="describe runs on a captioning model"):
        load_catalogue(write(tmp_path, """\
            [engines.c]
            kind = "caption"
            model = "x"
            capabilities = ["imagine"]
            """))


def test_aliases_resolve_midjourney_versions_to_engines():
    catalogue = load_catalogue(SHIPPED_CATALOGUE)
    aliases = alias_table(catalogue)
    assert aliases["6"] == "flux-schnell"
    assert aliases["niji 6"] == "sdxl-turbo"
    assert aliases["5.2"] == "sdxl"
    assert engine_sizes(catalogue)["sd15"] == (512, 512, 64)


def test_unknown_engine_names_it_and_lists_the_known_ones():
    catalogue = load_catalogue(SHIPPED_CATALOGUE)
    with pytest.raises(EngineNotFound) as caught:
        catalogue.get("dalle-9")
    assert "'dalle-9'" in str(caught.value) and "tiny-unclip" in str(caught.value)


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ('kind = "gan"\nmodel = "x"', "kind must be one of"),
        ('kind = "sd"', "model is required"),
        ('kind = "sd"\nmodel = "x"\ndtype = "int4"', "dtype must be one of"),
        ('kind = "sd"\nmodel = "x"\ncompile = true\ncompile_mode = "turbo"', "compile_mode must be one of"),
        ('kind = "sd"\nmodel = "x"\nsteps = -3', "steps must be a positive integer"),
        ('kind = "sd"\nmodel = "x"\ncapabilities = ["dream"]', "capabilities"),
        ('kind = "sd"\nmodel = "x"\nspeed = 3', "unknown keys ['speed']"),
        ('kind = "tiny"\nfamily = "gan"', "a tiny engine needs family"),
        ('kind = "unclip"\nmodel = "x"', "needs prior"),
        ('kind = "sd"\nmodel = "x"\nbase_width = 500', "not a multiple of 64"),
        ('kind = "sd"\nmodel = "x"\nimage_prompts = "paint"', "image_prompts must be one of"),
        ('kind = "sd"\nmodel = "x"\nimage_prompts = "adapter"', "needs ip_adapter"),
        ('kind = "flux"\nmodel = "x"\nip_adapter = "a:b/c.safetensors"', "ip_adapter is for the sd and sdxl"),
        ('kind = "sd"\nmodel = "x"\ncharacter_adapter = "a:b/c.safetensors"', "character_adapter needs ip_adapter"),
        ('kind = "sd"\nmodel = "x"\nstyle_blocks = { up = "block_0" }', "style_blocks must be a table"),
    ],
)
def test_bad_entries_fail_with_a_message_naming_the_entry(tmp_path, table, complaint):
    path = write(tmp_path, f"[engines.broken]\n{table}\n")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert "'broken'" in str(caught.value)
    assert complaint in str(caught.value)


def test_missing_and_malformed_catalogue_files(tmp_path):
    with pytest.raises(CatalogueError, match="not found"):
        load_catalogue(tmp_path / "nope.toml")
    with pytest.raises(CatalogueError, match="not valid TOML"):
        load_catalogue(write(tmp_path, "[engines.x\nkind="))


def test_midway_catalogue_env_overrides_the_shipped_file(tmp_path, monkeypatch):
    path = write(tmp_path, '[engines.mine]\nkind = "sd"\nmodel = "/models/mine.safetensors"\naliases = ["6"]\n')
    monkeypatch.setenv("MIDWAY_CATALOGUE", str(path))
    catalogue = load_catalogue()
    assert catalogue.names() == ["mine"]
    assert alias_table(catalogue) == {"6": "mine"}


def test_catalogue_import_does_not_pull_torch():
    code = ("import sys, midway.catalogue, engines.params, midway.images.imaging, midway.spec_edits, midway.region; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_aliases_are_keyed_as_the_prompt_parser_keys_versions(tmp_path):
    from midway.prompt import ParseOptions, parse_prompt

    path = write(tmp_path, """\
        [engines.six]
        kind = "sd"
        model = "x"
        aliases = ["6.0", "6", "Niji  6"]
        [engines.seven]
        kind = "sd"
        model = "y"
        aliases = ["7.0", "NIJI7"]
        """)
    catalogue = load_catalogue(path)
    assert catalogue.get("six").aliases == ("6", "niji 6")
    aliases = alias_table(catalogue)
    assert aliases == {"6": "six", "niji 6": "six", "7": "seven", "niji 7": "seven"}
    options = ParseOptions(aliases=aliases, default_engine="six")
    for prompt, engine in [("a fox --v 6", "six"), ("a fox --v 6.0", "six"), ("a fox --niji 6", "six"),
                           ("a fox --v 7", "seven"), ("a fox --niji 7", "seven")]:
        assert parse_prompt(prompt, options)[0].engine == engine, prompt


def test_two_engines_declaring_one_alias_fail_naming_both(tmp_path):
    path = write(tmp_path, """\
        [engines.first]
        kind = "sd"
        model = "x"
        aliases = ["6"]
        [engines.second]
        kind = "sd"
        model = "y"
        aliases = ["6.0"]
        """)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    message = str(caught.value)
    assert "'first'" in message and "'second'" in message and "'6'" in message


def test_alias_table_refuses_a_shared_alias_in_a_catalogue_built_in_code():
    from midway.catalogue import Catalogue, EngineEntry

    catalogue = Catalogue({"a": EngineEntry(name="a", kind="sd", model="x", aliases=("niji 6",)),
                           "b": EngineEntry(name="b", kind="sd", model="y", aliases=("Niji 6",))})
    with pytest.raises(CatalogueError, match="'a' and 'b' both declare alias 'niji 6'"):
        alias_table(catalogue)


def test_the_catalogue_says_what_each_engine_does_with_image_references(tmp_path):
    catalogue = load_catalogue(SHIPPED_CATALOGUE)
    assert catalogue.get("tiny").reference_features == ["image prompts (adapter)", "--sref", "--cref", "--oref"]
    # The real engines too: sdxl on the vit-h adapters, whose ViT-H/14 encoder the Plus one shares.
    # sdxl-turbo, where sdxl's drafts run, has sdxl's adapters: a draft keeps what its Enhance will use.
    for name in ("sd15", "sdxl", "sdxl-turbo"):
        assert catalogue.get(name).reference_features == ["image prompts (adapter)", "--sref", "--cref", "--oref"]
    for name in ("sdxl", "sdxl-turbo"):
        assert catalogue.get(name).ip_adapter == "h94/IP-Adapter:sdxl_models/ip-adapter_sdxl_vit-h.safetensors"
        assert catalogue.get(name).image_encoder == "models/image_encoder"
    assert catalogue.get("sdxl").style_block_scales == {"up": {"block_0": [0.0, 1.0, 0.0]}}
    assert catalogue.get("tiny-unclip").reference_features == ["image prompts (embeddings)"]
    # FLUX's --cref / --oref go through FLUX Redux: flux-dev has one, schnell (Apache-2.0) none (its licence).
    assert catalogue.get("flux-dev").reference_features == ["image prompts (redux)", "--cref", "--oref"]
    assert catalogue.get("flux-schnell").reference_features == ["image prompts (img2img)"]
    assert catalogue.get("tiny-caption").reference_features == []
    # An adapter engine may still pick img2img for image prompts and keep the adapter for --sref.
    fallback = load_catalogue(write(tmp_path, """\
        [engines.x]
        kind = "sd"
        model = "x"
        ip_adapter = "h94/IP-Adapter:models/ip-adapter_sd15.safetensors"
        image_prompts = "img2img"
        """)).get("x")
    assert fallback.reference_features == ["image prompts (img2img)", "--sref"]


def test_engine_list_shows_cref_and_oref_on_the_real_sd15_sdxl_and_flux_dev():
    from types import SimpleNamespace

    from bot.commands.engine import engine_lines

    lines = engine_lines(SimpleNamespace(catalogue=load_catalogue(SHIPPED_CATALOGUE)), live=set(), current="")
    for name in ("sd15", "sdxl"):
        line = next(line for line in lines if line.startswith(f"`{name}`"))
        # Whole, not cut by the 300-character cap of a line.
        assert line.endswith("References: image prompts (adapter), --sref, --cref, --oref."), line
    for name in ("flux-dev", "tiny-flux"):
        line = next(line for line in lines if line.startswith(f"`{name}`"))
        assert line.endswith("References: image prompts (redux), --cref, --oref."), line
    schnell = next(line for line in lines if line.startswith("`flux-schnell`"))
    assert "--cref" not in schnell, schnell
