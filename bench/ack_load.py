"""Part 2: interaction acknowledgement under load. N concurrent /imagine from distinct users, then a
burst of button presses (U1-U4, V1-V4 and 🔄 on fresh grid messages, bench/press_grids.py); p50/p99/max
time from Discord dispatching the interaction to the bot's callback, for the Midway bot and for a bare
discord.py bot that acknowledges at once, in the same run.

Discord is not in the bot's process, so the emulator runs in its own (bench/discord_process.py) and
times each interaction itself. The bots run in a fresh interpreter of their own (`python -m
bench.ack_load`), as `midway bot` does: a bench process that has imported torch and diffusers for
another part made the same bot ~25% slower to acknowledge. The Midway bot does its real work before
answering (user settings, policy, per-user load, a press's claim) against its own redis-server and
stores the job after; no worker runs, so jobs just wait. Each burst starts from a quiet bot: the
previous burst's jobs are stored and their queue-position edits made.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import redis

from bench.report import PartResult, Row
from bench.services import local_redis, require
from bench.stats import ratio, summary_ms
from midway.settings import PROJECT_ROOT

# Past Discord's 3 s an interaction has failed anyway; waiting longer only slows the run. An
# interaction not acknowledged by then counts as this long (a lower bound) and is reported as lost.
ACK_TIMEOUT_S = 10.0
DISCORD_ACK_S = 3.0
WARM_UP = 5
# The Midway bot's default queue-position refresh (bot/app.py's queue_poll_s).
QUEUE_POLL_S = 2.0
READY_TIMEOUT_S = 60.0


class DiscordProcess:
    """The emulator subprocess, driven one JSON line at a time (see bench/discord_process.py)."""

    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    async def call(self, **command) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), ACK_TIMEOUT_S + READY_TIMEOUT_S)
        reply = json.loads(line) if line else {"ok": False, "error": "the emulator process exited"}
        if not reply.get("ok"):
            raise RuntimeError(f"emulator: {reply.get('error')}")
        return reply

    async def presses(self, clicks: list[tuple[int, str]], tag: str) -> list[float]:
        """Seconds to acknowledgement of each (message, button) pressed at once by a user of its own."""
        reply = await self.call(op="presses", clicks=[[str(message), custom_id] for message, custom_id in clicks],
                                tag=tag, timeout_s=ACK_TIMEOUT_S)
        return [ACK_TIMEOUT_S if seconds is None else seconds for seconds in reply["seconds"]]

    async def burst(self, n: int, tag: str) -> list[float]:
        """Seconds to acknowledgement of n /imagine sent at once by n new users."""
        reply = await self.call(op="burst", n=n, tag=tag, timeout_s=ACK_TIMEOUT_S)
        return [ACK_TIMEOUT_S if seconds is None else seconds for seconds in reply["seconds"]]


@contextlib.asynccontextmanager
async def discord_process() -> AsyncIterator[DiscordProcess]:
    from playground.connect import point_discord_at, restore_discord

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.discord_process", cwd=str(PROJECT_ROOT),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        hello = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT_S)
        if not hello:
            raise RuntimeError("the emulator process exited before serving")
        remote = DiscordProcess(process, json.loads(hello)["url"])
        point_discord_at(remote.url)
        yield remote
    finally:
        restore_discord()
        with contextlib.suppress(Exception):
            assert process.stdin is not None
            process.stdin.write(b'{"op": "quit"}\n')
            await process.stdin.drain()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def logged_in(remote: DiscordProcess, bot) -> AsyncIterator:
    """`bot` logged in to the emulator, ready, its commands synced."""
    from bench.discord_stack import BOT_TOKEN
    from ops.gc_tuning import freeze_startup_objects
    from playground import clients

    async with clients.logged_in(bot, BOT_TOKEN, ready_timeout_s=READY_TIMEOUT_S):
        await remote.call(op="synced", names=["imagine"])
        # As `midway bot` does once started (ops/gc_tuning.py); the same for both bots.
        freeze_startup_objects()
        yield bot


async def settled(redis_url: str, jobs: int, bot=None, timeout_s: float = 60.0) -> None:
    """Wait until the Midway bot has stored `jobs` jobs (it enqueues after acknowledging) and, given
    the bot, has made the queue-position edits they cause: the next burst (or closing the bot) must not
    overlap that tail, so each burst is measured from a quiet bot, as the bare bot's are."""
    await _stored(redis_url, jobs, timeout_s)
    if bot is not None:
        deadline = time.monotonic() + timeout_s
        # One position poll after the last submit, then until its edits are done.
        await asyncio.sleep(bot.queue_poll_s + 0.1)
        while not bot.delivery.idle and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


async def _stored(redis_url: str, jobs: int, timeout_s: float) -> None:
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


# A burst's p99 moves by tens of percent between bursts on a shared 2-core machine: each level is
# measured in several rounds, bare and Midway bots taking turns, and the figures are round medians.
ROUNDS_FULL = 5

