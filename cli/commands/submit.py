"""`midway submit "PROMPT --ar 16:9"`: a headless client of the job queue (no Discord, no torch).

    midway submit "a red fox --ar 16:9" --engine tiny --wait -o fox.png

It takes the same path as the bot: parse the prompt, refuse what the engine cannot serve and links the
workers would not fetch (as the bot does), store a Job, enqueue it, follow its events.
Exit 0 when every job is done; 1 when one failed or was cancelled, --wait timed out, its result could
not be written or Redis went away while following; 2 for a prompt error, a usage error (an -o path
that cannot be written: missing folders are created) or a Redis that cannot be reached, before
anything is submitted. A prompt with `{a, b}` or `--repeat` submits one job per spec; with
-o the second result goes to NAME-2.png, and so on.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from midway.contract import EventKind, GenerationSpec, Job, Lane, Requester
from midway.settings import Settings, get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", nargs="+", help="the prompt with its parameters; quote it")
    parser.add_argument("--engine", default=None,
                        help="engine (default MIDWAY_DEFAULT_ENGINE); --v in the prompt may pick another")
    parser.add_argument("--lane", default=Lane.fast.value, choices=[lane.value for lane in Lane])
    parser.add_argument("--wait", action="store_true", help="follow the job, printing progress, until it ends")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="write the grid (or the image) here; implies --wait")
    parser.add_argument("--timeout", type=float, default=None, help="give up waiting after this many seconds")


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.redis_url:
        print("midway submit: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)", file=sys.stderr)
        return 2
    from midway.prompt import PromptError
    from midway.redis_clients import redis_problem

    # 1. Check the inputs and Redis before anything is submitted: a job must not run for nothing.
    engine = args.engine or settings.default_engine
    try:
        specs = parse(" ".join(args.prompt), engine, Lane(args.lane), settings)
    except PromptError as error:
        print(error.message, file=sys.stderr)
        return 2
    problem = unfetchable_link(specs, settings)
    problem = problem or (prepare_output(args.output) if args.output else None)
    problem = problem or redis_problem(settings.redis_url)
    if problem:
        print(f"midway submit: {problem}", file=sys.stderr)
        return 2

    # 2. Submit and follow.
    import redis

    from midway.redis_clients import redacted_url, sync_redis, without_secrets

    client = sync_redis(settings.redis_url)
    try:
        return submit_and_follow(client, specs, args, settings)
    except redis.RedisError as error:
        print(f"midway submit: lost Redis at {redacted_url(settings.redis_url)}: "
              f"{without_secrets(str(error), settings.redis_url)}", file=sys.stderr)
        return 1


def submit_and_follow(client, specs: list[GenerationSpec], args: argparse.Namespace, settings: Settings) -> int:
    """Submit one job per spec; with --wait or -o, follow each and write its result."""
    from midway import events
    from midway.blobs import blob_store
    from midway.jobs import JobStore

    store = JobStore(client, settings)
    after = events.last_id(client)
    jobs = [store.submit(Job(spec=spec, lane=spec.lane, requester=Requester(user_id="cli", user_name="cli")))
            for spec in specs]
    for job in jobs:
        print(f"job {job.id}")
    if not (args.wait or args.output):
        return 0
    status = 0
    for index, job in enumerate(jobs):
        final = follow_job(client, job.id, after, args.timeout)
        if final is None or final.kind is not EventKind.done:
            status = 1
            continue
        if args.output:
            path = numbered(args.output, index)
            data = blob_store(settings, client).get(final.grid or final.outputs[0])
            if data is None:
                print(f"the result of job {job.id} has already expired", file=sys.stderr)
                status = 1
                continue
            try:
                path.write_bytes(data)
            except OSError as error:
                print(f"midway submit: cannot write {path}: {error.strerror or error}", file=sys.stderr)
                status = 1
                continue
            print(f"wrote {path}")
    return status


def prepare_output(path: Path) -> str | None:
    """Create the folders -o needs; why the image could not be written there, or None."""
    if path.is_dir():
        return f"-o {path} is a folder; give a file name, such as {path / 'grid.png'}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
        return f"cannot write -o {path}: " + (f"{blocker} is a file, not a folder" if blocker
                                                else error.strerror or str(error))
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"cannot write -o {path}: permission denied"
    return None


def parse(text: str, engine: str, lane: Lane, settings: Settings) -> list[GenerationSpec]:
    """The prompt's specs, sized for their engine from the catalogue (PromptError for bad input)."""
    from midway.catalogue import alias_table, load_catalogue
    from midway.drafts import draft_spec
    from midway.errors import EngineError
    from midway.prompt import ParseOptions, PromptError, parse_prompt

    try:
        catalogue = load_catalogue()
        entry = catalogue.get(engine)
    except EngineError as error:
        raise PromptError(str(error), engine) from None
    sizes = {item.name: (item.base_width, item.base_height, item.size_multiple) for item in catalogue}
    options = ParseOptions(base_width=entry.base_width, base_height=entry.base_height,
                           size_multiple=entry.size_multiple, max_permutations=settings.max_permutations,
                           max_repeat=settings.max_repeat, aliases=alias_table(catalogue),
                           default_engine=entry.name, engine_sizes=sizes, default_lane=lane)
    specs = []
    for parsed in parse_prompt(text, options):
        spec = draft_spec(parsed, catalogue)
        # A draft may move to its engine's draft engine, which must serve the references too.
        drafted_from = parsed.engine if spec.engine != parsed.engine else None
        check_engine_serves(spec, catalogue.get(spec.engine or entry.name), drafted_from)
        specs.append(spec)
    return specs


