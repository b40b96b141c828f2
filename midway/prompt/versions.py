"""`--v` / `--niji` -> a version key ("6", "6.1", "niji 6") -> an engine name through an alias table."""

from __future__ import annotations

import re
from collections.abc import Mapping

from midway.prompt.errors import PromptError, shown

MIDJOURNEY_VERSIONS = ("1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7")
NIJI_VERSIONS = ("4", "5", "6", "7")
# A bare `--niji` means the current Niji model (Niji 7 is 2026's).
DEFAULT_NIJI = "6"


def version_key(value: str) -> str:
    """Canonical key: lower case, `5.0` -> `5` (Midjourney echoes `--v 7` as `7.0`; both are one model)."""
    key = " ".join(value.lower().split())
    return re.sub(r"^([0-9]+)\.0+$", r"\1", key)


def niji_key(value: str | None) -> str:
    return f"niji {version_key(value) if value else DEFAULT_NIJI}"


def known_versions() -> list[str]:
    return [*MIDJOURNEY_VERSIONS, *(f"niji {v}" for v in NIJI_VERSIONS)]


def resolve_engine(key: str, aliases: Mapping[str, str] | None) -> str | None:
    """The engine for version `key`; None without an alias table. PromptError for an unknown version."""
    choices = list(aliases) if aliases is not None else known_versions()
    if key not in choices:
        listed = ", ".join(choices[:20]) or "none"
        raise PromptError(f"Version {shown(key)} isn't available; choose one of: {listed}.", key, "version")
    return aliases[key] if aliases is not None else None
