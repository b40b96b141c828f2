"""The bot's image installs the core dependencies only (`pip install .`, docker/bot.Dockerfile): every
third-party module the bot imports must come from them, or the container fails at start-up with a
ModuleNotFoundError that no test in the full environment would see."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from midway.settings import PROJECT_ROOT

# What the interpreter loaded before (site's .pth hooks, such as setuptools' _distutils_hack) is not the bot's.
IMPORT_THE_BOT = """
import sys
before = set(sys.modules)
import importlib, json, pkgutil
import bot, cli.commands.bot
for module in pkgutil.walk_packages(bot.__path__, "bot."):
    importlib.import_module(module.name)
print(json.dumps(sorted({name.split(".")[0] for name in set(sys.modules) - before})))
"""


def core_requirements() -> list[Requirement]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """The distributions these requirements pull in, transitively, as installed here."""
    seen: set[str] = set()
    pending = [(requirement, set(requirement.extras)) for requirement in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra}) for extra in (extras or {""})):
            continue
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.requires(name) or []:
            pending.append((Requirement(text), set(Requirement(text).extras) | extras))
    return {key.split("[")[0] for key in seen}


def test_every_module_the_bot_imports_comes_with_the_core_dependencies() -> None:
    result = subprocess.run([sys.executable, "-c", IMPORT_THE_BOT], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout.splitlines()[-1])
    providers = metadata.packages_distributions()
    ours = {"bot", "midway", "cli", "ops", "engines", "worker", "playground", "bench"}
    needed = {canonicalize_name(dist) for module in imported if module in providers and module not in ours
              for dist in providers[module]}
    assert needed, "the bot imports third-party modules (discord, redis...): the check saw none"
    missing = needed - installed_closure(core_requirements())
    assert missing == set(), f"the bot imports modules of {sorted(missing)}, which `pip install .` does not install"


def test_the_bot_loads_no_engine_code_and_no_numerical_stack() -> None:
    # The bot's image copies neither engines/ nor worker/ and installs no numpy or torch (docker/bot.Dockerfile).
    result = subprocess.run([sys.executable, "-c", IMPORT_THE_BOT], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    imported = set(json.loads(result.stdout.splitlines()[-1]))
    assert {"bot", "midway"} <= imported
    assert imported & {"engines", "worker", "numpy", "torch", "diffusers", "transformers"} == set()