def check_engine_serves(spec: GenerationSpec, entry, drafted_from: str | None = None) -> None:
    """The bot's refusals of what the spec's engine cannot do (`--sref` without a style adapter, `--cref`
    / `--oref` without a character adapter or FLUX Redux, `--no` without guidance): PromptError by name, before a job,
    rather than a job that fails on the worker or drops the parameter silently."""
    from bot.planning import check_character_refs_apply, check_negatives_apply, check_style_refs_apply

    check_negatives_apply(spec, entry)
    check_style_refs_apply(spec, entry, drafted_from)
    check_character_refs_apply(spec, entry, drafted_from)


def unfetchable_link(specs: list[GenerationSpec], settings: Settings) -> str | None:
    """Why a reference link will not be fetched (a `file://` link, a private address not in
    MIDWAY_FETCH_ALLOW_HOSTS, a host that does not resolve), checked as the bot checks them; or None."""
    from bot.link_check import links_of
    from midway.fetch import FetchError, checked_address, policy_from_text

    policy = policy_from_text(settings.fetch_allow_hosts)
    for url in links_of(specs):
        try:
            checked_address(url, policy)
        except FetchError as error:
            return f"cannot use the image link: {error}"
    return None


def follow_job(client, job_id: str, after: str, timeout_s: float | None):
    """Print the job's events as they come; returns its terminal event (None on timeout)."""
    from midway import events

    for event in events.follow(client, job_id, after=after, timeout_s=timeout_s):
        if event.kind is EventKind.queued:
            where = f"position {event.position}" if event.position else "no live worker for its engine yet"
            print(f"queued ({where})", flush=True)
        elif event.kind is EventKind.started:
            print("started" if (event.attempt or 1) == 1 else f"started (attempt {event.attempt})", flush=True)
        elif event.kind is EventKind.progress and event.percent is not None:
            print(f"{event.percent}%", flush=True)
        elif event.kind is EventKind.done:
            print("done", flush=True)
            return event
        elif event.kind in (EventKind.failed, EventKind.cancelled):
            print(f"{event.kind.value}: {event.error}" if event.error else event.kind.value, flush=True)
            return event
    print(f"gave up waiting for job {job_id}", file=sys.stderr)
    return None


def numbered(path: Path, index: int) -> Path:
    return path if index == 0 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")
