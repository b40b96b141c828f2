"""/describe and /shorten on a worker: text jobs on the tiny engines finish `done` with their texts on the
record and on the `done` event; a /describe link goes through the SSRF-safe fetch (a real HTTP server
on a thread says whether it was asked at all), and an upload or a link that is no image, or a bomb, fails
clearly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PIL import Image

from midway.blobs import RedisBlobStore
from midway.contract import Event, Job, JobStatus, Operation
from midway.events import TERMINAL_KINDS, EventConsumer
from midway.prompt.shorten import shorten_input
from tests.image_links import ImageLinks, hostile_files, png, serving
from worker.rq_worker import serve

from .conftest import new_job

SHORTEN = "a very beautiful red fox in a misty forest"
HOSTILE = hostile_files()


def describe_job(ref: str, engine: str = "tiny-caption") -> Job:
    # As the bot makes one (bot/commands/describe.py): the image's ref or link, once, in image_urls.
    return new_job(prompt="", full_prompt=ref, engine=engine, operation=Operation.describe, image_urls=[ref],
                   n_images=1)


def terminal_event(consumer: EventConsumer, job_id: str) -> Event:
    while entries := consumer.read(block_ms=100, count=1000):
        for _, event in entries:
            if event.job_id == job_id and event.kind in TERMINAL_KINDS:
                return event
    raise AssertionError(f"no terminal event for job {job_id}")


@pytest.fixture
def image_server() -> Iterator[ImageLinks]:
    """A real HTTP server on 127.0.0.1 serving a 96x64 PNG as /fox.png and the hostile files, recording
    every path it was asked for."""
    with serving() as links:
        links.routes["/fox.png"] = png()
        links.routes.update({path: body for path, (body, _) in HOSTILE.items()})
        yield links


@pytest.fixture
def blobs(redis_client) -> RedisBlobStore:
    return RedisBlobStore(redis_client, 600)


def test_a_describe_job_answers_four_prompts_with_the_images_aspect(store, make_worker, blobs, consumer,
                                                                    caption_engine) -> None:
    job = store.submit(describe_job(blobs.put(png((96, 64)))))
    serve(make_worker({"tiny-caption": caption_engine}), burst=True)
    finished = store.get(job.id)
    assert finished.status is JobStatus.done, finished.error
    assert len(finished.texts) == 4 and all(text.endswith("--ar 3:2") for text in finished.texts)
    assert finished.outputs == [] and finished.grid is None and finished.word_scores == []
    event = terminal_event(consumer, job.id)
    assert event.kind.value == "done" and event.texts == finished.texts and event.outputs == []


def test_a_describe_job_shows_its_progress_prompt_by_prompt(store, make_worker, blobs, consumer,
                                                          caption_engine) -> None:
    """The message shows 25 %, 50 %, 75 % as the four prompts are written, not 0 % until the answer."""
    job = store.submit(describe_job(blobs.put(png())))
    serve(make_worker({"tiny-caption": caption_engine}), burst=True)
    seen = [event for _, event in consumer.read(block_ms=100, count=1000) if event.job_id == job.id]
    progress = [(event.step, event.total) for event in seen if event.kind.value == "progress"]
    assert progress == [(1, 4), (2, 4), (3, 4)]
    assert [event.percent for event in seen if event.kind.value == "progress"] == [25, 50, 75]
    assert seen[-1].kind.value == "done"


def test_a_shorten_job_answers_five_prompts_and_a_score_per_word(store, make_worker, consumer,
                                                                 tiny_engine) -> None:
    full = f"{SHORTEN} --ar 3:2"
    job = store.submit(new_job(SHORTEN, full_prompt=full, operation=Operation.shorten, n_images=1))
    serve(make_worker({"tiny": tiny_engine}), burst=True)
    finished = store.get(job.id)
    assert finished.status is JobStatus.done, finished.error
    assert len(finished.texts) == 5 and all(text.endswith("--ar 3:2") for text in finished.texts)
    assert len(finished.word_scores) == len(shorten_input(full).words) == len(SHORTEN.split())
    event = terminal_event(consumer, job.id)
    assert (event.texts, event.word_scores) == (finished.texts, finished.word_scores)


def test_a_link_to_a_local_address_is_refused_without_a_request(store, make_worker, image_server,
                                                                 caption_engine) -> None:
    job = store.submit(describe_job(image_server.url("/fox.png")))
    serve(make_worker({"tiny-caption": caption_engine}), burst=True)
    finished = store.get(job.id)
    assert finished.status is JobStatus.failed
    assert finished.error == "127.0.0.1 is a private or local address; only public image links are fetched."
    assert image_server.hits == []


def test_a_link_to_an_allowed_host_is_fetched_and_described(store, make_worker, settings, image_server,
                                                            caption_engine) -> None:
    # The playground's own address, as `midway up` allows it: host and port, nothing else on the host.
    settings.fetch_allow_hosts = image_server.allow
    job = store.submit(describe_job(image_server.url("/fox.png")))
    serve(make_worker({"tiny-caption": caption_engine}), burst=True)
    finished = store.get(job.id)
    assert finished.status is JobStatus.done, finished.error
    assert image_server.hits == ["/fox.png"]
    assert len(finished.texts) == 4 and all(text.endswith("--ar 3:2") for text in finished.texts)


@pytest.mark.parametrize("path", list(HOSTILE), ids=["html", "truncated", "bomb"])
def test_an_upload_that_is_no_usable_image_fails_clearly(store, make_worker, blobs, caption_engine,
                                                         path: str) -> None:
    data, error = HOSTILE[path]
    job = store.submit(describe_job(blobs.put(data)))
    serve(make_worker({"tiny-caption": caption_engine}), burst=True)
    finished = store.get(job.id)
    assert (finished.status, finished.error) == (JobStatus.failed, error)


@pytest.mark.parametrize("path", list(HOSTILE), ids=["html", "truncated", "bomb"])
def test_a_link_that_serves_no_usable_image_fails_clearly(store, make_worker, settings, image_server,
                                                          caption_engine, path: str) -> None:
    """What the bot's check before the job cannot see (the address is allowed): only the download shows it."""
    settings.fetch_allow_hosts = image_server.allow
    job = store.submit(describe_job(image_server.url(path)))
    serve(make_worker({"tiny-caption": caption_engine}), burst=True)
    finished = store.get(job.id)
    assert (finished.status, finished.error) == (JobStatus.failed, HOSTILE[path][1])
    assert image_server.hits == [path]


