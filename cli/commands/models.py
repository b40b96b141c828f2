"""`midway models add/list/remove`: custom checkpoints in the user's catalogue copy.

    midway models add my-sdxl /models/my-finetune --kind sdxl
    midway models add my-sd /models/dreamy.safetensors --kind sd --config /models/sd15-configs --steps 25
    midway models list
    midway models remove my-sdxl

`add` loads the checkpoint with the engine's own loading code (from_pretrained for a folder or hub id,
from_single_file for a .safetensors file), checks its architecture is the kind's (engines/architecture.py),
and only then writes an `[engines.<name>]` table to the user's catalogue copy (MIDWAY_USER_CATALOGUE, else
<state dir>/catalogue.toml), which the bot and workers merge over the catalogue: `midway worker --engines
<name>` then serves it. Exit 2, nothing written, for a bad path, a wrong kind or a name already taken.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# What a new engine of each kind starts from, as the shipped presets of that kind (midway/catalogue.toml).
KIND_DEFAULTS: dict[str, dict[str, str | int | float]] = {
    "sd": {"dtype": "float16", "base_width": 512, "base_height": 512, "steps": 30, "guidance": 7.5,
           "scheduler": "dpm++"},
    "sdxl": {"dtype": "float16", "base_width": 1024, "base_height": 1024, "steps": 30, "guidance": 6.0,
             "scheduler": "dpm++"},
    "flux": {"dtype": "bfloat16", "base_width": 1024, "base_height": 1024, "size_multiple": 16, "steps": 28,
             "guidance": 3.5, "scheduler": "default"},
}


class ModelsError(ValueError):
    """Bad input to `midway models`: printed as one line, exit 2, nothing written."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="check a checkpoint and add it to the user's catalogue")
    add.add_argument("name", help="engine name (lower case letters, digits, '.', '_', '-')")
    add.add_argument("source", help="a diffusers folder, a hub id, or a .safetensors file")
    add.add_argument("--kind", required=True, choices=sorted(KIND_DEFAULTS), help="its architecture")
    add.add_argument("--config", default="", help="single files: a diffusers folder or hub id with its configs")
    add.add_argument("--steps", "--default-steps", type=int, dest="steps", help="default steps (--q 1)")
    add.add_argument("--guidance", type=float, help="default guidance (--s 100)")
    add.add_argument("--size", help="base size WIDTHxHEIGHT (--ar keeps its area)")
    add.add_argument("--dtype", choices=("float16", "bfloat16", "float32", "auto"), help="GPU precision")
    add.add_argument("--draft-steps", type=int, help="steps of a --draft (default half the steps)")
    add.add_argument("--alias", action="append", default=[], help="a Midjourney version that picks it (--v 6)")
    add.add_argument("--description", default="", help="shown by /engine list")
    add.add_argument("--replace", action="store_true", help="replace an engine added earlier under this name")
    listing = sub.add_parser("list", help="the catalogue's engines: names, kinds, sources")
    remove = sub.add_parser("remove", help="remove an engine added with `midway models add`")
    remove.add_argument("name")
    for action in (add, listing, remove):
        action.add_argument("--catalogue", type=Path, default=None,
                            help="the user catalogue (default MIDWAY_USER_CATALOGUE or <state dir>/catalogue.toml)")


def run(args: argparse.Namespace) -> int:
    from midway.errors import CatalogueError, EngineError

    try:
        if args.action == "list":
            return list_models(args.catalogue)
        message = add_model(args) if args.action == "add" else remove_model(args.name, args.catalogue)
    except (ModelsError, CatalogueError, EngineError) as error:
        print(f"midway models {args.action}: {error}", file=sys.stderr)
        return 2
    print(message)
    return 0


def user_file(path: Path | None) -> Path:
    from midway.user_catalogue import user_catalogue_path

    return path if path is not None else user_catalogue_path()


def built_in_names() -> list[str]:
    from midway.catalogue import catalogue_path, load_catalogue

    return load_catalogue(catalogue_path()).names()


