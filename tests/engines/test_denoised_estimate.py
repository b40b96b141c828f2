"""The monitor's x0 estimate (previews, `--stop`) is the scheduler's own data prediction, for every sampler.

Each sampler runs the tiny pipelines through a subclass that keeps what it predicts itself: the
`pred_original_sample` of its step, or DPM-Solver's `convert_model_output` (data prediction mode).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    DPMSolverSinglestepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    HeunDiscreteScheduler,
    PNDMScheduler,
    UniPCMultistepScheduler,
)
from PIL import Image

from engines.loading import set_scheduler
from engines.monitor import StepMonitor
from engines.stable_diffusion import StableDiffusionEngine

from .conftest import small_spec


def keeps_predictions(cls: type) -> Any:
    """`cls`, keeping the x0 it predicts at each step in `self.predictions`."""

    class Keeping(cls):  # type: ignore[valid-type, misc]
        predictions: list[torch.Tensor] = []  # a new class, so a new list, for each scheduler

        def convert_model_output(self, model_output: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
            # DPM-Solver++ and UniPC: the data prediction their multistep update integrates.
            x0 = super().convert_model_output(model_output, *args, **kwargs)
            self.predictions.append(x0)
            return x0

        def step(self, model_output: torch.Tensor, timestep: Any, sample: torch.Tensor, *args: Any,
                 return_dict: bool = True, **kwargs: Any) -> Any:
            output = super().step(model_output, timestep, sample, *args, return_dict=True, **kwargs)
            if not hasattr(super(), "convert_model_output"):
                self.predictions.append(self.own_prediction(output, model_output, timestep, sample))
            return output if return_dict else (output.prev_sample,)

        def own_prediction(self, output: Any, model_output: torch.Tensor, timestep: Any,
                           sample: torch.Tensor) -> torch.Tensor:
            if isinstance(self, PNDMScheduler):
                # PNDM forms no x0: DDIM's, on the same training schedule, is the one its update implies.
                ddim = DDIMScheduler.from_config(self.config, clip_sample=False)
                ddim.set_timesteps(len(self.timesteps))
                return ddim.step(model_output, timestep, sample).pred_original_sample
            if isinstance(self, FlowMatchEulerDiscreteScheduler):
                # Flow matching's Euler step moves the sample straight towards its x0:
                # x_next = x0 + (sigma_next / sigma) * (x_t - x0).
                sigma, after = self.sigmas[self.step_index - 1], self.sigmas[self.step_index]
                return (output.prev_sample.float() - after / sigma * sample.float()) / (1 - after / sigma)
            return output.pred_original_sample

    return Keeping


def run_with_monitor(pipe: Any, scheduler_cls: type, steps: int, **config: Any) -> tuple[list, list]:
    """(the monitor's estimate, the scheduler's own prediction) at each step of one pipeline call."""
    scheduler = keeps_predictions(scheduler_cls).from_config(pipe.scheduler.config, **config)
    pipe = type(pipe).from_pipe(pipe, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    estimates: list[torch.Tensor] = []
    monitor = StepMonitor(steps=steps, on_progress=lambda step, total, preview: None, preview=estimates.append)
    with monitor.attached(pipe):
        pipe(**call_arguments(pipe), num_inference_steps=steps, callback_on_step_end=monitor,
             callback_on_step_end_tensor_inputs=["latents"], output_type="latent",
             generator=torch.Generator().manual_seed(3))
    return estimates, scheduler.predictions


def call_arguments(pipe: Any) -> dict[str, Any]:
    if "movq" in pipe.components:  # Kandinsky's decoder, from image embeddings
        embeds = torch.randn(2, 32, generator=torch.Generator().manual_seed(0))
        return {"image_embeds": embeds[:1], "negative_image_embeds": embeds[1:], "width": 64, "height": 64}
    if "transformer" in pipe.components:  # FLUX
        length = pipe.tokenizer_2.model_max_length
        return {"prompt": "a red fox", "width": 64, "height": 64, "max_sequence_length": length}
    return {"prompt": "a red fox", "width": 64, "height": 64}


def assert_same(estimate: torch.Tensor, prediction: torch.Tensor) -> None:
    scale = float(prediction.abs().max())
    torch.testing.assert_close(estimate.float(), prediction.float(), rtol=1e-5, atol=1e-5 * scale)


# The catalogue's samplers (euler, euler_a, dpm++) and the checkpoints' own ("default": PNDM for SD 1.5,
# DDIM for SD 2.x, Euler for SDXL), with the prediction types v-prediction checkpoints bring.
SAMPLERS = [
    pytest.param(EulerDiscreteScheduler, {}, id="euler"),
    pytest.param(EulerDiscreteScheduler, {"prediction_type": "v_prediction"}, id="euler-v"),
    pytest.param(EulerAncestralDiscreteScheduler, {}, id="euler_a"),
    pytest.param(DPMSolverMultistepScheduler, {}, id="dpm++"),
    pytest.param(DPMSolverMultistepScheduler, {"prediction_type": "v_prediction"}, id="dpm++-v"),
    pytest.param(DPMSolverMultistepScheduler, {"prediction_type": "sample"}, id="dpm++-sample"),
    pytest.param(DPMSolverMultistepScheduler, {"algorithm_type": "sde-dpmsolver++"}, id="sde-dpm++"),
    pytest.param(DPMSolverMultistepScheduler, {"use_karras_sigmas": True}, id="dpm++-karras"),
    pytest.param(DPMSolverSinglestepScheduler, {}, id="dpm-singlestep"),
    pytest.param(UniPCMultistepScheduler, {}, id="unipc"),
    pytest.param(PNDMScheduler, {"skip_prk_steps": True}, id="pndm"),
    pytest.param(DDIMScheduler, {"clip_sample": False}, id="ddim"),
    pytest.param(DDIMScheduler, {"prediction_type": "v_prediction", "clip_sample": False}, id="ddim-v"),
    pytest.param(DDIMScheduler, {"clip_sample": True, "clip_sample_range": 1.0}, id="ddim-clipped"),
]


@pytest.mark.parametrize(("scheduler_cls", "config"), SAMPLERS)
def test_the_estimate_is_the_schedulers_own_data_prediction(tiny, scheduler_cls, config):
    estimates, predictions = run_with_monitor(tiny.pipe, scheduler_cls, 6, **config)
    assert len(estimates) == len(predictions) >= 6
    for index in (1, len(predictions) // 2, len(predictions) - 1):  # the first step is the easy one
        assert_same(estimates[index], predictions[index])


def test_flow_matching_estimate_is_where_its_euler_step_heads(tiny_flux):
    estimates, predictions = run_with_monitor(tiny_flux.pipe, FlowMatchEulerDiscreteScheduler, 4)
    assert len(estimates) == len(predictions) == 4
    for index in (0, 2):  # not the last step, where sigma_next = 0 makes the check trivial
        assert_same(estimates[index], predictions[index])


def test_unclip_decoder_estimate_is_ddpms_prediction(tiny_unclip):
    """Kandinsky's UNet appends learned-variance channels: the estimate uses the noise channels only."""
    estimates, predictions = run_with_monitor(tiny_unclip.decoder, DDPMScheduler, 4)
    assert len(estimates) == len(predictions) == 4
    assert estimates[2].shape[1] == 4
    assert_same(estimates[2], predictions[2])


