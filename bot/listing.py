"""User-supplied text in the bot's replies, cut to fit: Discord refuses a message over its limit.

A reply that echoes what a user saved (a suffix, an option, a banned word) must never outgrow
MESSAGE_CONTENT, or Discord rejects it after the change is already stored.
"""

from __future__ import annotations

from midway.discord_limits import MESSAGE_CONTENT

# Room kept free for the few words of a reply around a list.
_SPARE = 100


def quoted(text: str, limit: int) -> str:
    """`text` code-formatted, cut to `limit` characters with an ellipsis."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"


def fit(header: str, items: list[str], separator: str = "\n") -> str:
    """`header` then as many `items` as fit in one message; the rest are counted, not dropped silently."""
    budget = MESSAGE_CONTENT - _SPARE - len(header)
    shown: list[str] = []
    for item in items:
        budget -= len(item) + len(separator)
        if budget < 0:
            shown.append(f"…and {len(items) - len(shown)} more")
            break
        shown.append(item)
    return header + separator.join(shown)