Bursts = dict[str, dict[int, list[list[float]]]]  # bot -> N -> one list of ack times per round
Presses = dict[str, list[list[float]]]  # bot -> one list of press ack times per round


async def measure(levels: list[int], redis_url: str, rounds: int = 1, grids: int = 0,
                  queue_poll_s: float = QUEUE_POLL_S) -> tuple[Bursts, Presses]:
    """/imagine bursts at each level and, given `grids`, a burst of presses on that many grid messages
    (U1-U4, V1-V4 and 🔄 on each) per round and bot."""
    from bench.discord_stack import BareBot, midway_bot
    from bench.press_grids import post_grids

    measured: Bursts = {"bare": {n: [] for n in levels}, "midway": {n: [] for n in levels}}
    pressed: Presses = {"bare": [], "midway": []}
    pressable: list[tuple[int, str]] = []
    submitted = 0
    async with discord_process() as remote:
        # The Midway bot goes first in the first round: its grids are the ones both bots' presses use.
        bots = (("midway", lambda: midway_bot(redis_url, queue_poll_s=queue_poll_s)), ("bare", BareBot))
        for round_number in range(rounds):
            # Which bot goes first alternates, so a drift in the machine's speed favours neither.
            for label, make in bots if round_number % 2 == 0 else bots[::-1]:
                async with logged_in(remote, make()) as bot:
                    await remote.burst(WARM_UP, f"{label}-warm-{round_number}")
                    submitted += WARM_UP if label == "midway" else 0
                    for n in levels:
                        if label == "midway":
                            await settled(redis_url, submitted, bot)
                        measured[label][n].append(await remote.burst(n, f"{label}-{n}-{round_number}"))
                        submitted += n if label == "midway" else 0
                    if grids:
                        if label == "midway":
                            await settled(redis_url, submitted, bot)
                            # Fresh grids each round: a button already pressed only links to its job.
                            pressable = await post_grids(bot, grids, f"round {round_number}")
                        pressed[label].append(await remote.presses(pressable, f"{label}-press-{round_number}"))
                        # Job records the Midway bot left: each grid's own, and one per press (U, V or 🔄).
                        submitted += grids + len(pressable) if label == "midway" else 0
                    if label == "midway":
                        await settled(redis_url, submitted, bot)
    return measured, pressed


# Grids pressed per round: 9 presses each (108 in a full run).
GRIDS_FULL, GRIDS_QUICK = 12, 3


def run(quick: bool) -> PartResult:
    require("bot.app", "playground.driver")
    levels = [50] if quick else [50, 100, 200]
    bursts, pressed = measure_in_fresh_process(levels, rounds=1 if quick else ROUNDS_FULL,
                                               grids=GRIDS_QUICK if quick else GRIDS_FULL)
    return summarise(bursts, levels, pressed)


def measure_in_fresh_process(levels: list[int], rounds: int, grids: int = 0,
                             queue_poll_s: float = QUEUE_POLL_S) -> tuple[Bursts, Presses]:
    """`queue_poll_s`: how often the Midway bot refreshes queue positions; each settle waits one poll,
    so the tests shorten it (the benchmark keeps the bot's default)."""
    command = [sys.executable, "-m", "bench.ack_load", ",".join(map(str, levels)), str(rounds), str(grids),
               str(queue_poll_s)]
    finished = subprocess.run(command, cwd=str(PROJECT_ROOT), stdout=subprocess.PIPE, check=True)
    reply = json.loads(finished.stdout)
    bursts = {label: {int(n): rounds for n, rounds in by_n.items()} for label, by_n in reply["imagine"].items()}
    return bursts, reply["presses"]


def measure_alone(levels: list[int], rounds: int, grids: int,
                  queue_poll_s: float = QUEUE_POLL_S) -> tuple[Bursts, Presses]:
    """What the subprocess does: its own redis-server, the emulator's process, both bots here."""
    with local_redis() as server:
        return asyncio.run(measure(levels, server.url, rounds=rounds, grids=grids, queue_poll_s=queue_poll_s))


def lost(times: list[float]) -> int:
    return sum(1 for seconds in times if seconds >= ACK_TIMEOUT_S)


def round_medians(rounds: list[list[float]]) -> dict[str, float]:
    """p50/p99/max of each round's burst, then the median of each across rounds."""
    summaries = [summary_ms(times) for times in rounds]
    return {key: round(statistics.median(summary[key] for summary in summaries), 2)
            for key in ("p50_ms", "p99_ms", "max_ms")}


