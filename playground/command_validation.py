"""Application command rules (docs: application-commands), checked on every command sync.

`check_commands` validates a bulk-overwrite list the way Discord does: names, descriptions, options,
choices, ranges, the 8000-character size rule and the per-type counts.
"""

from __future__ import annotations

from typing import Any

from midway import discord_limits as limits
from playground.errors import ApiError, FormErrors, Path

CHAT_INPUT, USER, MESSAGE = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, NUMBER = 1, 2, 3, 4, 10
TYPE_CAPS = {CHAT_INPUT: limits.CHAT_INPUT_COMMANDS, USER: limits.USER_COMMANDS, MESSAGE: limits.MESSAGE_COMMANDS}


def check_commands(commands: list[dict[str, Any]]) -> None:
    """Raise one 50035 listing every problem in a list of commands (indexed like the request)."""
    if not isinstance(commands, list):
        raise ApiError(400, 50035, "Invalid Form Body",
                       {"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Must be an array."}]})
    errors = FormErrors()
    for i, command in enumerate(commands):
        check_command(errors, (i,), command)
    for kind, cap in TYPE_CAPS.items():
        if sum(1 for c in commands if c.get("type", CHAT_INPUT) == kind) > cap:
            errors.add((), "APPLICATION_COMMANDS_COUNT_EXCEEDED", f"Maximum number of {kind} commands is {cap}")
    names = [(c.get("type", CHAT_INPUT), c.get("name")) for c in commands]
    for i, key in enumerate(names):
        if key in names[:i]:
            errors.add((i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
    errors.raise_if_any()


def check_command(errors: FormErrors, at: Path, command: dict[str, Any]) -> None:
    kind = command.get("type", CHAT_INPUT)
    chat_input = kind == CHAT_INPUT
    _check_name(errors, (*at, "name"), command.get("name"), strict=chat_input)
    if chat_input:
        errors.length_between((*at, "description"), command.get("description"), 1, limits.COMMAND_DESCRIPTION)
        _check_options(errors, (*at, "options"), command.get("options") or [], depth=0)
    elif command.get("description"):
        errors.add((*at, "description"), "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED",
                   "Context menu commands cannot have a description")
    permissions = command.get("default_member_permissions")
    if permissions is not None and not str(permissions).isdigit():
        errors.add((*at, "default_member_permissions"), "BASE_TYPE_BAD_INT", "Value is not a valid bitset.")
    if command_size(command) > limits.COMMAND_TOTAL_SIZE:
        errors.add(at, "APPLICATION_COMMAND_TOO_LARGE",
                   f"Command exceeds maximum size ({limits.COMMAND_TOTAL_SIZE})")


def _check_name(errors: FormErrors, at: Path, name: Any, *, strict: bool) -> None:
    if not isinstance(name, str):
        errors.add(at, "BASE_TYPE_REQUIRED", "This field is required")
        return
    if not strict:
        errors.length_between(at, name, 1, limits.COMMAND_NAME)
    elif not limits.COMMAND_NAME_PATTERN.match(name) or name.lower() != name:
        errors.add(at, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")


def _check_options(errors: FormErrors, at: Path, options: list[dict[str, Any]], depth: int) -> None:
    errors.max_length(at, options, limits.COMMAND_OPTIONS)
    names: set[str] = set()
    seen_optional = False
    for i, option in enumerate(options):
        where = (*at, i)
        name = option.get("name")
        _check_name(errors, (*where, "name"), name, strict=True)
        if name in names:
            errors.add((*where, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                       "Option names must be unique")
        names.add(name)
        errors.length_between((*where, "description"), option.get("description"), 1, limits.COMMAND_DESCRIPTION)
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            if depth >= (1 if kind == SUB_COMMAND_GROUP else 2):
                errors.add((*where, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Subcommands nest too deep")
            _check_options(errors, (*where, "options"), option.get("options") or [], depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                errors.add((*where, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                           "Required options must be placed before non-required options")
        else:
            seen_optional = True
        _check_option_values(errors, where, option)


def _check_option_values(errors: FormErrors, at: Path, option: dict[str, Any]) -> None:
    kind = option.get("type")
    choices = option.get("choices") or []
    errors.max_length((*at, "choices"), choices, limits.COMMAND_CHOICES)
    if choices and option.get("autocomplete"):
        errors.add((*at, "autocomplete"), "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES",
                   "Autocomplete cannot be set with choices")
    for j, choice in enumerate(choices):
        errors.length_between((*at, "choices", j, "name"), choice.get("name"), 1, limits.CHOICE_NAME)
        if kind == STRING:
            errors.max_length((*at, "choices", j, "value"), choice.get("value"), limits.CHOICE_STRING_VALUE)
    for key, low in (("min_length", 0), ("max_length", 1)):
        value = option.get(key)
        if value is not None and not low <= value <= limits.OPTION_STRING_LENGTH:
            errors.add((*at, key), "NUMBER_TYPE_MAX", f"int value should be <= {limits.OPTION_STRING_LENGTH}.")
    bound = {INTEGER: limits.INTEGER_OPTION_RANGE, NUMBER: limits.NUMBER_OPTION_RANGE}.get(kind)
    for key in ("min_value", "max_value"):
        value = option.get(key)
        if bound is not None and value is not None and abs(value) > bound:
            errors.add((*at, key), "NUMBER_TYPE_MAX", f"Value should be between -{bound} and {bound}.")


def command_size(command: dict[str, Any]) -> int:
    """Discord's size rule: name + description + choice names/values, counted recursively."""
    size = len(command.get("name") or "") + len(command.get("description") or "")
    for choice in command.get("choices") or []:
        size += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
    return size + sum(command_size(option) for option in command.get("options") or [])
