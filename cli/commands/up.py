"""`midway up`: Redis, a worker, the playground (without a Discord token) and the bot, on one machine.

`--bots K` runs K bot processes that split the gateway shards (ops/bot_fleet.py); `--guilds N` gives the
playground N guilds to spread over them.

Exit 0 after Ctrl-C or SIGTERM; 1 when a part cannot start or exits for good; 2 when REDIS_URL names a
Redis that still cannot be reached after a short wait (checked before anything starts).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import redis

from midway.redis_clients import redacted_url, redis_problem, sync_redis
from midway.settings import Settings, get_settings
from ops.bot_fleet import DISCORD_API, bot_arguments, recommended_shards
from ops.discord_invite import application_id_from_token, invite_url
from ops.redis_server import LocalRedis, PortInUse, RedisUnavailable, port_in_use
from ops.supervisor import Child, PidFile, Supervisor, stop_stale

# How long an external Redis (REDIS_URL) may take to answer, e.g. one starting alongside us.
REDIS_WAIT_S = 30.0
# In the state folder: the pids of our children, so a run after a SIGKILLed one can stop its leftovers.
PID_FILE = "up.pids"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None, help="the playground's port (default from settings)")
    parser.add_argument("--engines", default=None, help="engines the worker serves (default MIDWAY_ENGINES)")
    parser.add_argument("--ready-timeout", type=float, default=180.0, help="seconds to wait for start-up")
    parser.add_argument("--bots", type=int, default=1, metavar="K",
                        help="bot processes, splitting the gateway shards between them (README: Scaling out)")
    parser.add_argument("--guilds", type=int, default=1, metavar="N",
                        help="guilds in the playground (each added one on its own shard)")


def log(message: str) -> None:
    print(f"\033[1m[midway]\033[0m {message}", flush=True)


def _take_lock(state_dir: Path):
    """One `midway up` per state folder: a second one reports the first instead of fighting over ports."""
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / "up.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        return None, handle.read().strip()
    handle.seek(0)
    handle.truncate()
    return handle, ""


def _python_midway(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def _wait_for(ready, what: str, supervisor: Supervisor, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = supervisor.first_exited()
        if dead is not None:
            code = dead.process.returncode if dead.process is not None else None
            raise RuntimeError(f"{dead.name} exited (code {code}) while waiting for {what}")
        try:
            if ready():
                return
        except (OSError, redis.RedisError):  # not up yet; a Redis restart is waited out too
            pass
        time.sleep(0.25)
    raise RuntimeError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def _engines_for_this_machine(settings: Settings) -> str:
    if "engines" in settings.model_fields_set:
        return settings.engines
    from midway.catalogue import load_catalogue
    from ops.local_engines import OFFLINE_ENGINES, default_engines, has_cuda_gpu

    catalogue = load_catalogue()
    engines = default_engines(catalogue)
    if engines == [name for name in OFFLINE_ENGINES if name in catalogue] and has_cuda_gpu():
        log("GPU found but no catalogue engine has its weights here; using the offline engines "
            "(download weights into HF_HOME or set MIDWAY_ENGINES)")
    return ",".join(engines)


def _caption_engine(settings: Settings, engines: str) -> str:
    from midway.catalogue import load_catalogue
    from ops.local_engines import caption_engine

    served = [name.strip() for name in engines.split(",") if name.strip()]
    return caption_engine(served, load_catalogue(), settings.caption_engine)


def _wait_for_redis(url: str, timeout_s: float) -> str | None:
    """Wait for the Redis at `url` to answer; why it still cannot be reached after `timeout_s`, or None."""
    deadline = time.monotonic() + timeout_s
    problem = redis_problem(url, timeout_s=2)
    if problem:
        log(f"waiting up to {timeout_s:.0f}s for Redis at {redacted_url(url)}")
    while problem and time.monotonic() < deadline:
        time.sleep(0.5)
        problem = redis_problem(url, timeout_s=2)
    return problem


def default_engine(settings: Settings, engines: str) -> str:
    """The bot's default engine: the one configured, else the first the worker serves. Defaulting to
    `tiny` on a GPU machine serving sdxl would leave every /imagine waiting for a worker."""
    served = [name.strip() for name in engines.split(",") if name.strip()]
    if "default_engine" in settings.model_fields_set or not served or settings.default_engine in served:
        return settings.default_engine
    return served[0]


def fetch_allow_hosts(configured: str, host: str, port: int) -> str:
    """MIDWAY_FETCH_ALLOW_HOSTS for the children: the configured entries plus the playground's own address,
    which serves the attachments users upload (`/cdn/attachments/...`) from a local address the worker's
    fetch refuses otherwise (midway/fetch.py). Only its port: the Redis beside it stays out of reach."""
    entries = [part.strip().lower() for part in configured.split(",") if part.strip()]
    for name in dict.fromkeys((host.lower(), "127.0.0.1", "localhost")):
        if f"{name}:{port}" not in entries:
            entries.append(f"{name}:{port}")
    return ",".join(entries)


def _start_redis(settings: Settings, pids: PidFile) -> tuple[str, LocalRedis | None]:
    if settings.redis_url:
        log(f"using Redis at {redacted_url(settings.redis_url)}")
        return settings.redis_url, None
    server = LocalRedis(port=settings.embedded_redis_port, data_dir=settings.state_dir / "redis")
    log(f"starting redis-server on port {server.port} (data in {server.data_dir})")
    try:
        server.start(persist=True)
    except PortInUse as error:
        raise RedisUnavailable(f"error: {error}. Set MIDWAY_EMBEDDED_REDIS_PORT to a free port, stop the "
                               f"other server, or set REDIS_URL=redis://127.0.0.1:{server.port}/0 to use "
                               "it on purpose") from error
    if server.process is not None:
        pids.record("redis", server.process, "redis-server")
    return server.url, server


def _stop_on_signals() -> None:
    """SIGTERM/SIGHUP stop everything like Ctrl-C does; SIGINT is re-armed because a shell starting us in
    the background sets it to ignored, and an ignored Ctrl-C would leave every child running."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def run(args: argparse.Namespace) -> int:
    if args.bots < 1 or args.guilds < 1:
        log(f"error: --bots and --guilds must be at least 1 (got --bots {args.bots}, --guilds {args.guilds})")
        return 2
    _stop_on_signals()
    settings = get_settings()
    lock, holder = _take_lock(settings.state_dir)
    if lock is None:
        log(f"midway up is already running ({holder or 'another process holds the lock'}); "
            "stop it with Ctrl-C first.")
        return 1
    # Children of a previous run that was killed outright (SIGKILL) would hold our ports and answer our
    # readiness checks: stop them first (only processes verifiably started by that run).
    stale = stop_stale(settings.state_dir / PID_FILE)
    if stale:
        log(f"stopped what a previous midway up left running: {', '.join(stale)}")
    pids = PidFile(settings.state_dir / PID_FILE)
    # An unreachable REDIS_URL is reported before the slower steps below and before any child starts.
    if settings.redis_url:
        problem = _wait_for_redis(settings.redis_url, min(args.ready_timeout, REDIS_WAIT_S))
        if problem:
            log(f"error: {problem}")
            return 2
    port = args.port or settings.playground_port
    engines = args.engines or _engines_for_this_machine(settings)
    token = settings.discord_token.get_secret_value() if settings.discord_token else None
    try:
        redis_url, local_redis = _start_redis(settings, pids)
    except RedisUnavailable as error:
        log(str(error))
        pids.clear()
        return 1
    env = {"REDIS_URL": redis_url, "MIDWAY_PLAYGROUND_PORT": str(port), "MIDWAY_ENGINES": engines,
           "MIDWAY_DEFAULT_ENGINE": default_engine(settings, engines)}
    if "caption_engine" not in settings.model_fields_set:
        env["MIDWAY_CAPTION_ENGINE"] = _caption_engine(settings, engines)
    if not token:
        env["MIDWAY_FETCH_ALLOW_HOSTS"] = fetch_allow_hosts(settings.fetch_allow_hosts, settings.playground_host, port)
    page = f"http://{settings.playground_host}:{port}/"
    lock.write(f"pid {os.getpid()}, {page if not token else 'Discord'}\n")
    lock.flush()
    supervisor = Supervisor(pid_file=pids)
    try:
        return _run_children(supervisor, env, engines, token, port, settings, page, args, redis_url)
    except KeyboardInterrupt:
        log("stopping (Ctrl-C)")
        return 0
    except RuntimeError as error:
        log(f"error: {error}")
        return 1
    finally:
        # A second Ctrl-C must not abort the clean-up half way and orphan children.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        supervisor.stop_all()
        if local_redis is not None:
            local_redis.stop()
        pids.clear()
        log("stopped")