def add_model(args: argparse.Namespace) -> str:
    from midway.catalogue import parse_entry
    from midway.user_catalogue import NAME, read_tables, write_tables

    if not NAME.fullmatch(args.name):
        raise ModelsError(f"engine name {args.name!r}: use lower case letters, digits, '.', '_' and '-'")
    if args.name in built_in_names():
        raise ModelsError(f"{args.name!r} is a built-in engine of the catalogue; pick another name")
    path = user_file(args.catalogue)
    tables = read_tables(path)
    if args.name in tables and not args.replace:
        raise ModelsError(f"{args.name!r} is already in {path}; add --replace to replace it")
    table = entry_table(args)
    entry = parse_entry(args.name, table)
    check_merged(path, {**tables, args.name: table})
    validate_checkpoint(entry)
    write_tables(path, {**tables, args.name: table})
    serve = f"midway worker --engines {args.name}"
    if args.catalogue is not None:
        serve = f"MIDWAY_USER_CATALOGUE={path} {serve}"
    return f"added engine {args.name!r} ({args.kind}, {table['model']}) to {path}; serve it with: {serve}"


def entry_table(args: argparse.Namespace) -> dict:
    """The `[engines.<name>]` table: the kind's defaults, the options given, the source made absolute."""
    source = Path(args.source).expanduser()
    table: dict = {"kind": args.kind, "model": str(source.resolve()) if source.exists() else args.source}
    if args.config:
        config = Path(args.config).expanduser()
        table["config"] = str(config.resolve()) if config.exists() else args.config
    table.update(KIND_DEFAULTS[args.kind])
    if args.size:
        width, _, height = args.size.lower().partition("x")
        if not (width.isdigit() and height.isdigit()):
            raise ModelsError(f"--size must be WIDTHxHEIGHT such as 1024x1024, got {args.size!r}")
        table.update(base_width=int(width), base_height=int(height))
    for key in ("steps", "guidance", "dtype"):
        if getattr(args, key) is not None:
            table[key] = getattr(args, key)
    steps = table["steps"]
    draft_steps = args.draft_steps if args.draft_steps is not None else steps // 2
    if draft_steps >= 1:
        table["draft_steps"] = draft_steps
    if args.alias:
        table["aliases"] = list(args.alias)
    if args.description:
        table["description"] = args.description
    return table


def check_merged(path: Path, tables: dict) -> None:
    """The catalogue the workers will read, with this table merged in, must load (aliases, drafts)."""
    from midway.catalogue import catalogue_path, load_merged

    load_merged(catalogue_path(), tables, path)


def validate_checkpoint(entry) -> None:
    """Load it as a worker would and check its architecture; EngineError names what is wrong."""
    from cli.commands.generate import quiet_libraries
    from engines.architecture import check_architecture, declared_kind
    from engines.registry import load_engine
    from midway.errors import EngineError

    quiet_libraries()
    hint = declared_kind(entry.model)
    if hint is not None and hint != entry.kind:
        raise EngineError(f"engine {entry.name!r}: {entry.model} is a {hint} model (its model_index.json), "
                          f"not {entry.kind}: use --kind {hint}")
    try:
        engine = load_engine(entry)
    except EngineError:
        raise
    except Exception as error:  # a corrupt or foreign file: any library error, said in one line
        first = next(iter(str(error).strip().splitlines()), "")[:300]
        raise EngineError(f"engine {entry.name!r}: cannot load {entry.model} as {entry.kind}: "
                          f"{type(error).__name__}: {first}") from error
    check_architecture(getattr(engine, "pipe", None), entry.kind, entry.name, entry.model)


def list_models(path: Path | None) -> int:
    from midway.catalogue import catalogue_path, load_merged
    from midway.user_catalogue import read_tables

    user = user_file(path)
    catalogue = load_merged(catalogue_path(), read_tables(user), user)
    for entry in catalogue:
        origin = "added" if entry.name in catalogue.added else "built-in"
        print(f"{entry.name}\t{entry.kind if not entry.is_tiny else 'tiny ' + entry.family}\t"
              f"{entry.model or '(built offline)'}\t{origin}")
    return 0


def remove_model(name: str, path: Path | None) -> str:
    from midway.user_catalogue import read_tables, write_tables

    path = user_file(path)
    tables = read_tables(path)
    if name not in tables:
        where = "a built-in engine; it cannot be removed" if name in built_in_names() else f"not in {path}"
        raise ModelsError(f"{name!r} is {where}")
    del tables[name]
    write_tables(path, tables)
    return f"removed engine {name!r} from {path}"
