"""Part 2: interaction acknowledgement under load. N concurrent /imagine from distinct users in the
emulator; p50/p99/max time from the slash command to the bot's callback, for the Midway bot and for
a bare discord.py bot that acknowledges at once, in the same run and the same event loop.

The Midway bot does its real work before answering (user settings, policy, per-user load, storing
the job) against its own redis-server; no worker runs, so jobs just wait and nothing competes with
the bot for the CPU.
"""

from __future__ import annotations

import asyncio
import time

import redis

from bench.report import PartResult, Row
from bench.services import local_redis, require
from bench.stats import ratio, summary_ms

# Past Discord's 3 s an interaction has failed anyway; waiting longer only slows the run. An
# interaction not acknowledged by then counts as this long (a lower bound) and is reported as lost.
ACK_TIMEOUT_S = 10.0
DISCORD_ACK_S = 3.0
WARM_UP = 5


async def burst(pg, n: int, tag: str) -> list[float]:
    """Seconds to acknowledgement of n /imagine sent at once by n new users."""
    users = [pg.add_user(f"{tag}-{index}").name for index in range(n)]

    async def one(index: int, user: str) -> float:
        start = time.perf_counter()
        options = {"prompt": f"a red fox {index}"}
        run = await pg.slash("imagine", user=user, channel="general", options=options)
        try:
            await run.acked(timeout=ACK_TIMEOUT_S)
        except TimeoutError:
            return ACK_TIMEOUT_S
        return time.perf_counter() - start

    return list(await asyncio.gather(*(one(index, user) for index, user in enumerate(users))))


async def settled(redis_url: str, jobs: int, timeout_s: float = 60.0) -> None:
    """Wait until the Midway bot has stored `jobs` jobs: it enqueues after acknowledging, and the next
    burst (or closing the bot) must not overlap that tail."""
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout_s
    try:
        # Lost interactions never become jobs: stop waiting once the count stops growing.
        stored, last_change = 0, time.monotonic()
        while stored < jobs and time.monotonic() - last_change < 2.0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            count = len(client.keys("midway:job:*"))
            if count != stored:
                stored, last_change = count, time.monotonic()
    finally:
        client.close()


async def measure(levels: list[int], redis_url: str) -> dict[str, dict[int, list[float]]]:
    from bench.discord_stack import BareBot, midway_bot, playground, running

    measured: dict[str, dict[int, list[float]]] = {"bare": {}, "midway": {}}
    async with playground() as pg:
        for label, make in (("bare", BareBot), ("midway", lambda: midway_bot(redis_url))):
            async with running(pg, make()):
                submitted = WARM_UP
                await burst(pg, WARM_UP, f"{label}-warm")
                for n in levels:
                    if label == "midway":
                        await settled(redis_url, submitted)
                    measured[label][n] = await burst(pg, n, f"{label}-{n}")
                    submitted += n
                if label == "midway":
                    await settled(redis_url, submitted)
    return measured


def run(quick: bool) -> PartResult:
    require("bot.app", "playground.driver")
    levels = [50] if quick else [50, 100, 200]
    with local_redis() as server:
        measured = asyncio.run(measure(levels, server.url))
    return summarise(measured, levels)


def lost(times: list[float]) -> int:
    return sum(1 for seconds in times if seconds >= ACK_TIMEOUT_S)


def summarise(measured: dict[str, dict[int, list[float]]], levels: list[int]) -> PartResult:
    result = PartResult(name="ack", details={label: {str(n): summary_ms(times) for n, times in by_n.items()}
                                             for label, by_n in measured.items()})
    for n in levels:
        bare, midway = summary_ms(measured["bare"][n]), summary_ms(measured["midway"][n])
        late = sum(1 for seconds in measured["midway"][n] if seconds > DISCORD_ACK_S)
        result.rows.append(Row(f"N={n} concurrent /imagine, bare discord.py bot", _spread(bare),
                               f"{lost(measured['bare'][n])} never acknowledged"))
        versus = (f"p99 x{ratio(midway['p99_ms'], bare['p99_ms'])} vs bare; {late} of {n} over 3 s,"
                  f" {lost(measured['midway'][n])} never acknowledged")
        result.rows.append(Row(f"N={n} concurrent /imagine, Midway bot", _spread(midway), versus))
    top = levels[-1]
    bare, midway = summary_ms(measured["bare"][top]), summary_ms(measured["midway"][top])
    result.figures = {"ack_p99_ms": midway["p99_ms"],
                      "ack_p99_ratio_vs_bare": ratio(midway["p99_ms"], bare["p99_ms"]),
                      "ack_p50_ms": midway["p50_ms"], "ack_max_ms": midway["max_ms"], "ack_load_n": top,
                      "ack_bare_p99_ms": bare["p99_ms"], "ack_lost": lost(measured["midway"][top])}
    result.notes.append(f"Headline ack figures are at N={top}. Emulator, bot and driver share one event loop"
                        " (as in tests/bot), so the bare bot's numbers include the emulator's own cost."
                        f" One never acknowledged counts as {ACK_TIMEOUT_S:.0f} s (a lower bound).")
    return result


def _spread(summary: dict[str, float]) -> str:
    return f"p50 {summary['p50_ms']:.0f} / p99 {summary['p99_ms']:.0f} / max {summary['max_ms']:.0f} ms"
