"""Image references (`--sref`, `--cref`, image prompt links) in the worker: loaded for the engine, fetched
once per job and kept as blobs (a job RQ retries on another worker reads them, no second request), and a
hostile link fails its job with a reason, never the worker."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator

import pytest
from PIL import Image

from engines.base import Engine
from midway.blobs import RedisBlobStore
from midway.contract import JobStatus, Operation
from midway.errors import EngineError
from midway.fetch import FetchPolicy
from worker.main import build_worker
from worker.rq_worker import serve
from worker.sources import SourceImages

from .conftest import new_job
from .test_prompt_images import png


class StyleEngine(Engine):
    """Records the style references it was given (their top-left pixels); answers with black images."""

    name = "styled"
    capabilities = frozenset({Operation.imagine, Operation.variation})

    def __init__(self) -> None:
        self.styles: list[list[tuple]] = []
        self.characters: list[list[tuple]] = []

    def run(self, spec, *, init_image=None, on_progress=None, should_cancel=None, max_batch=None,
            source_images=(), style_images=(), character_images=()):
        self.styles.append([image.convert("RGB").getpixel((0, 0)) for image in style_images])
        self.characters.append([image.convert("RGB").getpixel((0, 0)) for image in character_images])
        return [Image.new("RGB", (spec.width, spec.height)) for _ in range(spec.n_images)]


@pytest.fixture
def blobs(redis_client) -> RedisBlobStore:
    return RedisBlobStore(redis_client, 600)


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """A local web server: /red.png, /blue.png, /page.png (HTML), /bomb.png, /away.png (a redirect to the
    metadata address); yields its base URL and the paths requested."""
    requested: list[str] = []
    bomb = io.BytesIO()
    Image.new("L", (9000, 9000)).save(bomb, format="PNG")
    bodies = {"/red.png": png((200, 0, 0)), "/blue.png": png((0, 0, 200)), "/page.png": b"<html>hi</html>",
              "/bomb.png": bomb.getvalue()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            if self.path == "/away.png":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data.png")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(bodies[self.path])

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def sources_for(store, blobs, base: str) -> SourceImages:
    # The local server is fetched only because its host and port are allowed (as the playground's is).
    policy = FetchPolicy(frozenset({base.removeprefix("http://")}))
    return SourceImages(store, blobs, engine_for=lambda name: StyleEngine(), policy=policy)


def test_style_references_reach_the_engine_in_order(store, make_worker, blobs) -> None:
    engine = StyleEngine()
    refs = [blobs.put(png((200, 0, 0))), blobs.put(png((0, 0, 200)))]
    job = store.submit(new_job(engine="styled", style_refs=refs))
    serve(make_worker({"styled": engine}), burst=True)
    assert store.get(job.id).status is JobStatus.done
    assert engine.styles == [[(200, 0, 0), (0, 0, 200)]]


def test_a_variation_keeps_its_style_references(store, blobs) -> None:
    sources = SourceImages(store, blobs, engine_for=lambda name: StyleEngine())
    ref = blobs.put(png((9, 9, 9)))
    variation = new_job(operation=Operation.variation, init_image=ref, style_refs=[ref])
    assert [image.getpixel((0, 0)) for image in sources.style_images(variation)] == [(9, 9, 9)]
    assert sources.style_images(new_job(operation=Operation.upscale, init_image=ref, style_refs=[ref])) == []


def test_a_reference_link_is_fetched_once_per_job(store, blobs, site) -> None:
    base, requested = site
    job = store.submit(new_job(style_refs=[f"{base}/red.png"], image_urls=[f"{base}/blue.png"]))
    sources = sources_for(store, blobs, base)
    for _attempt in range(2):  # a retried job reads what its first attempt fetched
        assert [image.getpixel((0, 0)) for image in sources.style_images(job)] == [(200, 0, 0)]
        assert [image.getpixel((0, 0)) for image in sources.prompt_images(job)] == [(0, 0, 200)]
    assert sorted(requested) == ["/blue.png", "/red.png"]
    # Another job (a reroll) fetches for itself.
    sources.style_images(store.submit(new_job(style_refs=[f"{base}/red.png"])))
    assert requested.count("/red.png") == 2


def child_of(parent_id: str, **spec_fields):
    job = new_job(**spec_fields)
    job.parent_job_id = parent_id
    return job


def test_a_job_made_from_another_reads_its_parents_references_without_fetching(store, blobs, site) -> None:
    base, requested = site
    parent = store.submit(new_job(character_refs=[f"{base}/red.png"]))
    sources = sources_for(store, blobs, base)
    sources.character_images(parent)
    assert requested == ["/red.png"]
    # A V press's job: the same link read from its parent's kept copy, no request; and kept for the V's own
    # retries and children (a V of the V).
    variation = store.submit(child_of(parent.id, operation=Operation.variation, init_image=blobs.put(png((1, 1, 1))),
                                      character_refs=[f"{base}/red.png"]))
    assert [image.getpixel((0, 0)) for image in sources.character_images(variation)] == [(200, 0, 0)]
    grandchild = store.submit(child_of(variation.id, style_refs=[f"{base}/red.png"]))
    assert [image.getpixel((0, 0)) for image in sources.style_images(grandchild)] == [(200, 0, 0)]
    assert requested == ["/red.png"]
    # A link the parent did not have (a Remix added it) is fetched for the child.
    remixed = store.submit(child_of(parent.id, character_refs=[f"{base}/red.png", f"{base}/blue.png"]))
    assert [image.getpixel((0, 0)) for image in sources.character_images(remixed)] == [(200, 0, 0), (0, 0, 200)]
    assert requested == ["/red.png", "/blue.png"]


def test_character_and_omni_references_reach_the_engine_in_order(store, make_worker, blobs) -> None:
    engine = StyleEngine()
    cref, oref = blobs.put(png((200, 0, 0))), blobs.put(png((0, 0, 200)))
    job = store.submit(new_job(engine="styled", character_refs=[cref], omni_refs=[oref]))
    serve(make_worker({"styled": engine}), burst=True)
    assert store.get(job.id).status is JobStatus.done
    # --cref's images, then --oref's, in the order engine.run documents.
    assert engine.characters == [[(200, 0, 0), (0, 0, 200)]]


def test_character_reference_links_are_fetched_once_per_job(store, blobs, site) -> None:
    base, requested = site
    job = store.submit(new_job(character_refs=[f"{base}/red.png"], omni_refs=[f"{base}/blue.png"]))
    sources = sources_for(store, blobs, base)
    for _attempt in range(2):  # a retry reads the blobs the first attempt kept: no second request
        assert [image.getpixel((0, 0)) for image in sources.character_images(job)] == [(200, 0, 0), (0, 0, 200)]
    assert sorted(requested) == ["/blue.png", "/red.png"]
    # An upscale takes no references: nothing is fetched for it.
    upscale = new_job(operation=Operation.upscale, init_image=blobs.put(png((1, 1, 1))),
                      character_refs=[f"{base}/red.png"])
    assert sources.character_images(upscale) == [] and len(requested) == 2


@pytest.mark.parametrize(("path", "complaint"), [
    ("/page.png", "not an image"),
    ("/bomb.png", "pixels"),
    ("/away.png", "private or local address"),
])
def test_a_hostile_style_reference_fails_the_job_with_a_reason(store, make_worker, blobs, site, path,
                                                               complaint) -> None:
    base, _ = site
    sources = sources_for(store, blobs, base)
    with pytest.raises(EngineError, match=complaint):
        sources.style_images(new_job(style_refs=[f"{base}{path}"]))


def test_a_loopback_style_reference_is_refused_unless_allowed(store, make_worker, blobs, site) -> None:
    base, requested = site
    job = store.submit(new_job(engine="styled", style_refs=[f"{base}/red.png"]))
    engine = StyleEngine()
    serve(make_worker({"styled": engine}), burst=True)
    failed = store.get(job.id)
    assert failed.status is JobStatus.failed and "private or local address" in (failed.error or "")
    assert engine.styles == [] and requested == []


class BreaksOnce(StyleEngine):
    """Its first run fails as a broken GPU does (a CUDA error), after it has seen its references."""

    def run(self, spec, **kwargs):
        images = super().run(spec, **kwargs)
        if len(self.characters) == 1:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return images


def test_a_cref_job_retried_by_a_worker_does_not_fetch_its_reference_again(store, redis_client, settings, blobs,
                                                                          site) -> None:
    base, requested = site
    # The playground's rule: this one local server allowed. One device error puts the job back to RQ.
    settings = settings.model_copy(update={"fetch_allow_hosts": base.removeprefix("http://"), "max_errors_in_a_row": 1})
    job = store.submit(new_job(engine="styled", character_refs=[f"{base}/red.png"]))
    engine = BreaksOnce()
    first = build_worker(redis_client, settings, {"styled": engine})
    serve(first, burst=True)
    assert first.restart_reason and store.get(job.id).status is JobStatus.running

    # Another worker (its own sources, nothing in memory) runs the second attempt from the kept blob.
    serve(build_worker(redis_client, settings, {"styled": engine}), burst=True)
    record = store.get(job.id)
    assert (record.status, record.attempts) == (JobStatus.done, 2)
    assert engine.characters == [[(200, 0, 0)], [(200, 0, 0)]]
    assert requested == ["/red.png"]


@pytest.fixture(scope="module")
def tiny_flux(state_dir) -> Engine:
    from engines.registry import get_engine

    return get_engine("tiny-flux")


def test_a_cref_conditions_a_tiny_flux_job_through_its_redux_prior(store, make_worker, blobs, tiny_flux) -> None:
    import numpy as np

    from .conftest import decode

    red, blue = blobs.put(png((200, 0, 0))), blobs.put(png((0, 0, 200)))
    jobs = {name: store.submit(new_job(engine="tiny-flux", n_images=1, **fields)) for name, fields in {
        "text": {}, "red": {"character_refs": [red]}, "blue": {"character_refs": [blue]},
        "red again": {"character_refs": [red]}, "oref": {"omni_refs": [red]}}.items()}
    serve(make_worker({"tiny-flux": tiny_flux}), burst=True)
    images = {}
    for name, job in jobs.items():
        done = store.get(job.id)
        assert done.status is JobStatus.done, done.error
        images[name] = np.asarray(decode(blobs.get(done.outputs[0])).convert("RGB"), dtype=np.float64)

    def mse(a: str, b: str) -> float:
        return float(((images[a] - images[b]) ** 2).mean())

    # The reference reached the FLUX transformer: its pixels move, by reference; the same one repeats exactly.
    assert mse("red", "text") > 0.5 and mse("oref", "text") > 0.5
    assert mse("red", "blue") > 0.5
    assert mse("red", "red again") == 0