@pytest.fixture(scope="module")
def tiny_dpm(tiny):
    """The tiny engine with the sampler of the catalogue's sd15 and sdxl, sharing the tiny engine's modules."""
    pipe = type(tiny.pipe).from_pipe(tiny.pipe)
    set_scheduler(pipe, "dpm++")
    pipe.set_progress_bar_config(disable=True)
    return StableDiffusionEngine(tiny.entry, pipe, tiny.device, tiny.dtype)


def mse(a: Image.Image, b: Image.Image) -> float:
    return float(((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2).mean())


def test_stop_with_dpm_solver_decodes_an_image_near_the_full_run(tiny_dpm):
    assert isinstance(tiny_dpm.pipe.scheduler, DPMSolverMultistepScheduler)
    full = tiny_dpm.run(small_spec(steps=8))
    stopped = tiny_dpm.run(small_spec(steps=8, stop=50))
    # As test_tiny_sd's Euler check: far nearer the full run than another seed's image is.
    assert mse(full[0], stopped[0]) < 0.1 * mse(full[0], full[1])


# Heun gets no x0 estimate (engines/monitor.py), so `--stop` lets it run to the end.
@pytest.mark.parametrize(("scheduler", "stops"), [(PNDMScheduler, True), (EulerDiscreteScheduler, True),
                                                  (HeunDiscreteScheduler, False)])
def test_progress_counts_every_denoising_iteration_the_sampler_runs(tiny, scheduler, stops):
    """PNDM (SD 1.5's own sampler) runs more iterations than steps (13 for 4 with its Runge-Kutta warm-up)
    and Heun 2 * steps - 1: progress must end at 100%, not 13/4, and `--stop` count the same iterations."""
    pipe = type(tiny.pipe).from_pipe(tiny.pipe)
    pipe.scheduler = scheduler.from_config(tiny.pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    engine = StableDiffusionEngine(tiny.entry, pipe, tiny.device, tiny.dtype)
    calls: list[int] = []
    handle = pipe.unet.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        seen: list[tuple[int, int]] = []
        engine.run(small_spec(steps=4, n_images=1), on_progress=lambda step, total, _: seen.append((step, total)))
        total = len(calls)
        assert seen == [(step, total) for step in range(1, total + 1)]
        calls.clear()
        stopped = small_spec(steps=4, n_images=1, stop=50)
        engine.run(stopped, on_progress=lambda *_: None)
        assert len(calls) == (engine.plan(stopped, None).stop_after if stops else total)
        assert len(calls) < total or not stops
    finally:
        handle.remove()
