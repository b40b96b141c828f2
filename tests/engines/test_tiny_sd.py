"""The tiny Stable Diffusion engine: real pipeline classes, random weights, loaded from disk.

diffusers-style: seeded tiny components, output shapes and pixel slices, callbacks and errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from torch import nn

from engines.params import image_seed
from engines.registry import get_engine, load_count, unload
from midway.contract import Operation, UpscaleMode
from midway.errors import EngineError, GenerationCancelled, UnsupportedOperation

from .conftest import small_spec


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.float64) for image in images])


def mse(a: Image.Image, b: Image.Image) -> float:
    return float(((pixels([a]) - pixels([b])) ** 2).mean())


def test_imagine_gives_four_images_of_the_spec_size(tiny):
    images = tiny.run(small_spec(width=96, height=64))
    assert [image.size for image in images] == [(96, 64)] * 4
    assert pixels(images).std() > 1  # not a flat colour
    assert mse(images[0], images[1]) > 1  # the four images differ


def test_same_spec_and_seed_give_identical_pixels(tiny):
    first, second = tiny.run(small_spec()), tiny.run(small_spec())
    assert np.array_equal(pixels(first), pixels(second))
    assert not np.array_equal(pixels(first), pixels(tiny.run(small_spec(seed=99))))


def test_image_i_of_a_grid_is_a_single_run_with_seed_plus_i(tiny):
    grid = tiny.run(small_spec())
    for index in (0, 2):
        alone = tiny.run(small_spec(seed=image_seed(1234, index), n_images=1))
        assert np.abs(pixels(alone) - pixels([grid[index]])).max() <= 2


def test_results_do_not_depend_on_max_batch(tiny):
    whole = pixels(tiny.run(small_spec()))
    chunked = pixels(tiny.run(small_spec(), max_batch=1))
    assert np.abs(whole - chunked).max() <= 2


def vae_round_trip(engine, image: Image.Image) -> Image.Image:
    """The source as the engine sees it: a random-weight VAE is lossy, unlike a trained one."""
    import torch

    processor = engine.pipe.image_processor
    with torch.no_grad():
        latents = engine.pipe.vae.encode(processor.preprocess(image)).latent_dist.mean
        return processor.postprocess(engine.pipe.vae.decode(latents).sample)[0]


def test_subtle_variation_stays_closer_to_the_source_than_strong(tiny, catalogue):
    entry = catalogue.get("tiny")
    source = tiny.run(small_spec(n_images=1))[0]
    seen = vae_round_trip(tiny, source)

    def vary(strength: float) -> list[Image.Image]:
        spec = small_spec(operation=Operation.variation, steps=8, strength=strength, seed=7)
        return tiny.run(spec, init_image=source)

    subtle, strong = vary(entry.variation_strength_subtle), vary(entry.variation_strength_strong)
    assert len(subtle) == len(strong) == 4
    assert min(mse(source, image) for image in subtle + strong) > 1  # both really vary
    # Compared with the VAE round trip of the source: random VAE weights reconstruct nothing, so the
    # raw source is equally far from everything; with trained weights the two coincide.
    assert np.mean([mse(seen, i) for i in subtle]) < 0.85 * np.mean([mse(seen, i) for i in strong])


def test_a_second_job_does_not_reload_the_engine(state_dir, catalogue):
    unload("tiny-sdxl")
    before = load_count("tiny-sdxl")
    engine = get_engine("tiny-sdxl", catalogue)
    engine.run(small_spec(n_images=1, steps=2))
    again = get_engine("tiny-sdxl", catalogue)
    again.run(small_spec(n_images=1, steps=2))
    assert again is engine
    assert load_count("tiny-sdxl") == before + 1


def test_progress_every_step_with_a_preview(tiny):
    seen = []
    tiny.run(small_spec(steps=4), on_progress=lambda step, total, preview: seen.append((step, total, preview)))
    assert [(step, total) for step, total, _ in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    # The preview is the 2x2 grid at latent resolution (64 px images -> 8 px latents).
    assert all(isinstance(preview, Image.Image) and preview.size == (16, 16) for _, _, preview in seen)


def test_progress_counts_across_chunks(tiny):
    seen = []
    tiny.run(small_spec(steps=2), max_batch=2, on_progress=lambda s, t, p: seen.append((s, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_cancel_stops_between_steps_and_the_engine_still_works(tiny):
    seen = []
    with pytest.raises(GenerationCancelled):
        tiny.run(small_spec(steps=6), on_progress=lambda s, t, p: seen.append(s), should_cancel=lambda: len(seen) >= 2)
    assert seen == [1, 2]
    assert len(tiny.run(small_spec(n_images=1))) == 1


def count_unet_calls(engine) -> list[int]:
    calls = [0]
    engine.pipe.unet.register_forward_hook(lambda *args: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_stop_runs_fewer_steps_and_decodes_the_denoised_estimate(tiny):
    full = tiny.run(small_spec(steps=8))
    hook_calls = count_unet_calls(tiny)
    seen = []
    stopped = tiny.run(small_spec(steps=8, stop=50), on_progress=lambda s, t, p: seen.append(s))
    tiny.pipe.unet._forward_hooks.clear()
    assert hook_calls[0] == 4
    assert seen[-1] == 8  # the job still reports 100% when it ends early
    # What is decoded is the denoised estimate, not the still-noisy latents: an image near the full run's
    # (random weights converge early, so here it is very near), far nearer than another seed's image.
    assert mse(full[0], stopped[0]) < 0.1 * mse(full[0], full[1])


def test_tile_decodes_on_a_torus_so_the_image_wraps_without_seams(tiny):
    """Circular padding makes the decoder shift-equivariant with wrap-around: a rolled latent decodes
    to the rolled image, which is exactly what a seamless tile needs (and false with zero padding)."""
    import torch

    from engines.tiling import circular_padding

    vae = tiny.pipe.vae
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))

    def wraps() -> bool:
        with torch.no_grad():
            image, rolled = vae.decode(latents).sample, vae.decode(latents.roll(3, dims=3)).sample
        return torch.allclose(image.roll(3 * 8, dims=3), rolled, atol=1e-4)

    assert not wraps()
    with circular_padding([vae], enabled=True):
        assert wraps()
    assert not wraps()  # restored


def test_tile_changes_the_output_and_restores_padding(tiny):
    plain = tiny.run(small_spec(n_images=1))
    tiled = tiny.run(small_spec(n_images=1, tile=True))
    assert mse(plain[0], tiled[0]) > 1
    convs = [m for m in tiny.pipe.unet.modules() if isinstance(m, nn.Conv2d)]
    assert all(conv.padding_mode == "zeros" for conv in convs)


def test_weights_and_negative_prompts_change_the_output(tiny):
    base = tiny.run(small_spec(n_images=1))[0]
    weighted = tiny.run(small_spec(n_images=1, weights=[("a red fox", 1.0), ("snow", 2.0)]))[0]
    reweighted = tiny.run(small_spec(n_images=1, weights=[("a red fox", 2.0), ("snow", 1.0)]))[0]
    negative = tiny.run(small_spec(n_images=1, negative_prompt="blurry, dark"))[0]
    negative_weight = tiny.run(small_spec(n_images=1, weights=[("a red fox in the snow", 1.0), ("dark", -0.5)]))[0]
    assert mse(weighted, reweighted) > 1
    assert mse(base, negative) > 1
    assert mse(base, negative_weight) > 1


def test_chaos_spreads_the_four_images_apart(tiny):
    def spread(chaos: int) -> float:
        images = tiny.run(small_spec(chaos=chaos))
        return float(np.mean([mse(images[0], other) for other in images[1:]]))

    calm = tiny.run(small_spec(chaos=0))
    assert np.array_equal(pixels(calm), pixels(tiny.run(small_spec())))
    assert spread(100) > spread(0)


def test_upscale_subtle_and_creative_double_or_quadruple_one_image(tiny):
    source = tiny.run(small_spec(n_images=1))[0]
    subtle = tiny.run(small_spec(operation=Operation.upscale, upscale_factor=4, n_images=1), init_image=source)
    creative = tiny.run(
        small_spec(operation=Operation.upscale, upscale_factor=2, n_images=1, upscale_mode=UpscaleMode.creative),
        init_image=source,
    )
    assert [image.size for image in subtle] == [(256, 256)]
    assert [image.size for image in creative] == [(128, 128)]
    resized = source.resize((128, 128), Image.Resampling.LANCZOS)
    assert mse(creative[0], resized) > 1  # creative re-diffused it


def test_operations_the_engine_cannot_do_fail_clearly(tiny):
    with pytest.raises(UnsupportedOperation, match="cannot describe"):
        tiny.run(small_spec(operation=Operation.describe))
    with pytest.raises(EngineError, match="needs a source image"):
        tiny.run(small_spec(operation=Operation.variation))


def test_upscale_4x_creative_runs_the_x4_upscaler_pipeline(tiny):
    from diffusers import StableDiffusionUpscalePipeline

    source = tiny.run(small_spec(n_images=1))[0]
    spec = small_spec(operation=Operation.upscale, upscale_factor=4, n_images=1, upscale_mode=UpscaleMode.creative,
                      steps=3)
    seen = []
    upscaled = tiny.run(spec, init_image=source, on_progress=lambda s, t, p: seen.append((s, t)))
    assert isinstance(tiny._upscaler, StableDiffusionUpscalePipeline)  # the catalogue's tiny-x4-upscaler
    assert [image.size for image in upscaled] == [(256, 256)]
    assert seen == [(1, 3), (2, 3), (3, 3)]
    # The upscaler re-synthesised the detail: not a plain resize, and the same seed gives the same pixels.
    assert mse(upscaled[0], source.resize((256, 256), Image.Resampling.LANCZOS)) > 1
    loaded = tiny._upscaler
    again = tiny.run(spec, init_image=source)
    assert tiny._upscaler is loaded and np.array_equal(pixels(upscaled), pixels(again))


def test_previews_are_built_only_for_the_steps_a_throttled_reporter_publishes(tiny):
    from worker.progress import ProgressReporter

    now = [0.0]
    published = []
    reporter = ProgressReporter("job", publish=published.append, put_preview=lambda data: "preview-ref",
                                interval_s=1.0, clock=lambda: now[0])
    built = []

    def on_progress(step, total, preview):
        built.append((step, preview is not None))
        reporter(step, total, preview)
        now[0] += 0.4  # each step takes 0.4 s: one event per 1 s interval, i.e. every third step

    on_progress.wants_preview = reporter.wants_preview
    tiny.run(small_spec(steps=7), on_progress=on_progress)
    assert [event.step for event in published] == [1, 4]  # step 7 is the last: `done` follows at once
    assert all(event.preview == "preview-ref" for event in published)
    # Every other step skips the preview (a host copy of the latents and image building on a GPU).
    assert [step for step, has_preview in built if has_preview] == [1, 4]


def test_the_empty_negative_is_encoded_once_per_engine_and_changes_nothing(tiny):
    spec = small_spec(n_images=1, steps=2)
    first = tiny.run(spec)
    encoder = tiny.pipe.text_encoder
    calls = [0]
    handle = encoder.register_forward_hook(lambda *args: calls.__setitem__(0, calls[0] + 1))
    try:
        again = tiny.run(spec)
        with_no = tiny.run(small_spec(n_images=1, steps=2, negative_prompt="blur"))
    finally:
        handle.remove()
    # The prompt once per run, `--no blur` once; the unconditional side came from the engine's cache.
    assert calls[0] == 3
    assert mse(first[0], again[0]) == 0.0
    assert mse(first[0], with_no[0]) > 0.0


def run_recording_guidance(engine, spec) -> tuple[set[tuple[float, int]], list[Image.Image]]:
    """The images, and (guidance scale the pipeline ran with, UNet batch) at each denoising call."""
    seen = set()
    handle = engine.pipe.unet.register_forward_pre_hook(
        lambda module, args: seen.add((engine.pipe.guidance_scale, args[0].shape[0])))
    try:
        return seen, engine.run(spec)
    finally:
        handle.remove()


def test_stylize_and_guidance_reach_the_pipeline(tiny):
    # The catalogue's 5.0 at --s 100; --s 0 halves it, --s 1000 about doubles it (engines/params.py).
    default, base = run_recording_guidance(tiny, small_spec(n_images=1, steps=2))
    calm, low = run_recording_guidance(tiny, small_spec(n_images=1, steps=2, stylize=0))
    bold, high = run_recording_guidance(tiny, small_spec(n_images=1, steps=2, stylize=1000))
    explicit, same_as_low = run_recording_guidance(tiny, small_spec(n_images=1, steps=2, guidance=2.5))
    unguided, _ = run_recording_guidance(tiny, small_spec(n_images=1, steps=2, guidance=1.0))
    assert default == {(5.0, 2)} and calm == explicit == {(2.5, 2)}
    assert [(round(scale, 4), batch) for scale, batch in bold] == [(10.4057, 2)]
    assert unguided == {(1.0, 1)}  # guidance 1 skips the unconditional half of the batch
    assert mse(base[0], low[0]) > 1 and mse(base[0], high[0]) > 1
    assert mse(low[0], same_as_low[0]) == 0.0
