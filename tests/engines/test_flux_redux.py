"""FLUX image prompts through FLUX Redux on the tiny FLUX engine: a random-weight FluxPriorReduxPipeline built
from configs, saved and loaded with the same from_pretrained as black-forest-labs/FLUX.1-Redux-dev."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from engines.params import redux_scale
from midway.catalogue import SHIPPED_CATALOGUE, load_catalogue
from midway.errors import CatalogueError

from .conftest import small_spec
from .test_blend import BLUE, RED, UNRELATED, mse, pixels


def flux_spec(**update):
    """64 px, 2 steps: the tiny FLUX at its fastest."""
    return small_spec(**{"prompt": "a red fox", "steps": 2, "image_urls": ["red"], **update})


def same(a: list[Image.Image], b: list[Image.Image]) -> bool:
    return np.array_equal(pixels(a), pixels(b))


@pytest.fixture(scope="module")
def text_only(tiny_flux) -> list[Image.Image]:
    return tiny_flux.run(flux_spec(image_urls=[]))


def test_an_image_prompt_conditions_through_redux(tiny_flux, text_only) -> None:
    spec = flux_spec()
    red = tiny_flux.run(spec, source_images=[RED])
    # The reference changes the pixels; two references differ; the same reference and seed repeat exactly.
    assert mse(red, text_only) > 0.5
    assert mse(red, tiny_flux.run(spec, source_images=[BLUE])) > 0.5
    assert same(red, tiny_flux.run(spec, source_images=[RED]))
    # More --iw moves further from the text.
    heavy = tiny_flux.run(spec.model_copy(update={"image_weight": 3.0}), source_images=[RED])
    light = tiny_flux.run(spec.model_copy(update={"image_weight": 0.25}), source_images=[RED])
    assert mse(heavy, text_only) > mse(light, text_only)


def test_iw_0_is_the_text_alone_to_the_pixel(tiny_flux, text_only) -> None:
    tiny_flux.run(flux_spec(), source_images=[RED])  # the prior is loaded: it must still add nothing
    assert same(tiny_flux.run(flux_spec(image_weight=0.0), source_images=[RED]), text_only)
    assert same(tiny_flux.run(flux_spec(image_urls=[])), text_only)


def test_every_image_counts_by_its_weight(tiny_flux) -> None:
    spec = flux_spec(image_urls=["red", "stripes"], image_weight=2.0)
    both = tiny_flux.run(spec, source_images=[RED, UNRELATED])
    # The second image counts (an img2img start would use the first only), and so do the `::` weights.
    assert mse(both, tiny_flux.run(spec.model_copy(update={"image_urls": ["red"]}), source_images=[RED])) > 0.2
    mostly_stripes = tiny_flux.run(spec.model_copy(update={"image_weights": [1.0, 5.0]}),
                                   source_images=[RED, UNRELATED])
    assert mse(mostly_stripes, both) > 0.2


def test_no_keeps_the_image_prompt_under_true_cfg(tiny_flux) -> None:
    # True CFG needs both sides the same length: the negative side carries the image tokens too.
    spec = flux_spec(negative_prompt="snow")
    avoided = tiny_flux.run(spec, source_images=[RED])
    assert mse(avoided, tiny_flux.run(spec.model_copy(update={"image_urls": []}))) > 0.5
    assert mse(avoided, tiny_flux.run(flux_spec(), source_images=[RED])) > 0.5


def test_the_prior_loads_once_per_engine_and_encodes_once_per_job(tiny_flux) -> None:
    from engines.registry import load_engine

    engine = load_engine(tiny_flux.entry)
    assert engine.redux is not None and engine.redux.loads == 0  # nothing loaded before an image prompt
    engine.run(flux_spec(image_urls=[]))
    assert engine.redux.pipe is None
    engine.run(flux_spec(), source_images=[RED])
    calls: list[int] = []
    # The prior calls its vision tower with keyword arguments (`**pixel_values`).
    hook = engine.redux.pipe.image_encoder.register_forward_hook(
        lambda module, args, kwargs, output: calls.append(kwargs["pixel_values"].shape[0]), with_kwargs=True)
    try:
        engine.run(flux_spec(image_urls=["red", "blue"], n_images=4), source_images=[RED, BLUE], max_batch=1)
    finally:
        hook.remove()
    # Two jobs, one load; four chunks of one image, yet one pass of the vision tower over both references.
    assert engine.redux.loads == 1
    assert calls == [2]


def test_image_prompts_img2img_keeps_the_old_fallback(tiny_flux, text_only) -> None:
    from engines.registry import load_engine

    engine = load_engine(replace(tiny_flux.entry, image_prompts="img2img"))
    started = engine.run(flux_spec(image_weight=3.0), source_images=[RED])
    assert engine.redux is not None and engine.redux.loads == 0
    assert mse(started, text_only) > 1


def test_redux_scale_follows_iw() -> None:
    assert [redux_scale(iw) for iw in (0, 1, 3)] == [0.0, 1.0, 1.5]


def write(tmp_path, text: str):
    path = tmp_path / "catalogue.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_catalogue_key_names_a_redux_prior_for_flux_only(tmp_path) -> None:
    shipped = load_catalogue(SHIPPED_CATALOGUE)
    assert shipped.get("tiny-flux").redux == "tiny-redux"
    assert shipped.get("tiny-flux").reference_features == ["image prompts (redux)", "--cref", "--oref"]
    assert shipped.get("flux-dev").redux == "black-forest-labs/FLUX.1-Redux-dev"
    entry = load_catalogue(write(tmp_path, """\
        [engines.f]
        kind = "flux"
        model = "black-forest-labs/FLUX.1-schnell"
        redux = "/models/redux"
        """)).get("f")
    assert (entry.redux, entry.image_prompt_mode) == ("/models/redux", "redux")
    with pytest.raises(CatalogueError, match="engine 's': redux .* is for the flux family, not 'sd'"):
        load_catalogue(write(tmp_path, """\
            [engines.s]
            kind = "sd"
            model = "x"
            redux = "black-forest-labs/FLUX.1-Redux-dev"
            """))
    with pytest.raises(CatalogueError, match="image_prompts = \"redux\" needs redux"):
        load_catalogue(write(tmp_path, """\
            [engines.f]
            kind = "flux"
            model = "x"
            image_prompts = "redux"
            """))