def paired_p99_ratio(bare_rounds: list[list[float]], midway_rounds: list[list[float]]) -> float | None:
    """The median over rounds of Midway's p99 / the bare bot's p99 in the same round. The machine's
    speed drifts between rounds (the bare bot's own p99 moved 163-375 ms across one run's rounds), so
    each ratio compares bursts measured seconds apart, as the overhead part pairs its runs."""
    ratios = [ratio(summary_ms(midway)["p99_ms"], summary_ms(bare)["p99_ms"])
              for bare, midway in zip(bare_rounds, midway_rounds, strict=True)]
    known = [value for value in ratios if value is not None]
    return round(statistics.median(known), 3) if known else None


def summarise(measured: Bursts, levels: list[int], pressed: Presses | None = None) -> PartResult:
    result = PartResult(name="ack", details={label: {str(n): [summary_ms(times) for times in rounds]
                                                     for n, rounds in by_n.items()}
                                             for label, by_n in measured.items()})
    spread: dict[int, dict[str, dict[str, float]]] = {}
    paired: dict[int, float | None] = {}
    for n in levels:
        bare_rounds, midway_rounds = measured["bare"][n], measured["midway"][n]
        bare, midway = round_medians(bare_rounds), round_medians(midway_rounds)
        spread[n] = {"bare": bare, "midway": midway}
        paired[n] = paired_p99_ratio(bare_rounds, midway_rounds)
        late = sum(1 for times in midway_rounds for seconds in times if seconds > DISCORD_ACK_S)
        never = sum(lost(times) for times in midway_rounds)
        of = f"{n * len(midway_rounds)}"
        result.rows.append(Row(f"N={n} concurrent /imagine, bare discord.py bot", _spread(bare),
                               f"{sum(lost(times) for times in bare_rounds)} never acknowledged"))
        versus = (f"p99 x{paired[n]} vs bare (median of rounds); {late} of {of} over 3 s,"
                  f" {never} never acknowledged")
        result.rows.append(Row(f"N={n} concurrent /imagine, Midway bot", _spread(midway), versus))
    top = levels[-1]
    bare, midway = spread[top]["bare"], spread[top]["midway"]
    result.figures = {"ack_p99_ms": midway["p99_ms"],
                      "ack_p99_ratio_vs_bare": paired[top],
                      "ack_p50_ms": midway["p50_ms"], "ack_max_ms": midway["max_ms"], "ack_load_n": top,
                      "ack_bare_p99_ms": bare["p99_ms"],
                      "ack_lost": sum(lost(times) for times in measured["midway"][top])}
    if pressed and pressed["midway"]:
        add_presses(result, pressed)
    rounds = len(measured["midway"][top])
    result.notes.append(f"Headline ack figures are at N={top}, medians of {rounds} round(s) of bursts (bare and"
                        " Midway bots taking turns); the ratio is the median of each round's Midway p99 over"
                        " that round's bare p99. The emulator runs in its own process and times each"
                        " interaction from dispatch to callback; the bots run in a fresh process of their own."
                        f" One never acknowledged counts as {ACK_TIMEOUT_S:.0f} s (a lower bound).")
    return result


def add_presses(result: PartResult, pressed: Presses) -> None:
    """Rows and figures of the button-press bursts: Midway's full answer (the pressed button turned
    blue, after its checks and claim) against the bare bot's bare deferral."""
    bare_rounds, midway_rounds = pressed["bare"], pressed["midway"]
    bare, midway = round_medians(bare_rounds), round_medians(midway_rounds)
    n = len(midway_rounds[0])
    result.details["presses"] = {label: [summary_ms(times) for times in rounds] for label, rounds in pressed.items()}
    result.rows.append(Row(f"{n} button presses at once (U, V, 🔄 on {n // 9} grids), bare discord.py bot",
                           _spread(bare), f"{sum(lost(times) for times in bare_rounds)} never acknowledged"))
    late = sum(1 for times in midway_rounds for seconds in times if seconds > DISCORD_ACK_S)
    paired = paired_p99_ratio(bare_rounds, midway_rounds)
    result.rows.append(Row(f"{n} button presses at once (U, V, 🔄 on {n // 9} grids), Midway bot", _spread(midway),
                           f"p99 x{paired} vs bare (median of rounds); {late} of {n * len(midway_rounds)} over 3 s,"
                           f" {sum(lost(times) for times in midway_rounds)} never acknowledged"))
    result.figures.update({"press_p99_ms": midway["p99_ms"], "press_p99_ratio_vs_bare": paired,
                           "press_load_n": n})


def _spread(summary: dict[str, float]) -> str:
    return f"p50 {summary['p50_ms']:.0f} / p99 {summary['p99_ms']:.0f} / max {summary['max_ms']:.0f} ms"


if __name__ == "__main__":
    # python -m bench.ack_load LEVELS ROUNDS GRIDS QUEUE_POLL_S: the ack times as JSON on stdout (progress on stderr).
    bursts, pressed = measure_alone([int(n) for n in sys.argv[1].split(",")], int(sys.argv[2]), int(sys.argv[3]),
                                    float(sys.argv[4]))
    print(json.dumps({"imagine": bursts, "presses": pressed}))
