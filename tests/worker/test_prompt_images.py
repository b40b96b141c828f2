"""Image prompts and /blend sources: the worker loads `spec.image_urls` (blob refs or URLs) for the engine."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from engines.base import Engine
from midway.blobs import RedisBlobStore
from midway.contract import JobStatus, Operation
from midway.errors import EngineError
from midway.fetch import FetchPolicy
from worker.rq_worker import serve
from worker.sources import SourceImages

from .conftest import new_job


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class BlendingEngine(Engine):
    """Records the source images it was given (their top-left pixels); answers with black images."""

    name = "blending"
    capabilities = frozenset({Operation.imagine, Operation.blend})

    def __init__(self) -> None:
        self.sources: list[list[tuple]] = []

    def run(self, spec, *, init_image=None, on_progress=None, should_cancel=None, max_batch=None,
            source_images=()):
        self.sources.append([image.convert("RGB").getpixel((0, 0)) for image in source_images])
        return [Image.new("RGB", (spec.width, spec.height)) for _ in range(spec.n_images)]


@pytest.fixture
def blobs(redis_client) -> RedisBlobStore:
    return RedisBlobStore(redis_client, 600)


def test_a_blend_job_reaches_the_engine_with_its_images_in_order(store, make_worker, blobs) -> None:
    engine = BlendingEngine()
    refs = [blobs.put(png((200, 0, 0))), blobs.put(png((0, 0, 200))), blobs.put(png((0, 200, 0)))]
    job = store.submit(new_job(engine="blending", operation=Operation.blend, prompt="", image_urls=refs))
    serve(make_worker({"blending": engine}), burst=True)
    assert store.get(job.id).status is JobStatus.done
    assert engine.sources == [[(200, 0, 0), (0, 0, 200), (0, 200, 0)]]


def test_an_expired_upload_fails_the_job_with_a_reason(store, make_worker, blobs) -> None:
    gone = "0" * 32 + ".png"
    job = store.submit(new_job(engine="blending", operation=Operation.blend, prompt="",
                               image_urls=[blobs.put(png((1, 2, 3))), gone]))
    serve(make_worker({"blending": BlendingEngine()}), burst=True)
    finished = store.get(job.id)
    assert finished.status is JobStatus.failed
    assert finished.error == "Image 2 of this prompt has expired or is not an image link; upload it again."


def test_derived_jobs_start_from_their_source_not_the_image_prompt(store, blobs) -> None:
    sources = SourceImages(store, blobs, engine_for=lambda name: BlendingEngine())
    ref = blobs.put(png((9, 9, 9)))
    prompt = new_job(image_urls=[ref])
    variation = new_job(operation=Operation.variation, init_image=ref, image_urls=[ref])
    assert [image.getpixel((0, 0)) for image in sources.prompt_images(prompt)] == [(9, 9, 9)]
    assert sources.prompt_images(variation) == []
    with pytest.raises(EngineError, match="Image 1 of this prompt"):
        sources.prompt_images(new_job(image_urls=["not-a-ref"]))


def test_an_image_prompt_link_is_downloaded(store, blobs) -> None:
    import http.server
    import threading

    body = png((7, 70, 170))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/fox.png"
        job = new_job(prompt="a fox", image_urls=[url], image_weight=1.5)
        # A local address is fetched only when allowed, host and port (midway/fetch.py), as the playground's is.
        with pytest.raises(EngineError, match="private or local address"):
            SourceImages(store, blobs, engine_for=lambda name: BlendingEngine()).prompt_images(job)
        allowed = FetchPolicy(frozenset({f"127.0.0.1:{server.server_port}"}))
        sources = SourceImages(store, blobs, engine_for=lambda name: BlendingEngine(), policy=allowed)
        [image] = sources.prompt_images(job)
        assert image.convert("RGB").getpixel((0, 0)) == (7, 70, 170)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
