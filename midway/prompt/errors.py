"""The one exception the prompt parser raises."""

from __future__ import annotations


class PromptError(Exception):
    """A prompt the parser refuses, explained in a sentence a Discord user understands.

    `token` is the offending piece of the prompt (a parameter, a value, a brace); the message
    always echoes it so the user can find it in what they typed. `param` names the parameter at fault
    (its canonical name, no dashes) when there is one: a value out of range is a bad parameter too,
    though its token is the value (Midjourney titles both "Invalid parameter").
    """

    def __init__(self, message: str, token: str = "", param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token
        self.param = param or (token[2:] or None if token.startswith("--") else None)

    def __str__(self) -> str:
        return self.message


def shown(token: str, limit: int = 60) -> str:
    """A token as quoted in a message: code-formatted and cut short, since prompts may be 6000 chars."""
    if len(token) > limit:
        token = token[: limit - 1] + "…"
    return f"`{token}`"
