"""The one exception the prompt parser raises."""

from __future__ import annotations


class PromptError(Exception):
    """A prompt the parser refuses, explained in a sentence a Discord user understands.

    `token` is the offending piece of the prompt (a parameter, a value, a brace); the message
    always echoes it so the user can find it in what they typed.
    """

    def __init__(self, message: str, token: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.token = token

    def __str__(self) -> str:
        return self.message


def shown(token: str, limit: int = 60) -> str:
    """A token as quoted in a message: code-formatted and cut short, since prompts may be 6000 chars."""
    if len(token) > limit:
        token = token[: limit - 1] + "…"
    return f"`{token}`"
