"""Small helpers the end-to-end bot tests share."""

from __future__ import annotations

import asyncio
import os
import signal

import redis

from bot.custom_ids import decode
from midway import keys
from midway.contract import Job, JobStatus
from playground.driver import Playground
from playground.state import Message

GRID_LABELS = ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]


def label_of(component: dict) -> str | None:
    return component.get("label") or (component.get("emoji") or {}).get("name")


def labels(message: Message) -> list[str | None]:
    return [label_of(b) for b in message.buttons]


def button(message: Message, label: str) -> str:
    return next(b["custom_id"] for b in message.buttons if label_of(b) == label)


def job_of(message: Message) -> str:
    """The job id a message's first button points at."""
    return decode(message.custom_ids[0]).job_id


async def result_for(pg: Playground, parent: Message, channel: str = "general", timeout: float = 60) -> Message:
    """The new message that replies to `parent` with an image and buttons: a result."""
    return await pg.wait_for_message(channel, lambda m: m.reference_id == parent.id and bool(m.attachments)
                                     and bool(m.buttons), timeout=timeout)


def results_replying_to(pg: Playground, parent: Message, channel: str = "general") -> list[Message]:
    return [m for m in pg.messages(channel) if m.reference_id == parent.id and m.attachments]


def stored_job(redis_url: str, job_id: str) -> Job | None:
    client = redis.Redis.from_url(redis_url)
    try:
        raw = client.get(keys.job_key(job_id))
        return Job.model_validate_json(raw) if raw else None
    finally:
        client.close()


async def wait_for_stored_job(redis_url: str, job_id: str, timeout: float = 10.0) -> Job:
    """The job record, waiting for it: the bot replies `(Waiting to start)` first and stores the job right
    after, so a test reading Redis the moment the reply lands can be a few milliseconds early."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (job := stored_job(redis_url, job_id)) is None:
        assert loop.time() < deadline, f"job {job_id} was never stored"
        await asyncio.sleep(0.02)
    return job


def jobs_of_user(redis_url: str, user_id: int) -> list[Job]:
    client = redis.Redis.from_url(redis_url)
    try:
        found = []
        for key in client.scan_iter(f"{keys.PREFIX}:job:*"):
            job = Job.model_validate_json(client.get(key))
            if job.requester.user_id == str(user_id):
                found.append(job)
        return found
    finally:
        client.close()


async def finished_while_the_bot_was_down(pg: Playground, worker, bots, redis_url: str,
                                          prompt: str, command: str = "imagine") -> tuple[Message, str]:
    """/imagine `prompt` (or another `command` taking a prompt: /shorten), then stop the bot before the
    job can finish (the worker is frozen meanwhile) and wait until it has: (the job's "Waiting to start"
    message, its job id). The bot stays stopped."""
    first = await bots.start()
    os.kill(worker.pid, signal.SIGSTOP)  # the job must not finish before the bot is down
    try:
        ack = await (await pg.slash(command, user="alice", channel="general",
                                    options={"prompt": prompt})).response()
        job_id = decode(ack.custom_ids[0]).job_id
        async with asyncio.timeout(10):
            while stored_job(redis_url, job_id) is None:
                await asyncio.sleep(0.05)
        await bots.stop(first)
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    async with asyncio.timeout(60):
        while (job := stored_job(redis_url, job_id)) is None or job.status is not JobStatus.done:
            await asyncio.sleep(0.1)
    return ack, job_id


async def result_of_press(pg: Playground, message: Message, label: str) -> Message:
    """Press `label` under `message` (as alice): the new job's message replies first, then its result
    replies to that; the result."""
    earlier = {m.id for m in pg.messages("general")}
    await (await pg.click(message.id, button(message, label), user="alice")).acked()
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == message.id and not m.attachments
                                          and m.id not in earlier)
    return await result_for(pg, announced)
