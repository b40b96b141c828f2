"""The Event stream: workers append, the bot reads with a consumer group, `midway submit` follows.

One Redis Stream (keys.EVENTS_STREAM); each entry has a single field `event` holding the Event as
JSON. Delivery to a consumer group is at-least-once: a consumer acks an entry only after acting on
it, and after a restart it first gets back what it had read but not acked. Consumers dedupe by
job id (terminal events are published once per job, but a bot may crash between acting and acking).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import redis
from pydantic import ValidationError

from midway import keys
from midway.contract import Event, EventKind
from midway.redis_clients import reply_text

log = logging.getLogger(__name__)

# Old entries are trimmed (approximately, which is cheap) so the stream cannot grow without bound.
STREAM_MAXLEN = 100_000
TERMINAL_KINDS = frozenset({EventKind.done, EventKind.failed, EventKind.cancelled})
# Entries another consumer of the group has held un-acked this long are taken over: that consumer
# is gone (a bot container recreated under a new hostname) or gave up on them. A live bot acks within
# seconds (one throttled edit, or a result with its retries), so a minute never steals live work.
CLAIM_IDLE_MS = 60_000
# How many pending entries one take-over pass looks at.
CLAIM_SCAN = 1000


def event_fields(event: Event) -> dict[Any, Any]:
    # dict[Any, Any]: redis-py types a stream entry's fields as a dict of its wide EncodableT union.
    return {"event": event.model_dump_json(exclude_none=True)}


def publish(client: redis.Redis, event: Event) -> str:
    """Append an event; returns its stream entry id."""
    entry_id: Any = client.xadd(keys.EVENTS_STREAM, event_fields(event), maxlen=STREAM_MAXLEN, approximate=True)
    return reply_text(entry_id)


def add_to_pipeline(pipe: redis.client.Pipeline, event: Event) -> None:
    """Queue an XADD on a pipeline, so an event commits atomically with the job record it reports."""
    pipe.xadd(keys.EVENTS_STREAM, event_fields(event), maxlen=STREAM_MAXLEN, approximate=True)


def parse_entry(fields: dict) -> Event | None:
    raw = fields.get(b"event", fields.get("event"))
    if raw is None:
        return None
    try:
        # Tolerant of fields a newer release adds: a rolling deploy must not drop events.
        return Event.from_record(raw)
    except ValidationError:
        return None


def last_id(client: redis.Redis) -> str:
    """The id of the newest entry ("0-0" when empty): follow from here to see only new events."""
    # Stream replies are typed loosely by redis-py (a union of RESP2 and RESP3 shapes): read as Any.
    newest: Any = client.xrevrange(keys.EVENTS_STREAM, count=1)
    return reply_text(newest[0][0]) if newest else "0-0"


class EventConsumer:
    """One named consumer in a consumer group on the event stream (the group is created if missing)."""

    def __init__(self, client: redis.Redis, group: str, consumer: str, *, start_id: str = "0",
                 claim_idle_ms: int = CLAIM_IDLE_MS) -> None:
        self.client = client
        self.group = group
        self.consumer = consumer
        self.claim_idle_ms = claim_idle_ms
        self._next_claim_at = 0.0
        # Until the backlog is drained we read this consumer's own pending entries (id cursor), then
        # switch to ">" (never-delivered entries).
        self._pending_cursor: str | None = "0"
        self._ensure_group(start_id)

    def _ensure_group(self, start_id: str) -> None:
        try:
            self.client.xgroup_create(keys.EVENTS_STREAM, self.group, id=start_id, mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def rewind(self) -> None:
        """Read this consumer's own pending entries again first: after an error part-way through a
        batch, the entries it was given but never acknowledged would otherwise wait for a restart."""
        self._pending_cursor = "0"

    def read(self, block_ms: int = 1000, count: int = 100) -> list[tuple[str, Event]]:
        """Entries to act on: first this consumer's un-acked ones (after a restart), then new ones."""
        if self._pending_cursor is not None:
            entries = self._read_group(self._pending_cursor, None, count)
            if entries:
                self._pending_cursor = entries[-1][0]
                return self._parse(entries)
            self._pending_cursor = None
        if time.monotonic() >= self._next_claim_at:
            claimed = self._claim_abandoned(count)
            if claimed:
                return self._parse(claimed)
        return self._parse(self._read_group(">", block_ms, count))

    def ack(self, *entry_ids: str) -> None:
        if entry_ids:
            self.client.xack(keys.EVENTS_STREAM, self.group, *entry_ids)

    def _claim_abandoned(self, count: int) -> list[tuple[str, dict]]:
        """Take over entries other consumers left un-acked for claim_idle_ms (never our own: those are
        in flight here, and reading them again would act on them twice)."""
        self._next_claim_at = time.monotonic() + max(0.05, self.claim_idle_ms / 2000)
        try:
            pending: Any = self.client.xpending_range(keys.EVENTS_STREAM, self.group, min="-", max="+",
                                                 count=CLAIM_SCAN, idle=self.claim_idle_ms)
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            return []
        ids = [item["message_id"] for item in pending if reply_text(item["consumer"]) != self.consumer][:count]
        if not ids:
            return []
        claimed: Any = self.client.xclaim(keys.EVENTS_STREAM, self.group, self.consumer, self.claim_idle_ms, ids)
        if len(claimed) == count:
            self._next_claim_at = 0.0  # more may be waiting: take them on the next read
        # Entries trimmed from the stream meanwhile come back without fields; _parse acks them.
        return [(reply_text(entry_id), fields or {}) for entry_id, fields in claimed]

    def _read_group(self, cursor: str, block_ms: int | None, count: int) -> list[tuple[str, dict]]:
        try:
            reply: Any = self.client.xreadgroup(self.group, self.consumer, {keys.EVENTS_STREAM: cursor},
                                           count=count, block=block_ms)
        except redis.ResponseError as error:
            # The stream or group was deleted under us (FLUSHALL in tests, an operator): recreate.
            if "NOGROUP" not in str(error):
                raise
            self._ensure_group("0")
            return []
        if not reply:
            return []
        # redis-py returns [[stream, [(id, fields), ...]]] (RESP2) or {stream: [[...]]} (RESP3).
        streams = reply.items() if isinstance(reply, dict) else reply
        return [(reply_text(entry_id), fields or {}) for _, items in streams for entry_id, fields in items]

    def _parse(self, entries: list[tuple[str, dict]]) -> list[tuple[str, Event]]:
        parsed: list[tuple[str, Event]] = []
        for entry_id, fields in entries:
            event = parse_entry(fields)
            if event is None:
                # Unreadable entries (trimmed, or written by a newer version) would block forever.
                log.warning("skipping unreadable event stream entry %s", entry_id)
                self.ack(entry_id)
                continue
            parsed.append((entry_id, event))
        return parsed


def follow(client: redis.Redis, job_id: str, *, after: str = "0-0", block_ms: int = 1000,
           timeout_s: float | None = None) -> Iterator[Event]:
    """Yield one job's events (plain XREAD, no group) until its terminal event or the timeout."""
    cursor = after
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while deadline is None or time.monotonic() < deadline:
        reply: Any = client.xread({keys.EVENTS_STREAM: cursor}, count=100, block=block_ms)
        streams = reply.items() if isinstance(reply, dict) else (reply or [])
        for _, items in streams:
            for entry_id, fields in items:
                cursor = reply_text(entry_id)
                event = parse_entry(fields or {})
                if event is None or event.job_id != job_id:
                    continue
                yield event
                if event.kind in TERMINAL_KINDS:
                    return
