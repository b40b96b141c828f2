"""Jobs whose results are text, not images: /describe (an image -> four prompts, on a caption engine) and
/shorten (a prompt's words scored by the engine's text encoder -> five shorter prompts)."""

from __future__ import annotations

from PIL.Image import Image

from engines.base import ProgressCallback
from engines.shorten import score_prompt
from midway.contract import Job, Operation
from midway.errors import EngineError, UnsupportedOperation
from midway.prompt.shorten import shorten_input, shortened_prompts

TEXT_OPERATIONS = (Operation.describe, Operation.shorten)


def run_text_job(engine: object, job: Job, images: list[Image],
                 on_progress: ProgressCallback | None = None) -> tuple[list[str], list[float]]:
    """(texts, word scores) of a describe or shorten job; a describe reports each prompt it finishes
    (/shorten's scoring is one batched pass: nothing to report between)."""
    spec = job.spec
    if spec.operation is Operation.describe:
        describe = getattr(engine, "describe", None)
        if describe is None:
            raise UnsupportedOperation(f"The engine {spec.engine!r} cannot describe images.")
        if not images:
            raise EngineError("There is no image to describe; attach one or give a link.")
        return list(describe(images[0], spec.seed, on_progress=on_progress)), []
    prompt = shorten_input(spec.full_prompt or spec.prompt)
    if not prompt.words:
        raise EngineError("The prompt has no words to shorten.")
    try:
        scores = score_prompt(engine, prompt.words)
    except ValueError as error:
        raise UnsupportedOperation(str(error)) from None
    return shortened_prompts(prompt, scores), scores
