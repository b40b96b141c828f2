"""The parts' summaries (pure) and the GPU part's clean skip without CUDA."""

from __future__ import annotations

import pytest

from bench import ack_load, fairness, gpu_speed, refs
from bench.report import PartUnavailable


def test_fairness_headline_is_the_worst_light_user_wait_of_the_fair_round() -> None:
    rounds = {"fair": {"light_waits_s": [0.3, 0.5, 0.4], "round_s": 5.0, "jobs": 23},
              "fifo": {"light_waits_s": [4.1, 4.3, 4.2], "round_s": 5.1, "jobs": 23}}
    figures = fairness.summarise(rounds, heavy_jobs=20, light_users=3).figures
    assert figures["fairness_small_user_wait_s"] == 0.5
    assert figures["fairness_small_user_wait_fifo_s"] == 4.3
    assert figures["fairness_wait_ratio_vs_fifo"] == round(0.5 / 4.3, 3)


def test_rounds_of_one_mode_are_averaged_per_light_user() -> None:
    first = {"light_waits_s": [1.0, 2.0], "round_s": 4.0, "jobs": 12}
    second = {"light_waits_s": [3.0, 2.0], "round_s": 6.0, "jobs": 12}
    assert fairness.mean_round([first, second]) == {"light_waits_s": [2.0, 2.0], "round_s": 5.0, "jobs": 12}


def test_ack_headline_is_p99_at_the_largest_load_against_the_bare_bot() -> None:
    measured = {"bare": {50: [[0.01] * 50], 200: [[0.02] * 199 + [0.05]]},
                "midway": {50: [[0.02] * 50], 200: [[0.04] * 198 + [0.1, 3.5]]}}
    result = ack_load.summarise(measured, [50, 200])
    assert result.figures["ack_load_n"] == 200
    # Order statistic 197.01 of 200: between the last 0.04 s and the 0.1 s; one 3.5 s outlier is the max.
    assert result.figures["ack_p99_ms"] == pytest.approx(1000 * (0.04 + 0.01 * (0.1 - 0.04)), abs=0.01)
    assert result.figures["ack_max_ms"] == 3500.0
    assert result.figures["ack_p99_ratio_vs_bare"] > 1
    assert any("1 of 200 over 3 s" in row.versus for row in result.rows)


def test_ack_figures_are_medians_over_rounds_so_one_noisy_burst_does_not_set_them() -> None:
    quiet, noisy = [0.02] * 100, [0.02] * 99 + [0.9]
    measured = {"bare": {100: [[0.01] * 100] * 3}, "midway": {100: [quiet, noisy, quiet]}}
    result = ack_load.summarise(measured, [100])
    assert result.figures["ack_p99_ms"] == 20.0 and result.figures["ack_p99_ratio_vs_bare"] == 2.0
    assert result.figures["ack_lost"] == 0
    assert any("0 of 300 over 3 s" in row.versus for row in result.rows)


@pytest.mark.skipif(gpu_speed.cuda_available(), reason="this machine has CUDA: the part runs instead")
def test_gpu_part_skips_cleanly_without_cuda() -> None:
    with pytest.raises(PartUnavailable, match="no CUDA"):
        gpu_speed.run(quick=True)


def test_the_ack_ratio_pairs_each_round_so_a_slow_round_counts_against_neither_bot() -> None:
    def burst(seconds: float) -> list[float]:
        return [seconds] * 100

    # The machine slowed down in the third round: both bots' bursts took longer.
    measured = {"bare": {100: [burst(0.010), burst(0.010), burst(0.040)]},
                "midway": {100: [burst(0.030), burst(0.011), burst(0.044)]}}
    result = ack_load.summarise(measured, [100])
    # Round by round: 3.0, 1.1, 1.1. The medians' ratio (30 ms / 10 ms) would say 3.0.
    assert result.figures["ack_p99_ratio_vs_bare"] == pytest.approx(1.1)
    assert result.figures["ack_p99_ms"] == pytest.approx(30.0)


def test_refs_figures_are_each_variants_time_over_its_own_engines_text_only_grid() -> None:
    measured = {refs.TEXT: {"seconds": 0.5, "encoder_passes": None},
                "tiny: --sref (IP-Adapter, style blocks)": {"seconds": 0.6, "encoder_passes": 1},
                "tiny: --cref (IP-Adapter Plus)": {"seconds": 0.75, "encoder_passes": 1},
                refs.FLUX_TEXT: {"seconds": 2.0, "encoder_passes": None},
                "tiny-flux: image prompt (FLUX Redux)": {"seconds": 2.2, "encoder_passes": 1},
                "tiny-flux: --cref (FLUX Redux)": {"seconds": 2.4, "encoder_passes": 1}}
    result = refs.summarise(measured, rounds=3, differences={"cref_vs_text": 812.5, "red_vs_blue": 40.25})
    assert result.figures["refs_sref_ratio_vs_text"] == 1.2
    assert result.figures["refs_cref_ratio_vs_text"] == 1.5
    # Redux is compared with tiny-flux's own text-only grid, not the SD engine's.
    assert result.figures["refs_flux_redux_ratio_vs_text"] == 1.1
    assert result.figures["refs_flux_cref_ratio_vs_text"] == 1.2
    assert "refs_flux_redux_cref_ratio_vs_text" not in result.figures  # not measured here
    # How far a FLUX --cref moves the pixels, as figures and rows.
    assert (result.figures["refs_flux_cref_mse_vs_text"], result.figures["refs_flux_cref_mse_red_vs_blue"]) == (
        812.5, 40.25)
    assert any(row.figure.endswith("red --cref vs blue --cref") and row.value == "MSE 40.25" for row in result.rows)
    assert result.figures["refs_text_only_s"] == 0.5 and "refs_image_prompt_ratio_vs_text" not in result.figures
    cref = next(row for row in result.rows if "--cref" in row.figure)
    assert cref.value == "0.750 s" and "x1.5 vs text only; image encoder passes per job: 1" == cref.versus
    assert "Best of 3 round(s)" in result.notes[0]
