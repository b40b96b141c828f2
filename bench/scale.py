"""Many bot processes, one result each: /imagine bursts across sharded guilds and K `midway bot` processes.

This process is Discord (the playground, in-process, with one guild per shard); the bots are real
`midway bot` subprocesses holding their share of the shards, and a real worker runs a tiny engine.
Each /imagine's acknowledgement is timed by the emulator (dispatch to callback, what Discord's 3 s
measures); each answer must get exactly one result message: more is a duplicate, none is lost.
`kill` SIGKILLs one bot process part-way through the results: the other takes over its unacknowledged
events (MIDWAY_EVENT_CLAIM_IDLE_S) and every result must still be posted once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.report import PartResult, Row
from midway.settings import PROJECT_ROOT
from midway.sharding import split_shards

BOT_TOKEN = "midway-scale-token"
# A tiny engine at 64x64 and 4 steps: the bench measures delivery, not sampling.
CATALOGUE = """
[engines.tiny-scale]
kind = "tiny"
family = "sd"
base_width = 64
base_height = 64
size_multiple = 32
steps = 4
guidance = 5.0
"""
ENGINE = "tiny-scale"
SHARDS = 4
CONCURRENCY = 8  # interactions in flight at once: a burst, not a stampede that only measures the 2 cores


class BotFleet:
    """K `midway bot` processes against a playground, shards 0..count-1 dealt round-robin between them."""

    def __init__(self, playground_url: str, env: dict[str, str], processes: int, shards: int,
                 log_dir: Path) -> None:
        self.playground_url = playground_url
        self.env = env
        self.split = split_shards(shards, processes)
        self.shards = shards
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        for n, ids in enumerate(self.split):
            command = [sys.executable, "-m", "cli", "bot", "--playground", self.playground_url,
                       "--shards", str(self.shards), "--shard-ids", ",".join(map(str, ids))]
            with open(self.log_dir / f"bot-{n}.log", "wb") as log:  # the child keeps its own copy
                self.processes.append(subprocess.Popen(command, env=self.env, cwd=PROJECT_ROOT, stdout=log,
                                                       stderr=subprocess.STDOUT))

    def consumer(self, index: int) -> str:
        """The event-stream consumer name process `index` reads as."""
        from bot.app import default_consumer_name
        from midway.sharding import ShardSet

        return default_consumer_name(ShardSet(self.shards, self.split[index]))

    def kill(self, index: int) -> None:
        """kill -9: no shutdown code runs, what it read but never acknowledged stays pending."""
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def fleet_env(redis_url: str, catalogue: Path, *, engine: str = ENGINE, claim_idle_s: float = 1.0) -> dict[str, str]:
    return dict(os.environ, REDIS_URL=redis_url, MIDWAY_CATALOGUE=str(catalogue), MIDWAY_DEFAULT_ENGINE=engine,
                MIDWAY_PLAYGROUND_TOKEN=BOT_TOKEN, MIDWAY_EVENT_CLAIM_IDLE_S=str(claim_idle_s),
                MIDWAY_MAX_QUEUED_PER_USER="100000", MIDWAY_MAX_RUNNING_PER_USER="100000",
                MIDWAY_LOG_LEVEL="WARNING", PYTHONPATH=str(PROJECT_ROOT), DISCORD_TOKEN="")


def pending_of(redis_url: str, consumer: str) -> int:
    """Event-stream entries `consumer` read and has not acknowledged."""
    import redis

    from midway import keys

    client = redis.Redis.from_url(redis_url)
    try:
        consumers = client.xinfo_consumers(keys.EVENTS_STREAM, keys.BOT_GROUP)
    finally:
        client.close()
    return sum(int(c["pending"]) for c in consumers if c["name"] in (consumer, consumer.encode()))


async def wait_for_fleet(pg, fleet: BotFleet, timeout_s: float = 60.0) -> None:
    """Every shard has a live gateway session and the commands are synced."""
    wanted = {(i, fleet.shards) for i in range(fleet.shards)}

    def connected() -> bool | None:
        live = {s.shard for s in pg.server.gateway.sessions.values() if s.connection is not None}
        for process in fleet.processes:
            if process.poll() is not None:
                raise RuntimeError(f"a bot process exited with {process.returncode}; see {fleet.log_dir}")
        return True if live >= wanted else None

    from playground.state import wait_until

    await wait_until(pg.world, connected, timeout_s, "every shard to connect")
    await pg.wait_until_commands_synced(names=["imagine"], timeout=timeout_s)


async def imagine_burst(pg, n: int, channels: Sequence[str], tag: str) -> list:
    """n /imagine, round-robin over `channels` (one per shard), CONCURRENCY at a time; their InteractionRuns."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int):
        async with gate:
            run = await pg.slash("imagine", user="alice", channel=channels[index % len(channels)],
                                 options={"prompt": f"{tag} fox {index}"})
            await run.response(timeout=60)
            return run

    return list(await asyncio.gather(*(one(i) for i in range(n))))


