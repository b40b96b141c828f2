"""`--lora` in the prompt grammar, the catalogue's `[loras]` tables, and the check against both (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from midway.catalogue import load_catalogue
from midway.contract import GenerationSpec, LoraChoice
from midway.errors import CatalogueError
from midway.loras import LoraEntry, parse_lora, resolve_loras
from midway.prompt import ParseOptions, PromptError, parse_prompt

OPTIONS = ParseOptions(seed_source=lambda: 7)
LORAS = {
    "style": LoraEntry(name="style", model="x", families=("sd",), weight=0.6, trigger_words=("tnystyle",)),
    "ink": LoraEntry(name="ink", model="y", families=("sd", "sdxl")),
    "xl": LoraEntry(name="xl", model="z", families=("sdxl",)),
}


def parsed(text: str) -> GenerationSpec:
    return parse_prompt(text, OPTIONS)[0]


def test_lora_takes_a_name_and_an_optional_weight_and_repeats() -> None:
    spec = parsed("a fox --lora style::0.8 --lora INK --ar 16:9")
    assert spec.loras == [LoraChoice(name="style", weight=0.8), LoraChoice(name="ink")]
    assert spec.prompt == "a fox" and spec.weights == []  # `::` after --lora is no multi-prompt
    assert spec.full_prompt == "a fox --lora style::0.8 --lora INK --ar 16:9"


@pytest.mark.parametrize(("text", "named"), [
    ("a fox --lora style --lora style::2", "`style` is given twice"),
    ("a fox --lora style::9", "from -4 to 4"),
    ("a fox --lora style::x", "`x`"),
    ("a fox --lora ::0.5", "must name a LoRA"),
    ("a fox --lora", "needs a value"),
])
def test_bad_loras_are_refused_naming_them(text: str, named: str) -> None:
    with pytest.raises(PromptError, match=named):
        parsed(text)


def test_resolving_fills_default_weights_and_adds_trigger_words_once() -> None:
    spec = resolve_loras(parsed("a fox --lora style --lora ink::0.3"), "sd", LORAS)
    assert spec.loras == [LoraChoice(name="style", weight=0.6), LoraChoice(name="ink", weight=0.3)]
    assert spec.prompt == "a fox tnystyle"
    assert resolve_loras(spec, "sd", LORAS) == spec  # planned twice (a remix): the words are not doubled
    weighted = resolve_loras(parsed("a fox::2 snow::-0.5 --lora style"), "sd", LORAS)
    assert weighted.weights == [("a fox tnystyle", 2.0), ("snow", -0.5)]


def test_a_lora_at_weight_zero_adds_no_trigger_words() -> None:
    assert resolve_loras(parsed("a fox --lora style::0"), "sd", LORAS).prompt == "a fox"


@pytest.mark.parametrize(("text", "family", "allowed", "named"), [
    ("a fox --lora nope", "sd", None, "Unknown LoRA `nope`; the catalogue's LoRAs: `ink`, `style`, `xl`"),
    ("a fox --lora xl", "sd", None, "LoRA `xl` is made for sdxl engines, not for this sd engine"),
    ("a fox --lora ink", "sd", ["style"], "LoRA `ink` is not allowed in this channel \\(allowed here: `style`\\)"),
    ("a fox --lora ink", "sd", [], "allowed here: none"),
])
def test_unknown_wrong_family_and_not_allowed_loras_are_refused(text: str, family: str, allowed: list[str] | None,
                                                               named: str) -> None:
    with pytest.raises(PromptError, match=named) as refused:
        resolve_loras(parsed(text), family, LORAS, allowed)
    assert refused.value.param == "lora"


def test_catalogue_lora_tables_are_read_and_checked(tmp_path: Path) -> None:
    shipped = load_catalogue()
    assert shipped.loras["tiny-style"].families == ("sd",) and shipped.loras["tiny-style"].trigger_words
    path = tmp_path / "catalogue.toml"
    path.write_text('[engines.a]\nkind = "tiny"\nfamily = "sd"\n\n[loras.b]\nmodel = "m.safetensors"\n'
                    'families = ["sd"]\nweight = 0.7\n')
    assert load_catalogue(path).loras["b"] == LoraEntry(name="b", model="m.safetensors", families=("sd",), weight=0.7)


@pytest.mark.parametrize(("name", "table", "named"), [
    ("b", {"families": ["sd"]}, "model is required"),
    ("b", {"model": "m", "families": ["unclip"]}, "families must list"),
    ("b", {"model": "m", "families": ["sd"], "weight": 9}, "weight must be"),
    ("b", {"model": "m", "families": ["sd"], "trigger": ["x"]}, "unknown keys \\['trigger'\\]"),
    ("B b", {"model": "m", "families": ["sd"]}, "lower-case"),
])
def test_bad_lora_tables_name_the_entry(name: str, table: dict, named: str) -> None:
    with pytest.raises(CatalogueError, match=named) as refused:
        parse_lora(name, table)
    assert repr(name) in str(refused.value)


def test_old_records_without_loras_read_back_with_none() -> None:
    old = GenerationSpec(prompt="a fox").model_dump(mode="json")
    del old["loras"]
    assert GenerationSpec.model_validate(old).loras == []
    spec = GenerationSpec(prompt="a fox", loras=[LoraChoice(name="style", weight=0.5)])
    assert GenerationSpec.from_record(spec.model_dump_json()) == spec
