"""The user's catalogue copy: the engines `midway models add` wrote, merged over the catalogue.

A TOML file of `[engines.<name>]` tables (MIDWAY_USER_CATALOGUE, else `<state_dir>/catalogue.toml`) that
the bot and every worker read with the catalogue, so a worker started with `--engines <name>` serves a
custom checkpoint with no code change. The file is machine-written (its tables are flat: strings,
numbers, booleans and lists of strings); the command keeps a hand edit's values but not its comments.
Torch-free like midway/catalogue.py, which parses the tables it reads here.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

from midway.errors import CatalogueError

HEADER = ("# Midway user catalogue: engines added with `midway models add`, merged over the catalogue.\n"
          "# Written by `midway models add/remove`; see README.md (Custom models) for the keys.\n")
# What a TOML bare key may hold, lower case as engine names are typed in /engine set and --engines.
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

TableValue = str | int | float | bool | list[str]


def user_catalogue_path() -> Path:
    """MIDWAY_USER_CATALOGUE (read now, as catalogue_path reads MIDWAY_CATALOGUE), else the settings'."""
    env = os.environ.get("MIDWAY_USER_CATALOGUE")
    if env:
        return Path(env)
    from midway.settings import load_settings

    # Read anew rather than cached: MIDWAY_STATE_DIR may have changed (tests, `midway up`). A bad setting
    # is a SettingsError naming it, which the command line reports as exit 2.
    return load_settings().resolved_user_catalogue


def read_tables(path: Path) -> dict[str, dict[str, object]]:
    """The `[engines.<name>]` tables of a user catalogue; none when the file does not exist."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"user catalogue {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"user catalogue {path} is not valid TOML: {exc}") from None
    tables = raw.get("engines", {})
    if set(raw) - {"engines"} or not isinstance(tables, dict):
        raise CatalogueError(f"user catalogue {path}: expected only [engines.<name>] tables")
    return tables


def write_tables(path: Path, tables: dict[str, dict[str, TableValue]]) -> None:
    """Write the tables, atomically: a worker reading the file meanwhile sees the old or the new one."""
    text = HEADER + "".join(_table(name, table) for name, table in sorted(tables.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


def _table(name: str, table: dict[str, TableValue]) -> str:
    if not NAME.fullmatch(name):
        raise CatalogueError(f"engine name {name!r}: use lower case letters, digits, '.', '_' and '-'")
    lines = [f"\n[engines.{name}]"]
    lines += [f"{key} = {_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    # A JSON string, number or boolean is TOML too (TOML basic strings share JSON's escapes).
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "[" + ", ".join(json.dumps(item) for item in value) + "]"
    if isinstance(value, str | int | float | bool):
        return json.dumps(value)
    raise CatalogueError(f"cannot write {value!r} to a user catalogue (strings, numbers, booleans, lists)")
