"""One denoising driver hook for every diffusers pipeline we run: progress, previews, cancel, --stop.

It rides on diffusers' `callback_on_step_end` (called after each scheduler step, may replace the
latents) and on a thin wrapper around `scheduler.step`, which is where the model's output and the
input sample of the step are visible. From those we form the denoised estimate x0 of the step:
the thing a preview should show, and what `--stop` decodes instead of the still-noisy latents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from engines.base import CancelCheck, ProgressCallback
from midway.errors import GenerationCancelled

PreviewFn = Callable[[torch.Tensor], Any]


def sample_form(scheduler: Any) -> str | None:
    """How the sample `scheduler.step` receives holds its noise; None for a scheduler we cannot place."""
    from diffusers import (
        DDIMScheduler,
        DDPMScheduler,
        DPMSolverMultistepScheduler,
        DPMSolverSinglestepScheduler,
        EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler,
        FlowMatchEulerDiscreteScheduler,
        PNDMScheduler,
        UnCLIPScheduler,
        UniPCMultistepScheduler,
    )

    forms = {
        "ddpm": (DDPMScheduler, DDIMScheduler, PNDMScheduler, UnCLIPScheduler),
        "karras": (EulerDiscreteScheduler, EulerAncestralDiscreteScheduler),
        "dpm_solver": (DPMSolverMultistepScheduler, DPMSolverSinglestepScheduler, UniPCMultistepScheduler),
        "flow": (FlowMatchEulerDiscreteScheduler,),
    }
    # Heun and KDPM2 interleave two sigmas per step, EDM and LCM precondition their outputs, and LMS (which
    # needs scipy) is untested: rather than guess, they get no estimate, so previews show the latents and
    # `--stop` runs the schedule to its end (a finished image, not a wrong one).
    return next((form for form, classes in forms.items() if isinstance(scheduler, classes)), None)


def noise_levels(scheduler: Any, timestep: Any) -> tuple[Any, Any] | None:
    """(alpha, sigma) such that the sample `scheduler.step` receives is x_t = alpha * x0 + sigma * noise."""
    form = sample_form(scheduler)
    if form == "ddpm":
        # DDPM's variance-preserving form (Ho et al. 2020, eq. 4), indexed by the training timestep.
        # PNDM forms no x0 of its own; this is the one its DDIM-like update (PNDM eq. 9) implies.
        alpha_bar = scheduler.alphas_cumprod[int(timestep)]
        return alpha_bar**0.5, (1 - alpha_bar) ** 0.5
    if form is None or scheduler.step_index is None:
        return None
    sigma = scheduler.sigmas[scheduler.step_index]
    if form == "karras":
        # Karras et al. 2022 (k-diffusion): x_t = x0 + sigma * noise; only the UNet's input is rescaled.
        # Euler's churn (sigma_hat) needs `s_churn`, which no pipeline passes.
        return 1.0, sigma
    if form == "dpm_solver":
        # DPM-Solver (Lu et al. 2022) keeps Karras sigmas but steps the VP sample; this is its own conversion.
        return scheduler._sigma_to_alpha_sigma_t(sigma)
    # Rectified flow (Liu et al. 2022): x_t = (1 - sigma) * x0 + sigma * noise.
    return 1 - sigma, sigma


def data_prediction(prediction: str, model_output: torch.Tensor, sample: torch.Tensor, alpha: Any,
                    sigma: Any) -> torch.Tensor | None:
    """x0 from the model's output, for a sample x_t = alpha * x0 + sigma * noise."""
    if prediction in ("sample", "original_sample"):
        return model_output
    if prediction == "epsilon":
        return (sample - sigma * model_output) / alpha
    if prediction == "v_prediction":
        # v = a * noise - s * x0 on the unit-variance input x_t / norm, where (a, s) = (alpha, sigma) / norm
        # (Salimans & Ho 2022); norm is 1 for a VP sample, sqrt(sigma^2 + 1) for a Karras one.
        norm = (alpha**2 + sigma**2) ** 0.5
        return alpha / norm**2 * sample - sigma / norm * model_output
    if prediction == "flow_prediction":
        return sample - sigma * model_output  # v = noise - x0, with alpha = 1 - sigma
    return None