def _run_children(supervisor, env, engines, token, port, settings, page, args, redis_url) -> int:
    host, timeout_s = settings.playground_host, args.ready_timeout
    if not token:
        # Another program on the port (say, an old playground) would answer our readiness checks while
        # ours fails to listen: refuse instead of reporting a Midway that is not ours.
        if port_in_use(port, host):
            raise RuntimeError(f"port {port} is already in use by another program, so the playground cannot "
                               "listen there: stop that program or choose another port with --port "
                               "(or MIDWAY_PLAYGROUND_PORT)")
        log(f"starting the playground (local Discord emulator) on port {port}")
        supervisor.start(Child("playground", _python_midway("playground", "--port", str(port),
                                                             "--guilds", str(args.guilds)), env))
        _wait_for(lambda: _get_json(page + "_playground/state"), "the playground", supervisor, timeout_s)
    log(f"starting a worker for engines: {engines} (first start builds/loads the models)")
    # A worker exits on purpose when a job hangs in native code or every job fails (a sticky CUDA
    # error); its jobs go back to the queue, so starting it again beats stopping everything.
    supervisor.start(Child("worker", _python_midway("worker", "--engines", engines), env, restart=True))
    _start_bots(supervisor, env, args.bots, token or settings.playground_token,
                DISCORD_API if token else f"{page}api/v10")
    _wait_for(lambda: _worker_live(redis_url), "the worker to load its engines", supervisor, timeout_s)
    if token:
        app_id = application_id_from_token(token)
        log("connected to Discord. Invite the bot with: " + (invite_url(app_id) if app_id else "(bad token?)"))
    else:
        _wait_for(lambda: _get_json(page + "_playground/state").get("commands"), "the bot to register commands",
                  supervisor, timeout_s)
        log(f"Midway is up: open {page} and type  /imagine a red fox --ar 16:9   (Ctrl-C stops everything)")
    dead = supervisor.wait_for_exit(on_restart=_report_restart)
    log(f"{dead.name} exited with code {dead.process.returncode}; stopping the rest")
    return 1


def _start_bots(supervisor: Supervisor, env: dict[str, str], bots: int, token: str, api_base: str) -> None:
    if bots == 1:
        log("starting the bot")
        supervisor.start(Child("bot", _python_midway("bot"), env))
        return
    for n, arguments in enumerate(bot_arguments(bots, recommended_shards(api_base, token)), start=1):
        log(f"starting bot {n} of {bots} ({' '.join(arguments)})")
        supervisor.start(Child(f"bot-{n}", _python_midway("bot", *arguments), env))


def _report_restart(child: Child) -> None:
    code = child.process.returncode if child.process is not None else None
    log(f"{child.name} exited with code {code}; starting it again")


def _worker_live(redis_url: str) -> bool:
    from midway.keys import PREFIX

    client = sync_redis(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return any(True for _ in client.scan_iter(f"{PREFIX}:worker:*", count=100))
    finally:
        client.close()
