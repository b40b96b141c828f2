"""One denoising driver hook for every diffusers pipeline we run: progress, previews, cancel, --stop.

It rides on diffusers' `callback_on_step_end` (called after each scheduler step, may replace the
latents) and on a thin wrapper around `scheduler.step`, which is where the model's output and the
input sample of the step are visible. From those we form the denoised estimate x0 of the step:
the thing a preview should show, and what `--stop` decodes instead of the still-noisy latents.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import torch

from engines.base import CancelCheck, GenerationCancelled, ProgressCallback

PreviewFn = Callable[[torch.Tensor], Any]


def denoised_estimate(scheduler: Any, model_output: torch.Tensor, timestep: Any, sample: torch.Tensor,
                      sigma: float | None) -> torch.Tensor:
    """x0 predicted at this step (Karras et al. 2022 sigma form, or DDPM's alpha form)."""
    model_output = model_output[:, : sample.shape[1]]  # learned-variance UNets append variance channels
    prediction = getattr(scheduler.config, "prediction_type", "epsilon")
    if sigma is not None:
        # x_t = x0 + sigma * eps (Euler/DPM in sigma space); flow matching has x0 = x_t - sigma * v.
        if prediction == "v_prediction":
            return model_output * (-sigma / (sigma**2 + 1) ** 0.5) + sample / (sigma**2 + 1)
        if prediction == "sample":
            return model_output
        return sample - sigma * model_output
    alphas = getattr(scheduler, "alphas_cumprod", None)
    if alphas is None or prediction == "sample":
        return model_output if prediction == "sample" else sample
    alpha = alphas[int(timestep)].to(sample.device, sample.dtype)
    if prediction == "v_prediction":
        return alpha.sqrt() * sample - (1 - alpha).sqrt() * model_output
    return (sample - (1 - alpha).sqrt() * model_output) / alpha.sqrt()


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
    def attached(self, pipe: Any):
        """Wrap `pipe.scheduler.step` for the duration of one call, so x0 is seen at each step."""
        scheduler = pipe.scheduler
        original = scheduler.step

        def recording_step(model_output, timestep, sample, *args, **kwargs):
            sigma = None
            sigmas = getattr(scheduler, "sigmas", None)
            index = getattr(scheduler, "step_index", None)
            if sigmas is not None and index is not None:
                sigma = float(sigmas[index])
            self._x0 = denoised_estimate(scheduler, model_output, timestep, sample, sigma)
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