def denoised_estimate(scheduler: Any, model_output: torch.Tensor, timestep: Any,
                      sample: torch.Tensor) -> torch.Tensor | None:
    """The x0 the scheduler itself predicts at this step (its `pred_original_sample`, or DPM-Solver's
    data prediction), in float32; None for a scheduler we cannot place (see `sample_form`)."""
    levels = noise_levels(scheduler, timestep)
    if levels is None:
        return None
    alpha, sigma = (torch.as_tensor(level, dtype=torch.float32, device=sample.device) for level in levels)
    model_output = model_output[:, : sample.shape[1]].float()  # learned-variance UNets append variance channels
    config = scheduler.config
    # Of the schedulers placed above only flow matching's has no prediction_type: its model predicts velocity.
    prediction = config.get("prediction_type", "flow_prediction")
    x0 = data_prediction(prediction, model_output, sample.float(), alpha, sigma)
    if x0 is None:
        return None
    if config.get("thresholding", False):
        return scheduler._threshold_sample(x0)
    if config.get("clip_sample", False):
        return x0.clamp(-config["clip_sample_range"], config["clip_sample_range"])
    return x0


class StopEarly(Exception):
    """`--stop` reached in a pipeline without `_interrupt` support; carries the x0 latents to decode."""

    def __init__(self, latents: torch.Tensor) -> None:
        super().__init__("stopped early")
        self.latents = latents


class StepMonitor:
    """The `callback_on_step_end` of one pipeline call.

    `offset`/`total` place this call's steps within the whole job (a job may run several chunks,
    or a prior then a decoder). `stop_after` is the number of steps `--stop` lets run.
    """

    def __init__(self, *, steps: int, offset: int = 0, total: int | None = None, stop_after: int | None = None,
                 on_progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None,
                 preview: PreviewFn | None = None) -> None:
        self.steps = steps
        self.offset = offset
        self.total = total or steps
        self.stop_after = stop_after if stop_after is not None else steps
        self.on_progress = on_progress
        self.should_cancel = should_cancel
        self.preview = preview
        self._x0: torch.Tensor | None = None

    def check_cancel(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise GenerationCancelled("cancelled")

    @contextmanager
    def attached(self, pipe: Any) -> Iterator[StepMonitor]:
        """Wrap `pipe.scheduler.step` for the duration of one call, so x0 is seen at each step."""
        scheduler = pipe.scheduler
        original = scheduler.step

        def recording_step(model_output: Any, timestep: Any, sample: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(scheduler, "step_index", 0) is None and hasattr(scheduler, "_init_step_index"):
                # What `step` does first anyway; until then the first step has no index (DPM-Solver and
                # flow matching set it there, not in `scale_model_input`).
                scheduler._init_step_index(timestep)
            self._x0 = denoised_estimate(scheduler, model_output, timestep, sample)
            return original(model_output, timestep, sample, *args, **kwargs)

        self.check_cancel()
        scheduler.step = recording_step
        try:
            yield self
        finally:
            del scheduler.step  # drop the instance attribute; the class method shows through again

    def __call__(self, pipe: Any, index: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.check_cancel()
        done = index + 1
        outputs: dict[str, Any] = {}
        estimate = self._x0 if self._x0 is not None else kwargs.get("latents")
        if done >= self.stop_after and done < self.steps and self._x0 is not None:
            # --stop: skip the remaining steps and decode x0. Pipelines with `_interrupt` skip the
            # rest of their loop and decode what we return; the others (Kandinsky) get StopEarly.
            x0 = self._x0.to(kwargs["latents"].dtype)
            if not hasattr(pipe, "_interrupt"):
                self._report(self.steps, x0)
                raise StopEarly(x0)
            pipe._interrupt = True
            outputs["latents"] = x0
        self._report(self.steps if getattr(pipe, "_interrupt", False) else done, estimate)
        return outputs

    def _report(self, done: int, estimate: torch.Tensor | None) -> None:
        if self.on_progress is None:
            return
        step = self.offset + done
        # A preview copies the latents to the host (a device sync) and builds images: only when the
        # callback will use it (worker/progress.py publishes one per interval and drops the rest).
        wants_preview = getattr(self.on_progress, "wants_preview", None)
        wanted = wants_preview is None or wants_preview(step, self.total)
        image = self.preview(estimate) if wanted and self.preview is not None and estimate is not None else None
        self.on_progress(step, self.total, image)
