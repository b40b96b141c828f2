"""Which mentions in a message's content ping, as Discord decides from the request's `allowed_mentions`.

Discord parses `<@id>` / `<@!id>` (users), `<@&id>` (roles) and `@everyone` / `@here` out of the
content. Without `allowed_mentions` every kind pings. With it, only the kinds named in `parse`, or the
ids listed in `users` / `roles`, do; `replied_user` adds the author of the message replied to. The
resulting message carries what pinged in `mentions`, `mention_roles` and `mention_everyone`, which is
what tests read to check that a prompt cannot ping a crowd.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

USER = re.compile(r"<@!?(\d+)>")
ROLE = re.compile(r"<@&(\d+)>")
EVERYONE = re.compile(r"@(everyone|here)\b")


@dataclass(frozen=True)
class Pings:
    users: list[int] = field(default_factory=list)
    roles: list[int] = field(default_factory=list)
    everyone: bool = False


def resolve_pings(content: str, allowed: dict[str, Any] | None, replied_user: int | None = None) -> Pings:
    """What pings; `replied_user` is the author of the referenced message, if any."""
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
    listed_users = {int(user) for user in (allowed or {}).get("users") or []}
    listed_roles = {int(role) for role in (allowed or {}).get("roles") or []}

    def kept(found: list[str], kind: str, listed: set[int]) -> list[int]:
        ids = list(dict.fromkeys(int(value) for value in found))
        return ids if kind in parse else [value for value in ids if value in listed]

    users = kept(USER.findall(content), "users", listed_users)
    # A reply pings its author unless the request says otherwise (discord.py always says).
    if replied_user is not None and replied_user not in users and (allowed is None or allowed.get("replied_user")):
        users.append(replied_user)
    return Pings(users=users, roles=kept(ROLE.findall(content), "roles", listed_roles),
                 everyone="everyone" in parse and EVERYONE.search(content) is not None)
