"""The `midway` command line: a thin dispatcher over `cli/commands/<name>.py`.

Each command module defines `add_arguments(parser)` and `run(args) -> int`. Modules are imported
only when their command runs, so `midway parse` or `midway bot` never pay for torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "parse": "Parse a Midjourney-style prompt and print the generation specs as JSON.",
    "generate": "Run an engine in-process (no Redis) and write the image.",
    "worker": "Run a generation worker that serves jobs from Redis.",
    "models": "Add, list or remove custom checkpoints in the user's catalogue (models add NAME PATH --kind sdxl).",
    "describe": "Describe an image: four prompts from the caption engine, in-process (no Redis).",
    "shorten": "Rank a prompt's words by their effect on the engine's text embedding; five shorter prompts.",
    "submit": "Submit a prompt as a job through Redis and follow it.",
    "playground": "Run the local Discord API emulator and its web page.",
    "bot": "Run the Discord bot (against Discord, or the playground without a token).",
    "up": "Run everything on this machine: Redis, a worker, the playground and the bot.",
    "bench": "Run the benchmarks (same as bench/run).",
}


EXIT_STATUS = ("Exit status: 0 success; 1 a failure while running (a failed job, a part that stopped); "
               "2 bad input or a setting that cannot work, found before any work starts (a bad prompt or "
               "option, an -o path that cannot be written, a REDIS_URL where no Redis answers, no "
               "DISCORD_TOKEN and no playground). Passwords in REDIS_URL are shown as ***.")


def _load(name: str):
    return importlib.import_module(f"cli.commands.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="midway", description="Midway: a self-hosted Midjourney-style bot.",
                                     epilog=EXIT_STATUS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_STATUS)
        # Only the chosen command's module is imported (and its arguments defined).
        if name == only:
            _load(name).add_arguments(command_parser)
        else:
            command_parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(chosen)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from midway.settings import SettingsError

    try:
        return int(_load(args.command).run(args) or 0)
    except SettingsError as error:
        # A setting that cannot work (midway/settings.py names it, secrets hidden): before any work, exit 2.
        print(f"midway {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
