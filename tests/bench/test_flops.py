"""The FLOP-bound arithmetic of the GPU part, and its constants recounted on the real architectures."""

from __future__ import annotations

import pytest

from bench.flops import PEAK_TFLOPS, SD15, SDXL, Workload, flop_bound_s, fraction_of_bound


def test_sdxl_grid_matches_the_issue_figures() -> None:
    # 6.76 TFLOP x 2 (CFG) x 4 images x 30 steps + ~42 TFLOP of VAE decode = ~1,665 TFLOP, ~2.1 s.
    assert SDXL.grid_tflop == pytest.approx(1665, abs=2)
    assert flop_bound_s(SDXL) == pytest.approx(2.08, abs=0.01)


def test_sd15_grid_matches_the_issue_figures() -> None:
    assert SD15.grid_tflop == pytest.approx(203, abs=1)
    assert flop_bound_s(SD15) == pytest.approx(0.25, abs=0.01)


def test_cfg_doubles_only_the_unet_work() -> None:
    plain = Workload("no cfg", 1024, 1024, 1.0, 5.0, images=2, steps=10, cfg=False)
    guided = Workload("cfg", 1024, 1024, 1.0, 5.0, images=2, steps=10, cfg=True)
    assert plain.grid_tflop == 2 * 10 * 1.0 + 2 * 5.0
    assert guided.grid_tflop == 2 * 2 * 10 * 1.0 + 2 * 5.0


def test_fraction_of_bound_is_bound_over_measured() -> None:
    bound = flop_bound_s(SDXL)
    assert fraction_of_bound(bound, SDXL) == pytest.approx(1.0)
    # The issue's goal, "within 2x of the bound", is a fraction of at least one half.
    assert fraction_of_bound(2 * bound, SDXL) == pytest.approx(0.5)
    assert fraction_of_bound(2 * bound, SDXL, peak_tflops=2 * PEAK_TFLOPS) == pytest.approx(0.25)


def test_nonsense_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="measured_s"):
        fraction_of_bound(0.0, SDXL)
    with pytest.raises(ValueError, match="peak_tflops"):
        flop_bound_s(SDXL, peak_tflops=0)


def test_constants_match_a_flop_count_of_the_real_architectures() -> None:
    """Counted on the meta device (no memory, no compute), so the bound tracks the real models."""
    from bench.flop_count import unet_tflop_per_step, vae_decode_tflop

    assert unet_tflop_per_step("sdxl") == pytest.approx(SDXL.unet_tflop_per_image_step, rel=0.01)
    assert unet_tflop_per_step("sd") == pytest.approx(SD15.unet_tflop_per_image_step, rel=0.01)
    assert vae_decode_tflop(1024) == pytest.approx(SDXL.vae_tflop_per_image, rel=0.01)
