"""The source image of a derived job (variation, upscale): from the blob store, a URL, or re-derived;
and the images of an image prompt, a /blend or a /describe (`spec.image_urls`: URLs or blob refs).

A URL is text a stranger typed: it is fetched through midway/fetch.py (no private or local addresses
unless settings.fetch_allow_hosts names them, a byte cap), and every image that did not come from our
own engines is decoded under its pixel cap (a decompression bomb fails its job, not the worker).

Images expire from the blob store after settings.image_ttl_s. A U/V button on an old message still
works: the engine makes image i from seed (seed, i), so rerunning the parent's spec for images
0..i reproduces image i exactly (same hardware), and the parent's own source is re-derived the same
way when it was itself a derived job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PIL.Image import Image

from engines.base import Engine
from midway import keys
from midway.blobs import BlobStore, is_ref, read_image
from midway.contract import Job, Operation
from midway.errors import EngineError
from midway.fetch import FetchError, FetchPolicy, decode_image, fetch_bytes, policy_from_text
from midway.jobs import JobStore

log = logging.getLogger(__name__)

# Variation of a variation of ...: each level reruns its parent; stop before it gets silly.
MAX_REDERIVE_DEPTH = 4
# Only these read `image_urls`: a V/U/zoom/pan of an image-prompt job starts from its own source image.
PROMPT_IMAGE_OPERATIONS = (Operation.imagine, Operation.reroll, Operation.blend, Operation.describe)
# --sref conditions every operation that draws from the prompt (engines/latent.py: REFERENCE_OPERATIONS).
STYLE_OPERATIONS = (Operation.imagine, Operation.reroll, Operation.variation, Operation.zoom, Operation.pan,
                    Operation.inpaint)


class SourceImages:
    def __init__(self, store: JobStore, blobs: BlobStore, engine_for: Callable[[str], Engine],
                 policy: FetchPolicy | None = None) -> None:
        self.store = store
        self.blobs = blobs
        self.engine_for = engine_for
        self.policy = policy or policy_from_text(store.settings.fetch_allow_hosts)

    def for_job(self, job: Job, depth: int = 0) -> Image | None:
        """The image `job` starts from, or None for text-to-image jobs."""
        ref = job.spec.init_image
        if not ref:
            return None
        if ref.startswith(("http://", "https://")):
            return self.download(ref)
        if is_ref(ref) and (image := self._stored(ref)) is not None:
            return image
        log.info("source image of job %s expired; re-deriving it from job %s image %s",
                 job.id, job.parent_job_id, job.parent_index)
        return self.rederive(job.parent_job_id, job.parent_index, depth)

    def prompt_images(self, job: Job) -> list[Image]:
        """The image prompt's or the blend's images, in order; [] for other operations.

        A blob ref here is an upload (a /blend attachment), not a generated image: nothing can re-make
        it once it has expired, so the user is told to upload it again.
        """
        if job.spec.operation not in PROMPT_IMAGE_OPERATIONS:
            return []
        which = "The image to describe" if job.spec.operation is Operation.describe else "Image {} of this prompt"
        return [self.reference(job, ref, which.format(number)) for number, ref in enumerate(job.spec.image_urls, 1)]

    def style_images(self, job: Job) -> list[Image]:
        """The --sref references, in order; [] for operations they do not condition."""
        if job.spec.operation not in STYLE_OPERATIONS:
            return []
        return [self.reference(job, ref, f"Style reference {number}")
                for number, ref in enumerate(job.spec.style_refs, start=1)]

    def character_images(self, job: Job) -> list[Image]:
        """The --cref then the --oref references, in order (as engine.run takes them); [] for operations they
        do not condition. Fetched once per job, kept as blobs, like the style references."""
        if job.spec.operation not in STYLE_OPERATIONS:
            return []
        crefs = [self.reference(job, ref, f"Character reference {number}")
                 for number, ref in enumerate(job.spec.character_refs, start=1)]
        return crefs + [self.reference(job, ref, f"Omni reference {number}")
                        for number, ref in enumerate(job.spec.omni_refs, start=1)]

    def reference(self, job: Job, ref: str, which: str) -> Image:
        """One image reference: a URL is fetched on the job's first attempt only and kept as a blob (a retry
        reads the blob: the same bytes, and no second request to someone else's server). A job made from
        another (V, 🔄, Enhance, Remix) reads what its parent kept for the same link, so the references do
        not change under it, and a link gone dead since does not fail it."""
        if ref.startswith(("http://", "https://")):
            data = self._kept(job.id, ref)
            if data is None and job.parent_job_id and (data := self._kept(job.parent_job_id, ref)) is not None:
                self._point(job.id, ref, self._kept_ref(job.parent_job_id, ref))
            if data is None:
                data = self._fetch(ref)
                image = decode(data)  # before keeping it: a bomb or a non-image fails here, unstored
                self._keep(job.id, ref, data)
                return image
            return decode(data)
        data = self.blobs.get(ref) if is_ref(ref) else None
        if data is None:
            raise EngineError(f"{which} has expired or is not an image link; upload it again.")
        return decode(data)

    def _kept_ref(self, job_id: str, url: str) -> str | None:
        kept = self.store.redis.hget(keys.fetched_key(job_id), url)
        return kept.decode() if isinstance(kept, bytes) else kept

    def _kept(self, job_id: str, url: str) -> bytes | None:
        """The bytes job `job_id` fetched from `url`, while their blob lives."""
        blob = self._kept_ref(job_id, url)
        return self.blobs.get(blob) if blob else None

    def _keep(self, job_id: str, url: str, data: bytes) -> None:
        self._point(job_id, url, self.blobs.put(data, content_type="application/octet-stream",
                                                ttl_s=self.store.settings.image_ttl_s))

    def _point(self, job_id: str, url: str, blob: str | None) -> None:
        if blob is None:
            return
        with self.store.redis.pipeline() as pipe:
            pipe.hset(keys.fetched_key(job_id), url, blob)
            pipe.expire(keys.fetched_key(job_id), self.store.settings.image_ttl_s)
            pipe.execute()

    def download(self, url: str) -> Image:
        """An image by URL (a Discord attachment, a link a user gave), through the SSRF-safe fetch."""
        return decode(self._fetch(url))

    def _fetch(self, url: str) -> bytes:
        try:
            return fetch_bytes(url, self.policy)
        except FetchError as error:
            # Its message is for the user (midway/fetch.py): a host, a status, a size, never a path.
            raise EngineError(str(error)) from None

    def rederive(self, parent_id: str | None, index: int | None, depth: int = 0) -> Image:
        parent = self.store.get(parent_id) if parent_id else None
        if parent is None or index is None or depth >= MAX_REDERIVE_DEPTH:
            raise EngineError("The source image has expired and cannot be re-made: run the prompt again.")
        if index < len(parent.outputs) and (image := self._stored(parent.outputs[index])) is not None:
            return image
        spec = parent.spec.model_copy(update={"n_images": index + 1})
        engine = self.engine_for(spec.engine or self.store.settings.default_engine)
        extra = engine_references(self.prompt_images(parent), self.style_images(parent),
                                  self.character_images(parent))
        images = engine.run(spec, init_image=self.for_job(parent, depth + 1), **extra)
        return images[index]

    def _stored(self, ref: str) -> Image | None:
        try:
            return read_image(self.blobs, ref)
        except OSError:
            raise EngineError("The source image could not be read (not an image, or damaged).") from None


def engine_references(prompt_images: list[Image], style_images: list[Image],
                      character_images: list[Image] | None = None) -> dict[str, Any]:
    """Engine.run's keywords for a job's references; only the ones it has (older engines lack them)."""
    extra: dict[str, Any] = {"source_images": prompt_images} if prompt_images else {}
    if style_images:
        extra["style_images"] = style_images
    if character_images:
        extra["character_images"] = character_images
    return extra


def decode(data: bytes) -> Image:
    """A user's image (an upload or a download) as RGB, under midway/fetch.py's pixel cap."""
    try:
        return decode_image(data)
    except FetchError as error:
        raise EngineError(str(error)) from None