def test_an_expired_upload_asks_for_it_again(store, make_worker, caption_engine) -> None:
    job = store.submit(describe_job("0" * 32 + ".png"))
    serve(make_worker({"tiny-caption": caption_engine}), burst=True)
    assert store.get(job.id).error == "The image to describe has expired or is not an image link; upload it again."


def test_an_image_engine_cannot_describe(store, make_worker, blobs, tiny_engine) -> None:
    job = store.submit(describe_job(blobs.put(png()), engine="tiny"))
    serve(make_worker({"tiny": tiny_engine}), burst=True)
    finished = store.get(job.id)
    assert (finished.status, finished.error) == (JobStatus.failed, "The engine 'tiny' cannot describe images.")


class CancelledMidway:
    """Speaks the captioner's interface (`describe(image, seed)`); its user cancels the job while it runs."""

    def __init__(self, store, job_id: str) -> None:
        self.store = store
        self.job_id = job_id

    def describe(self, image: Image.Image, seed: int, on_progress=None) -> list[str]:
        self.store.cancel(self.job_id)
        return ["a photograph of a fox --ar 1:1"] * 4


def test_a_cancel_while_describing_wins_over_the_answer(store, make_worker, blobs, consumer) -> None:
    job = store.submit(describe_job(blobs.put(png()), engine="cancelled"))
    serve(make_worker({"cancelled": CancelledMidway(store, job.id)}), burst=True)
    finished = store.get(job.id)
    assert finished.status is JobStatus.cancelled and finished.texts == []
    assert terminal_event(consumer, job.id).kind.value == "cancelled"