@dataclass
class Tally:
    jobs: int
    results: int
    duplicates: int
    lost: int
    ack_p99_s: float | None

    @property
    def exactly_once(self) -> bool:
        return self.duplicates == 0 and self.lost == 0


def tally(pg, runs: list) -> Tally:
    acks = [run.interaction.original_id for run in runs]
    per_ack = Counter(m.reference_id for m in pg.world.messages.values()
                      if m.reference_id in acks and m.attachments and m.buttons)
    seconds = sorted(r.interaction.responded_at - r.interaction.created_at for r in runs
                     if r.interaction.responded_at is not None)
    p99 = seconds[min(len(seconds) - 1, int(0.99 * len(seconds)))] if seconds else None
    return Tally(jobs=len(runs), results=sum(per_ack.values()), duplicates=sum(c - 1 for c in per_ack.values()),
                 lost=sum(1 for ack in acks if per_ack[ack] == 0), ack_p99_s=p99)


async def wait_for_results(pg, runs: list, timeout_s: float, *, settle_s: float = 2.0) -> Tally:
    """Until every answer has its result (or the timeout), then a moment more for any duplicate."""
    from playground.state import wait_until

    def done() -> bool | None:
        return True if tally(pg, runs).lost == 0 else None

    try:
        await wait_until(pg.world, done, timeout_s, "every result")
    except TimeoutError:
        pass
    await asyncio.sleep(settle_s)
    return tally(pg, runs)


# -- the bench part -----------------------------------------------------------------------------------

async def measure_round(redis_url: str, catalogue: Path, log_dir: Path, *, processes: int, jobs: int,
                        kill: bool = False) -> Tally:
    """One fresh playground (a guild per shard), `processes` bot processes, `jobs` /imagine; with `kill`,
    bot process 0 is SIGKILLed once a quarter of the results are posted."""
    from playground.driver import Playground
    from playground.state import add_sharded_guilds, default_world, wait_until

    world = default_world()
    add_sharded_guilds(world, SHARDS - 1, shard_count=SHARDS)
    channels = ["general", *(f"general-{n}" for n in range(2, SHARDS + 1))]
    async with Playground.start(port=0, bot_token=BOT_TOKEN, world=world, ack_deadline_s=60.0) as pg:
        fleet = BotFleet(pg.base_url, fleet_env(redis_url, catalogue), processes, SHARDS, log_dir)
        fleet.start()
        try:
            await wait_for_fleet(pg, fleet)
            runs = await imagine_burst(pg, jobs, channels, f"{processes}-{kill}")
            if kill:
                await wait_until(pg.world, lambda: True if tally(pg, runs).results >= jobs // 4 else None, 300,
                                 "the first results")
                fleet.kill(0)
            return await wait_for_results(pg, runs, timeout_s=300, settle_s=3.0)
        finally:
            fleet.stop()


def run(quick: bool) -> PartResult:
    import tempfile

    from bench import services
    from ops.supervisor import worker_subprocess

    jobs = 40 if quick else 200
    redis_url = services.shared_redis().url
    with tempfile.TemporaryDirectory(prefix="midway-bench-scale-") as folder:
        root = Path(folder)
        catalogue = root / "catalogue.toml"
        catalogue.write_text(CATALOGUE)
        env = services.service_env(redis_url, MIDWAY_CATALOGUE=str(catalogue))
        with open(root / "worker.log", "wb") as log, worker_subprocess(
                redis_url, [ENGINE], env, stdout=log, cwd=PROJECT_ROOT):
            rounds = {
                "1 bot process": asyncio.run(measure_round(redis_url, catalogue, root, processes=1, jobs=jobs)),
                "2 bot processes": asyncio.run(measure_round(redis_url, catalogue, root, processes=2, jobs=jobs)),
                "2 bot processes, one killed (kill -9) mid-burst": asyncio.run(
                    measure_round(redis_url, catalogue, root, processes=2, jobs=jobs, kill=True)),
            }
    return summarise(rounds, jobs)


def summarise(rounds: dict[str, Tally], jobs: int) -> PartResult:
    result = PartResult(name="scale", details={label: vars(t) for label, t in rounds.items()})
    one, two, killed = rounds.values()
    result.figures = {
        "scale_duplicates": sum(t.duplicates for t in rounds.values()),
        "scale_lost": sum(t.lost for t in rounds.values()),
        "scale_ack_p99_ms_1_bot": _ms(one.ack_p99_s),
        "scale_ack_p99_ms_2_bots": _ms(two.ack_p99_s),
    }
    for label, t in rounds.items():
        result.rows.append(Row(f"{jobs} /imagine over {SHARDS} shards, {label}",
                               f"{t.results} results, {t.duplicates} duplicates, {t.lost} lost",
                               f"ack p99 {_ms(t.ack_p99_s)} ms"))
    result.notes.append(f"Tiny engine at 64², 4 steps, one worker; {CONCURRENCY} interactions in flight at "
                        "once, round-robin over one guild per shard; the claim idle time is 1 s.")
    return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
