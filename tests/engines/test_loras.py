"""LoRAs on the tiny engines: random-weight adapters built by peft, saved with `save_lora_weights` and loaded
with the same `load_lora_weights` call a downloaded LoRA goes through (engines/lora.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engines.registry import get_engine, load_count, load_engine
from midway.contract import LoraChoice, Operation
from midway.errors import EngineError, UnsupportedOperation

from .conftest import small_spec


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.float64) for image in images])


def with_loras(*loras: tuple[str, float], **update):
    return small_spec(n_images=1, loras=[LoraChoice(name=name, weight=weight) for name, weight in loras], **update)


def test_a_lora_changes_the_pixels_and_weight_zero_does_not(tiny):
    base = pixels(tiny.run(with_loras()))
    styled = pixels(tiny.run(with_loras(("tiny-style", 1.0))))
    assert np.abs(styled - base).mean() > 3  # grey levels: visible, not rounding
    assert np.array_equal(pixels(tiny.run(with_loras(("tiny-style", 0.0)))), base)
    half = pixels(tiny.run(with_loras(("tiny-style", 0.5))))
    assert 0 < np.abs(half - base).mean() < np.abs(styled - base).mean()


def test_switching_loras_between_jobs_leaks_nothing(tiny, catalogue):
    # A pipeline no LoRA ever touched: what "no LoRA" must look like.
    untouched = load_engine(catalogue.get("tiny"), catalogue.loras)
    fresh_none = pixels(untouched.run(with_loras()))
    fresh_ink = pixels(untouched.run(with_loras(("tiny-ink", 1.0))))
    styled = pixels(tiny.run(with_loras(("tiny-style", 1.0))))
    # A then none is a fresh none; A then B is a fresh B; both at once is neither.
    assert np.array_equal(pixels(tiny.run(with_loras())), fresh_none)
    tiny.run(with_loras(("tiny-style", 1.0)))
    assert np.array_equal(pixels(tiny.run(with_loras(("tiny-ink", 1.0)))), fresh_ink)
    assert not np.array_equal(fresh_ink, styled)
    both = pixels(tiny.run(with_loras(("tiny-style", 1.0), ("tiny-ink", 1.0))))
    assert not np.array_equal(both, styled) and not np.array_equal(both, fresh_ink)


def test_each_lora_loads_once_and_the_base_model_never_reloads(tiny):
    loads = load_count("tiny")
    for loras in ([("tiny-style", 1.0)], [], [("tiny-ink", 0.5)], [("tiny-style", 0.3), ("tiny-ink", 1.0)]):
        tiny.run(with_loras(*loras))
    assert get_engine("tiny") is tiny and load_count("tiny") == loads
    assert tiny.loras.loads == {"tiny-style": 1, "tiny-ink": 1}


def test_a_variation_runs_with_the_lora_too(tiny):
    source = tiny.run(with_loras())[0]
    spec = with_loras(operation=Operation.variation, strength=0.7)
    plain = pixels(tiny.run(spec, init_image=source))
    styled = pixels(tiny.run(spec.model_copy(update={"loras": [LoraChoice(name="tiny-style", weight=1.0)]}),
                             init_image=source))
    assert np.abs(styled - plain).mean() > 1


def test_a_bare_lora_takes_the_catalogues_default_weight(tiny, catalogue):
    assert catalogue.loras["tiny-ink"].weight == 0.8
    default = pixels(tiny.run(small_spec(n_images=1, loras=[LoraChoice(name="tiny-ink")])))
    assert np.array_equal(default, pixels(tiny.run(with_loras(("tiny-ink", 0.8)))))


def test_a_lora_of_another_family_or_unknown_is_an_engine_error(tiny):
    with pytest.raises(EngineError, match="tiny-style-xl"):
        tiny.run(with_loras(("tiny-style-xl", 1.0)))
    with pytest.raises(EngineError, match="not in the catalogue"):
        tiny.run(with_loras(("nope", 1.0)))
    # The refused job changed nothing: the next one runs as before.
    assert np.array_equal(pixels(tiny.run(with_loras())), pixels(tiny.run(with_loras())))


def test_unclip_refuses_loras(tiny_unclip):
    with pytest.raises(UnsupportedOperation, match="LoRA"):
        tiny_unclip.run(with_loras(("tiny-style", 1.0), width=128, height=128))


@pytest.mark.parametrize(("engine", "lora"), [("tiny-sdxl", "tiny-style-xl"), ("tiny-flux", "tiny-style-flux")])
def test_sdxl_and_flux_tiny_loras_change_pixels_and_switch_off(state_dir, catalogue, engine, lora):
    pipeline = get_engine(engine, catalogue)
    spec = small_spec(n_images=1, width=128, height=128, steps=2)
    base = pixels(pipeline.run(spec))
    styled = pixels(pipeline.run(spec.model_copy(update={"loras": [LoraChoice(name=lora, weight=1.0)]})))
    assert np.abs(styled - base).mean() > 1
    assert np.array_equal(pixels(pipeline.run(spec)), base)
