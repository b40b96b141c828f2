"""Which gateway shards a bot process holds, and what follows from it (pure: no Discord, no Redis).

Discord sends a guild's events to one shard, `(guild_id >> 22) % shard_count` (docs: gateway
"Sharding"). A bot process holds one or more shards; `midway up --bots K` splits them across K
processes. The process holding shard 0 is the one that syncs the slash commands: they are global to
the application, so one overwrite is enough and K would only spend the daily command-create limit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShardSet:
    """The shards one process holds: `ids` of `count` (None: unsharded, one session holding every guild)."""

    count: int | None = None
    ids: tuple[int, ...] = ()

    @property
    def sharded(self) -> bool:
        return self.count is not None

    @property
    def held(self) -> tuple[int, ...]:
        """The shard ids this process connects (all of them when none were named)."""
        if self.count is None:
            return ()
        return self.ids or tuple(range(self.count))

    @property
    def syncs_commands(self) -> bool:
        return self.count is None or 0 in self.held

    @property
    def label(self) -> str:
        """`shards-0-1-of-4`: part of the process's event-stream consumer name (stable across restarts)."""
        if self.count is None:
            return ""
        return "shards-" + "-".join(str(i) for i in self.held) + f"-of-{self.count}"


def parse_shard_ids(text: str, count: int | None) -> tuple[int, ...]:
    """"0,1" -> (0, 1), checked against `count`; ValueError naming the bad value."""
    if not text.strip():
        return ()
    if count is None:
        raise ValueError(f"shard ids {text!r} need a shard count (MIDWAY_SHARD_COUNT or --shards)")
    ids: list[int] = []
    for part in text.split(","):
        try:
            shard_id = int(part.strip())
        except ValueError:
            raise ValueError(f"shard id {part.strip()!r} is not a number") from None
        if not 0 <= shard_id < count:
            raise ValueError(f"shard id {shard_id} is outside 0-{count - 1} (shard count {count})")
        if shard_id in ids:
            raise ValueError(f"shard id {shard_id} is named twice")
        ids.append(shard_id)
    return tuple(sorted(ids))


def shard_set(count: int | None, ids: str) -> ShardSet:
    if count is not None and count < 1:
        raise ValueError(f"shard count {count} must be at least 1")
    return ShardSet(count, parse_shard_ids(ids, count))


def split_shards(count: int, processes: int) -> list[tuple[int, ...]]:
    """Shards 0..count-1 dealt round-robin to `processes` processes (each gets at least one)."""
    if not 1 <= processes <= count:
        raise ValueError(f"cannot split {count} shards across {processes} bot processes")
    return [tuple(range(first, count, processes)) for first in range(processes)]


def shard_count_for(processes: int, recommended: int) -> int:
    """`midway up --bots K`: as many shards as Discord recommends, and at least one per process."""
    return max(processes, recommended, 1)
