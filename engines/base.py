"""The engine interface the worker and `midway generate` call. No torch import here.

An engine turns a GenerationSpec into PIL images. It knows nothing of Discord or Redis.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from midway.contract import GenerationSpec, Operation

if TYPE_CHECKING:
    from PIL.Image import Image

# (step, total, preview or None). Called after every denoising step.
ProgressCallback = Callable[[int, int, "Image | None"], None]
# Polled between steps; returning True stops the run with GenerationCancelled.
CancelCheck = Callable[[], bool]


class Engine(ABC):
    name: str
    capabilities: frozenset[Operation]

    @abstractmethod
    def run(
        self,
        spec: GenerationSpec,
        *,
        init_image: Image | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        max_batch: int | None = None,
        source_images: Sequence[Image] = (),
    ) -> list[Image]:
        """Generate spec.n_images images (4 for a grid; image i seeded from (seed, i)).

        `source_images` are the images of an image prompt (imagine, reroll) or of a blend, in the
        order of `spec.image_urls`.

        `max_batch` caps how many images run through the model at once (the worker lowers it after an
        out-of-memory error); results must not depend on it.
        """
