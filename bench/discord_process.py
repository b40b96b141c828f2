"""Discord, in its own process, for the acknowledgement benchmark (bench/ack_load.py).

Discord's servers are not in the bot's process, so neither is this: the playground emulator runs
here, the bot under test in the bench process. The emulator times each interaction itself, from
dispatching INTERACTION_CREATE to receiving the callback, which is what Discord's 3 s deadline
measures. The bench talks to it over stdin/stdout, one JSON object per line:

    -> {"op": "synced", "names": ["imagine"]}          <- {"ok": true}
    -> {"op": "burst", "n": 50, "tag": "midway-50"}     <- {"ok": true, "seconds": [0.012, ..., null]}
    -> {"op": "presses", "clicks": [[message_id, custom_id], ...], "tag": "midway-press"}
                                                         <- {"ok": true, "seconds": [...]}
    -> {"op": "quit"}

The first line it prints is {"url": ...}. null in "seconds": never acknowledged within "timeout_s".
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

BOT_TOKEN = "midway-bench-token"
POLL_S = 0.02


async def burst(pg, n: int, tag: str, timeout_s: float) -> list[float | None]:
    """n new users each send /imagine at once; seconds from dispatch to callback (None: none came)."""
    users = [pg.add_user(f"{tag}-{index}").name for index in range(n)]
    runs = [await pg.slash("imagine", user=user, channel="general", options={"prompt": f"a red fox {index}"})
            for index, user in enumerate(users)]
    return await _answered([run.interaction for run in runs], pg, timeout_s)


async def presses(pg, clicks: list[list], tag: str, timeout_s: float) -> list[float | None]:
    """Each (message, button) pressed at once by a user of its own; seconds from dispatch to callback."""
    users = [pg.add_user(f"{tag}-{index}").name for index in range(len(clicks))]
    runs = [await pg.click(message_id, custom_id, user=user)
            for (message_id, custom_id), user in zip(clicks, users, strict=True)]
    return await _answered([run.interaction for run in runs], pg, timeout_s)


async def _answered(interactions: list, pg, timeout_s: float) -> list[float | None]:
    deadline = pg.clock.now() + timeout_s
    # Polled, not one waiter per interaction: a burst must not cost this process O(N^2) wake-ups.
    while pg.clock.now() < deadline and any(i.responded_at is None for i in interactions):
        await asyncio.sleep(POLL_S)
    return [None if i.responded_at is None else i.responded_at - i.created_at for i in interactions]


async def handle(pg, command: dict[str, Any]) -> dict[str, Any]:
    if command["op"] == "synced":
        await pg.wait_until_commands_synced(names=command.get("names"), timeout=command.get("timeout_s", 30.0))
        return {"ok": True}
    if command["op"] == "burst":
        seconds = await burst(pg, int(command["n"]), str(command["tag"]), float(command.get("timeout_s", 10.0)))
        return {"ok": True, "seconds": seconds}
    if command["op"] == "presses":
        seconds = await presses(pg, command["clicks"], str(command["tag"]), float(command.get("timeout_s", 10.0)))
        return {"ok": True, "seconds": seconds}
    return {"ok": False, "error": f"unknown op {command['op']!r}"}


async def serve() -> None:
    from playground.driver import Playground

    # Discord's own 3 s deadline would turn slow acks into failures; measure them instead.
    async with Playground.start(port=0, bot_token=BOT_TOKEN, ack_deadline_s=60.0) as pg:
        print(json.dumps({"url": pg.base_url}), flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            command = json.loads(line)
            if command.get("op") == "quit":
                break
            try:
                reply = await handle(pg, command)
            except Exception as error:  # the bench reports it; this process stays up for the next
                reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    asyncio.run(serve())
