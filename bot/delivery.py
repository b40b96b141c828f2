"""The event stream -> Discord: progress edits (throttled, latest wins) and result posts (exactly once).

One consumer in the `bot` consumer group reads the workers' events. An entry is acknowledged only
after Discord accepted what it caused, so a bot killed mid-job finds its un-acked entries again on
restart; results are deduplicated by job id (store.delivered), so they are posted once. The one gap
left, a crash after Discord created the result but before store.delivered recorded it, is closed by
Discord itself: the result is sent with a nonce derived from the job id and `enforce_nonce` (discord.py
sets it whenever a nonce is given), so a resend within Discord's few minutes returns the message
already posted instead of posting it again. With several bot processes, one at a time delivers a
given result (bot/delivery_lease.py): the others wait for it, then find it delivered.

Progress edits and live queue positions are bot/progress.py (ProgressEdits, which Delivery extends);
posting a result is bot/results.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine
from typing import Any

import discord
import redis

from bot import messages, missed
from bot.backend import Backend
from bot.delivery_lease import DeliveryLease
from bot.progress import PERMANENT_ERRORS, RETRYABLE_ERRORS, JobCache, ProgressEdits
from bot.results import post_result, result_nonce
from bot.store import BotStore
from bot.views import build_view
from midway.contract import Event, EventKind, Job
from midway.events import TERMINAL_KINDS

log = logging.getLogger(__name__)

FINAL_ATTEMPTS = 3
# Back-off while Redis is unreachable.
RETRY_MIN_S = 0.5
RETRY_MAX_S = 10.0
# Pause before the next attempt at a result: this times the attempt number.
ATTEMPT_BACKOFF_S = 2.0
# A result that failed FINAL_ATTEMPTS times is read again from the stream this much later.
REDELIVER_AFTER_S = 30.0
# On shutdown, how long results already being delivered may take to finish (docker stop waits 10 s
# before its SIGKILL). Cut off mid-way, a grid would be posted under a message still saying "(75%)".
STOP_GRACE_S = 5.0


class Delivery:
    def __init__(self, client: discord.Client, backend: Backend, store: BotStore, consumer_name: str,
                 *, throttle_s: float = 1.0, queue_poll_s: float = 2.0) -> None:
        self.client = client
        self.backend = backend
        self.store = store
        self.consumer = backend.consumer(consumer_name)
        self.holder = f"{consumer_name}:{uuid.uuid4().hex[:8]}"
        self._lease: DeliveryLease | None = None
        self._tasks: set[asyncio.Task] = set()
        self._stopping = asyncio.Event()
        self._acks_due: list[str] = []
        self._rewind_due = False
        self.jobs = JobCache(backend)
        self.progress = ProgressEdits(client, backend, self.jobs, ack=self._ack, ack_later=self._ack_later,
                                      stopping=self._stopping, throttle_s=throttle_s, queue_poll_s=queue_poll_s,
                                      delivered=self._delivered)

    # -- what the commands and buttons call: a job's message shows its queue position until it starts --

    def track(self, job: Job) -> None:
        self.progress.track(job)

    def submitted(self, job_id: str) -> None:
        self.progress.submitted(job_id)

    def untrack(self, job_id: str) -> None:
        self.progress.untrack(job_id)

    def message_of(self, job: Job) -> discord.PartialMessage:
        return self.progress.message_of(job)

    async def refresh_positions(self) -> None:
        await self.progress.refresh_positions()

    @property
    def idle(self) -> bool:
        """No progress edit is waiting or in flight (bench/ack_load.py measures each burst from a quiet bot)."""
        return self.progress.idle

    # -- the loops -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read the stream until stopped; each entry is acted on, then acknowledged."""
        poller = asyncio.create_task(self.progress.poll_queue_positions())
        sweeper = asyncio.create_task(missed.sweep_forever(self.store, self.backend, self.deliver_missed))
        retry_s = RETRY_MIN_S
        try:
            while not self._stopping.is_set():
                try:
                    if self._rewind_due:
                        self._rewind_due = False
                        self.consumer.rewind()
                    entries = await asyncio.to_thread(self.consumer.read, 500, 100)
                    for entry_id, event in entries:
                        await self._handle_one(entry_id, event)
                    # Entries that needed no Discord call, acknowledged together: one XACK per read.
                    acks, self._acks_due = self._acks_due, []
                    await self._ack(acks)
                    retry_s = RETRY_MIN_S
                except redis.RedisError as error:
                    # Redis restarting or unreachable: results must resume on their own when it is back,
                    # starting with the entries this consumer holds but has not acknowledged.
                    log.warning("event stream unavailable (%s); retrying in %.0f s", error, retry_s)
                    self._acks_due.clear()
                    self.consumer.rewind()
                    await asyncio.sleep(retry_s)
                    retry_s = min(2 * retry_s, RETRY_MAX_S)
        finally:
            poller.cancel()
            sweeper.cancel()

    def _read_again_later(self) -> None:
        """Have the loop re-read this consumer's un-acknowledged entries after REDELIVER_AFTER_S (set
        here and acted on by the loop, so the consumer is never rewound while it is reading)."""
        def due() -> None:
            self._rewind_due = True

        asyncio.get_running_loop().call_later(REDELIVER_AFTER_S, due)

    async def _handle_one(self, entry_id: str, event: Event) -> None:
        if self._stopping.is_set():
            return  # left un-acknowledged: the next start reads it again
        try:
            await self.handle(entry_id, event)
        except redis.RedisError:
            raise
        except Exception:
            # A bug or an event this bot cannot act on must not stop every later result: log it, skip it.
            log.exception("event %s (%s of job %s) could not be handled; skipping it",
                          entry_id, event.kind.value, event.job_id)
            self._acks_due.append(entry_id)

    async def stop(self) -> None:
        """Stop taking events. Progress edits are dropped at once; results already being delivered get
        STOP_GRACE_S to finish (one cut short is read again, un-acknowledged, at the next start)."""
        self._stopping.set()
        edits = self.progress.cancel_all()
        finishing = list(self._tasks)
        if finishing:
            await asyncio.wait(finishing, timeout=STOP_GRACE_S)
        for task in finishing:
            task.cancel()
        # Awaited, so a delivery cut short ends here, not later as "Task exception was never retrieved".
        await asyncio.gather(*finishing, *edits, return_exceptions=True)

    async def _ack(self, entry_ids: list[str]) -> None:
        if entry_ids:
            await asyncio.to_thread(self.consumer.ack, *entry_ids)

    def _ack_later(self, entry_id: str) -> None:
        """Acknowledged with the rest of this read, in one XACK (an entry that needed no Discord call)."""
        self._acks_due.append(entry_id)

    async def handle(self, entry_id: str, event: Event) -> None:
        job = await self.jobs.get(event.job_id, fresh=event.kind in TERMINAL_KINDS)
        if job is None or job.message is None or job.message.message_id is None:
            # Not a Discord job (e.g. `midway submit`), or its record expired: nothing to show.
            self._acks_due.append(entry_id)
            return
        if event.kind not in TERMINAL_KINDS and (job.status.finished or job.id in self.progress.finished):
            # A late event: a stalled worker's progress after another worker finished the job (RQ
            # re-ran it when the heartbeat lapsed). The message shows the result; never overwrite it.
            self._acks_due.append(entry_id)
            return
        if event.kind in TERMINAL_KINDS:
            self._spawn(self._finish(job, event, entry_id))
            return
        if event.kind is EventKind.queued:
            if job.id in self.progress.waiting:
                # Submitted by this bot a moment ago: its message already says "(Waiting to start)".
                # Positions come from the poll, so a burst of /imagine costs no edits while later
                # interactions still wait for their acknowledgement, and a job that starts within
                # queue_poll_s never has its message edited twice.
                self._acks_due.append(entry_id)
                return
            # Requeued (its worker died) or submitted before a restart: the message may show progress.
            self.progress.waiting[job.id] = ""
            self.progress.offer(job, messages.waiting(job, event.position, served=event.position is not None),
                       messages.cancel_buttons(job.id), entry_id=entry_id)
            return
        self.progress.waiting.pop(job.id, None)
        percent = event.percent if event.kind is EventKind.progress else 0
        self.progress.offer(job, messages.progress(job, percent or 0), messages.cancel_buttons(job.id),
                   preview=event.preview, entry_id=entry_id)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- results: exactly once ---------------------------------------------------------------------

    async def deliver_missed(self, job: Job, event: Event) -> None:
        """Deliver a finished job whose terminal event never reached this bot (bot/missed.py)."""
        if job.id in self.progress.locks or self._stopping.is_set():
            return  # being delivered from the stream right now, or shutting down: the next sweep sees
        self._spawn(self._finish(job, event, None))

    async def _delivered(self, job_id: str) -> bool:
        return self.store is not None and await self.store.delivered(job_id) is not None

    @property
    def lease(self) -> DeliveryLease:
        if self._lease is None:
            self._lease = DeliveryLease(self.store.redis, self.holder)
        return self._lease

    async def _finish(self, job: Job, event: Event, entry_id: str | None) -> None:
        self.progress.result_begins(job.id)
        async with self.progress.lock(job.id):
            # Holding the lock, no progress edit is in flight; stale ones are dropped, not sent.
            superseded = self.progress.drop_edits(job.id)
            try:
                async with self.lease.held(job.id) as ours:
                    delivered = ours and await self._attempts(job, event)
            except redis.RedisError as error:
                log.warning("delivering job %s failed: %s", job.id, error)
                delivered = False
            if not delivered:
                # Left un-acknowledged, and read again after a while: a result waits out a Discord or
                # Redis outage (or another bot process that kept its lease) instead of the next start.
                self._forget(job.id)
                self._read_again_later()
                return
        try:
            await self._ack([*(superseded.entry_ids if superseded else []), *([entry_id] if entry_id else [])])
        except redis.RedisError as error:
            # Posted (and recorded) but not acknowledged: read again later, found delivered, acknowledged.
            log.warning("acknowledging the result of job %s failed: %s", job.id, error)
            self._read_again_later()
        self._forget(job.id)

    async def _attempts(self, job: Job, event: Event) -> bool:
        """Deliver with retries; False when every attempt failed on something that may pass."""
        for attempt in range(1, FINAL_ATTEMPTS + 1):
            try:
                await self._deliver(job, event)
                break
            except PERMANENT_ERRORS as error:
                log.warning("job %s: Discord refused its result for good (%s); giving up", job.id, error)
                await self.store.mark_delivery_failed(job.id, f"{error.status} {error.text}".strip())
                await self._say_undeliverable(job, error)
                break
            except (*RETRYABLE_ERRORS, redis.RedisError) as error:
                log.warning("delivering job %s failed (attempt %d): %s", job.id, attempt, error)
                if attempt == FINAL_ATTEMPTS:
                    return False
                await asyncio.sleep(ATTEMPT_BACKOFF_S * attempt)
        return True

    async def _say_undeliverable(self, job: Job, error: discord.HTTPException) -> None:
        """Tell the requester on the job's own message, which may still be editable (a bot allowed to
        edit its messages but not to post, or to attach files): otherwise it would sit at its last
        percentage, with a Cancel button, for good."""
        if job.message is None or job.message.message_id is None:
            return
        try:
            await self.message_of(job).edit(content=messages.undeliverable(job, error.status), attachments=[],
                                            view=build_view([]))
        except (*RETRYABLE_ERRORS, *PERMANENT_ERRORS) as edit_error:
            log.info("job %s: its message could not say so either (%s)", job.id, edit_error)

    def _forget(self, job_id: str) -> None:
        self.progress.forget(job_id)

    async def _deliver(self, job: Job, event: Event) -> None:
        delivered = await self.store.delivered(job.id)
        # Over, unless a posted result's own message may still lack its "(Done)": that edit comes after
        # the mark and can fail on its own (a 5xx, an old message's edit limit), so a retry redoes it.
        if delivered is not None and (event.kind is not EventKind.done or delivered == ""):
            return
        if event.kind is EventKind.done:
            if delivered is None:
                posted = await self.post_result(job, nonce=result_nonce(job.id))
                await self.store.mark_delivered(job.id, str(posted.id))
                await self.store.add_usage(job.requester.user_id, len(job.outputs) or job.spec.n_images,
                                           job.compute_s or 0.0)
            final_buttons: list[messages.ButtonSpec] = []
            final_text = messages.delivered_note(job)
        elif event.kind is EventKind.cancelled:
            final_text, final_buttons = messages.stopped(job), []
        else:
            final_text, final_buttons = messages.failed(job, event.error or job.error), []
        with contextlib.suppress(discord.NotFound):
            await self.message_of(job).edit(content=final_text, attachments=[], view=build_view(final_buttons))
        if event.kind is not EventKind.done:
            await self.store.mark_delivered(job.id, "")

    async def post_result(self, job: Job, reply_to: int | None = None, nonce: str | None = None) -> discord.Message:
        """bot/results.py post_result, through this bot's client, backend and store."""
        return await post_result(self.client, self.backend, self.store, job, reply_to, nonce)
